"""syncrig-rpc/1: the conformance suite's remote-object protocol, so a target can live in
another process, or on a device behind an agent.

Transport: JSON-RPC 2.0, one JSON object per line (UTF-8), over TCP (``syncrig serve rpc``) or
a child process's stdin/stdout (``syncrig serve rpc --stdio``). The client sends requests and
waits for each answer; the server may send notifications before an answer.

Objects stay on the server; the client holds references. Requests (``params`` by name):

``hello {}``
    ``{"protocol": "syncrig-rpc/1"}``.
``open {"target": "cloudSync" | "request", "options": {"device": ..., "profile": ...}, "token"}``
    A fresh target; the result is a reference to it. ``device`` is a device profile's name
    (``phone``, ``tablet``, ``nas``; no paths), ``profile`` a fidelity profile's. ``token`` is
    the server's token when it has one (see *Access*). One connection holds its targets;
    closing the connection, or stopping the server, closes them and removes their folders.
    ``cloudSync``: ``device``, ``cloud``, ``drive``, ``modules`` (``system``,
    ``no-permission``, ``not-system``), ``has_controls``, and the helpers of
    :class:`~conformance.targets.reference.ReferenceCloudSync`. ``request``: ``device``,
    ``modules`` (``app`` with INTERNET, ``denied`` without), ``has_controls``,
    ``cache_files()``, ``read_cache(rel)`` (the app's cache folder) and the helpers of
    :class:`~conformance.targets.reference.ReferenceRequest`. The suite's file
    server listens on the harness's 127.0.0.1, so a ``request`` target runs on that machine.
``get {"ref", "name"}`` / ``set {"ref", "name", "value"}``
    Read an attribute the object's class offers, or get a method it offers (a reference, to
    ``call``); write one of the few attributes its class lets a client set, with a value of
    the declared type (see *Capabilities*).
``call {"ref", "args": [...], "kwargs": {...}}``
    Call a referenced method; the arguments must bind to its signature.
``item {"ref", "key"}`` / ``setitem {"ref", "key", "value"}`` / ``len {"ref"}`` / ``iter {"ref"}``
    Access to a dict the server hands out by reference (``iter`` answers with its keys).

Capabilities: the server hands out references only to the objects of an explicit list of
classes (:class:`Capabilities`, given by the :class:`Opener`; for ``syncrig serve rpc``
:data:`conformance.targets.rpc.CAPABILITIES`: the targets, the API module classes of
cloudSync and request and their sync, download and task objects, ``Promise``,
``BusinessError``, the device with its clock, Sensors and Controls ports, storage, thermal
state and trace, and the simulated cloud's service, drive and containers). Each class's
:class:`Offer` names what a client may read, call and set, and nothing else: a name it does
not offer answers ``-32002`` naming the class and the name, whether or not the object has it
(a client sees ``AttributeError``). Strings, numbers, bytes, tuples, records and enums travel
by value, and so do lists, dicts and sets (copies: never a reference whose methods a client
could call); a dict the machines change in place (a drive's per-app ``switches``) is handed out
by reference for ``item``, ``setitem`` (key and value of the declared types), ``len`` and
``iter`` only. A target's folders, paths, held folder descriptors, modules, functions that take
paths and any object of another class are never handed out: answering with one is ``-32002``.
A method's arguments are bound to its signature before it runs: an unknown keyword, a missing
or an extra argument answers ``-32602``, as does an ``open`` naming an unknown target, option,
device or profile.

A reference (``ref``, ``$ref``, ``$callback``) is a JSON integer: not a float, not a boolean.
A parameter a method does not take is refused, as is a missing one.

Values on the wire: JSON's own types are themselves; ``{"$bytes": hex}``; a tuple is
``{"$tuple": [...]}``; an enum member is ``{"$enum": WIRE_NAME, "name": MEMBER}``; an
immutable record of the API is ``{"$record": WIRE_NAME, "fields": {...}}`` with every field
its class declares, each of the declared type; any other object is ``{"$ref": N, "type":
"Class"}``. A client's function passed as an argument is ``{"$callback": N}`` (one function,
one N: the server's stand-ins for one N are equal, as one JavaScript function is itself, so an
``off(type, callback)`` finds what ``on`` registered); when the server
calls it, it sends the notification ``{"method": "callback", "params": {"callback": N,
"args": [...]}}`` (before the answer to the request during which it happened, in order).

Wire names are a closed list, not class paths; nothing else decodes (:data:`RECORDS`,
:data:`ENUMS`). Records: ``SyncProgress``, ``DownloadProgress``, ``ChangeData``
(cloudSync), ``DownloadInfo``, ``TaskState`` (request), ``CloudObject``, ``CloudChange`` (the
simulated cloud drive), ``BatteryReading``, ``TemperatureReading``, ``RadioReading``,
``NetworkReading``, ``StorageReading`` (the device's sensors), ``DeviceEvent``,
``TransferResult`` (the device's trace and link). Enums: ``NetworkType``, ``Direction``,
``EventKind``; an IntEnum member travels as its integer.

Limits, checked before a line is parsed (or, for numbers, while): a line holds at most
:data:`MAX_LINE_BEFORE_OPEN` bytes (1 MiB) until the connection has opened a target, then
:data:`MAX_LINE` (64 MiB: a file's bytes travel as hex); a longer line is read and dropped
without being kept. A line nests arrays and objects at most :data:`MAX_DEPTH` (64) deep, holds
at most :data:`MAX_ITEMS` (100,000) brackets and commas outside strings, and each integer at
most :data:`MAX_INT_DIGITS` (40) digits; a float is finite (``NaN`` and ``Infinity`` are not
JSON). Over TCP, a connection that leaves a line unfinished for :data:`READ_TIMEOUT` (30 s)
without a byte, or that has opened no target and sends no request for as long, is answered
``-32600`` and closed; a server serves at most :data:`MAX_CONNECTIONS` (64) connections at
once, and answers one more with ``-32003`` and closes it.

Every line gets exactly one answer (notifications come only from the server). JSON-RPC 2.0's
codes, with ``id: null`` when the id cannot be read:

- ``-32700`` parse error: not UTF-8, not JSON, an empty line;
- ``-32600`` invalid request: over a limit (a line too long, too deep, a connection silent past
  its deadline); not an object; a batch (a JSON array: syncrig-rpc/1
  answers each request in turn, between callbacks, so batches are refused with this single
  answer); no ``id`` (a request without one is refused, not run silently as a notification);
  an ``id`` that is not a string, an integer or null; ``jsonrpc`` not ``"2.0"``; ``method``
  not a string; a member other than ``jsonrpc``, ``id``, ``method``, ``params``;
- ``-32601`` method not found;
- ``-32602`` invalid params: ``params`` not an object, a parameter unknown, missing or of the
  wrong type, an unknown reference, a private name, an unknown record or enum wire name, a
  record's field unknown, missing or of the wrong type, a malformed tagged value, arguments
  that do not bind to the called method, a value or key of the wrong type for ``set`` or
  ``setitem``, an ``open`` naming an unknown target, option, device or profile;
- ``-32603`` internal error: an answer that cannot be written as JSON;
- ``-32001`` the token is missing or wrong (``open`` only; nothing is opened);
- ``-32002`` not offered: a name the object's class does not offer (to read, call or set), an
  item of what is not a dict handed out by reference, a value the server does not hand out;
- ``-32003`` the server is busy: it already serves :data:`MAX_CONNECTIONS` connections (then
  it closes the connection).

The target's own errors: a ``BusinessError`` of the API answers ``{"code": 1, "message": ...,
"data": {"type": "BusinessError", "code": C, "message": M}}``; a plain JavaScript ``Error``
with no code (what a release may throw for a bad argument) ``{"code": 3, "data": {"type":
"Error", "message": M}}``; any other exception of the target ``{"code": 2, "data": {"type": T,
"message": M}}``. The connection stays open after any answer.

Access: the server listens on 127.0.0.1 unless told otherwise. Listening on any other address
(another loopback address, a LAN address, ``0.0.0.0``) needs a token of at least
:data:`MIN_TOKEN` characters; a server that has one, wherever it listens, opens a target only
for an ``open`` carrying it (compared in constant time). The token is sent in clear: use it on
a network you trust, or through a tunnel.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import enum
import hmac
import inspect
import itertools
import json
import re
import socket
import socketserver
import subprocess
import threading
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

from sim.cloud.drive import Change as CloudChange
from sim.cloud.drive import CloudObject
from sim.device.link import TransferResult
from sim.device.ports import (
    BatteryReading,
    NetworkReading,
    RadioReading,
    StorageReading,
    TemperatureReading,
)
from sim.device.radio import Direction, NetworkType
from sim.ohos.cloudsync.constants import ChangeData, DownloadProgress, SyncProgress
from sim.ohos.common import BusinessError
from sim.ohos.request.download import DownloadInfo
from sim.ohos.request.errors import JsError
from sim.ohos.request.upload import TaskState
from sim.trace import DeviceEvent, EventKind

PROTOCOL = "syncrig-rpc/1"

MAX_LINE = 64 * 1024 * 1024
"""Bytes of one line, newline excluded, once the connection has opened a target: a 20 MB file
written over the wire is 40 MB of hex."""
MAX_LINE_BEFORE_OPEN = 1024 * 1024
"""Bytes of one line before the connection has opened a target: ``hello`` and ``open`` are
short, and a client without the token holds no more than this."""
READ_TIMEOUT = 30.0
"""Seconds a TCP connection may leave a line unfinished without sending a byte, or, before it
has opened a target, wait before its next request; then it is answered and closed."""
MAX_CONNECTIONS = 64
"""TCP connections served at once; one more is answered :data:`BUSY` and closed."""
MAX_DEPTH = 64
"""Arrays and objects inside one another; the requests of the API nest a handful deep."""
MAX_ITEMS = 100_000
"""Brackets and commas outside strings: bounds the objects one line can make the parser build."""
MAX_INT_DIGITS = 40
"""Digits of one integer (2**128 has 39), far below what makes ``int()`` slow or refuse."""
MIN_TOKEN = 16
"""Characters of a token at least; ``secrets.token_urlsafe(32)`` gives 43."""

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS, INTERNAL_ERROR = \
    -32700, -32600, -32601, -32602, -32603
UNAUTHORIZED, NOT_OFFERED, BUSY = -32001, -32002, -32003
BUSINESS_ERROR, TARGET_ERROR, PLAIN_ERROR = 1, 2, 3

RECORDS: dict[str, type] = {
    "SyncProgress": SyncProgress, "DownloadProgress": DownloadProgress,
    "ChangeData": ChangeData, "DownloadInfo": DownloadInfo, "TaskState": TaskState,
    "CloudObject": CloudObject, "CloudChange": CloudChange,
    "BatteryReading": BatteryReading, "TemperatureReading": TemperatureReading,
    "RadioReading": RadioReading, "NetworkReading": NetworkReading,
    "StorageReading": StorageReading, "DeviceEvent": DeviceEvent,
    "TransferResult": TransferResult,
}
"""The records that travel by value, by wire name: the only classes a peer can make built."""
ENUMS: dict[str, type[enum.Enum]] = {
    "NetworkType": NetworkType, "Direction": Direction, "EventKind": EventKind}
"""The enums that travel as members, by wire name (an IntEnum travels as its integer)."""

_RECORD_NAMES = {cls: name for name, cls in RECORDS.items()}
_ENUM_NAMES = {cls: name for name, cls in ENUMS.items()}


class LineSource(Protocol):
    def readline(self, size: int = -1, /) -> bytes: ...


class ByteStream(LineSource, Protocol):
    """One side of a connection: a socket's file, or a pipe."""

    def write(self, data: bytes, /) -> int: ...
    def flush(self) -> None: ...


