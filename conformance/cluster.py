"""Campaign parts and mutants as tasks on a Dask cluster: this machine's cores or many
machines' (``--cluster tcp://HOST:8786``).

Each task builds its own fresh world on the worker that runs it, in a folder of its own; a
failure is shrunk and replayed there, and its replay files and evidence travel back with the
outcome and land in the run directory as if found here. A worker lost mid-task (killed, its
machine gone) loses nothing: the scheduler runs its tasks again on another worker, and each
task's result is taken once, by its key — nothing is counted twice.

Workers must run the code this machine runs (checked on connecting: a digest of the
sources) and run one task at a time per process (the machines keep class-level state; a
lock serializes tasks in a worker started with more threads). A campaign's ``--timeout``
is a signal timer of the main thread and does not apply on workers.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from distributed import Client, Future, LocalCluster, as_completed, get_worker

import conformance
import sim
from conformance.campaign import run_campaign
from conformance.mutants import BY_NAME, Mutant, Verdict
from conformance.options import Options
from conformance.outcome import Outcome
from conformance.runner import Execute
from conformance.shards import Task, run_task
from conformance.suite import CAMPAIGNS
from sim.errors import ConfigError

LOCAL = "local"
"""``--cluster local[:N]``: a cluster of N worker processes on this machine (default: its
cores)."""

_ONE_AT_A_TIME = threading.Lock()


class ClusterError(RuntimeError):
    """The cluster cannot run the campaigns: unreachable, workers on other code, a task
    lost on every worker it was given to."""


@contextlib.contextmanager
def connect(address: str, timeout_s: float = 30) -> Iterator[Client]:
    """A client of the scheduler at ``address`` (``tcp://HOST:PORT``), or of a cluster of
    this machine's cores started for the duration (``local`` or ``local:N``), whose workers
    are checked to run this machine's code."""
    with contextlib.ExitStack() as stack:
        if address == LOCAL or address.startswith(f"{LOCAL}:"):
            count = address.partition(":")[2]
            if count and not (count.isdigit() and int(count) > 0):
                raise ConfigError("--cluster", "", address, "must be local:N with N >= 1")
            workers = int(count) if count else os.cpu_count() or 1
            cluster = stack.enter_context(LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True,
                dashboard_address=None))
            client = stack.enter_context(Client(cluster))
        else:
            if "://" not in address:
                raise ConfigError("--cluster", "", address, "must be tcp://HOST:PORT (a "
                                  "dask scheduler) or local[:N]")
            try:
                client = stack.enter_context(Client(address, timeout=timeout_s))
            except OSError as exc:
                raise ClusterError(f"{address}: no scheduler answers ({exc})") from None
            if not client.scheduler_info().get("workers"):
                client.wait_for_workers(1, timeout=timeout_s)
        check_workers(client)
        yield client


