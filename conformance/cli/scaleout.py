"""``--cluster``, ``--shard`` and ``--shards`` of ``syncrig conformance`` and ``mutants``: the
same run spread over a Dask cluster, or cut into the jobs of a CI matrix.

Without ``--cluster`` a run stays in this process (or ``-n`` forked ones), as it always
has: no scheduler to start, and a planted mutant is inherited by forking.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from conformance import cluster
from conformance import mutants as M
from conformance.cli.common import EXIT_FAILED, EXIT_NOT_DONE, EXIT_OK
from conformance.options import Options
from conformance.outcome import PRODUCT_KINDS
from conformance.runner import RunReport
from conformance.shards import shard
from sim.errors import ConfigError


def add_arguments(parser: argparse.ArgumentParser, split: bool = True) -> None:
    """The options; ``split``: also ``--shards`` (campaigns split into parts)."""
    parser.add_argument("--cluster", metavar="ADDRESS", help="run on a Dask cluster: "
                        "tcp://HOST:8786 (a dask scheduler whose workers run this syncrig), or "
                        "local[:N] (N worker processes on this machine, default its cores)")
    what = "each campaign's examples" if split else "the mutants"
    parser.add_argument("--shard", type=shard, metavar="I/N", help=f"run part I (0..N-1) of "
                        f"{what} cut N ways, the same cut on every machine (one job of a CI "
                        "matrix; syncrig report merge joins the N run directories)")
    if split:
        parser.add_argument("--shards", type=int, metavar="K", help="split each campaign's "
                            "examples into K parts, each with its own seed, run side by side "
                            "on the cluster (or -n processes) and merged (default 1: one "
                            "part, the run as without a cluster; the same K gives the same "
                            "examples and verdicts anywhere)")


def _checked(args: argparse.Namespace) -> None:
    if args.cluster is not None and getattr(args, "processes", 1) > 1:
        raise ConfigError("--cluster", "", args.cluster, "runs on the cluster's workers; "
                          "give no -n")
    split = args.cluster or args.shard or getattr(args, "shards", None)
    if getattr(args, "hil", False) and split:
        raise ConfigError("--hil", "", "", "runs on this machine's sensors in real time: "
                          "give no --cluster, --shard or --shards")


@contextlib.contextmanager
def _client(address: str | None) -> Iterator[Any]:
    if address is None:
        yield None
        return
    try:
        with cluster.connect(address) as client:
            yield client
    except (cluster.ClusterError, TimeoutError) as exc:
        raise ConfigError("--cluster", "", address, str(exc)) from None


@contextlib.contextmanager
def campaign_execution(args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    """The runner's ``shards``, ``shard`` and ``execute`` the options ask for."""
    _checked(args)
    count = args.shards or 1
    index = None
    if args.shard is not None:
        index, n = args.shard
        if args.shards is not None and args.shards != n:
            raise ConfigError("--shards", "", args.shards, f"must be {n} with --shard {index}/{n}"
                              " (or left out)")
        count = n
    if count < 1:
        raise ConfigError("--shards", "", count, "must be at least 1")
    with _client(args.cluster) as client:
        execute = None if client is None else cluster.executor(client, args.mutant)
        yield {"shards": count, "shard": index, "execute": execute}


def exit_status(args: argparse.Namespace, report: RunReport) -> int:
    """1 when the target failed (a broken rule, an unreached item), else 4 when a campaign
    could not be done (timeout, unreachable target, harness error): someone must fix the
    run, not the target. One shard of a run judges only the rules: the tour runs in one
    shard and the examples are shared out, so coverage is judged once the shards are merged
    (``syncrig report merge`` exits 1 on a documented item no shard reached)."""
    product = any(o.failure is not None and o.failure["kind"] in PRODUCT_KINDS
                  for o in report.outcomes)
    unreached = args.shard is None and any(o.failure is None and not o.ok
                                           for o in report.outcomes)
    if product or unreached:
        return EXIT_FAILED
    return EXIT_NOT_DONE if any(o.failure is not None for o in report.outcomes) else EXIT_OK


def chosen_mutants(args: argparse.Namespace, chosen: list[M.Mutant]) -> list[M.Mutant]:
    """``--shard I/N`` of the mutants: every N-th, from the I-th, in catalogue order."""
    if args.shard is None:
        return chosen
    index, count = args.shard
    return chosen[index::count]


def run_mutants(args: argparse.Namespace, chosen: list[M.Mutant], options: Options,
                replays: Path, progress: Callable[[M.Verdict], None]) -> list[M.Verdict]:
    """The mutants here, or one task each on the cluster."""
    _checked(args)
    with _client(args.cluster) as client:
        if client is None:
            return M.run_mutants(chosen, options, replays, progress=progress)
        return cluster.run_mutants(client, chosen, options, replays, progress)
