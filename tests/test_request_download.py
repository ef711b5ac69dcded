"""request.download against the fixture HTTP server, driven by the simulated device."""

from __future__ import annotations

import hashlib
import os
import socket
from pathlib import Path
from typing import Any

import pytest

from sim.device import Device
from sim.ohos.common import AppSandbox, BusinessError, Caller
from sim.ohos.request import (
    DOCUMENTED,
    OHOS_3_2,
    CurlOptions,
    DownloadTask,
    JsError,
    RequestFidelity,
    RequestModule,
)
from sim.ohos.request import constants as C
from sim.ohos.request.fidelity import PAGE_KB
from sim.servers import FixtureHTTPServer
from tests.conftest import make_profile

WIFI_RATE = 8000 * 1000 / 8  # bytes/s of the test profile's Wi-Fi downlink
LATENCY = 0.050
FAST = CurlOptions(connect_timeout_s=2, low_speed_time_s=5, max_redirects=5)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Rig:
    """A device, the request namespace on it, and a record of every task event."""

    def __init__(self, tmp_path: Path, fidelity: RequestFidelity = DOCUMENTED,
                 caller: Caller | None = None, **profile: Any) -> None:
        self.device = Device(make_profile(**profile))
        self.sandbox = AppSandbox(tmp_path / "app")
        self.request = RequestModule(self.device, sandbox=self.sandbox, fidelity=fidelity,
                                     curl_options=FAST, caller=caller)
        self.events: list[tuple[Any, ...]] = []

    def start(self, url: str, **config: Any) -> DownloadTask:
        promise = self.request.download({"url": url, **config})
        assert promise is not None
        task: DownloadTask = self.device.env.run(until=promise)
        self.listen(task)
        return task

    def listen(self, task: DownloadTask) -> None:
        env = self.device.env
        task.on("progress", lambda r, t: self.events.append(("progress", env.now, r, t)))
        for kind in ("complete", "pause", "remove"):
            task.on(kind, lambda k=kind: self.events.append((k, env.now)))
        task.on("fail", lambda code: self.events.append(("fail", env.now, code)))

    def kinds(self) -> list[str]:
        return [e[0] for e in self.events if e[0] != "progress"]

    def run(self, until: float) -> None:
        self.device.env.run(until=self.device.env.now + until)


def test_constants_have_the_platform_values() -> None:
    request = RequestModule(Device(make_profile()))
    expected = {
        "NETWORK_MOBILE": 1, "NETWORK_WIFI": 65536,
        "ERROR_CANNOT_RESUME": 0, "ERROR_DEVICE_NOT_FOUND": 1, "ERROR_FILE_ALREADY_EXISTS": 2,
        "ERROR_FILE_ERROR": 3, "ERROR_HTTP_DATA_ERROR": 4, "ERROR_INSUFFICIENT_SPACE": 5,
        "ERROR_TOO_MANY_REDIRECTS": 6, "ERROR_UNHANDLED_HTTP_CODE": 7, "ERROR_UNKNOWN": 8,
        "ERROR_OFFLINE": 9, "ERROR_UNSUPPORTED_NETWORK_TYPE": 10,
        "PAUSED_QUEUED_FOR_WIFI": 0, "PAUSED_WAITING_FOR_NETWORK": 1,
        "PAUSED_WAITING_TO_RETRY": 2, "PAUSED_BY_USER": 3, "PAUSED_UNKNOWN": 4,
        "SESSION_SUCCESSFUL": 0, "SESSION_RUNNING": 1, "SESSION_PENDING": 2,
        "SESSION_PAUSED": 3, "SESSION_FAILED": 4,
        "EXCEPTION_PERMISSION": 201, "EXCEPTION_PARAMCHECK": 401, "EXCEPTION_UNSUPPORTED": 801,
        "EXCEPTION_FILEIO": 13400001, "EXCEPTION_FILEPATH": 13400002,
        "EXCEPTION_SERVICE": 13400003, "EXCEPTION_OTHERS": 13499999,
    }
    assert {name: getattr(request, name) for name in expected} == expected