class RemoteError(RuntimeError):
    """An exception the target raised that is not a documented BusinessError."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind


class ProtocolError(RuntimeError):
    """The peer broke syncrig-rpc/1 (closed the connection, sent something unreadable), or
    the server refused a request; ``code`` is its JSON-RPC error code when it answered."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class InvalidParams(ValueError):
    """A request naming what does not exist or does not fit (a reference, a parameter, a
    private name, a wire name, a field, an argument of a call, an option of ``open``)."""


class _NotOffered(Exception):
    """A value the server does not hand out (a path, a module, a file...)."""


class _Unauthorized(Exception):
    """An ``open`` without the server's token."""


class _Limit(Exception):
    """A line over one of the limits: an invalid request."""


class _NotJson(Exception):
    """``NaN`` or ``Infinity``: Python's parser takes them, JSON has no such number."""


# -- values -------------------------------------------------------------------------------------


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


Check = Callable[[Any], bool]


def _checker(annotation: Any) -> tuple[Check, str]:
    """A test of a decoded value against a record field's annotation, and its name."""
    if annotation is Any:
        return (lambda v: True), "any value"
    if annotation is type(None) or annotation is None:
        return (lambda v: v is None), "null"
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (types.UnionType, typing.Union):
        parts = [_checker(a) for a in args]
        return (lambda v: any(check(v) for check, _ in parts)), \
            " or ".join(name for _, name in parts)
    if origin is list:
        item, name = _checker(args[0])
        return (lambda v: isinstance(v, list) and all(item(x) for x in v)), f"a list of {name}"
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        item, name = _checker(args[0])
        return (lambda v: isinstance(v, tuple) and all(item(x) for x in v)), \
            f"a tuple of {name}"
    if origin is dict and args[0] is str:
        value, name = _checker(args[1])
        return (lambda v: isinstance(v, dict) and all(
            isinstance(k, str) and value(x) for k, x in v.items())), f"an object of {name}"
    if annotation is bool:
        return (lambda v: isinstance(v, bool)), "a boolean"
    if annotation is float:
        return (lambda v: _is_int(v) or isinstance(v, float)), "a number"
    if annotation is str:
        return (lambda v: isinstance(v, str)), "a string"
    if isinstance(annotation, type) and issubclass(annotation, int):  # int and IntEnums
        # an IntEnum field keeps the integer sent: a target may report a value outside it
        return _is_int, "an integer"
    if annotation in _ENUM_NAMES or annotation in _RECORD_NAMES:
        cls: type = annotation
        return (lambda v: isinstance(v, cls)), _ENUM_NAMES.get(cls) or _RECORD_NAMES[cls]
    raise TypeError(f"a record field of type {annotation!r} cannot travel over {PROTOCOL}")


