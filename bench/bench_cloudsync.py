"""Benchmark: FileSync throughput against ``shutil.copyfile`` of the same data, in one run.

Uploads (and then downloads to a second device) many small files and one large file through
the reference sync engine on an unthrottled simulated link, and copies the same files with
``shutil.copyfile``. What is measured is the engine's own cost per byte and per file (snapshots,
hashing, the blob store, the simulation), so the ratio is copy time over sync time (1.0 = as fast
as a plain copy). Medians of ``--repeat`` runs.

Usage: ``python bench/bench_cloudsync.py [--files 10000] [--file-kib 4] [--big-mib 1024]``
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sim.cloud import CloudService
from sim.device import Device, DeviceProfile, load_profile
from sim.ohos.cloudsync import CloudSyncModule
from sim.ohos.common import CLOUDFILE_SYNC, AppSandbox, Caller

MIB = 1024 * 1024
BUNDLE = "com.example.bench"


def unthrottled() -> DeviceProfile:
    phone = load_profile("phone").model_dump()
    phone["radios"]["wifi"].update(down_kbps=1e9, up_kbps=1e9, latency_ms=0)
    phone["storage"].update(capacity=10**13, used=0)
    return DeviceProfile.model_validate(phone)


def module(work: Path, name: str, cloud: CloudService) -> CloudSyncModule:
    caller = Caller.with_permissions(CLOUDFILE_SYNC, bundle_name=BUNDLE, system_app=True)
    return CloudSyncModule(Device(unthrottled()), cloud, caller=caller,
                           sandbox=AppSandbox(work / name, BUNDLE))


def sync(cs: CloudSyncModule) -> float:
    """Wall seconds for one FileSync run to COMPLETED."""
    file_sync = cs.FileSync()
    done = cs.device.env.event()
    file_sync.on("progress", lambda p: done.succeed() if p.state.name == "COMPLETED"
                 and not done.triggered else None)
    started = time.perf_counter()
    cs.device.run(file_sync.start())
    cs.device.run(done)
    return time.perf_counter() - started


def copy_all(files: list[Path], target: Path) -> float:
    target.mkdir()
    started = time.perf_counter()
    for path in files:
        shutil.copyfile(path, target / path.name)
    wall = time.perf_counter() - started
    shutil.rmtree(target)
    return wall


def case(work: Path, label: str, sizes: list[int], repeat: int) -> dict[str, Any]:
    up, down, copy = [], [], []
    total = sum(sizes)
    for i in range(repeat):
        run = work / f"{label}-{i}"
        cloud = CloudService(run / "cloud")
        cloud.drive(quota=10**13)
        sender = module(run, "sender", cloud)
        files = []
        block = os.urandom(max(sizes))
        for n, size in enumerate(sizes):
            path = sender.sandbox.cloud_dir / f"f{n:05}.bin"
            path.write_bytes(block[:size])
            files.append(path)
        copy.append(copy_all(files, run / "copy"))
        up.append(sync(sender))
        receiver = module(run, "receiver", cloud)
        down.append(sync(receiver))
        assert len(list(receiver.sandbox.cloud_dir.iterdir())) == len(sizes)
        shutil.rmtree(run)
    up_s, down_s, copy_s = (statistics.median(x) for x in (up, down, copy))
    return {"files": len(sizes), "bytes": total, "upload_s": up_s, "download_s": down_s,
            "copy_s": copy_s, "upload_ratio": copy_s / up_s, "download_ratio": copy_s / down_s,
            "upload_spread": [min(up), max(up)], "download_spread": [min(down), max(down)],
            "copy_spread": [min(copy), max(copy)]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--file-kib", type=int, default=4)
    parser.add_argument("--big-mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--dir", type=Path, help="where to work (default: the system temp "
                        "folder); a tmpfs such as /dev/shm takes disk noise out")
    args = parser.parse_args()
    figures = {}
    with tempfile.TemporaryDirectory(prefix="syncrig-bench-", dir=args.dir) as tmp:
        work = Path(tmp)
        figures["small"] = case(work, "small", [args.file_kib * 1024] * args.files, args.repeat)
        figures["big"] = case(work, "big", [args.big_mib * MIB], args.repeat)
    for name, f in figures.items():
        mib = f["bytes"] / MIB
        print(f"{name}: {f['files']} files, {mib:.0f} MiB - upload {f['upload_s']:.2f} s "
              f"({mib / f['upload_s']:.0f} MiB/s), download {f['download_s']:.2f} s "
              f"({mib / f['download_s']:.0f} MiB/s), shutil.copyfile {f['copy_s']:.2f} s "
              f"({mib / f['copy_s']:.0f} MiB/s) -> ratios {f['upload_ratio']:.2f} up, "
              f"{f['download_ratio']:.2f} down")
    if args.json:
        figures["repeat"] = args.repeat
        figures["command"] = shlex.join(["python", *sys.argv])
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
