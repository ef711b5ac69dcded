"""What an emulated NAS holds at start: users, volumes, shares, connections and tasks.

The web API has no call that creates a connection, so the starting state comes from a seed
file (``fixtures/nas/*.yaml``), validated like every other file the product reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import pyotp
from pydantic import Field, ValidationInfo, field_validator

from sim.loading import Size, Strict, load_model

CLOUD_TYPES: dict[str, int] = {"db": 2, "gd": 3, "od_v1": 9, "az": 10, "webdav": 16}
"""Cloud types the emulator offers (DSM's short names) and the ``type_id`` it reports."""


class SeedUser(Strict):
    name: str
    password: str
    admin: bool = False
    totp_secret: str | None = None

    @field_validator("totp_secret")
    @classmethod
    def _usable_secret(cls, secret: str | None) -> str | None:
        if secret is not None:
            try:
                pyotp.TOTP(secret).now()
            except (ValueError, TypeError) as exc:
                raise ValueError(f"not a usable TOTP secret: {exc}") from None
        return secret


class SeedVolume(Strict):
    value: str = "1"
    mount_point: str = "/volume1"
    description: str = "Volume 1"
    size: Size = 4 * 10**12


class SeedTask(Strict):
    id: Annotated[int, Field(ge=1)]
    local: str
    remote: str
    direction: Literal["ONLY_UPLOAD", "BIDIRECTION", "ONLY_DOWNLOAD"] = "BIDIRECTION"
    no_delete: bool = True


class SeedConnection(Strict):
    id: Annotated[int, Field(ge=1)]
    user: str
    type: Literal["db", "gd", "od_v1", "az", "webdav"]
    account: str
    task_name: str
    quota: Size = 2 * 10**9
    region: str = ""
    bucket_name: str = ""
    remote_files: dict[str, str] = Field(default_factory=dict)
    """Files already in the cloud: path → text content."""
    tasks: list[SeedTask] = Field(default_factory=list)


class NasSeed(Strict):
    users: list[SeedUser]
    volumes: list[SeedVolume] = Field(default_factory=lambda: [SeedVolume()])
    shares: list[str] = Field(default_factory=list)
    connections: list[SeedConnection] = Field(default_factory=list)

    @field_validator("connections")
    @classmethod
    def _owners_exist(cls, connections: list[SeedConnection],
                      info: ValidationInfo) -> list[SeedConnection]:
        names = {u.name for u in info.data.get("users", [])}
        for c in connections:
            if c.user not in names:
                raise ValueError(f"connection {c.id} belongs to {c.user!r}, who is not among "
                                 "the users")
        return connections


def load_seed(path: Path) -> NasSeed:
    return load_model(NasSeed, path)
