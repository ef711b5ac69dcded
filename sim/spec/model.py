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
class Transition:
    """A documented move of an object's state (``source`` → ``target``), cited to where the
    research derives it; ``source`` is ``"start"`` for the first state a run reports."""

    owner: str
    source: str
    target: str
    section: str

    @property
    def item(self) -> tuple[str, str, str, str]:
        """The coverage item that stands for it."""
        return ("transition", self.owner, self.source, self.target)


def transitions(owner: str, rows: tuple[tuple[str, str, str], ...]) -> tuple[Transition, ...]:
    """One owner's transitions from ``(source, target, section)`` rows, as a table writes
    them."""
    return tuple(Transition(owner, source, target, section) for source, target, section in rows)


@dataclass(frozen=True)
class ApiSpec:
    name: str
    document: str
    errors: dict[int, DocError]
    methods: tuple[MethodSpec, ...]
    enums: tuple[type[IntEnum], ...] = field(default_factory=tuple)
    transitions: tuple[Transition, ...] = field(default_factory=tuple)

    def enum_members(self) -> list[EnumMember]:
        return [EnumMember(enum.__name__, m.name, int(m.value), f"## {enum.__name__}")
                for enum in self.enums for m in enum]

    def allows(self, owner: str, source: str, target: str) -> bool:
        """Whether the documents give ``owner`` this move: what a machine checks an observed
        change of state against."""
        return any((t.owner, t.source, t.target) == (owner, source, target)
                   for t in self.transitions)

    def method_errors(self) -> set[tuple[str, int]]:
        """Every documented (owner.method, code) pair — what the coverage matrix counts."""
        return {(f"{m.owner}.{m.name}", code) for m in self.methods for code in m.errors}
