"""syncrig-rpc/1: the cloudSync campaign over the wire finds what it finds in-process."""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.mutants import BY_NAME
from conformance.rpc import PROTOCOL, RemoteError, RpcClient, RpcServer
from conformance.spec import ohos_cloudsync as spec
from conformance.suite import CAMPAIGNS, Options, run_campaign
from conformance.targets.rpc import open_target
from sim.ohos.common import BusinessError


@pytest.fixture(scope="module")
def server() -> Iterator[RpcServer]:
    with RpcServer(open_target) as srv:
        yield srv


def test_the_campaign_over_rpc_matches_the_campaign_in_process(server: RpcServer,
                                                               tmp_path: Path) -> None:
    local = run_campaign(CAMPAIGNS["cloudSync"], Options(examples=5), tmp_path / "a")
    remote = run_campaign(CAMPAIGNS["cloudSync"],
                          Options(examples=5, rpc=f"127.0.0.1:{server.port}"), tmp_path / "b")
    assert local.ok and remote.ok, (local.describe(), remote.describe())
    assert remote.matrix["reached"] == local.matrix["reached"]
    assert remote.matrix["unreached"] == [] and len(remote.matrix["reached"]) > 100


def test_a_deviation_behind_rpc_breaks_the_same_rule(server: RpcServer, tmp_path: Path) -> None:
    with BY_NAME["cs-battery-low-at-10"].applied():  # the server runs in this process
        local = run_campaign(CAMPAIGNS["cloudSync"], Options(examples=5), tmp_path / "a")
        remote = run_campaign(CAMPAIGNS["cloudSync"],
                              Options(examples=5, rpc=f"127.0.0.1:{server.port}"),
                              tmp_path / "b")
    assert local.failure is not None and remote.failure is not None
    assert remote.failure["message"] == local.failure["message"]
    assert "expected 0, observed 22400003" in remote.failure["message"]
    assert [str(s) for s in remote.steps] == [str(s) for s in local.steps]


def test_calls_errors_and_callbacks_over_stdio() -> None:
    client = RpcClient.spawn([sys.executable, "-m", "sim.cli", "serve", "rpc", "--stdio"])
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
        with pytest.raises(RemoteError, match="unknown target"):
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
        target = ask(b'{"jsonrpc": "2.0", "id": 6, "method": "open", "params": {}}')["result"]
        modules = ask(json.dumps({"jsonrpc": "2.0", "id": 7, "method": "get", "params": {
            "ref": target["$ref"], "name": "modules"}}).encode())["result"]  # type: ignore[index]
        missing = ask(json.dumps({"jsonrpc": "2.0", "id": 8, "method": "item", "params": {
            "ref": modules["$ref"], "key": "nobody"}}).encode())["error"]  # type: ignore[index]
        assert missing["code"] == 2 and missing["data"]["type"] == "KeyError"  # type: ignore[index]
        assert ask(json.dumps({"jsonrpc": "2.0", "id": 9, "method": "item", "params": {
            "ref": modules["$ref"]}}).encode())["error"]["code"] == -32602  # type: ignore[index]