def _fields(cls: type) -> dict[str, tuple[Check, str]]:
    hints = typing.get_type_hints(cls)
    return {f.name: _checker(hints[f.name]) for f in dataclasses.fields(cls) if f.init}


_FIELDS: dict[type, dict[str, tuple[Check, str]]] = {cls: _fields(cls) for cls in RECORDS.values()}


def _names(names: Any) -> str:
    return ", ".join(repr(n) for n in sorted(names))


def _encode(value: Any, other: Callable[[Any], Any]) -> Any:
    """The wire form both sides give alike: JSON's types, enums, bytes, tuples and records;
    ``other`` encodes anything else (as a reference, a callback, …). Inside a record, lists
    and dicts travel by value: a record is immutable."""
    if type(value) in _ENUM_NAMES:
        # before str: a StrEnum member stays a member (``net.active.value`` works remotely)
        return {"$enum": _ENUM_NAMES[type(value)], "name": value.name}
    if value is None or isinstance(value, bool | str | float):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, bytes):
        return {"$bytes": value.hex()}
    if isinstance(value, tuple):
        return {"$tuple": [_encode(v, other) for v in value]}
    if type(value) in _RECORD_NAMES:
        def by_value(inner: Any) -> Any:
            if isinstance(inner, list):
                return [_encode(v, by_value) for v in inner]
            if isinstance(inner, dict):
                return {str(k): _encode(v, by_value) for k, v in inner.items()}
            return other(inner)
        return {"$record": _RECORD_NAMES[type(value)], "fields": {
            name: _encode(getattr(value, name), by_value) for name in _FIELDS[type(value)]}}
    return other(value)


_TAGS = {"$bytes": {"$bytes"}, "$tuple": {"$tuple"}, "$enum": {"$enum", "name"},
         "$record": {"$record", "fields"}}
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})*")


def _decode(value: Any, special: Callable[[dict[str, Any]], Any]) -> Any:
    """The inverse of :func:`_encode`; ``special`` decodes a tagged object of one side
    (``$ref``, ``$callback``) and returns :data:`_PLAIN` for an ordinary dict. Raises
    :class:`InvalidParams` for a tagged object that is not one of the protocol's."""
    if isinstance(value, list):
        return [_decode(v, special) for v in value]
    if not isinstance(value, dict):
        return value
    tag = next((t for t in _TAGS if t in value), None)
    if tag is not None and set(value) != _TAGS[tag]:
        raise InvalidParams(f"{tag} takes exactly {_names(_TAGS[tag])}, got {_names(value)}")
    if tag == "$bytes":
        if not isinstance(value["$bytes"], str) or not _HEX.fullmatch(value["$bytes"]):
            raise InvalidParams("$bytes must be a string of hex digit pairs")
        return bytes.fromhex(value["$bytes"])
    if tag == "$tuple":
        if not isinstance(value["$tuple"], list):
            raise InvalidParams("$tuple must be an array")
        return tuple(_decode(v, special) for v in value["$tuple"])
    if tag == "$enum":
        return _enum_member(value["$enum"], value["name"])
    if tag == "$record":
        return _record(value["$record"], value["fields"], special)
    decoded = special(value)
    if decoded is not _PLAIN:
        return decoded
    return {k: _decode(v, special) for k, v in value.items()}


def _enum_member(wire: Any, name: Any) -> enum.Enum:
    cls = ENUMS.get(wire) if isinstance(wire, str) else None
    if cls is None:
        raise InvalidParams(f"unknown enum {wire!r}")
    if not isinstance(name, str) or name not in cls.__members__:
        raise InvalidParams(f"enum {wire} has no member {name!r}")
    return cls.__members__[name]


def _record(wire: Any, fields: Any, special: Callable[[dict[str, Any]], Any]) -> Any:
    cls = RECORDS.get(wire) if isinstance(wire, str) else None
    if cls is None:
        raise InvalidParams(f"unknown record {wire!r}")
    if not isinstance(fields, dict):
        raise InvalidParams(f"record {wire}: fields must be an object")
    declared = _FIELDS[cls]
    unknown = set(fields) - set(declared)
    if unknown:
        raise InvalidParams(f"record {wire}: unknown field {_names(unknown)}")
    missing = set(declared) - set(fields)
    if missing:
        raise InvalidParams(f"record {wire}: missing field {_names(missing)}")
    values = {name: _decode(v, special) for name, v in fields.items()}
    for name, (check, kind) in declared.items():
        if not check(values[name]):
            raise InvalidParams(f"record {wire}: field {name!r} must be {kind}")
    return cls(**values)