def code_digest() -> str:
    """A digest of this installation's sources (``sim`` with its fixtures, ``conformance``):
    two machines with the same digest judge with the same code."""
    digest = hashlib.sha256()
    for package in (sim, conformance):
        root = Path(package.__file__ or "").parent
        for path in sorted(root.rglob("*")):
            if path.suffix in (".py", ".yaml", ".j2") and "__pycache__" not in path.parts:
                digest.update(path.relative_to(root).as_posix().encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def check_workers(client: Client, mine: str | None = None) -> None:
    """Refuse a cluster whose workers run other code than this machine (``mine``: its
    :func:`code_digest`)."""
    mine = mine or code_digest()
    theirs: dict[str, str] = client.run(code_digest)
    other = sorted(worker for worker, digest in theirs.items() if digest != mine)
    if other:
        raise ClusterError(f"{', '.join(other)} run other code than this machine (install "
                           "the same syncrig on every worker)")


@dataclass
class Shipped:
    """A task's outcome with the files it wrote (replay files, timelines) as bytes, by path
    relative to its replay folder: what a worker on another machine sends back."""

    outcome: Outcome
    files: dict[str, bytes] = field(default_factory=dict)
    worker: str = ""
    """The address of the worker that ran the task."""


@contextlib.contextmanager
def _planted(names: Sequence[str]) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        for name in names:
            stack.enter_context(BY_NAME[name].applied())
        yield


def _ship(outcome: Outcome, replays: Path) -> Shipped:
    files = {p.relative_to(replays).as_posix(): p.read_bytes()
             for p in sorted(replays.rglob("*")) if p.is_file()} if replays.exists() else {}
    try:
        where = get_worker().address
    except ValueError:  # not on a worker
        where = os.uname().nodename
    return Shipped(outcome, files, where)


def campaign_task(task: Task, options: Options, mutants: Sequence[str] = ()) -> Shipped:
    """One part of a campaign on a worker, with the named mutants planted."""
    with _ONE_AT_A_TIME, tempfile.TemporaryDirectory(prefix="syncrig-task-") as tmp, \
            _planted(mutants):
        replays = Path(tmp) / "replays"
        return _ship(run_task(task, options, Path(tmp) / "work", replays), replays)


def mutant_task(name: str, options: Options) -> Shipped:
    """One mutant of the catalogue on a worker: its campaign with it planted."""
    mutant = BY_NAME[name]
    with _ONE_AT_A_TIME, tempfile.TemporaryDirectory(prefix="syncrig-task-") as tmp, \
            mutant.applied():
        replays = Path(tmp) / "replays" / name
        outcome = run_campaign(CAMPAIGNS[mutant.campaign], mutant.planted_in(options),
                               Path(tmp) / "work", replays)
        return _ship(outcome, replays)


def land(shipped: Shipped, replays: Path) -> Outcome:
    """Write a task's files into ``replays`` and point its outcome at them."""
    for rel, data in shipped.files.items():
        path = replays / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    outcome = shipped.outcome

    def here(value: Any) -> Any:
        if not isinstance(value, Path):
            return value
        rel = next((r for r in shipped.files if value.as_posix().endswith("/" + r)), None)
        return replays / rel if rel is not None else value

    return replace(outcome, replay=here(outcome.replay),
                   evidence={k: here(v) for k, v in outcome.evidence.items()})


def _gathered(client: Client, futures: list[Future[Shipped]], names: list[str],
              progress: Callable[[str], None]) -> list[Shipped]:
    """Each future's result once, in submission order; a task the cluster gave up on (lost
    with worker after worker) ends the run."""
    label = {f.key: name for f, name in zip(futures, names, strict=True)}
    for future in as_completed(futures):
        if future.status == "error":
            raise ClusterError(f"{label[future.key]}: {future.exception()}")
        progress(f"{label[future.key]}: done on {future.result().worker}")
    return [f.result() for f in futures]


def executor(client: Client, mutants: Sequence[str] = ()) -> Execute:
    """A runner's ``execute``: each task a task of the cluster, with ``mutants`` planted."""

    def execute(tasks: list[Task], options: Options, replays: Path,
                progress: Callable[[str], None]) -> list[Outcome]:
        run = uuid.uuid4().hex[:8]
        futures = [client.submit(campaign_task, task, options, tuple(mutants),
                                 key=f"syncrig-{run}-{task.key}", pure=False)
                   for task in tasks]
        shipped = _gathered(client, futures, [t.key for t in tasks], progress)
        return [land(s, replays) for s in shipped]

    return execute


def run_mutants(client: Client, mutants: list[Mutant], options: Options,
                replays: Path | None = None,
                progress: Callable[[Verdict], None] = lambda _: None) -> list[Verdict]:
    """:func:`conformance.mutants.run_mutants` on the cluster: one task per mutant; the
    verdicts in the order of ``mutants``."""
    run = uuid.uuid4().hex[:8]
    futures = [client.submit(mutant_task, m.name, options, key=f"syncrig-{run}-{m.name}",
                             pure=False) for m in mutants]
    by_key = {f.key: m for f, m in zip(futures, mutants, strict=True)}
    verdicts: dict[str, Verdict] = {}
    for future in as_completed(futures):
        mutant = by_key[future.key]
        if future.status == "error":
            raise ClusterError(f"{mutant.name}: {future.exception()}")
        shipped: Shipped = future.result()
        outcome = land(shipped, replays / mutant.name) if replays is not None \
            else shipped.outcome
        verdicts[mutant.name] = Verdict(mutant, outcome)
        progress(verdicts[mutant.name])
    return [verdicts[m.name] for m in mutants]
