"""Reliability bench: @ohos.request downloads under injected faults never complete wrong, and
path attacks never reach outside the sandbox.

Each download is drawn from a seed: a script of server answers (error pages with 4xx/5xx
status, a chunked body that ends early, a 206 of another representation, a representation
replaced between attempts, a connection dropped mid-body), and app or device faults at random
moments (pause and resume, the radio lost and back). When the task ends, a ``complete`` must
hold exactly the served bytes (SHA-256). Then each path attack (a file or folder swapped for a
symlink before start, mid-body, before remove) runs against sentinel files outside the sandbox.

Usage: ``python bench/bench_reliability_request.py [--downloads 1000] [--seed 0]
[--budget 900] [--json FILE] [--mutant NAME]`` (``--mutant`` re-plants a catalogue mutant,
which the bench must then see). Exit status 1 if any download completed corrupt, any attack
escaped, or any task was left unended.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import itertools
import json
import os
import random
import shlex
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from conformance.mutants import BY_NAME
from sim.device import Device, load_profile
from sim.ohos.common import AppSandbox, BusinessError
from sim.ohos.request import RequestModule
from sim.ohos.request import constants as C
from sim.ohos.request.curl import CurlOptions
from sim.servers import FixtureHTTPServer
from sim.servers.scripted import changed

FAST = CurlOptions(connect_timeout_s=2, low_speed_time_s=5, max_redirects=5)
ANSWERS = ["ok", "ok", "ok", "page:503:{page}", "page:404:{page}", "page:500:{page}", "short",
           "badrange", "changed", "drop:{cut}"]
ENDED = {C.SESSION_SUCCESSFUL, C.SESSION_FAILED}
TOKENS = itertools.count()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def draw_script(rng: random.Random, size: int) -> str:
    steps = [rng.choice(["ok", "ok", "page:503:{page}"])]
    steps += [rng.choice(ANSWERS) for _ in range(rng.randint(1, 4))]
    return ",".join(s.format(page=rng.randint(1, 2 * size), cut=rng.randint(1, size - 1))
                    for s in steps)


def one_download(server: FixtureHTTPServer, work: Path, rng: random.Random,
                 sizes: dict[str, int]) -> tuple[str, dict[str, Any]]:
    """One faulted download to its end: its class and what happened."""
    name = rng.choice(sorted(sizes))
    script = draw_script(rng, sizes[name])
    device = Device(load_profile("phone"))
    assert device.controls is not None
    sandbox = AppSandbox(work / f"app{next(TOKENS)}")
    request = RequestModule(device, sandbox=sandbox, curl_options=FAST)
    url = f"{server.url}/scripted/r{next(TOKENS)}-{os.getpid()}/{name}?script={script}"
    promise = request.download({"url": url, "filePath": "out.bin"})
    assert promise is not None
    task = device.run(promise)
    faults = []
    for _ in range(rng.randint(0, 3)):
        device.run(until=device.env.now + rng.uniform(0.0, 0.5))
        if task.info().status in ENDED:
            break
        if rng.random() < 0.5:
            device.run(task.pause())
            device.run(until=device.env.now + rng.uniform(0.0, 1.0))
            device.run(task.resume())
            faults.append("pause")
        else:
            device.controls.set_radio("wifi", False)
            device.controls.set_radio("cellular", False)
            device.run(until=device.env.now + rng.uniform(0.0, 2.0))
            device.controls.set_radio("wifi", True)
            device.controls.set_radio("cellular", True)
            faults.append("radio")
    end = device.env.now + 600
    while device.env.now < end and task.info().status not in ENDED:
        device.run(until=device.env.now + 5.0)
        if task.info().status == C.SESSION_PAUSED:
            device.run(task.resume())  # a retry pause: the app tries again
    info = task.info()
    data = (sandbox.cache_dir / "out.bin").read_bytes()
    original = (server.root / name).read_bytes()
    representations = [original, changed(original)]  # what the server may have answered
    what = {"file": name, "script": script, "faults": faults, "status": info.status,
            "failedReason": info.failedReason, "bytes": len(data)}
    shutil.rmtree(sandbox.root)
    if info.status == C.SESSION_SUCCESSFUL:
        whole = any(sha(data) == sha(r) for r in representations)
        if not whole and info.downloadTotalBytes == -1 and data == original[:len(data)] \
                and len(data) == len(original) // 2:
            # the probe itself got the ``short`` answer: chunked, no size anywhere, ended
            # cleanly — that body is the representation as far as any client can know
            return "complete-unsized", what
        return ("complete" if whole else "corrupt"), what
    if info.status == C.SESSION_FAILED:
        prefix = any(r[:len(data)] == data for r in representations)
        return ("failed" if prefix else "corrupt-partial"), what
    return "unended", what


def attacks(server: FixtureHTTPServer, work: Path) -> dict[str, str]:
    """Each path attack against sentinels outside the sandbox: ``held`` or ``escaped``."""
    results = {}
    for stage in ("before-start", "mid-body", "before-remove", "file-before-remove"):
        root = work / f"attack-{stage}"
        outside = root / "outside"
        outside.mkdir(parents=True)
        for n in ("f.bin", "out.bin"):
            (outside / n).write_bytes(b"SENTINEL")
        before = sorted((p.name, p.read_bytes(), p.stat().st_mtime_ns) for p in outside.iterdir())
        device = Device(load_profile("phone"))
        sandbox = AppSandbox(root / "app")
        request = RequestModule(device, sandbox=sandbox, curl_options=FAST)
        cache = sandbox.cache_dir
        try:
            if stage == "before-start":
                (cache / "d").symlink_to(outside)
                with contextlib.suppress(BusinessError):
                    request.download({"url": f"{server.url}/files/big.bin",
                                      "filePath": "d/f.bin"})
            else:
                folder = stage != "mid-body"
                path = "d/f.bin" if stage == "before-remove" else "out.bin"
                promise = request.download({"url": f"{server.url}/files/big.bin",
                                            "filePath": path})
                assert promise is not None
                task = device.run(promise)
                if stage == "mid-body":
                    device.run(until=device.env.now + 0.3)
                    device.run(task.pause())
                    (cache / "out.bin").unlink()
                    (cache / "out.bin").symlink_to(outside / "out.bin")
                    device.run(task.resume())
                device.run(until=device.env.now + 120)
                if folder:
                    if stage == "before-remove":
                        (cache / "d").rename(cache / "moved")
                        (cache / "d").symlink_to(outside)
                    else:
                        (cache / "out.bin").unlink()
                        (cache / "out.bin").symlink_to(outside / "out.bin")
                    device.run(task.remove())
        finally:
            after = sorted((p.name, p.read_bytes(), p.stat().st_mtime_ns)
                           for p in outside.iterdir())
            results[stage] = "held" if after == before else "escaped"
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--downloads", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget", type=float, default=900.0, help="seconds at most")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--mutant", help="re-plant a catalogue mutant: the bench must see it")
    args = parser.parse_args()
    with BY_NAME[args.mutant].applied() if args.mutant else contextlib.nullcontext():
        return run(args)


def run(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    counts: Counter[str] = Counter()
    bad: list[dict[str, Any]] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="syncrig-reliability-") as tmp:
        work = Path(tmp)
        www = work / "www"
        www.mkdir()
        # at the phone's 25 MB/s Wi-Fi: 12 ms, 0.16 s and 0.8 s, so faults land mid-body
        sizes = {"small.bin": 300_000, "mid.bin": 4_000_000, "big.bin": 20_000_000}
        for n, size in sizes.items():
            (www / n).write_bytes(random.Random(n).randbytes(size))
        with FixtureHTTPServer(www) as server:
            for _ in range(args.downloads):
                if time.monotonic() - started > args.budget:
                    break
                kind, what = one_download(server, work, rng, sizes)
                counts[kind] += 1
                if kind not in ("complete", "complete-unsized", "failed"):
                    bad.append(what)
            escapes = attacks(server, work)
    seconds = time.monotonic() - started
    figures = {"downloads": sum(counts.values()), "outcomes": dict(counts),
               "corrupt": counts["corrupt"] + counts["corrupt-partial"],
               "unended": counts["unended"], "attacks": escapes,
               "escaped": sum(v == "escaped" for v in escapes.values()),
               "seconds": round(seconds, 1), "seed": args.seed, "mutant": args.mutant,
               "examples_of_bad": bad[:10]}
    print(f"{figures['downloads']} faulted downloads: {dict(counts)}; corrupt "
          f"{figures['corrupt']}, unended {figures['unended']}; path attacks "
          f"{len(escapes)}, escaped {figures['escaped']}; {seconds:.0f} s")
    if args.json:
        figures["command"] = shlex.join(["python", *sys.argv])
        args.json.write_text(json.dumps(figures, indent=2))
    return 1 if figures["corrupt"] or figures["unended"] or figures["escaped"] else 0


if __name__ == "__main__":
    sys.exit(main())