_PLAIN = object()


# -- reading a line -----------------------------------------------------------------------------


_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_OPENING = frozenset(b"[{")


def _check_limits(line: bytes) -> None:
    """Depth and size of a line, from its structure alone (strings taken out): what the parser
    and the decoder may recurse into and build."""
    opening = line.count(b"[") + line.count(b"{")
    if opening <= MAX_DEPTH and 2 * opening + line.count(b",") <= MAX_ITEMS:
        return  # within the limits even counting the strings' bytes (a file's hex, say)
    structure = _STRING.sub(b'""', line)
    brackets = structure.translate(None, _NOT_BRACKET)
    if len(brackets) + structure.count(b",") > MAX_ITEMS:
        raise _Limit(f"more than {MAX_ITEMS} brackets and commas")
    depth = 0
    for byte in brackets:
        depth += 1 if byte in _OPENING else -1
        if depth > MAX_DEPTH:
            raise _Limit(f"nested deeper than {MAX_DEPTH} levels")


def _parse_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise _Limit(f"an integer of more than {MAX_INT_DIGITS} digits")
    return int(digits)


def _parse_float(text: str) -> float:
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise _Limit(f"a number out of range ({text[:20]}{'…' if len(text) > 20 else ''})")
    return number


def _parse_constant(name: str) -> Any:
    raise _NotJson(f"{name} is not JSON")