def test_a_download_completes_with_the_same_bytes(tmp_path: Path,
                                                  http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    task = rig.start(f"{http_server.url}/files/small.bin", filePath="small.bin")
    rig.run(60)
    assert sha(task.path) == sha(http_server.root / "small.bin")
    assert rig.kinds() == ["complete"]
    progress = [(r, t) for kind, _, r, t in (e for e in rig.events if e[0] == "progress")]
    assert progress[-1] == (300_000, 300_000)
    assert [r for r, _ in progress] == sorted(r for r, _ in progress)
    info = task.info()
    assert (info.status, info.failedReason, info.pausedReason) == (
        C.SESSION_SUCCESSFUL, C.ERROR_UNKNOWN, C.PAUSED_UNKNOWN)
    assert (info.downloadedBytes, info.downloadTotalBytes) == (300_000, 300_000)
    assert (info.fileName, info.filePath) == ("small.bin", "internal://cache/small.bin")


def test_simulated_time_is_probe_round_trip_plus_size_over_bandwidth(
        tmp_path: Path, http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    rig.start(f"{http_server.url}/files/small.bin")
    rig.run(60)
    (done,) = [e for e in rig.events if e[0] == "complete"]
    assert done[1] == pytest.approx(LATENCY + LATENCY + 300_000 / WIFI_RATE, abs=1e-6)


def test_callback_form_delivers_the_task(tmp_path: Path, http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    got: list[Any] = []
    assert rig.request.download({"url": f"{http_server.url}/files/small.bin"},
                                lambda err, task: got.append((err, task))) is None
    rig.run(1)
    assert got[0][0] is None and isinstance(got[0][1], DownloadTask)


def test_no_network_at_start_fails_offline(tmp_path: Path, http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    rig.device.controls.set_radio("wifi", False)
    rig.device.controls.set_radio("cellular", False)
    task = rig.start(f"{http_server.url}/files/small.bin")
    rig.run(10)
    assert [e[0::2] for e in rig.events] == [("fail", C.ERROR_OFFLINE)]
    assert task.info().status == C.SESSION_FAILED


@pytest.mark.parametrize(("network_type", "metered", "roaming", "cellular_roaming", "ok"), [
    (C.NETWORK_WIFI, False, False, False, False),
    (C.NETWORK_MOBILE, False, False, False, False),  # cellular is metered
    (C.NETWORK_MOBILE, True, False, False, True),
    (C.NETWORK_MOBILE, True, False, True, False),  # roaming not allowed
    (C.NETWORK_MOBILE, True, True, True, True),
    (0, False, False, True, True),  # networkType 0: no check at all
])
def test_network_type_metered_and_roaming_rules(
        tmp_path: Path, http_server: FixtureHTTPServer, network_type: int, metered: bool,
        roaming: bool, cellular_roaming: bool, ok: bool) -> None:
    rig = Rig(tmp_path)
    rig.device.controls.set_radio("wifi", False)
    rig.device.controls.configure_radio("cellular", preset="lte", roaming=cellular_roaming)
    rig.start(f"{http_server.url}/files/small.bin", networkType=network_type,
              enableMetered=metered, enableRoaming=roaming)
    rig.run(60)
    assert rig.kinds() == (["complete"] if ok else ["fail"])
    if not ok:
        assert rig.events[-1][2] == C.ERROR_UNSUPPORTED_NETWORK_TYPE


def test_network_loss_pauses_and_the_download_resumes_by_itself(
        tmp_path: Path, http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    rig.device.controls.set_radio("cellular", False)
    task = rig.start(f"{http_server.url}/files/big.bin")
    rig.run(3.0)
    rig.device.controls.set_radio("wifi", False)
    lost_at = rig.device.env.now
    rig.run(5)
    assert rig.kinds() == ["pause"]
    info = task.info()
    assert (info.status, info.pausedReason) == (C.SESSION_PAUSED, C.PAUSED_WAITING_FOR_NETWORK)
    # the file holds exactly what the link carried before the radio went down
    carried = int((lost_at - 2 * LATENCY) * WIFI_RATE)
    assert task.path.stat().st_size == info.downloadedBytes == pytest.approx(carried, abs=1)
    rig.device.controls.set_radio("wifi", True)
    rig.run(60)
    assert rig.kinds() == ["pause", "complete"]
    assert sha(task.path) == sha(http_server.root / "big.bin")
    ranges = [h.get("Range") for m, p, h in http_server.requests
              if p.endswith("big.bin") and h.get("Range")]
    assert ranges and ranges[-1] == f"bytes={info.downloadedBytes}-"


def test_release_3_2_retries_a_lost_network_then_waits_to_retry(
        tmp_path: Path, http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path, fidelity=OHOS_3_2)
    rig.device.controls.set_radio("cellular", False)
    task = rig.start(f"{http_server.url}/files/big.bin")
    rig.run(1.0)
    rig.device.controls.set_radio("wifi", False)
    rig.run(30)
    assert rig.kinds() == ["pause"]
    assert (task.info().status, task.info().pausedReason) == (C.SESSION_PAUSED,
                                                              C.PAUSED_WAITING_TO_RETRY)


def test_connection_refused_retries_three_times_then_pauses(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens
    rig = Rig(tmp_path)
    task = rig.start(f"http://127.0.0.1:{port}/x.bin")
    rig.run(30)
    assert rig.kinds() == ["pause"]
    assert (task.info().status, task.info().failedReason, task.info().pausedReason) == (
        C.SESSION_PAUSED, C.ERROR_UNKNOWN, C.PAUSED_WAITING_TO_RETRY)


@pytest.mark.parametrize(("path", "code"), [
    ("/status/404", C.ERROR_UNHANDLED_HTTP_CODE),
    ("/status/500", C.ERROR_UNHANDLED_HTTP_CODE),
    ("/loop", C.ERROR_TOO_MANY_REDIRECTS),
    ("/files/big.bin?drop_after=100000", C.ERROR_UNHANDLED_HTTP_CODE),
])
def test_failures_map_to_the_documented_reasons(tmp_path: Path, http_server: FixtureHTTPServer,
                                                path: str, code: int) -> None:
    rig = Rig(tmp_path)
    task = rig.start(f"{http_server.url}{path}", filePath="out.bin")
    rig.run(60)
    assert [e[0::2] for e in rig.events if e[0] != "progress"] == [("fail", code)]
    assert task.info().status == C.SESSION_FAILED


def test_a_dropped_body_leaves_only_the_bytes_received(tmp_path: Path,
                                                       http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    task = rig.start(f"{http_server.url}/files/big.bin?drop_after=100000")
    rig.run(60)
    source = (http_server.root / "big.bin").read_bytes()
    assert task.path.read_bytes() == source[:100_000]
    assert task.info().status == C.SESSION_FAILED


def test_a_redirect_chain_is_followed(tmp_path: Path, http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    task = rig.start(f"{http_server.url}/redirect/3/files/small.bin", filePath="r.bin")
    rig.run(60)
    assert rig.kinds() == ["complete"] and sha(task.path) == sha(http_server.root / "small.bin")


def test_unknown_length_reports_total_minus_one(tmp_path: Path,
                                                http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    task = rig.start(f"{http_server.url}/chunked/small.bin", filePath="c.bin")
    rig.run(60)
    assert rig.kinds() == ["complete"]
    assert {t for kind, _, _, t in (e for e in rig.events if e[0] == "progress")} == {-1}
    assert sha(task.path) == sha(http_server.root / "small.bin")
    assert task.info().downloadTotalBytes == -1


def test_pause_and_resume_mid_transfer(tmp_path: Path, http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    task = rig.start(f"{http_server.url}/files/big.bin")
    rig.run(2.0)
    paused = task.pause()
    assert rig.kinds() == ["pause"]  # fired inside pause()
    assert rig.device.env.run(until=paused) is None  # Promise<void> by the documents
    size = task.path.stat().st_size
    rig.run(10)
    assert task.path.stat().st_size == size  # nothing moves while paused
    info = task.info()
    assert (info.status, info.pausedReason) == (C.SESSION_PAUSED, C.PAUSED_BY_USER)
    task.resume()
    rig.run(60)
    assert rig.kinds() == ["pause", "complete"]
    assert sha(task.path) == sha(http_server.root / "big.bin")
    assert task.info().pausedReason == C.PAUSED_UNKNOWN


def test_release_3_2_pause_resolves_true_and_the_reason_sticks(
        tmp_path: Path, http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path, fidelity=OHOS_3_2)
    task = rig.start(f"{http_server.url}/files/big.bin")
    rig.run(1.0)
    assert rig.device.env.run(until=task.pause()) is True
    assert rig.device.env.run(until=task.resume()) is True
    rig.run(60)
    assert task.info().pausedReason == C.PAUSED_BY_USER


def test_a_server_that_ignores_range_fails_the_resume(tmp_path: Path,
                                                      http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    task = rig.start(f"{http_server.url}/files/big.bin?ignore_range=1")
    rig.run(1.0)
    task.pause()
    task.resume()
    rig.run(60)
    assert [e[0::2] for e in rig.events if e[0] in ("fail",)] == [
        ("fail", C.ERROR_UNHANDLED_HTTP_CODE)]


@pytest.mark.parametrize(("fidelity", "kept"), [(DOCUMENTED, False), (OHOS_3_2, True)])
def test_remove_fires_inside_the_call(tmp_path: Path, http_server: FixtureHTTPServer,
                                      fidelity: RequestFidelity, kept: bool) -> None:
    rig = Rig(tmp_path, fidelity=fidelity)
    task = rig.start(f"{http_server.url}/files/big.bin")
    rig.run(1.0)
    promise = task.remove()
    assert rig.kinds() == ["remove"]
    assert rig.device.env.run(until=promise) is True
    rig.run(30)
    assert rig.kinds() == ["remove"]  # nothing after removal
    assert task.path.exists() is kept


def test_at_most_four_downloads_run_at_once(tmp_path: Path,
                                            http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    tasks = [rig.start(f"{http_server.url}/files/big.bin", filePath=f"d{i}.bin")
             for i in range(6)]
    rig.run(0.5)
    statuses = [t.info().status for t in tasks]
    assert statuses.count(C.SESSION_RUNNING) == 4
    assert statuses.count(C.SESSION_PENDING) == 2
    rig.run(200)
    assert [t.info().status for t in tasks] == [C.SESSION_SUCCESSFUL] * 6
    assert all(sha(t.path) == sha(http_server.root / "big.bin") for t in tasks)


@pytest.mark.parametrize(("fidelity", "code"), [(DOCUMENTED, C.ERROR_INSUFFICIENT_SPACE),
                                                (OHOS_3_2, C.ERROR_HTTP_DATA_ERROR)])
def test_a_file_that_does_not_fit_fails(tmp_path: Path, http_server: FixtureHTTPServer,
                                        fidelity: RequestFidelity, code: int) -> None:
    rig = Rig(tmp_path, fidelity=fidelity)
    rig.device.controls.fill_storage(rig.device.storage.free - 1_000_000)
    task = rig.start(f"{http_server.url}/files/big.bin")
    rig.run(60)
    assert [e[0::2] for e in rig.events if e[0] != "progress"] == [("fail", code)]
    assert task.info().status == C.SESSION_FAILED
    assert task.path.stat().st_size < 8_000_000  # never a whole file claimed complete


def test_progress_in_kib_under_the_page_profile(tmp_path: Path,
                                                http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path, fidelity=PAGE_KB)
    rig.start(f"{http_server.url}/files/small.bin")
    rig.run(60)
    last = [e for e in rig.events if e[0] == "progress"][-1]
    assert last[2:] == (300_000 // 1024, 300_000 // 1024)


def test_mime_type_comes_from_the_probe(tmp_path: Path, http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    task = rig.start(f"{http_server.url}/files/page.html")
    assert rig.device.env.run(until=task.queryMimeType()) == ""  # not probed yet
    rig.run(10)
    assert rig.device.env.run(until=task.queryMimeType()).startswith("text/html")


def test_late_complete_listener_is_called_once(tmp_path: Path,
                                               http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    promise = rig.request.download({"url": f"{http_server.url}/files/small.bin"})
    assert promise is not None
    task = rig.device.env.run(until=promise)
    rig.run(60)
    calls: list[str] = []
    task.on("complete", lambda: calls.append("late"))
    task.on("complete", lambda: calls.append("again"))
    assert calls == ["late"]


def test_a_second_listener_replaces_the_first(tmp_path: Path,
                                              http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    promise = rig.request.download({"url": f"{http_server.url}/files/small.bin"})
    task = rig.device.env.run(until=promise)
    calls: list[str] = []
    task.on("complete", lambda: calls.append("first"))
    task.on("complete", lambda: calls.append("second"))
    rig.run(60)
    assert calls == ["second"]


@pytest.mark.parametrize(("fidelity", "called"), [(DOCUMENTED, []), (OHOS_3_2, [(0, 0)])])
def test_off_with_a_callback(tmp_path: Path, http_server: FixtureHTTPServer,
                             fidelity: RequestFidelity, called: list[Any]) -> None:
    rig = Rig(tmp_path, fidelity=fidelity)
    task = rig.start(f"{http_server.url}/files/small.bin")
    calls: list[Any] = []
    task.off("progress", lambda r, t: calls.append((r, t)))
    assert calls == called


def test_release_3_2_reports_the_directory_as_file_path(tmp_path: Path,
                                                        http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path, fidelity=OHOS_3_2)
    task = rig.start(f"{http_server.url}/files/small.bin", filePath="dir/a.bin")
    assert task.info().filePath == "internal://cache/dir"
    assert Rig(tmp_path / "b").start(f"{http_server.url}/files/small.bin",
                                     filePath="dir/a.bin").info().filePath == \
        "internal://cache/dir/a.bin"


# -- bad input -------------------------------------------------------------------------------

@pytest.mark.parametrize(("config", "detail"), [
    ({}, "download config url error"),
    ({"url": "ftp://host/file"}, "download config url error"),
    ({"url": "/downloadTest/a.bin"}, "download config url error"),
    ({"url": 42}, "download config url error"),
    ({"url": "http://h/a", "header": "x"}, "download config header error"),
    ({"url": "http://h/a", "header": {"a": 1}}, "download config header error"),
    ({"url": "http://h/a", "networkType": -1}, "download config networkType has wrong type"),
    ({"url": "http://h/a", "enableMetered": "yes"}, "download config enableMetered has wrong"),
    ("http://h/a", "download config has wrong type"),
])
def test_bad_config_is_401_and_writes_nothing(tmp_path: Path, config: Any, detail: str) -> None:
    rig = Rig(tmp_path)
    with pytest.raises(BusinessError) as info:
        rig.request.download(config)
    assert info.value.code == 401
    assert info.value.message.startswith("the parameters check fails   " + detail)
    assert list(rig.sandbox.cache_dir.iterdir()) == []


def test_release_3_2_throws_a_plain_error_for_bad_config(tmp_path: Path) -> None:
    rig = Rig(tmp_path, fidelity=OHOS_3_2)
    with pytest.raises(JsError) as info:
        rig.request.download({"url": "nope"})
    assert "download config url error" in info.value.message
    assert not hasattr(info.value, "code")


def test_existing_file_or_escaping_path_is_13400002(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    (rig.sandbox.cache_dir / "have.bin").write_bytes(b"old")
    for path, detail in (("have.bin", "Download File already exists"),
                         ("../../etc/passwd", "Download File Path Valid"),
                         ("have.bin/inner.bin", "Download File Path Valid")):
        with pytest.raises(BusinessError) as info:
            rig.request.download({"url": "http://127.0.0.1:9/a", "filePath": path})
        assert (info.value.code, info.value.message) == (
            13400002, "bad file path   " + detail)
    assert (rig.sandbox.cache_dir / "have.bin").read_bytes() == b"old"
    assert not (tmp_path / "etc").exists()


def test_a_file_that_cannot_be_opened_is_13400001(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    (rig.sandbox.cache_dir / "adir").mkdir()
    with pytest.raises(BusinessError) as info:
        rig.request.download({"url": "http://127.0.0.1:9/a", "filePath": "adir"})
    assert info.value.code == 13400001
    assert info.value.message.startswith(" file operation error   Failed to open file errno")


@pytest.mark.parametrize(("fidelity", "message"), [(DOCUMENTED, "401"), (OHOS_3_2, None)])
def test_unknown_event_type(tmp_path: Path, http_server: FixtureHTTPServer,
                            fidelity: RequestFidelity, message: str | None) -> None:
    rig = Rig(tmp_path, fidelity=fidelity)
    task = rig.start(f"{http_server.url}/files/small.bin")
    if message is None:
        task.on("finish", lambda: None)  # ignored, as release 3.2 does
    else:
        with pytest.raises(BusinessError) as info:
            task.on("finish", lambda: None)
        assert info.value.code == 401


@pytest.mark.parametrize(("fidelity", "expect"), [(DOCUMENTED, 201), (OHOS_3_2, None)])
def test_without_internet_permission(tmp_path: Path, fidelity: RequestFidelity,
                                     expect: int | None) -> None:
    rig = Rig(tmp_path, fidelity=fidelity, caller=Caller())
    promise = rig.request.download({"url": "http://127.0.0.1:9/a.bin"})
    if expect is None:
        assert promise is None
    else:
        assert promise is not None
        with pytest.raises(BusinessError) as info:
            rig.device.env.run(until=promise)
        assert (info.value.code, info.value.message) == (201, "the permissions check fails")
    assert list(rig.sandbox.cache_dir.iterdir()) == []


@pytest.mark.parametrize(("file_path", "where"), [
    (None, "small.bin"),
    ("", "small.bin"),
    ("workspace/", "workspace/small.bin"),
    ("workspace/test.txt", "workspace/test.txt"),
    ("internal://cache/x/y.bin", "x/y.bin"),
])
def test_file_path_forms_of_the_page(tmp_path: Path, http_server: FixtureHTTPServer,
                                     file_path: str | None, where: str) -> None:
    rig = Rig(tmp_path)
    config = {} if file_path is None else {"filePath": file_path}
    task = rig.start(f"{http_server.url}/files/small.bin", **config)
    assert task.path == rig.sandbox.cache_dir / where
    assert task.path.exists()  # created with the task, before any byte arrives
    rig.run(60)
    assert task.info().filePath == f"internal://cache/{where}"


def test_task_methods_have_callback_forms(tmp_path: Path,
                                          http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    task = rig.start(f"{http_server.url}/files/big.bin")
    rig.run(1.0)
    got: list[tuple[str, Any, Any]] = []
    for name in ("pause", "resume", "query", "queryMimeType", "remove"):
        assert getattr(task, name)(lambda err, value, n=name: got.append((n, err, value))) \
            is None
    rig.run(1.0)
    assert [(n, err) for n, err, _ in got] == [(n, None) for n in (
        "pause", "resume", "query", "queryMimeType", "remove")]
    values = {n: v for n, _, v in got}
    assert values["remove"] is True and values["query"].downloadId == task.id
    assert values["queryMimeType"] == "application/octet-stream"


def test_a_download_drains_the_battery_through_the_radio(tmp_path: Path,
                                                         http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path, **{"battery.level_pct": 90})
    rig.device.controls.set_radio("cellular", False)
    rig.start(f"{http_server.url}/files/big.bin")
    rig.run(60)
    trace = rig.device.trace
    starts = [e for e in trace.events if e.kind.value == "transfer.start"]
    dones = [e for e in trace.events if e.kind.value == "transfer.done"]
    assert [e.data["label"] for e in starts] == ["download-0-probe", "download-0"]
    busy = sum(d.data["seconds"] for d in dones)
    k = 100 / (3600 * 1000)  # percent per mA·s of the 1000 mAh test battery
    expected = 90 - k * (100 * rig.device.env.now + 300 * busy)
    assert rig.device.battery.level == pytest.approx(expected, rel=1e-9)


def test_device_run_settles_a_promise_or_raises_its_error(tmp_path: Path,
                                                          http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    promise = rig.request.download({"url": f"{http_server.url}/files/small.bin"})
    assert isinstance(rig.device.run(promise), DownloadTask)
    other = Rig(tmp_path / "b", caller=Caller())
    denied = other.request.download({"url": f"{http_server.url}/files/small.bin"})
    with pytest.raises(BusinessError):
        other.device.run(denied)


def test_a_server_too_slow_to_answer_times_out_and_is_retried(
        tmp_path: Path, http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    rig.request.downloads.curl_options = CurlOptions(connect_timeout_s=2, low_speed_time_s=1)
    task = rig.start(f"{http_server.url}/files/small.bin?delay_headers=3")
    rig.run(30)
    assert rig.kinds() == ["pause"]
    assert task.info().pausedReason == C.PAUSED_WAITING_TO_RETRY
    slow = [p for m, p, h in http_server.requests if "delay_headers=3" in p]
    assert len(slow) == 3  # three attempts (the size probe of each), then the pause


def test_a_file_that_refuses_writes_fails_with_http_data_error(
        tmp_path: Path, http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    task = rig.start(f"{http_server.url}/files/small.bin", filePath="full.bin")
    full = os.open("/dev/full", os.O_WRONLY)
    os.dup2(full, task.fd)  # the file the task holds now fails every write with ENOSPC
    os.close(full)
    rig.run(60)
    assert [e[0::2] for e in rig.events if e[0] != "progress"] == [
        ("fail", C.ERROR_HTTP_DATA_ERROR)]
    assert rig.device.storage.reserved == 0
