"""Campaigns and mutants on a Dask cluster: the same examples and verdicts as on one
machine, failures landing in the run directory, a worker lost mid-run costing nothing."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from distributed import Client

from conformance import cluster
from conformance.mutants import BY_NAME, run_mutants
from conformance.options import Options
from conformance.runner import run

pytestmark = pytest.mark.cluster

OPTIONS = Options(examples=4, steps=8)
MUTANTS = ["rq-permission-skipped", "syno-workers-limit-21"]


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    """Two worker processes of one thread on this machine."""
    with cluster.connect("local:2") as c:
        yield c


def _verdicts(report_json: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(c["campaign"], c["ok"], c["failure"], [s["rule"] for s in c["steps"]],
             c["statistics"]["examples"], c["statistics"]["steps"], c["statistics"]["rules"],
             [n for n, _ in c["statistics"]["timing"]]) for c in report_json["campaigns"]]


def test_a_derandomized_run_is_the_same_on_a_cluster_as_here(client: Client,
                                                               tmp_path: Path) -> None:
    with BY_NAME["rq-permission-skipped"].applied():
        here = run(tmp_path, OPTIONS, ["request"], shards=2)
    there = run(tmp_path, OPTIONS, ["request"], shards=2,
                execute=cluster.executor(client, ["rq-permission-skipped"]))
    assert here.folder is not None and there.folder is not None
    a = json.loads((here.folder / "matrix.json").read_text())
    b = json.loads((there.folder / "matrix.json").read_text())
    assert a["matrices"] == b["matrices"]
    assert _verdicts(a) == _verdicts(b)
    assert not there.ok and there.outcomes[0].failure is not None
    # the failure was shrunk and replayed on a worker; its replay file is in the run here
    replay = there.outcomes[0].replay
    assert replay is not None and replay.is_file() and replay.is_relative_to(there.folder)
    assert json.loads(replay.read_text())["steps"]


def test_mutants_run_one_per_task_with_the_same_verdicts(client: Client,
                                                         tmp_path: Path) -> None:
    chosen = [BY_NAME[name] for name in MUTANTS]
    here = run_mutants(chosen, OPTIONS, tmp_path / "here")
    there = cluster.run_mutants(client, chosen, OPTIONS, tmp_path / "there")
    assert [(v.mutant.name, v.killed, v.to_json()["by"], v.to_json()["steps"]) for v in here] \
        == [(v.mutant.name, v.killed, v.to_json()["by"], v.to_json()["steps"]) for v in there]
    for v in there:
        if v.outcome.replay is not None:
            assert v.outcome.replay.is_relative_to(tmp_path / "there")
            assert v.outcome.replay.is_file()


def test_workers_on_other_code_are_refused(client: Client) -> None:
    cluster.check_workers(client)
    with pytest.raises(cluster.ClusterError, match="run other code"):
        cluster.check_workers(client, mine="a digest of other sources")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _dask(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "dask", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd=Path(__file__).resolve().parents[1])


def test_a_worker_killed_mid_run_loses_nothing_and_counts_nothing_twice(
        tmp_path: Path) -> None:
    """A real ``dask scheduler`` and two ``dask worker`` processes; the first worker seen
    busy is killed while its task runs, and the scheduler gives the task to the other."""
    address = f"tcp://127.0.0.1:{_free_port()}"
    processes = [_dask("scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":")[-1],
                       "--no-dashboard")]
    try:
        processes += [_dask("worker", address, "--nthreads", "1", "--no-nanny",
                            "--no-dashboard", "--name", name) for name in ("w0", "w1")]
        workers = {"w0": processes[1], "w1": processes[2]}
        with cluster.connect(address) as client:
            client.wait_for_workers(2, timeout=60)
            killed: list[str] = []

            def kill_a_busy_worker(line: str) -> None:
                if killed:
                    return
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    busy = [w for w, keys in client.processing().items() if keys]
                    if busy:
                        name = client.scheduler_info()["workers"][busy[0]]["name"]
                        workers[name].send_signal(signal.SIGKILL)
                        killed.append(name)
                        return
                    time.sleep(0.05)

            report = run(tmp_path, OPTIONS, ["request"], shards=4,
                         progress=lambda line: "done on" in line and kill_a_busy_worker(line),
                         execute=cluster.executor(client))
        assert killed, "no worker was busy to kill"
        here = run(tmp_path, OPTIONS, ["request"], shards=4)
        assert report.folder is not None and here.folder is not None
        a = json.loads((here.folder / "matrix.json").read_text())
        b = json.loads((report.folder / "matrix.json").read_text())
        assert b["campaigns"][0]["statistics"]["examples"] == OPTIONS.examples
        assert _verdicts(a) == _verdicts(b) and a["matrices"] == b["matrices"]
    finally:
        for process in processes:
            process.kill()
            process.wait(timeout=30)
