"""syncrig-rpc/1: the cloudSync and request campaigns over the wire find what they find
in-process."""

from __future__ import annotations

import json
import os
import random
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.campaign import run_campaign
from conformance.mutants import BY_NAME
from conformance.options import Options
from conformance.rpc import PROTOCOL, ProtocolError, RemoteError, RpcClient, RpcServer
from conformance.suite import CAMPAIGNS
from conformance.targets.rpc import open_target
from sim.device.radio import NetworkType
from sim.ohos.common import BusinessError
from sim.ohos.request.errors import JsError
from sim.servers import FixtureHTTPServer
from sim.spec import ohos_cloudsync as spec
from sim.spec import ohos_request


@pytest.fixture(scope="module")
def server() -> Iterator[RpcServer]:
    with RpcServer(open_target) as srv:
        yield srv


@pytest.mark.parametrize(("campaign", "items"), [("cloudSync", 100), ("request", 14)])
def test_the_campaign_over_rpc_matches_the_campaign_in_process(
        server: RpcServer, tmp_path: Path, campaign: str, items: int) -> None:
    """Every documented item reached or excused, over the wire as in-process."""
    local = run_campaign(CAMPAIGNS[campaign], Options(examples=5), tmp_path / "a")
    remote = run_campaign(CAMPAIGNS[campaign],
                          Options(examples=5, rpc=f"127.0.0.1:{server.port}"), tmp_path / "b")
    assert local.ok and remote.ok, (local.describe(), remote.describe())
    assert remote.matrix["reached"] == local.matrix["reached"]
    assert remote.matrix["unreached"] == [] and len(remote.matrix["reached"]) >= items
    # the same examples, rule by rule
    assert remote.statistics["rules"] == local.statistics["rules"]


@pytest.mark.parametrize(("campaign", "mutant", "message"), [
    ("cloudSync", "cs-battery-low-at-10", "expected success, observed 22400003"),
    ("request", "rq-metered-ignored", "expected 'fail:10', observed 'complete'"),
    ("request", "rq-fail-unannounced", "expected 'a fail event', observed 'none'"),
])
def test_a_deviation_behind_rpc_breaks_the_same_rule(server: RpcServer, tmp_path: Path,
                                                     campaign: str, mutant: str,
                                                     message: str) -> None:
    with BY_NAME[mutant].applied():  # the server runs in this process
        local = run_campaign(CAMPAIGNS[campaign], Options(examples=5), tmp_path / "a")
        remote = run_campaign(CAMPAIGNS[campaign],
                              Options(examples=5, rpc=f"127.0.0.1:{server.port}"),
                              tmp_path / "b")
    assert local.failure is not None and remote.failure is not None
    assert remote.failure["message"] == local.failure["message"]
    assert message in remote.failure["message"]
    assert [str(s) for s in remote.steps] == [str(s) for s in local.steps]


def test_calls_errors_and_callbacks_over_stdio() -> None:
    client = RpcClient.spawn([sys.executable, "-m", "conformance.cli", "serve", "rpc", "--stdio"])
    try:
        assert client.request("hello") == {"protocol": PROTOCOL}
        target = client.open("cloudSync", device="tablet")
        with pytest.raises(BusinessError) as err:
            target.modules["not-system"].FileSync()
        assert err.value.code == spec.NOT_SYSTEM_APP
        assert err.value.message == spec.ERRORS[spec.NOT_SYSTEM_APP].message
        module = target.modules["system"]
        heard: list[object] = []
        sync = module.FileSync()
        sync.on("progress", heard.append)
        module.files.write("a.txt", b"over the wire")
        target.device.run(sync.start())
        target.device.run(until=target.device.env.now + 60)
        states = [spec.SyncState(p.state) for p in heard]
        assert states[-1] == spec.SyncState.COMPLETED
        assert target.drive.container("com.example.conformance").get("a.txt").size == 13
        with pytest.raises(AttributeError):
            target.no_such_attribute  # noqa: B018 - the remote attribute lookup is the test
        with pytest.raises(ProtocolError, match=r"^-32602: invalid params: unknown target"):
            client.open("nothing")
        target.close()
    finally:
        client.close()


