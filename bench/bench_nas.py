"""Benchmark: the emulated NAS's ``list_conn`` under concurrent clients, against a bare handler.

Starts ``syncrig serve nas`` and a bare aiohttp server returning a constant JSON (the same
framework, no work) as separate processes, then drives each with 32 concurrent keep-alive
clients for ``--seconds`` and reports requests per second and p99 latency; the ratio is the
NAS's rate over the bare handler's, measured in the same run.

Usage: ``python bench/bench_nas.py [--clients 32] [--seconds 10]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
from synology_api import base_api
from synology_api.cloud_sync import CloudSync

BARE = """
import sys
from aiohttp import web
async def handle(request):
    return web.json_response({"success": True, "data": {"conn": [], "total": 0}})
app = web.Application()
app.router.add_get("/webapi/entry.cgi", handle)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def load(url: str, params: dict[str, str], headers: dict[str, str], clients: int,
               seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    codes: Counter[int] = Counter()
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                async with session.get(url, params=params) as response:
                    body = await response.json()
                latencies.append(time.perf_counter() - started)
                code = 0 if body.get("success") is True else body.get("error", {}).get("code")
                codes[code] += 1
                if code != 0:
                    errors += 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    return {"requests": len(latencies), "rps": len(latencies) / elapsed,
            "p50_ms": statistics.median(latencies) * 1000,
            "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000, "errors": errors,
            "codes": {str(k): v for k, v in sorted(codes.items(), key=str)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="syncrig-bench-") as tmp:
        nas_port, bare_port = free_port(), free_port()
        nas = subprocess.Popen([sys.executable, "-m", "conformance.cli", "serve", "nas", "--port",
                                str(nas_port), "--data", str(Path(tmp) / "nas")],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        bare = subprocess.Popen([sys.executable, "-c", BARE, str(bare_port)])
        try:
            assert nas.stdout is not None
            nas.stdout.readline()
            base_api.BaseApi.shared_session = None
            cs = CloudSync("127.0.0.1", str(nas_port), "admin", "Admin-Pass-1", secure=False,
                           dsm_version=7, debug=False)
            sid = cs.session._sid  # type: ignore[attr-defined]
            # the client's session asked for a synotoken: without it every call is 119
            headers = {"X-SYNO-TOKEN": cs.session._syno_token}  # type: ignore[attr-defined]
            params = {"api": "SYNO.CloudSync", "version": "1", "method": "list_conn",
                      "is_tray": "false", "group_by": "group_by_user", "_sid": sid}
            time.sleep(0.5)
            bare_figures = asyncio.run(load(f"http://127.0.0.1:{bare_port}/webapi/entry.cgi",
                                            params, headers, args.clients, args.seconds))
            nas_figures = asyncio.run(load(f"http://127.0.0.1:{nas_port}/webapi/entry.cgi",
                                           params, headers, args.clients, args.seconds))
        finally:
            for proc in (nas, bare):
                proc.send_signal(signal.SIGTERM)
                proc.communicate(timeout=15)
    figures = {"clients": args.clients, "seconds": args.seconds, "nas": nas_figures,
               "bare": bare_figures, "ratio": nas_figures["rps"] / bare_figures["rps"]}
    for name in ("bare", "nas"):
        f = figures[name]
        print(f"{name}: {f['rps']:,.0f} req/s, p50 {f['p50_ms']:.1f} ms, "
              f"p99 {f['p99_ms']:.1f} ms, {f['errors']} errors; codes {f['codes']}")
    print(f"ratio (NAS list_conn / bare handler): {figures['ratio']:.2f}")
    if args.json:
        figures["command"] = shlex.join(["python", *sys.argv])
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
