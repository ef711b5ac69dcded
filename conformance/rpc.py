"""syncrig-rpc/1: the conformance suite's remote-object protocol, so a target can live in
another process, or on a device behind an agent.

Transport: JSON-RPC 2.0, one JSON object per line (UTF-8), over TCP (``syncrig serve rpc``) or
a child process's stdin/stdout (``syncrig serve rpc --stdio``). The client sends requests and
waits for each answer; the server may send notifications before an answer.

Objects stay on the server; the client holds references. Requests (``params`` by name):

``open {"target": "cloudSync" | "request", "options": {"device": ..., "profile": ...}}``
    A fresh target; the result is a reference to it. One connection holds one target; closing
    the connection frees it. ``cloudSync``: ``device``, ``cloud``, ``drive``, ``modules``
    (``system``, ``no-permission``, ``not-system``), ``has_controls``, and the helpers of
    :class:`~conformance.targets.reference.ReferenceCloudSync`. ``request``: ``device``,
    ``modules`` (``app`` with INTERNET, ``denied`` without), ``has_controls``,
    ``cache_files()`` and ``read_cache(rel)`` (the app's cache folder). The suite's file
    server listens on the harness's 127.0.0.1, so a ``request`` target runs on that machine.
``get {"ref", "name"}`` / ``set {"ref", "name", "value"}``
    Read or write an attribute of a referenced object.
``call {"ref", "args": [...], "kwargs": {...}}``
    Call a referenced callable (a method is got with ``get`` first).
``item {"ref", "key"}`` / ``setitem {"ref", "key", "value"}`` / ``len {"ref"}`` / ``iter {"ref"}``
    Container access; ``iter`` answers with a list of values.

Values on the wire: JSON's own types are themselves; ``{"$bytes": hex}``; a tuple is
``{"$tuple": [...]}``; an enum member is ``{"$enum": "module:Class", "name": NAME}``; an
immutable record (a frozen dataclass of the API: ``SyncProgress``, ``ChangeData``, a sensor
reading, a cloud object) is ``{"$record": "module:Class", "fields": {...}}``; any other object
is ``{"$ref": N, "type": "Class"}``. A client's function passed as an argument is
``{"$callback": N}``; when the server calls it, it sends the notification
``{"method": "callback", "params": {"callback": N, "args": [...]}}`` (before the answer to the
request during which it happened, in order). Records and enums name classes under ``sim.``.

Errors: a ``BusinessError`` of the API answers ``{"code": 1, "message": ..., "data":
{"type": "BusinessError", "code": C, "message": M}}``; a plain JavaScript ``Error`` with no
code (what a release may throw for a bad argument) ``{"code": 3, "data": {"type": "Error",
"message": M}}``; any other exception of the target ``{"code": 2, "data": {"type": T,
"message": M}}``; a malformed request ``-32600``/``-32602``
and an unknown method ``-32601``, as JSON-RPC says.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import itertools
import json
import socket
import socketserver
import subprocess
import threading
from collections.abc import Callable, Iterator
from typing import Any, Protocol, cast

from sim.ohos.common import BusinessError
from sim.ohos.request.errors import JsError

PROTOCOL = "syncrig-rpc/1"


class ByteStream(Protocol):
    """One side of a connection: a socket's file, or a pipe."""

    def readline(self) -> bytes: ...
    def write(self, data: bytes, /) -> int: ...
    def flush(self) -> None: ...
    def __iter__(self) -> Iterator[bytes]: ...
BUSINESS_ERROR, TARGET_ERROR, PLAIN_ERROR = 1, 2, 3