def _read_request(line: bytes) -> tuple[Any, dict[str, Any] | None]:
    """A line's request, or the error answering it."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, _error(None, PARSE_ERROR, f"parse error: not UTF-8 (byte {exc.start})")
    if not text.strip():
        return None, _error(None, PARSE_ERROR, "parse error: an empty line")
    try:
        _check_limits(line)
        return json.loads(text, parse_int=_parse_int, parse_float=_parse_float,
                          parse_constant=_parse_constant), None
    except _Limit as exc:
        return None, _error(None, INVALID_REQUEST, f"invalid request: {exc}")
    except _NotJson as exc:
        return None, _error(None, PARSE_ERROR, f"parse error: {exc}")
    except json.JSONDecodeError as exc:
        return None, _error(None, PARSE_ERROR, f"parse error: {exc}")
    except (RecursionError, ValueError) as exc:  # the limits keep these out; never fatal
        return None, _error(None, PARSE_ERROR, f"parse error: {type(exc).__name__}")


def _lines(reader: LineSource, limit: Callable[[], int]) -> Iterator[bytes | int]:
    """The lines of a stream, each at most ``limit()`` bytes read; for a longer one, the limit
    it broke, its rest read and dropped."""
    while True:
        most = limit()
        line = reader.readline(most + 1)
        if not line:
            return
        if len(line) <= most or line.endswith(b"\n"):
            yield line
            continue
        while True:
            rest = reader.readline(1 << 16)
            if not rest or rest.endswith(b"\n"):
                break
        yield most


class _Silent(Exception):
    """A connection silent past :data:`READ_TIMEOUT`: in the middle of a line, or before it
    opened a target."""


class _SocketReader:
    """A connection's lines, read off its socket with deadlines: a line begun must go on
    arriving (a byte at least every ``timeout`` seconds), and a connection whose ``patient()``
    is false (it has opened no target) must send its next line within ``timeout`` too."""

    def __init__(self, sock: socket.socket, timeout: float, patient: Callable[[], bool]) -> None:
        self.sock = sock
        self.timeout = timeout
        self.patient = patient
        self.buffer = bytearray()
        self.scanned = 0

    def readline(self, size: int = -1, /) -> bytes:
        while True:
            end = self.buffer.find(b"\n", self.scanned, size if size >= 0 else None)
            if end >= 0:
                return self._take(end + 1)
            if 0 <= size <= len(self.buffer):
                return self._take(size)
            self.scanned = len(self.buffer)
            waiting = bool(self.buffer) or not self.patient()
            self.sock.settimeout(self.timeout if waiting else None)
            try:
                chunk = self.sock.recv(1 << 20)
            except TimeoutError:
                raise _Silent(
                    f"no byte for {self.timeout:g} s in the middle of a line" if self.buffer
                    else f"no request for {self.timeout:g} s and no target open") from None
            if not chunk:
                return self._take(len(self.buffer))
            self.buffer += chunk

    def _take(self, size: int) -> bytes:
        line = bytes(self.buffer[:size])
        del self.buffer[:size]
        self.scanned = 0
        return line


# -- the server ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Offer:
    """What a client may do with the objects of one class: nothing that is not named here."""

    get: frozenset[str] = frozenset()
    """Attributes read by value (an object among them travels as a reference only if its own
    class is offered)."""
    call: frozenset[str] = frozenset()
    """Methods handed out as references, to be called."""
    set: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    """Attributes a client may assign, each with the type its value must have."""
    mappings: Mapping[str, tuple[Any, Any]] = dataclasses.field(default_factory=dict)
    """Dict attributes handed out as references (``item``, ``setitem``, ``len``, ``iter``),
    each with the type of a key and of a value ``setitem`` accepts."""
    opaque: frozenset[str] = frozenset()
    """Attributes that exist for a client's ``hasattr`` but whose value is the event loop's
    own: an opaque reference, on which nothing can be done."""


@dataclasses.dataclass(frozen=True)
class Capabilities:
    """What a server hands out: the classes whose objects travel as references (a subclass
    takes its nearest offered class's offer) and the functions, by ``module:qualname``, that an
    offered method may return (an unsubscribe, say)."""

    classes: Mapping[type, Offer]
    functions: frozenset[str] = frozenset()

    def offer(self, value: object) -> Offer | None:
        for cls in type(value).__mro__:
            found = self.classes.get(cls)
            if found is not None:
                return found
        return None


class Opener(Protocol):
    """What a server serves: a target made by name and options (raising
    :class:`InvalidParams` for one it does not know), and what of it is offered."""

    capabilities: Capabilities

    def __call__(self, target: str, options: dict[str, Any], /) -> Any: ...


@dataclasses.dataclass(frozen=True)
class _Bound:
    """An offered method of an offered object."""

    obj: Any
    name: str

    def function(self) -> Callable[..., Any]:
        found: Callable[..., Any] = getattr(self.obj, self.name)
        return found

    def label(self) -> str:
        return f"{type(self.obj).__name__}.{self.name}"


@dataclasses.dataclass(frozen=True)
class _Mapping:
    """An offered dict attribute: its items read and, of the declared types, set."""

    mapping: dict[Any, Any]
    label: str
    key: tuple[Check, str]
    value: tuple[Check, str]


@dataclasses.dataclass(frozen=True)
class _Opaque:
    label: str


def _function_name(value: object) -> str | None:
    if isinstance(value, types.FunctionType):
        return f"{value.__module__}:{value.__qualname__}"
    return None


_CONTAINERS = (list, dict, set, frozenset, collections.deque)
"""What travels by value, as an array (a dict as an object): never a reference whose
methods a client could call."""


_PARAMS: dict[str, tuple[dict[str, tuple[type, str]], frozenset[str]]] = {
    "hello": ({}, frozenset()),
    "open": ({"target": (str, "a string"), "options": (dict, "an object"),
              "token": (str, "a string")}, frozenset()),
    "get": ({"ref": (int, "an integer"), "name": (str, "a string")}, frozenset({"ref", "name"})),
    "set": ({"ref": (int, "an integer"), "name": (str, "a string"), "value": (object, "")},
            frozenset({"ref", "name", "value"})),
    "call": ({"ref": (int, "an integer"), "args": (list, "an array"),
              "kwargs": (dict, "an object")}, frozenset({"ref"})),
    "item": ({"ref": (int, "an integer"), "key": (object, "")}, frozenset({"ref", "key"})),
    "setitem": ({"ref": (int, "an integer"), "key": (object, ""), "value": (object, "")},
                frozenset({"ref", "key", "value"})),
    "len": ({"ref": (int, "an integer")}, frozenset({"ref"})),
    "iter": ({"ref": (int, "an integer")}, frozenset({"ref"})),
}
"""Each method's parameters (type, and its name in an answer) and those it needs."""


def _check_params(method: str, params: dict[str, Any]) -> None:
    declared, needed = _PARAMS[method]
    unknown = set(params) - set(declared)
    if unknown:
        raise InvalidParams(f"unknown params {_names(unknown)} (known: {_names(declared)})"
                         if declared else f"unknown params {_names(unknown)} (none known)")
    missing = needed - set(params)
    if missing:
        raise InvalidParams(f"missing param {_names(missing)}")
    for name, value in params.items():
        kind, described = declared[name]
        if (kind is int and not _is_int(value)) or not isinstance(value, kind):
            raise InvalidParams(f"param {name!r} must be {described}")


@dataclasses.dataclass(frozen=True)
class _Callback:
    """A client's function on the server: calling it notifies the client. One function is
    one number, so passed twice it is equal to itself, as a JavaScript function is (an
    ``off(type, callback)`` finds the callback its ``on`` registered)."""

    session: _Session
    """Its connection (compared by identity: two connections' callbacks are never equal)."""
    number: int

    def __call__(self, *args: Any) -> None:
        self.session.send({"jsonrpc": "2.0", "method": "callback", "params": {
            "callback": self.number, "args": [self.session.encode(a) for a in args]}})


class _Session:
    """One connection's objects, callbacks and targets."""

    def __init__(self, opener: Opener, send: Callable[[dict[str, Any]], None],
                 token: str | None = None) -> None:
        self.opener = opener
        self.capabilities = opener.capabilities
        self.send = send
        self.token = token
        self.objects: dict[int, Any] = {}
        self.ids = itertools.count(1)
        self.by_identity: dict[int, int] = {}
        self.bound: dict[tuple[int, str], _Bound] = {}
        self.targets: list[Any] = []
        self.closed = False
        self._depth = 0
        self._lock = threading.Lock()

    def line_limit(self) -> int:
        """Bytes a line may hold: :data:`MAX_LINE` once a target is open, else
        :data:`MAX_LINE_BEFORE_OPEN`."""
        return MAX_LINE if self.targets else MAX_LINE_BEFORE_OPEN

    def encode(self, value: Any) -> Any:
        """A value for the wire: containers by value, offered objects as references."""
        return _encode(value, self._other)

    def _other(self, value: Any) -> Any:
        if type(value) in _CONTAINERS:
            self._depth += 1
            try:
                if self._depth > MAX_DEPTH:
                    raise _NotOffered(f"a value nested deeper than {MAX_DEPTH} levels")
                if isinstance(value, dict):
                    if not all(isinstance(k, str) and not k.startswith("$") for k in value):
                        raise _NotOffered("a dict whose keys are not plain strings")
                    return {k: self.encode(v) for k, v in value.items()}
                return [self.encode(v) for v in value]
            finally:
                self._depth -= 1
        if isinstance(value, _Bound):
            return self._reference(value, "method")
        if isinstance(value, _Mapping):
            return self._reference(value, "dict")
        if isinstance(value, _Opaque):
            return self._reference(value, "opaque")
        if _function_name(value) in self.capabilities.functions:
            return self._reference(value, "function")
        if self.capabilities.offer(value) is not None:
            return self._reference(value, type(value).__name__)
        raise _NotOffered(f"a {type(value).__name__} is not an object {PROTOCOL} hands out")

    def _reference(self, value: Any, kind: str) -> Any:
        ref = self.by_identity.get(id(value))
        if ref is None or self.objects.get(ref) is not value:
            ref = next(self.ids)
            self.objects[ref] = value
            self.by_identity[id(value)] = ref
        return {"$ref": ref, "type": kind}

    def decode(self, value: Any) -> Any:
        return _decode(value, self._special)

    def _special(self, value: dict[str, Any]) -> Any:
        if "$ref" in value:
            if set(value) != {"$ref"}:
                raise InvalidParams(f"$ref takes exactly '$ref', got {_names(value)}")
            return self._object(value["$ref"])
        if "$callback" in value:
            number = value["$callback"]
            if set(value) != {"$callback"} or not _is_int(number):
                raise InvalidParams("a callback is exactly {\"$callback\": integer}")
            return _Callback(self, number)
        return _PLAIN

    def _object(self, ref: Any) -> Any:
        if not _is_int(ref):
            raise InvalidParams(f"a reference must be an integer, got {json.dumps(ref)}")
        if ref not in self.objects:
            raise InvalidParams(f"unknown reference {ref}")
        return self.objects[ref]

    def handle(self, request: Any) -> dict[str, Any]:
        """The answer to one parsed line."""
        if isinstance(request, list):
            return _error(None, INVALID_REQUEST, "invalid request: batches are not supported, "
                          "send one request per line")
        if not isinstance(request, dict):
            return _error(None, INVALID_REQUEST, "invalid request: not a JSON object")
        if "id" not in request:
            return _error(None, INVALID_REQUEST, "invalid request: no id (every request of "
                          f"{PROTOCOL} has one)")
        rid = request["id"]
        if rid is not None and not isinstance(rid, str) and not _is_int(rid):
            return _error(None, INVALID_REQUEST,
                          "invalid request: id must be a string, an integer or null")
        unknown = set(request) - {"jsonrpc", "id", "method", "params"}
        if unknown:
            return _error(rid, INVALID_REQUEST, f"invalid request: unknown members "
                          f"{_names(unknown)}")
        if request.get("jsonrpc") != "2.0":
            return _error(rid, INVALID_REQUEST, 'invalid request: jsonrpc must be "2.0"')
        method = request.get("method")
        if not isinstance(method, str):
            return _error(rid, INVALID_REQUEST, "invalid request: method must be a string")
        if method not in _PARAMS:
            return _error(rid, METHOD_NOT_FOUND, f"method not found: {method!r}")
        params = request.get("params", {})
        if not isinstance(params, dict):
            return _error(rid, INVALID_PARAMS, "invalid params: params must be an object")
        handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "open": self._open, "get": self._get, "set": self._set, "call": self._call,
            "item": self._item, "setitem": self._setitem, "len": self._len, "iter": self._iter,
            "hello": lambda p: {"protocol": PROTOCOL}}
        try:
            _check_params(method, params)
            result = handlers[method](params)
        except InvalidParams as exc:
            return _error(rid, INVALID_PARAMS, f"invalid params: {exc}")
        except _Unauthorized as exc:
            return _error(rid, UNAUTHORIZED, str(exc))
        except _NotOffered as exc:
            return _error(rid, NOT_OFFERED, f"not offered: {exc}")
        except BusinessError as exc:
            return _error(rid, BUSINESS_ERROR, exc.message, {"type": "BusinessError",
                                                             "code": exc.code,
                                                             "message": exc.message})
        except JsError as exc:
            return _error(rid, PLAIN_ERROR, exc.message, {"type": "Error",
                                                         "message": exc.message})
        except Exception as exc:  # the target's own failure, reported, never fatal
            return _error(rid, TARGET_ERROR, str(exc), {"type": type(exc).__name__,
                                                        "message": str(exc)})
        return {"jsonrpc": "2.0", "id": rid, "result": result}

    def _offer(self, obj: Any) -> tuple[Offer, str]:
        """The offer of a referenced object with attributes, and its class's name."""
        offer = None if isinstance(obj, _Bound | _Mapping | _Opaque) \
            else self.capabilities.offer(obj)
        if offer is None:
            raise _NotOffered(f"a {_kind(obj)} has no attributes {PROTOCOL} offers")
        return offer, type(obj).__name__

    def _get(self, params: dict[str, Any]) -> Any:
        name = _name(params)
        obj = self._object(params["ref"])
        offer, cls = self._offer(obj)
        if name in offer.call:
            getattr(obj, name)  # AttributeError for a method this object lacks
            bound = self.bound.get((id(obj), name))
            if bound is None or bound.obj is not obj:
                bound = self.bound[(id(obj), name)] = _Bound(obj, name)
            return self.encode(bound)
        if name in offer.get:
            return self.encode(getattr(obj, name))
        if name in offer.mappings:
            mapping = getattr(obj, name)
            if not isinstance(mapping, dict):
                raise _NotOffered(f"{cls}.{name} is not a dict")
            key, value = offer.mappings[name]
            return self.encode(_Mapping(mapping, f"{cls}.{name}", _checker(key),
                                        _checker(value)))
        if name in offer.opaque:
            getattr(obj, name)
            return self.encode(_Opaque(f"{cls}.{name}"))
        raise _NotOffered(f"{cls}.{name} is not an attribute {PROTOCOL} offers")

    def _set(self, params: dict[str, Any]) -> Any:
        name = _name(params)
        value = self.decode(params["value"])
        obj = self._object(params["ref"])
        offer, cls = self._offer(obj)
        if name not in offer.set:
            raise _NotOffered(f"{cls}.{name} is not an attribute {PROTOCOL} lets a client set")
        check, kind = _checker(offer.set[name])
        if not check(value):
            raise InvalidParams(f"{cls}.{name} must be {kind}")
        setattr(obj, name, value)
        return None

    def _call(self, params: dict[str, Any]) -> Any:
        target = self._object(params["ref"])
        if isinstance(target, _Bound):
            function, label = target.function(), target.label()
        elif _function_name(target) in self.capabilities.functions:
            function, label = target, target.__qualname__
        else:
            raise InvalidParams(f"reference {params['ref']} is not callable")
        args = [self.decode(a) for a in params.get("args", [])]
        kwargs = {k: self.decode(v) for k, v in params.get("kwargs", {}).items()}
        try:
            signature = inspect.signature(function)
        except (TypeError, ValueError):  # a callable without one: its own checks apply
            signature = None
        if signature is not None:
            try:
                signature.bind(*args, **kwargs)
            except TypeError as exc:
                raise InvalidParams(f"{label}(): {exc}") from None
        return self.encode(function(*args, **kwargs))

    def _mapping(self, params: dict[str, Any], method: str) -> _Mapping:
        mapping = self._object(params["ref"])
        if not isinstance(mapping, _Mapping):
            raise _NotOffered(f"{method} of a {_kind(mapping)}: only a dict {PROTOCOL} hands "
                              "out by reference has items")
        return mapping

    @staticmethod
    def _key(mapping: _Mapping, key: Any) -> Any:
        check, kind = mapping.key
        if not check(key):
            raise InvalidParams(f"a key of {mapping.label} must be {kind}")
        return key

    def _item(self, params: dict[str, Any]) -> Any:
        key = self.decode(params["key"])  # a value is decoded first, whatever it is for
        mapping = self._mapping(params, "item")
        return self.encode(mapping.mapping[self._key(mapping, key)])

    def _setitem(self, params: dict[str, Any]) -> Any:
        key, value = self.decode(params["key"]), self.decode(params["value"])
        mapping = self._mapping(params, "setitem")
        check, kind = mapping.value
        if not check(value):
            raise InvalidParams(f"a value of {mapping.label} must be {kind}")
        mapping.mapping[self._key(mapping, key)] = value
        return None

    def _len(self, params: dict[str, Any]) -> Any:
        return len(self._mapping(params, "len").mapping)

    def _iter(self, params: dict[str, Any]) -> Any:
        return [self.encode(v) for v in list(self._mapping(params, "iter").mapping)]

    def _open(self, params: dict[str, Any]) -> Any:
        if self.token is not None:
            given = params.get("token")
            if not isinstance(given, str) or not hmac.compare_digest(
                    given.encode("utf-8", "surrogatepass"), self.token.encode()):
                raise _Unauthorized("token missing or wrong: nothing opened")
        target = self.opener(params.get("target", "cloudSync"), dict(params.get("options", {})))
        with self._lock:
            if not self.closed:
                self.targets.append(target)
                return self.encode(target)
        _close(target)  # the server stopped while the target was being made
        raise RemoteError("ServerStopping", "the server is stopping")

    def close(self) -> None:
        """Close every target this connection opened (each removes its folder); once."""
        with self._lock:
            self.closed = True
            targets, self.targets = self.targets, []
        for target in targets:
            _close(target)
        self.objects.clear()
        self.by_identity.clear()
        self.bound.clear()


