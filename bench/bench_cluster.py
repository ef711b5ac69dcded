"""Benchmark: the mutant catalogue (a subset) and a split campaign on a Dask cluster of 1 and
of 2 worker processes on this machine, and what the cluster costs per task.

Each configuration starts its own ``LocalCluster`` (workers of one thread, as ``syncrig``
wants them); its start-up time is given apart, since a long-lived cluster pays it once. The
scaling ratio is the wall time on 1 worker over that on 2 (2.0 = perfect on two free cores;
on a machine whose cores are busy with other work it says less). The overhead per task is
the wall time of many no-op tasks over their number (throughput), and of one no-op task
submitted and gathered alone (latency) — what a task adds to the campaign part it carries.

Usage: ``python bench/bench_cluster.py [--mutants 6] [--examples 10] [--shards 4] [--json [PATH]]``
"""

from __future__ import annotations

import argparse
import json
import platform
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from distributed import Client, LocalCluster

from conformance import cluster
from conformance.mutants import CATALOGUE
from conformance.options import Options
from conformance.runner import run


def _noop(i: int) -> int:
    return i


def overhead(client: Client, tasks: int = 200) -> dict[str, float]:
    """Seconds per no-op task: throughput over ``tasks``, and latency of one alone."""
    started = time.perf_counter()
    client.gather(client.map(_noop, range(tasks), pure=False))
    throughput = (time.perf_counter() - started) / tasks
    latencies = []
    for i in range(20):
        started = time.perf_counter()
        client.submit(_noop, i, pure=False).result()
        latencies.append(time.perf_counter() - started)
    return {"per_task_s": throughput, "latency_s": statistics.median(latencies)}


def measure(workers: int, options: Options, mutants: int, campaign: str,
            shards: int) -> dict[str, Any]:
    started = time.perf_counter()
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as local, Client(local) as client:
        startup = time.perf_counter() - started
        client.run(cluster.code_digest)  # the workers' imports, as connect() does
        out: dict[str, Any] = {"workers": workers, "startup_s": round(startup, 2)}
        chosen = list(CATALOGUE[:mutants])
        started = time.perf_counter()
        verdicts = cluster.run_mutants(client, chosen, options)
        out["mutants_s"] = round(time.perf_counter() - started, 2)
        out["killed"] = sum(v.killed for v in verdicts)
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            report = run(Path(tmp), options, [campaign], shards=shards,
                         execute=cluster.executor(client))
            out["campaign_s"] = round(time.perf_counter() - started, 2)
            out["campaign_ok"] = report.ok
        out |= {k: round(v, 5) for k, v in overhead(client).items()}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--mutants", type=int, default=6, help="the first N of the catalogue")
    parser.add_argument("--examples", type=int, default=10)
    parser.add_argument("--campaign", default="request")
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--json", nargs="?", const="-", metavar="PATH",
                        help="print the figures as JSON, or with PATH write them there")
    args = parser.parse_args()
    options = Options(examples=args.examples)
    rows = [measure(n, options, args.mutants, args.campaign, args.shards) for n in (1, 2)]
    one, two = rows
    result = {"host": platform.node(), "python": platform.python_version(),
              "examples": args.examples, "mutants": args.mutants, "campaign": args.campaign,
              "shards": args.shards, "runs": rows,
              "scaling": {"mutants": round(one["mutants_s"] / two["mutants_s"], 2),
                          "campaign": round(one["campaign_s"] / two["campaign_s"], 2)}}
    if args.json == "-":
        print(json.dumps(result, indent=2))
        return
    if args.json:
        result["command"] = shlex.join(["python", *sys.argv])
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    for row in rows:
        print(f"{row['workers']} worker(s): start-up {row['startup_s']} s, {args.mutants} "
              f"mutants {row['mutants_s']} s ({row['killed']} killed), {args.campaign} in "
              f"{args.shards} parts {row['campaign_s']} s; per no-op task "
              f"{row['per_task_s'] * 1000:.2f} ms (latency {row['latency_s'] * 1000:.1f} ms)")
    print(f"scaling 1 → 2 workers: mutants ×{result['scaling']['mutants']}, campaign "
          f"×{result['scaling']['campaign']}")


if __name__ == "__main__":
    main()