class RemoteError(RuntimeError):
    """An exception the target raised that is not a documented BusinessError."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind


class ProtocolError(RuntimeError):
    """The peer broke syncrig-rpc/1 (closed the connection, sent something unreadable)."""


def _class_name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _load_class(name: str) -> type:
    module, _, qualname = name.partition(":")
    if not module.startswith("sim.") and not module.startswith("conformance."):
        raise ProtocolError(f"{name}: records and enums name classes of syncrig only")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    if not isinstance(obj, type):
        raise ProtocolError(f"{name} is not a class")
    return obj


def _is_record(value: object) -> bool:
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        return False
    params = getattr(type(value), "__dataclass_params__", None)
    return bool(params and params.frozen)


def _encode(value: Any, other: Callable[[Any], Any]) -> Any:
    """The wire form both sides give alike: JSON's types, enums, bytes, tuples and records;
    ``other`` encodes anything else (as a reference, a callback, …). Inside a record, lists
    and dicts travel by value: a record is immutable."""
    if isinstance(value, enum.Enum) and not isinstance(value, int):
        # before str: a StrEnum member stays a member (``net.active.value`` works remotely)
        return {"$enum": _class_name(type(value)), "name": value.name}
    if value is None or isinstance(value, bool | str | float):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, bytes):
        return {"$bytes": value.hex()}
    if isinstance(value, tuple):
        return {"$tuple": [_encode(v, other) for v in value]}
    if _is_record(value):
        def by_value(inner: Any) -> Any:
            if isinstance(inner, list):
                return [_encode(v, by_value) for v in inner]
            if isinstance(inner, dict):
                return {str(k): _encode(v, by_value) for k, v in inner.items()}
            return other(inner)
        return {"$record": _class_name(type(value)), "fields": {
            f.name: _encode(getattr(value, f.name), by_value)
            for f in dataclasses.fields(value) if f.init}}
    return other(value)


def _decode(value: Any, special: Callable[[dict[str, Any]], Any]) -> Any:
    """The inverse of :func:`_encode`; ``special`` decodes a tagged object of one side
    (``$ref``, ``$callback``) and returns :data:`_PLAIN` for an ordinary dict."""
    if isinstance(value, list):
        return [_decode(v, special) for v in value]
    if not isinstance(value, dict):
        return value
    if "$bytes" in value:
        return bytes.fromhex(value["$bytes"])
    if "$tuple" in value:
        return tuple(_decode(v, special) for v in value["$tuple"])
    if "$enum" in value:
        return cast(type[enum.Enum], _load_class(value["$enum"]))[value["name"]]
    if "$record" in value:
        cls = _load_class(value["$record"])
        return cls(**{k: _decode(v, special) for k, v in value["fields"].items()})
    decoded = special(value)
    if decoded is not _PLAIN:
        return decoded
    return {k: _decode(v, special) for k, v in value.items()}


_PLAIN = object()


class _BadParams(ValueError):
    """A request naming what does not exist (a reference, a parameter, a private name)."""


# -- the server ---------------------------------------------------------------------------------


class _Session:
    """One connection's objects and callbacks."""

    def __init__(self, opener: Callable[[str, dict[str, Any]], Any],
                 send: Callable[[dict[str, Any]], None]) -> None:
        self.opener = opener
        self.send = send
        self.objects: dict[int, Any] = {}
        self.ids = itertools.count(1)
        self.by_identity: dict[int, int] = {}
        self.targets: list[Any] = []

    def encode(self, value: Any) -> Any:
        """A value for the wire: anything not sent by value becomes a reference."""
        return _encode(value, self._reference)

    def _reference(self, value: Any) -> Any:
        ref = self.by_identity.get(id(value))
        if ref is None or self.objects.get(ref) is not value:
            ref = next(self.ids)
            self.objects[ref] = value
            self.by_identity[id(value)] = ref
        return {"$ref": ref, "type": type(value).__name__}

    def decode(self, value: Any) -> Any:
        return _decode(value, self._special)

    def _special(self, value: dict[str, Any]) -> Any:
        if "$ref" in value:
            try:
                return self.objects[int(value["$ref"])]
            except (KeyError, ValueError, TypeError):
                raise _BadParams(f"unknown reference {value['$ref']!r}") from None
        if "$callback" in value:
            number = value["$callback"]

            def callback(*args: Any) -> None:
                self.send({"jsonrpc": "2.0", "method": "callback", "params": {
                    "callback": number, "args": [self.encode(a) for a in args]}})
            return callback
        return _PLAIN

    def handle(self, request: Any) -> dict[str, Any] | None:
        if not isinstance(request, dict) or request.get("jsonrpc") != "2.0" \
                or not isinstance(request.get("method"), str):
            return _error(None, -32600, "not a JSON-RPC 2.0 request")
        rid = request.get("id")
        params = request.get("params", {})
        if not isinstance(params, dict):
            return _error(rid, -32602, "params must be an object")
        method = request["method"]
        handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "open": self._open, "get": self._get, "set": self._set, "call": self._call,
            "item": self._item, "setitem": self._setitem, "len": self._len, "iter": self._iter,
            "hello": lambda p: {"protocol": PROTOCOL}}
        if method not in handlers:
            return _error(rid, -32601, f"unknown method {method!r}")
        try:
            result = handlers[method](params)
        except BusinessError as exc:
            return _error(rid, BUSINESS_ERROR, exc.message, {"type": "BusinessError",
                                                             "code": exc.code,
                                                             "message": exc.message})
        except JsError as exc:
            return _error(rid, PLAIN_ERROR, exc.message, {"type": "Error",
                                                         "message": exc.message})
        except (_BadParams, ProtocolError) as exc:
            return _error(rid, -32602, f"bad params: {exc}")
        except Exception as exc:  # the target's own failure, reported, never fatal
            return _error(rid, TARGET_ERROR, str(exc), {"type": type(exc).__name__,
                                                        "message": str(exc)})
        return {"jsonrpc": "2.0", "id": rid, "result": result}

    def _ref(self, params: dict[str, Any]) -> Any:
        if "ref" not in params:
            raise _BadParams("missing ref")
        return self._special({"$ref": params["ref"]})

    @staticmethod
    def _name(params: dict[str, Any], private: str) -> str:
        """The attribute a request names; dunder (or, to set, any private) names are not
        part of an API."""
        if not isinstance(params.get("name"), str):
            raise _BadParams("name must be a string")
        name: str = params["name"]
        if name.startswith(private):
            raise _BadParams(f"{name}: not an attribute of the API")
        return name

    def _open(self, params: dict[str, Any]) -> Any:
        target = self.opener(str(params.get("target", "cloudSync")),
                             dict(params.get("options", {})))
        self.targets.append(target)
        return self.encode(target)

    def _get(self, params: dict[str, Any]) -> Any:
        name = self._name(params, "__")
        return self.encode(getattr(self._ref(params), name))

    def _set(self, params: dict[str, Any]) -> Any:
        name = self._name(params, "_")
        setattr(self._ref(params), name, self.decode(params.get("value")))
        return None

    def _call(self, params: dict[str, Any]) -> Any:
        function = self._ref(params)
        if not callable(function):
            raise _BadParams(f"reference {params['ref']} is not callable")
        args = [self.decode(a) for a in params.get("args", [])]
        kwargs = {k: self.decode(v) for k, v in params.get("kwargs", {}).items()}
        return self.encode(function(*args, **kwargs))

    def _key(self, params: dict[str, Any]) -> Any:
        if "key" not in params:
            raise _BadParams("missing key")
        return self.decode(params["key"])

    def _item(self, params: dict[str, Any]) -> Any:
        return self.encode(self._ref(params)[self._key(params)])

    def _setitem(self, params: dict[str, Any]) -> Any:
        self._ref(params)[self._key(params)] = self.decode(params.get("value"))
        return None

    def _len(self, params: dict[str, Any]) -> Any:
        return len(self._ref(params))

    def _iter(self, params: dict[str, Any]) -> Any:
        return [self.encode(v) for v in self._ref(params)]

    def close(self) -> None:
        for target in self.targets:
            close = getattr(target, "close", None)
            if callable(close):
                close()
        self.objects.clear()