def _name(params: dict[str, Any]) -> str:
    """The attribute a request names: a private one (``_…``) is not part of an API."""
    name: str = params["name"]
    if name.startswith("_"):
        raise InvalidParams(f"{name}: not an attribute of the API")
    return name


def _kind(obj: Any) -> str:
    if isinstance(obj, _Bound):
        return f"method ({obj.label()})"
    if isinstance(obj, _Mapping | _Opaque):
        return f"{type(obj).__name__.strip('_').lower()} ({obj.label})"
    return type(obj).__name__


def _close(target: Any) -> None:
    close = getattr(target, "close", None)
    if callable(close):
        close()


def _error(rid: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": rid, "error": error}


def _sender(writer: ByteStream) -> Callable[[dict[str, Any]], None]:
    """Writes one message a line, whole, from any thread; an answer that is not JSON (a
    non-finite float, an integer too long to print) becomes an internal error."""
    lock = threading.Lock()

    def send(message: dict[str, Any]) -> None:
        try:
            data = json.dumps(message, allow_nan=False).encode()
        except (TypeError, ValueError) as exc:
            if "id" not in message:
                raise _NotOffered(f"a callback's arguments cannot be written: {exc}") from None
            data = json.dumps(_error(message["id"], INTERNAL_ERROR,
                                     f"internal error: the answer cannot be written as JSON "
                                     f"({type(exc).__name__})")).encode()
        with lock:
            writer.write(data + b"\n")
            writer.flush()
    return send


def _serve(session: _Session, reader: LineSource) -> None:
    for line in _lines(reader, session.line_limit):
        if isinstance(line, int):
            session.send(_error(None, INVALID_REQUEST,
                                f"invalid request: a line longer than {line} bytes"
                                + ("" if line == MAX_LINE else " (before a target is open)")))
            continue
        request, refused = _read_request(line)
        session.send(refused if refused is not None else session.handle(request))


def serve_stream(opener: Opener, reader: ByteStream,
                 writer: ByteStream, token: str | None = None) -> None:
    """Serve one client on a pair of byte streams until it closes them; its targets are
    closed then (or when this thread is interrupted)."""
    session = _Session(opener, _sender(writer), token)
    try:
        _serve(session, reader)
    except (BrokenPipeError, ConnectionError):
        pass  # the client went away
    finally:
        session.close()


class RpcServer:
    """``syncrig serve rpc``: syncrig-rpc/1 over TCP, one thread per connection.

    ``host`` other than 127.0.0.1 needs a ``token`` (ValueError otherwise): any other address,
    even another loopback one, may be reachable by others. :meth:`stop` closes every
    connection and the targets they hold."""

    def __init__(self, opener: Opener, port: int = 0, host: str = "127.0.0.1",
                 token: str | None = None, *, max_connections: int = MAX_CONNECTIONS,
                 read_timeout: float = READ_TIMEOUT) -> None:
        if token is not None and len(token) < MIN_TOKEN:
            raise ValueError(f"a token needs at least {MIN_TOKEN} characters")
        if host != "127.0.0.1" and token is None:
            raise ValueError(f"listening on {host} needs a token")
        outer = self
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]

        class Handler(socketserver.StreamRequestHandler):
            def setup(self) -> None:
                super().setup()
                # notifications and the answer go out as separate writes: without this,
                # Nagle holds the second until the client's delayed ACK (40 ms)
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def handle(self) -> None:
                session = _Session(outer.opener, _sender(self.wfile), outer.token)
                with outer._lock:
                    if outer._stopping:
                        return
                    busy = len(outer._live) >= max_connections
                    if not busy:
                        outer._live[self.connection] = (session, threading.current_thread())
                if busy:
                    with contextlib.suppress(OSError):
                        session.send(_error(None, BUSY, f"server busy: {max_connections} "
                                            "connections are open, try again later"))
                    return
                reader = _SocketReader(self.connection, read_timeout,
                                       lambda: bool(session.targets))
                try:
                    _serve(session, reader)
                except _Silent as exc:
                    with contextlib.suppress(OSError):
                        session.send(_error(None, INVALID_REQUEST, f"invalid request: {exc}: "
                                            "the connection is closed"))
                except (BrokenPipeError, ConnectionError, OSError, ValueError):
                    pass  # the client went away, or stop() closed the socket
                finally:
                    with outer._lock:
                        outer._live.pop(self.connection, None)
                    session.close()

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True
            address_family = family

        self.opener = opener
        self.host = host
        self.token = token
        self._lock = threading.Lock()
        self._live: dict[socket.socket, tuple[_Session, threading.Thread]] = {}
        self._stopping = False
        self._server = Server((host, port), Handler)
        self.port: int = self._server.server_address[1]
        self._thread: threading.Thread | None = None

    def start(self) -> RpcServer:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="syncrig-rpc")
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop listening, end every connection and close its targets (removing their
        folders): none outlives the server."""
        if self._thread is not None:
            self._server.shutdown()
        self._server.server_close()
        with self._lock:
            self._stopping = True
            live = list(self._live.items())
        for connection, _ in live:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)
        for _, (session, thread) in live:
            thread.join(timeout)
            session.close()  # the thread's own close, or this one if the thread is stuck

    def __enter__(self) -> RpcServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- the client ---------------------------------------------------------------------------------


class RpcClient:
    """One connection; :meth:`open` gives a :class:`Proxy` of a fresh target."""

    def __init__(self, reader: ByteStream, writer: ByteStream,
                 closer: Callable[[], None] = lambda: None) -> None:
        self._reader = reader
        self._writer = writer
        self._closer = closer
        self._ids = itertools.count(1)
        self._callbacks: dict[int, Callable[..., Any]] = {}
        self._callback_ids: dict[int, int] = {}
        self.methods: dict[tuple[int, str], Proxy] = {}
        """Bound methods already looked up: a method of an object stays that method, so the
        second call of ``sync.start`` costs one round trip, not two."""

    @classmethod
    def connect(cls, host: str, port: int) -> RpcClient:
        sock = socket.create_connection((host, port), timeout=120)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        stream = sock.makefile("rwb")

        def close() -> None:
            stream.close()
            sock.close()
        return cls(stream, stream, close)

    @classmethod
    def spawn(cls, command: list[str]) -> RpcClient:
        """A server in a child process speaking on its stdin/stdout."""
        child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert child.stdin is not None and child.stdout is not None

        def close() -> None:
            assert child.stdin is not None and child.stdout is not None
            child.stdin.close()
            child.wait(timeout=30)
            child.stdout.close()
        return cls(child.stdout, child.stdin, close)

    def close(self) -> None:
        self._closer()

    def request(self, method: str, **params: Any) -> Any:
        rid = next(self._ids)
        self._writer.write(json.dumps({"jsonrpc": "2.0", "id": rid, "method": method,
                                       "params": params}, allow_nan=False).encode() + b"\n")
        self._writer.flush()
        while True:
            line = self._reader.readline()
            if not line:
                raise ProtocolError("the server closed the connection")
            message = json.loads(line)
            try:
                if message.get("method") == "callback":
                    number = message["params"]["callback"]
                    args = [self.decode(a) for a in message["params"]["args"]]
                    self._callbacks[number](*args)
                    continue
                if message.get("id") != rid:
                    raise ProtocolError(f"answer to {message.get('id')!r}, expected {rid}")
                if "error" in message:
                    raise _raise(message["error"])
                return self.decode(message["result"])
            except InvalidParams as exc:
                raise ProtocolError(f"the server sent {exc}") from None

    def open(self, target: str = "cloudSync", *, token: str | None = None,
             **options: Any) -> Proxy:
        """A fresh target; ``token`` is the server's, when it has one."""
        params: dict[str, Any] = {"target": target, "options": options}
        if token is not None:
            params["token"] = token
        proxy = self.request("open", **params)
        assert isinstance(proxy, Proxy)
        return proxy

    def encode(self, value: Any) -> Any:
        return _encode(value, self._other)

    def _other(self, value: Any) -> Any:
        if isinstance(value, Proxy):
            return {"$ref": value._ref}
        if isinstance(value, list):
            return [self.encode(v) for v in value]
        if isinstance(value, dict):
            return {str(k): self.encode(v) for k, v in value.items()}
        if callable(value):
            number = self._callback_ids.get(id(value))
            if number is None or self._callbacks.get(number) is not value:
                number = len(self._callbacks) + 1
                self._callbacks[number] = value
                self._callback_ids[id(value)] = number
            return {"$callback": number}
        raise TypeError(f"cannot send a {type(value).__name__} over {PROTOCOL}")

    def decode(self, value: Any) -> Any:
        return _decode(value, self._special)

    def _special(self, value: dict[str, Any]) -> Any:
        if "$ref" in value:
            if not _is_int(value["$ref"]):
                raise InvalidParams(f"a reference must be an integer, got {value['$ref']!r}")
            return Proxy(self, value["$ref"], str(value.get("type", "")))
        return _PLAIN


