"""The simulated cloud: per-account drives with quota, versions, a change feed and faults."""

from sim.cloud.drive import Change, CloudObject, CloudService, Container, Drive
from sim.errors import CloudFull, CloudUnavailable, PathClash, VersionConflict

__all__ = ["Change", "CloudFull", "CloudObject", "CloudService", "CloudUnavailable",
           "Container", "Drive", "PathClash", "VersionConflict"]