def _error(rid: Any, code: int, message: str, data: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": "2.0", "id": rid, "error": error}


def serve_stream(opener: Callable[[str, dict[str, Any]], Any], reader: ByteStream,
                 writer: ByteStream) -> None:
    """Serve one client on a pair of byte streams until it closes them."""
    lock = threading.Lock()

    def send(message: dict[str, Any]) -> None:
        with lock:
            writer.write(json.dumps(message).encode() + b"\n")
            writer.flush()

    session = _Session(opener, send)
    try:
        for line in reader:
            if not line.strip():
                continue
            try:
                request = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                send(_error(None, -32700, f"parse error: {exc}"))
                continue
            answer = session.handle(request)
            if answer is not None and request.get("id") is not None:
                send(answer)
    finally:
        session.close()


class RpcServer:
    """``syncrig serve rpc``: syncrig-rpc/1 on 127.0.0.1, one thread per connection."""

    def __init__(self, opener: Callable[[str, dict[str, Any]], Any], port: int = 0) -> None:
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def setup(self) -> None:
                super().setup()
                # notifications and the answer go out as separate writes: without this,
                # Nagle holds the second until the client's delayed ACK (40 ms)
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def handle(self) -> None:
                serve_stream(outer.opener, self.rfile, self.wfile)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.opener = opener
        self._server = Server(("127.0.0.1", port), Handler)
        self.port: int = self._server.server_address[1]
        self._thread: threading.Thread | None = None

    def start(self) -> RpcServer:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="syncrig-rpc")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

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
                                       "params": params}).encode() + b"\n")
        self._writer.flush()
        while True:
            line = self._reader.readline()
            if not line:
                raise ProtocolError("the server closed the connection")
            message = json.loads(line)
            if message.get("method") == "callback":
                number = message["params"]["callback"]
                self._callbacks[number](*[self.decode(a) for a in message["params"]["args"]])
                continue
            if message.get("id") != rid:
                raise ProtocolError(f"answer to {message.get('id')!r}, expected {rid}")
            if "error" in message:
                raise _raise(message["error"])
            return self.decode(message["result"])

    def open(self, target: str = "cloudSync", **options: Any) -> Proxy:
        proxy = self.request("open", target=target, options=options)
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
        raise TypeError(f"cannot send a {type(value).__name__} over syncrig-rpc/1")

    def decode(self, value: Any) -> Any:
        return _decode(value, self._special)

    def _special(self, value: dict[str, Any]) -> Any:
        if "$ref" in value:
            return Proxy(self, int(value["$ref"]), str(value.get("type", "")))
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
    return ProtocolError(f"{error.get('code')}: {error.get('message')}")


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
        value = self._client.request("get", ref=self._ref, name=name)
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
        except RemoteError:
            return True  # not a container: an object is true

    def __repr__(self) -> str:
        return f"<remote {self._type} #{self._ref}>"