def _raise(error: dict[str, Any]) -> Exception:
    data = error.get("data") or {}
    if error.get("code") == BUSINESS_ERROR:
        return BusinessError(int(data["code"]), str(data["message"]))
    if error.get("code") == PLAIN_ERROR:
        return JsError(str(data.get("message", "")))
    if error.get("code") == TARGET_ERROR and data.get("type") == "AttributeError":
        return AttributeError(str(data.get("message", "")))  # so hasattr() works remotely
    if error.get("code") == TARGET_ERROR:
        return RemoteError(str(data.get("type", "Error")), str(data.get("message", "")))
    code = error.get("code")
    return ProtocolError(f"{code}: {error.get('message')}", code if _is_int(code) else None)


class Proxy:
    """A server-side object: attributes, calls and container access go over the wire."""

    __slots__ = ("_client", "_ref", "_type")

    def __init__(self, client: RpcClient, ref: int, type_name: str) -> None:
        object.__setattr__(self, "_client", client)
        object.__setattr__(self, "_ref", ref)
        object.__setattr__(self, "_type", type_name)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        cached = self._client.methods.get((self._ref, name))
        if cached is not None:
            return cached
        try:
            value = self._client.request("get", ref=self._ref, name=name)
        except ProtocolError as exc:
            if exc.code == NOT_OFFERED:  # for a client, a name not offered is not there
                raise AttributeError(str(exc)) from None
            raise
        if isinstance(value, Proxy) and value._type == "method":
            self._client.methods[(self._ref, name)] = value
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        self._client.request("set", ref=self._ref, name=name, value=self._client.encode(value))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        client = self._client
        return client.request("call", ref=self._ref, args=[client.encode(a) for a in args],
                              kwargs={k: client.encode(v) for k, v in kwargs.items()})

    def __getitem__(self, key: Any) -> Any:
        return self._client.request("item", ref=self._ref, key=self._client.encode(key))

    def __setitem__(self, key: Any, value: Any) -> None:
        self._client.request("setitem", ref=self._ref, key=self._client.encode(key),
                             value=self._client.encode(value))

    def __len__(self) -> int:
        return int(self._client.request("len", ref=self._ref))

    def __iter__(self) -> Any:
        return iter(self._client.request("iter", ref=self._ref))

    def __bool__(self) -> bool:
        try:
            return len(self) > 0
        except (RemoteError, ProtocolError):
            return True  # not a container: an object is true

    def __repr__(self) -> str:
        return f"<remote {self._type} #{self._ref}>"
