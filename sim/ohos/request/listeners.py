"""A task's listeners per event type, as the platform keeps them (research §3.9, §4.7).

Release 3.2 keeps one listener per type — a new ``on`` replaces the old and ``off(type, cb)``
removes it whatever ``cb`` is; the current platform keeps a list, ``off(type, cb)`` removing
that one and ``off(type)`` all of them. Downloads and uploads share the rule.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Listener = Callable[..., Any]


class Listeners:
    """The listeners of one task, per event type."""

    def __init__(self, many: bool) -> None:
        self.many = many
        self._by_type: dict[str, list[Listener]] = {}

    def add(self, type_: str, listener: Listener) -> bool:
        """Listen; False if ``listener`` already listens to ``type_`` (nothing changes)."""
        listeners = self._by_type.setdefault(type_, [])
        if listener in listeners:
            return False
        if not self.many:
            listeners.clear()
        listeners.append(listener)
        return True

    def remove(self, type_: str, listener: Listener | None) -> bool:
        """Stop listening; whether any listener of ``type_`` was there."""
        listeners = self._by_type.get(type_, [])
        had = bool(listeners)
        if self.many and listener is not None:
            if listener in listeners:
                listeners.remove(listener)
        else:
            listeners.clear()
        return had

    def of(self, type_: str) -> list[Listener]:
        """The listeners to call for ``type_``, in the order they were added."""
        return list(self._by_type.get(type_, ()))
