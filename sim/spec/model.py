"""The shapes of the spec tables."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


@dataclass(frozen=True)
class DocError:
    """A documented error code with the page's message."""

    code: int
    message: str
    section: str


@dataclass(frozen=True)
class EnumMember:
    enum: str
    name: str
    value: int
    section: str


@dataclass(frozen=True)
class MethodSpec:
    """One documented method (or overload) and the error codes its page lists."""

    owner: str
    name: str
    overload: str
    errors: tuple[int, ...]
    section: str
    permission: str | None = None
    system_api: bool = False


@dataclass(frozen=True)
class ApiSpec:
    name: str
    document: str
    errors: dict[int, DocError]
    methods: tuple[MethodSpec, ...]
    enums: tuple[type[IntEnum], ...] = field(default_factory=tuple)

    def enum_members(self) -> list[EnumMember]:
        return [EnumMember(enum.__name__, m.name, int(m.value), f"## {enum.__name__}")
                for enum in self.enums for m in enum]

    def method_errors(self) -> set[tuple[str, int]]:
        """Every documented (owner.method, code) pair — what the coverage matrix counts."""
        return {(f"{m.owner}.{m.name}", code) for m in self.methods for code in m.errors}
