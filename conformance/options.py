"""How a campaign is run: the options of a run, Hypothesis's profiles, the targets' addresses.

The command line, the pytest plugin, replay files and the worlds all read the same
:class:`Options`, so the same options rebuild the same world. It depends on nothing of the
harness, so the machines that build their own world can take it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sim.errors import ConfigError

EMULATOR_USER, EMULATOR_PASSWORD = "admin", "Admin-Pass-1"
"""The administrator ``fixtures/nas/default.yaml`` seeds the emulator with."""

HYPOTHESIS_PROFILES = {
    # name: (examples per campaign, derandomized, example database)
    "ci": (50, True, False),
    "explore": (500, False, True),
    "nightly": (5000, False, True),
}


@dataclass(frozen=True)
class Options:
    """How a run is made: the same options rebuild the same world for a replay."""

    examples: int = 50
    steps: int = 25
    device: str = "phone"
    hypothesis_profile: str = "ci"
    nas: str | None = None
    """``http://host:port`` of a SYNO.CloudSync endpoint; ``None``: the emulator."""
    profile: str = "documented"
    """The fidelity profile the target runs and the machines predict (cloudSync:
    ``documented`` or ``ohos-4.1``)."""
    rpc: str | None = None
    """``host:port`` of a syncrig-rpc/1 server for the cloudSync and request campaigns;
    ``None``: the references in-process."""
    nas_user: str = EMULATOR_USER
    nas_password: str = EMULATOR_PASSWORD
    read_only: bool = False
    timeout_s: float | None = None
    """Wall-clock limit of one campaign; past it the campaign ends as a harness error (a hung
    server or target), not as a finding about the implementation."""
    seed: int | None = None
    """Hypothesis's seed for the random examples of a profile that is not derandomized
    (``None`` there: one is drawn and recorded); derandomized profiles ignore it."""
    hil: bool = False
    """Hardware in the loop: the references run on this machine's sensors in real time
    (``device`` then only gives link figures), with no Controls."""
    duration_s: float | None = None
    """Time for a campaign's random examples (a bring-up's duration): no example starts
    after it, and the campaign ends with what it found — unlike ``timeout_s``."""
    poll_s: float = 1.0
    """Hardware in the loop: how often readings that change without a uevent are read."""

    def to_json(self) -> dict[str, Any]:
        # the password stays out of reports and replay files
        return {"examples": self.examples, "steps": self.steps, "device": self.device,
                "hypothesis_profile": self.hypothesis_profile, "nas": self.nas,
                "nas_user": self.nas_user, "read_only": self.read_only, "rpc": self.rpc,
                "profile": self.profile, "seed": self.seed, "timeout_s": self.timeout_s,
                "hil": self.hil, "duration_s": self.duration_s, "poll_s": self.poll_s}

    @property
    def derandomized(self) -> bool:
        return HYPOTHESIS_PROFILES.get(self.hypothesis_profile, HYPOTHESIS_PROFILES["ci"])[1]

    @property
    def target(self) -> str:
        """The target as the command line names it."""
        return f"nas={self.nas}" if self.nas else f"rpc={self.rpc}" if self.rpc else \
            "reference --hil" if self.hil else "reference"

    @classmethod
    def for_profile(cls, name: str, **overrides: Any) -> Options:
        if name not in HYPOTHESIS_PROFILES:
            raise ConfigError("--hypothesis-profile", "", name,
                              f"must be one of {', '.join(HYPOTHESIS_PROFILES)}")
        examples = HYPOTHESIS_PROFILES[name][0]
        return cls(**{"examples": examples, "hypothesis_profile": name, **overrides})


def rpc_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` of an rpc target."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError("--target", "rpc", text, "must be rpc=HOST:PORT")
    return host, int(port)


def nas_address(url: str) -> tuple[str, int]:
    """``http://HOST:PORT`` of a SYNO.CloudSync target."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname or parts.port is None:
        raise ConfigError("--target", "nas", url, "must be nas=http://HOST:PORT")
    return parts.hostname, parts.port
