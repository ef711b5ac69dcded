"""``syncrig serve``: the fixture HTTP server, the emulated NAS and syncrig-rpc/1, each on
127.0.0.1 unless told otherwise."""

from __future__ import annotations

import argparse
import signal
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from rich.console import Console

from conformance.cli.common import Parser
from conformance.rpc import MIN_TOKEN, RpcServer, serve_stream
from conformance.targets.rpc import TOKEN_ENV, open_target, server_token
from sim.device.profile import fixtures_dir
from sim.errors import ConfigError
from sim.servers import FixtureHTTPServer
from sim.synology import Nas, NasServer, load_seed


def add_parsers(sub: Any) -> None:
    serve = sub.add_parser("serve", help="run a server on 127.0.0.1")
    serve_sub = serve.add_subparsers(dest="server", required=True, parser_class=Parser)
    http = serve_sub.add_parser("http", help="the fault-injecting fixture HTTP server")
    http.add_argument("--port", type=int, default=8080, help="port (0 picks a free one)")
    http.add_argument("--host", default="127.0.0.1", help="address to listen on (default "
                      "127.0.0.1: the server has no authentication; 0.0.0.0 exposes it)")
    http.add_argument("--root", type=Path, default=Path("."), help="folder of files to serve")
    http.add_argument("--uploads", type=Path, help="where uploads are stored "
                      "(default ROOT/uploads)")

    rpc = serve_sub.add_parser("rpc", help="the cloudSync and request references over "
                               "syncrig-rpc/1 (JSON-RPC; the protocol: docs/rpc.md)")
    rpc.add_argument("--port", type=int, default=7300, help="port (0 picks a free one)")
    rpc.add_argument("--host", default="127.0.0.1", help="address to listen on (default "
                     "127.0.0.1; any other needs a token)")
    rpc.add_argument("--token", help="the token a client's open must carry (default "
                     "$SYNCRIG_RPC_TOKEN; at least 16 characters)")
    rpc.add_argument("--stdio", action="store_true", help="serve one client on stdin/stdout "
                     "instead of TCP")

    nas = serve_sub.add_parser("nas", help="the emulated Synology NAS (SYNO.CloudSync)")
    nas.add_argument("--port", type=int, default=5000, help="port (0 picks a free one)")
    nas.add_argument("--host", default="127.0.0.1", help="address to listen on (default "
                     "127.0.0.1; 0.0.0.0 exposes the NAS to the network)")
    nas.add_argument("--data", type=Path, required=True, help="data directory (SQLite, shares, "
                     "cloud blobs); created if missing")
    nas.add_argument("--seed-file", type=Path, help="seed for a new data directory "
                     "(default: fixtures/nas/default.yaml)")
    nas.add_argument("--test-control", action="store_true", help="serve /_test/advance and "
                     "/_test/device, and let simulated time move only through them")
    http.set_defaults(run=_serve_http)
    rpc.set_defaults(run=_serve_rpc)
    nas.set_defaults(run=_serve_nas)


def _serve_until_stopped(banner: str, stop: Callable[[], None]) -> NoReturn:
    """Print ``banner`` and wait; Ctrl-C or SIGTERM runs ``stop`` (main then exits with 130).

    Both signals are bound here even when the process started with SIGINT ignored (a shell's
    background job), so a server started with ``&`` can still be stopped cleanly.
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    print(banner, flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        stop()


def _serve_http(args: argparse.Namespace, console: Console) -> int:

    if not args.root.is_dir():
        raise ConfigError(args.root, "", str(args.root), "not a folder")
    if not 0 <= args.port <= 65535:
        raise ConfigError("--port", "", args.port, "must be within 0..65535")
    server = FixtureHTTPServer(args.root, args.uploads, port=args.port, host=args.host)
    try:
        server.start()
    except OSError as exc:
        raise ConfigError("--port", "", args.port,
                          f"cannot listen on {args.host}: {exc.strerror}") from None
    _serve_until_stopped(f"serving {args.root.resolve()} on {server.url} (Ctrl-C stops)",
                         server.stop)


def _serve_rpc(args: argparse.Namespace, console: Console) -> int:

    token = server_token(args.token)
    if token is not None and len(token) < MIN_TOKEN:
        raise ConfigError("--token", "", "(not shown)", f"needs at least {MIN_TOKEN} characters")
    if args.stdio:
        # SIGTERM as Ctrl-C: the targets are closed and their folders removed on the way out
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        serve_stream(open_target, sys.stdin.buffer, sys.stdout.buffer, token)
        return 0
    if not 0 <= args.port <= 65535:
        raise ConfigError("--port", "", args.port, "must be within 0..65535")
    if args.host != "127.0.0.1" and token is None:
        raise ConfigError("--host", "", args.host, "listening on an address other than "
                          f"127.0.0.1 needs a token (--token or ${TOKEN_ENV})")
    try:
        server = RpcServer(open_target, args.port, args.host, token).start()
    except OSError as exc:
        raise ConfigError("--port", "", f"{args.host}:{args.port}",
                          f"cannot listen: {exc.strerror}") from None
    address = f"[{args.host}]" if ":" in args.host else args.host
    needs = "token required; " if token is not None else ""
    _serve_until_stopped(f"syncrig-rpc/1 on {address}:{server.port} ({needs}Ctrl-C stops)",
                         server.stop)


def _serve_nas(args: argparse.Namespace, console: Console) -> int:

    if not 0 <= args.port <= 65535:
        raise ConfigError("--port", "", args.port, "must be within 0..65535")
    seed = load_seed(args.seed_file or fixtures_dir() / "nas" / "default.yaml")
    try:
        nas = Nas(args.data, seed)
    except (OSError, sqlite3.DatabaseError) as exc:
        raise ConfigError(args.data, "", str(args.data), f"unusable data directory: {exc}") \
            from None
    server = NasServer(nas, args.port, test_control=args.test_control, host=args.host)
    try:
        server.start()
    except OSError as exc:
        raise ConfigError("--port", "", args.port,
                          f"cannot listen on {args.host}: {exc.strerror}") from None

    def stop() -> None:
        server.stop()
        nas.store.close()

    _serve_until_stopped(f"NAS ({args.data}) serving DSM's web API on {server.url}/webapi/ "
                         "(Ctrl-C stops)", stop)
