"""syncrig's conformance harness: spec tables, state machines, targets and the pytest plugin.

The harness drives the reference APIs in :mod:`sim` (or another implementation) through the
device's Sensors and Controls ports.
"""
