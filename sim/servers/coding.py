"""A request body's ``Content-Encoding``, decoded by the servers themselves, within bounds.

aiohttp's own decoding runs before any handler: a body that is not what its header says gets
aiohttp's plain-text 400, or — for a few bytes of false deflate — no reply at all, and nothing
bounds what a small body inflates to. The servers therefore take bodies as sent (see
:class:`~sim.servers.threaded.ThreadedServer`) and decode them here: ``gzip`` (several members
too), ``deflate`` (zlib-wrapped or raw, as clients send both) and ``identity``, in the order the
header lists them, in pieces of at most :data:`PIECE` bytes, so memory stays bounded whatever
the ratio. Anything else — an unknown coding, bytes that are not the coding, a stream cut short
or followed by other bytes, more than the caller's limit once inflated — is
:class:`UnreadableBody`.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

from multidict import MultiMapping

PIECE = 64 * 1024
"""The most one step of inflating produces."""

CODINGS = ("gzip", "x-gzip", "deflate", "identity")


class UnreadableBody(ValueError):
    """The body cannot be decoded as its ``Content-Encoding`` says; the message says why."""


def codings(headers: MultiMapping[str]) -> list[str]:
    """The codings to undo, first to last (the reverse of the header's order), without
    ``identity``; an unknown one is :class:`UnreadableBody`."""
    values = headers.getall("Content-Encoding", [])
    names = [name.strip().lower() for value in values for name in value.split(",")]
    names = [name for name in names if name]
    for name in names:
        if name not in CODINGS:
            raise UnreadableBody(f"Content-Encoding {name!r} is not gzip, deflate or identity")
    return [name for name in reversed(names) if name != "identity"]


class Inflater:
    """One gzip or deflate stream, fed in pieces; :meth:`end` says whether it was whole."""

    def __init__(self, name: str) -> None:
        self.gzip = name in ("gzip", "x-gzip")
        self.name = name
        self._decompressor: zlib._Decompress | None = None
        self._head = b""  # deflate: the first bytes, until they say zlib or raw

    def _new(self, head: bytes) -> zlib._Decompress:
        if self.gzip:
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        # RFC 9110's deflate is zlib-wrapped (RFC 1950); raw deflate (RFC 1951) is sent too
        wrapped = head[0] & 0x0F == 8 and int.from_bytes(head[:2], "big") % 31 == 0
        return zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded bytes ``data`` completes, in pieces of at most :data:`PIECE`."""
        if self._decompressor is None:
            self._head += data
            if len(self._head) < 2:
                return
            data, self._head = self._head, b""
            self._decompressor = self._new(data)
        try:
            while data:
                d = self._decompressor
                if d.eof:
                    if not self.gzip:
                        raise UnreadableBody("bytes after the end of the deflate stream")
                    d = self._decompressor = self._new(data)  # the next gzip member
                out = d.decompress(data, PIECE)
                if out:
                    yield out
                data = d.unused_data if d.eof else d.unconsumed_tail
                while not d.eof and not data and len(out) == PIECE:  # output still held back
                    out = d.decompress(b"", PIECE)
                    if out:
                        yield out
        except zlib.error as exc:
            raise UnreadableBody(f"not {self.name}: {exc}") from None

    def end(self) -> None:
        """The body ended: it must have ended a whole stream (an empty body is none)."""
        if self._decompressor is None:
            if self._head:
                raise UnreadableBody(f"not {self.name}: {len(self._head)} byte")
            return
        if not self._decompressor.eof:
            raise UnreadableBody(f"the {self.name} stream is cut short")


class Decoder:
    """A body's codings undone in turn, fed as it arrives."""

    def __init__(self, names: list[str]) -> None:
        self.inflaters = [Inflater(name) for name in names]

    def feed(self, data: bytes) -> Iterator[bytes]:
        yield from self._through(0, data)

    def _through(self, index: int, data: bytes) -> Iterator[bytes]:
        if index == len(self.inflaters):
            if data:
                yield data
            return
        for piece in self.inflaters[index].feed(data):
            yield from self._through(index + 1, piece)

    def end(self) -> None:
        for inflater in self.inflaters:
            inflater.end()


def decode(body: bytes, names: list[str], limit: int) -> bytes:
    """``body`` with ``names`` undone (as :func:`codings` lists them), refused as soon as it
    inflates past ``limit`` bytes: a small body that would inflate to gigabytes costs no more
    than ``limit``."""
    if not names:
        return body
    decoder = Decoder(names)
    out = bytearray()
    for piece in decoder.feed(body):
        out += piece
        if len(out) > limit:
            raise UnreadableBody(f"the body inflates past {limit} bytes")
    decoder.end()
    return bytes(out)
