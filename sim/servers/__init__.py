"""Real servers on 127.0.0.1 that the reference APIs and the tests talk to."""

from sim.servers.fixture_http import FixtureHTTPServer, ReceivedUpload

__all__ = ["FixtureHTTPServer", "ReceivedUpload"]
