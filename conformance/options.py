"""How a campaign is run: the options of a run, Hypothesis's profiles, the targets' addresses.

The command line, the pytest plugin, replay files and the worlds all read the same
:class:`Options`, so the same options rebuild the same world. It depends on nothing of the
harness, so the machines that build their own world can take it too.
"""

from __future__ import annotations

import ipaddress
import os
import re
import ssl
from dataclasses import dataclass
from typing import Any

from sim.errors import ConfigError

EMULATOR_USER, EMULATOR_PASSWORD = "admin", "Admin-Pass-1"
"""The administrator ``fixtures/nas/default.yaml`` seeds the emulator with."""

NAS_PASSWORD_ENV = "SYNCRIG_NAS_PASSWORD"
"""Where a ``nas=`` target's password comes from: never the command line, which ``ps`` shows."""
NAS_CERT_ENV = "SYNCRIG_NAS_CERT"
"""The default of ``--nas-cert``, which the pytest plugin's runs read too."""

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
    """``http://host:port`` or ``https://host:port`` of a SYNO.CloudSync endpoint; ``None``:
    the emulator."""
    nas_cert: str | None = None
    """A PEM file of the certificates an ``https`` NAS is trusted by (its self-signed
    certificate, or the CA that signed it); ``None``: the system's CAs."""
    nas_insecure: bool = False
    """An ``https`` NAS is not verified at all (whoever is on the path can read the password):
    for a NAS whose certificate names another host."""
    profile: str = "documented"
    """The fidelity profile the target runs and the machines predict: ``documented``,
    ``ohos-head`` (both OpenHarmony references), ``ohos-4.1`` (cloudSync), ``ohos-3.2`` or
    ``page-kb`` (request)."""
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
    mutants: tuple[str, ...] = ()
    """The catalogue's deviations planted in the references (``--mutant``): recorded so a
    replay file plants them again and its failure reproduces as it was found."""

    def to_json(self) -> dict[str, Any]:
        # the password stays out of reports and replay files
        return {"examples": self.examples, "steps": self.steps, "device": self.device,
                "hypothesis_profile": self.hypothesis_profile, "nas": self.nas,
                "nas_user": self.nas_user, "nas_cert": self.nas_cert,
                "nas_insecure": self.nas_insecure, "read_only": self.read_only, "rpc": self.rpc,
                "profile": self.profile, "seed": self.seed, "timeout_s": self.timeout_s,
                "hil": self.hil, "duration_s": self.duration_s, "poll_s": self.poll_s,
                "mutants": list(self.mutants)}

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


@dataclass(frozen=True)
class Address:
    """Where a target listens: ``host`` as a socket takes it (an IPv6 literal without its
    brackets), ``port``, and for a NAS whether it speaks HTTPS."""

    host: str
    port: int
    secure: bool = False


_HOSTNAME = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)(?:\.(?!-)[A-Za-z0-9_-]{1,63}(?<!-))*\.?")


def _host(text: str, whole: str, field: str, form: str, bracketed: str) -> str:
    """A host of a target's address: a name, an IPv4 address, or an IPv6 literal in
    brackets; anything else is refused here rather than by the resolver mid-run."""
    if text.startswith("[") and text.endswith("]"):
        try:
            return str(ipaddress.IPv6Address(text[1:-1]))
        except ValueError:
            raise ConfigError("--target", field, whole, f"{text} is not an IPv6 address (must be "
                              f"{form})") from None
    if ":" in text:
        raise ConfigError("--target", field, whole, f"an IPv6 address goes in brackets, as in "
                          f"{bracketed} (must be {form})")
    if len(text) > 253 or not _HOSTNAME.fullmatch(text):
        raise ConfigError("--target", field, whole, f"{text} is not a host name or address "
                          f"(must be {form})")
    return text


def rpc_address(text: str) -> Address:
    """``HOST:PORT`` of an rpc target; an IPv6 literal goes in brackets (``[::1]:7300``)."""
    form = "rpc=HOST:PORT"
    host, _, port = text.rpartition(":")
    if not host or not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
        raise ConfigError("--target", "rpc", text, f"must be {form}")
    return Address(_host(host, text, "rpc", form, "rpc=[::1]:PORT"), int(port))


def nas_address(url: str) -> Address:
    """``http://HOST:PORT`` or ``https://HOST:PORT`` of a SYNO.CloudSync target (DSM serves
    HTTP on 5000 and HTTPS on 5001 by default)."""
    form = "nas=http://HOST:PORT or nas=https://HOST:PORT"
    parts = re.fullmatch(r"(https?)://([^/?#@]+)/?", url)
    host, _, port = parts[2].rpartition(":") if parts else ("", "", "")
    if not host or not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
        raise ConfigError("--target", "nas", url, f"must be {form}")
    assert parts is not None
    return Address(_host(host, url, "nas", form, "nas=https://[::1]:PORT"), int(port),
                   secure=parts[1] == "https")


def nas_verify(options: Options) -> bool | str:
    """What an ``https`` NAS's certificate is checked against, as ``requests`` takes it: the
    PEM file of :attr:`Options.nas_cert` (else ``$SYNCRIG_NAS_CERT``), no check with
    :attr:`Options.nas_insecure`, else the system's CAs."""
    if options.nas_insecure:
        return False
    cert = options.nas_cert if options.nas_cert is not None else os.environ.get(NAS_CERT_ENV)
    return cert or True


def check_nas_cert(path: str) -> None:
    """Refuse a ``--nas-cert`` that is not a readable PEM file of certificates, before any
    connection: a typo must not read as a NAS whose certificate failed."""
    try:
        ssl.create_default_context(cafile=path)
    except FileNotFoundError:
        raise ConfigError("--nas-cert", "", path, "no such file") from None
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError("--nas-cert", "", path, "not a PEM file of certificates "
                          f"({exc.strerror or exc})") from None