def test_malformed_requests_get_json_rpc_errors_and_the_server_goes_on(
        server: RpcServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        stream = sock.makefile("rwb")

        def ask(line: bytes) -> dict[str, object]:
            stream.write(line + b"\n")
            stream.flush()
            answer: dict[str, object] = json.loads(stream.readline())
            return answer

        assert ask(b"{not json")["error"]["code"] == -32700  # type: ignore[index]
        assert ask(b'{"jsonrpc": "2.0", "id": 1, "method": "rm"}')["error"]["code"] == -32601  # type: ignore[index]
        assert ask(b'{"jsonrpc": "2.0", "id": 2, "method": "get", '
                   b'"params": {"ref": 999, "name": "x"}}')["error"]["code"] == -32602  # type: ignore[index]
        assert ask(b'{"jsonrpc": "2.0", "id": 3, "method": "get", '
                   b'"params": {"ref": 1, "name": "__class__"}}')["error"]["code"] == -32602  # type: ignore[index]
        assert ask(b'{"id": 4, "method": "hello"}')["error"]["code"] == -32600  # type: ignore[index]
        hello = ask(b'{"jsonrpc": "2.0", "id": 5, "method": "hello"}')
        assert hello["result"] == {"protocol": PROTOCOL}
        # the target's own exception is the target's (code 2), not a malformed request
        target = ask(b'{"jsonrpc": "2.0", "id": 6, "method": "open", "params": '
                     b'{"target": "cloudSync"}}')["result"]
        drive = ask(json.dumps({"jsonrpc": "2.0", "id": 7, "method": "get", "params": {
            "ref": target["$ref"], "name": "drive"}}).encode())["result"]  # type: ignore[index]
        switches = ask(json.dumps({"jsonrpc": "2.0", "id": 8, "method": "get", "params": {
            "ref": drive["$ref"], "name": "switches"}}).encode())["result"]  # type: ignore[index]
        missing = ask(json.dumps({"jsonrpc": "2.0", "id": 9, "method": "item", "params": {
            "ref": switches["$ref"], "key": "nobody"}}).encode())["error"]  # type: ignore[index]
        assert missing["code"] == 2 and missing["data"]["type"] == "KeyError"  # type: ignore[index]
        assert ask(json.dumps({"jsonrpc": "2.0", "id": 10, "method": "item", "params": {
            "ref": switches["$ref"]}}).encode())["error"]["code"] == -32602  # type: ignore[index]


def test_a_download_over_stdio_with_its_events_and_file(tmp_path: Path) -> None:
    body = random.Random(3).randbytes(200_000)
    (tmp_path / "f.bin").write_bytes(body)
    client = RpcClient.spawn([sys.executable, "-m", "conformance.cli", "serve", "rpc", "--stdio"])
    try:
        with FixtureHTTPServer(tmp_path) as files:
            target = client.open("request")
            assert target.has_controls is True
            # a StrEnum member crosses as the member, not as its string
            assert target.device.sensors.network().active is NetworkType.WIFI
            app = target.modules["app"]
            task = target.device.run(app.download({"url": f"{files.url}/files/f.bin",
                                                   "filePath": "got.bin"}))
            heard: list[tuple[str, object]] = []
            task.on("progress", lambda received, total: heard.append(("progress", received)))
            task.on("complete", lambda: heard.append(("complete", None)))
            target.device.run(until=target.device.env.now + 30)
            assert heard[-1] == ("complete", None)
            assert [r for k, r in heard if k == "progress"][-1] == len(body)
            assert task.info().status == ohos_request.SESSION_SUCCESSFUL
            assert list(target.cache_files()) == ["got.bin"]
            assert target.read_cache("got.bin") == body
            with pytest.raises(RemoteError, match=r"unsafe path '\.\./\.\./etc/passwd'"):
                target.read_cache("../../etc/passwd")
            with pytest.raises(BusinessError) as denied:
                target.device.run(target.modules["denied"].download(
                    {"url": f"{files.url}/files/f.bin"}))
            assert denied.value.code == ohos_request.EXCEPTION_PERMISSION
            target.close()
    finally:
        client.close()


def test_a_plain_error_crosses_the_wire_as_one(server: RpcServer) -> None:
    """Release 3.2 throws a plain Error (no code) for a bad argument (research §2.2); the
    documents say 401 with its message."""
    client = RpcClient.connect("127.0.0.1", server.port)
    try:
        release = client.open("request", profile="ohos-3.2")
        with pytest.raises(JsError) as plain:
            release.modules["app"].download({})
        assert plain.value.message.startswith("assertion (false) failed: ")
    finally:
        client.close()
    client = RpcClient.connect("127.0.0.1", server.port)
    try:
        documented = client.open("request")
        with pytest.raises(BusinessError) as coded:
            documented.modules["app"].download({})
        assert coded.value.code == ohos_request.EXCEPTION_PARAMCHECK
        assert coded.value.message.startswith(
            ohos_request.MESSAGES[ohos_request.EXCEPTION_PARAMCHECK])
        with pytest.raises(ProtocolError, match=r"^-32602: invalid params: unknown profile "
                                                r"'ohos-9'"):
            client.open("request", profile="ohos-9")
    finally:
        client.close()


def test_conformance_against_a_served_reference_from_the_command_line(tmp_path: Path) -> None:
    """What a user types: ``syncrig serve rpc`` in one process, ``syncrig conformance
    --target rpc=...`` in another; both API campaigns run over the wire and conform."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    serving = subprocess.Popen([sys.executable, "-m", "conformance.cli", "serve", "rpc",
                                "--port", "0"],
                               stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert serving.stdout is not None
        banner = serving.stdout.readline()
        port = re.search(r"127\.0\.0\.1:(\d+)", banner)
        assert port is not None, banner
        run = subprocess.run(
            [sys.executable, "-m", "conformance.cli", "conformance", "--target",
             f"rpc=127.0.0.1:{port[1]}", "--examples", "3", "--out", str(tmp_path)],
            capture_output=True, text=True, env=env, timeout=600)
        assert run.returncode == 0, run.stdout + run.stderr
        (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
        manifest = json.loads((run_dir / "run.json").read_text())
        assert manifest["target"] == f"rpc=127.0.0.1:{port[1]}"
        results = json.loads((run_dir / "matrix.json").read_text())
        assert [(c["campaign"], c["ok"]) for c in results["campaigns"]] == [
            ("cloudSync", True), ("request", True)]
    finally:
        serving.terminate()
        serving.communicate(timeout=30)


def test_the_pytest_plugin_runs_both_campaigns_over_rpc(server: RpcServer,
                                                       tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
         f"--syncrig-target=rpc=127.0.0.1:{server.port}", "--syncrig-examples=3",
         "-m", "syncrig_conformance", "-v"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "syncrig::cloudSync PASSED" in done.stdout
    assert "syncrig::request PASSED" in done.stdout
    assert "2 passed" in done.stdout
