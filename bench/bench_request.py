"""Benchmark: request.download / request.upload throughput against curl, in the same run.

Downloads a file (default 1 GiB) from the fixture HTTP server with the reference (libcurl on a
thread, every chunk paced through the simulated link, written to the sandbox) and with
``curl -o``; uploads a file (default 256 MiB) as multipart with the reference and with
``curl -F``. The simulated link is made effectively unthrottled, so what is measured is the
reference's own overhead. Figures are medians of ``--repeat`` runs; the ratio is curl's wall
time over ours (1.0 = as fast as curl).

Usage: ``python bench/bench_request.py [--download-mib 1024] [--upload-mib 256] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sim.device import Device, DeviceProfile, load_profile
from sim.ohos.common import AppSandbox
from sim.ohos.request import RequestModule

MIB = 1024 * 1024


def unthrottled() -> DeviceProfile:
    """The phone with a 100 Gbit/s, zero-latency Wi-Fi: the link never limits the run."""
    phone = load_profile("phone").model_dump()
    phone["radios"]["wifi"].update(down_kbps=1e8, up_kbps=1e8, latency_ms=0)
    phone["storage"].update(capacity=10**13, used=0)
    return DeviceProfile.model_validate(phone)


def make_file(path: Path, mib: int) -> None:
    block = os.urandom(MIB)
    with path.open("wb") as f:
        for _ in range(mib):
            f.write(block)


def ours_download(url: str, work: Path) -> float:
    device = Device(unthrottled())
    sandbox = AppSandbox(work / "app")
    request = RequestModule(device, sandbox=sandbox)
    started = time.perf_counter()
    promise = request.download({"url": url, "filePath": "out.bin"})
    assert promise is not None
    task = device.env.run(until=promise)
    done = device.env.event()
    task.on("complete", lambda: done.succeed())
    task.on("fail", lambda code: done.fail(RuntimeError(f"download failed: {code}")))
    device.env.run(until=done)
    wall = time.perf_counter() - started
    shutil.rmtree(sandbox.root)
    return wall


def curl_download(url: str, work: Path) -> float:
    out = work / "curl.bin"
    started = time.perf_counter()
    subprocess.run(["curl", "-s", "-o", str(out), url], check=True)
    wall = time.perf_counter() - started
    out.unlink()
    return wall


def ours_upload(url: str, source: Path, work: Path) -> float:
    device = Device(unthrottled())
    sandbox = AppSandbox(work / "app")
    shutil.copyfile(source, sandbox.cache_dir / "up.bin")
    request = RequestModule(device, sandbox=sandbox)
    started = time.perf_counter()
    promise = request.upload({"url": url, "header": {}, "method": "POST",
                              "files": [{"uri": "internal://cache/up.bin"}], "data": []})
    assert promise is not None
    task = device.env.run(until=promise)
    done = device.env.event()
    task.on("complete", lambda states: done.succeed())
    task.on("fail", lambda states: done.fail(RuntimeError(f"upload failed: {states}")))
    device.env.run(until=done)
    wall = time.perf_counter() - started
    shutil.rmtree(sandbox.root)
    return wall


def curl_upload(url: str, source: Path) -> float:
    started = time.perf_counter()
    subprocess.run(["curl", "-s", "-o", os.devnull, "-F", f"file=@{source}", url], check=True)
    return time.perf_counter() - started


@contextlib.contextmanager
def served(root: Path, uploads: Path) -> Iterator[str]:
    """The fixture server in its own process (``syncrig serve http``), as a real server would
    be: it must not share this process's interpreter lock with the code being measured."""
    proc = subprocess.Popen([sys.executable, "-m", "conformance.cli", "serve", "http",
                             "--port", "0", "--root", str(root), "--uploads", str(uploads)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().split(" on ")[1].split()[0]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--download-mib", type=int, default=1024)
    parser.add_argument("--upload-mib", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="syncrig-bench-") as tmp:
        work = Path(tmp)
        root = work / "www"
        root.mkdir()
        make_file(root / "big.bin", args.download_mib)
        make_file(work / "up.bin", args.upload_mib)
        with served(root, work / "uploads") as base:
            url = f"{base}/files/big.bin"
            ours, curl = [], []
            for _ in range(args.repeat):
                curl.append(curl_download(url, work))
                ours.append(ours_download(url, work))
            figures["download"] = _figures(args.download_mib, ours, curl)
            ours, curl = [], []
            for _ in range(args.repeat):
                curl.append(curl_upload(f"{base}/upload", work / "up.bin"))
                for stored in (work / "uploads").iterdir():
                    stored.unlink()
                ours.append(ours_upload(f"{base}/upload", work / "up.bin", work))
                for stored in (work / "uploads").iterdir():
                    stored.unlink()
            figures["upload"] = _figures(args.upload_mib, ours, curl)
    for name, f in figures.items():
        print(f"{name} {f['mib']} MiB: reference {f['ours_mib_s']:.0f} MiB/s "
              f"(median {f['ours_s']:.2f} s), curl {f['curl_mib_s']:.0f} MiB/s "
              f"(median {f['curl_s']:.2f} s) -> ratio {f['ratio']:.2f}")
    if args.json:
        figures["repeat"] = args.repeat
        figures["command"] = shlex.join(["python", *sys.argv])
        args.json.write_text(json.dumps(figures, indent=2))


def _figures(mib: int, ours: list[float], curl: list[float]) -> dict[str, Any]:
    ours_s, curl_s = statistics.median(ours), statistics.median(curl)
    return {"mib": mib, "ours_s": ours_s, "curl_s": curl_s, "ours_spread": [min(ours), max(ours)],
            "curl_spread": [min(curl), max(curl)], "ours_mib_s": mib / ours_s,
            "curl_mib_s": mib / curl_s, "ratio": curl_s / ours_s}


if __name__ == "__main__":
    main()
