"""request.upload against the fixture server's receiver, driven by the simulated device."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from sim.device import Device
from sim.ohos.common import AppSandbox, BusinessError, Caller
from sim.ohos.request import DOCUMENTED, OHOS_3_2, JsError, RequestFidelity, RequestModule
from sim.ohos.request.curl import CurlOptions
from sim.ohos.request.upload import TaskState, UploadTask
from sim.servers import FixtureHTTPServer
from tests.conftest import make_profile

UP_RATE = 4000 * 1000 / 8  # bytes/s of the test profile's Wi-Fi uplink
FAST = CurlOptions(connect_timeout_s=2, low_speed_time_s=5)


class Rig:
    def __init__(self, tmp_path: Path, fidelity: RequestFidelity = DOCUMENTED,
                 caller: Caller | None = None) -> None:
        self.device = Device(make_profile(**{"battery.level_pct": 100}))
        self.sandbox = AppSandbox(tmp_path / "app")
        self.request = RequestModule(self.device, sandbox=self.sandbox, fidelity=fidelity,
                                     curl_options=FAST, caller=caller)
        self.events: list[tuple[Any, ...]] = []

    def file(self, name: str, size: int) -> bytes:
        data = os.urandom(size)
        path = self.sandbox.cache_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return data

    def start(self, url: str, files: list[dict[str, str]], method: str = "POST",
              data: list[dict[str, str]] | None = None,
              header: dict[str, str] | None = None) -> UploadTask:
        promise = self.request.upload({"url": url, "header": header or {}, "method": method,
                                       "files": files, "data": data or []})
        assert promise is not None
        task: UploadTask = self.device.env.run(until=promise)
        env = self.device.env
        task.on("progress", lambda u, t: self.events.append(("progress", env.now, u, t)))
        task.on("headerReceive", lambda h: self.events.append(("headerReceive", h)))
        task.on("complete", lambda s: self.events.append(("complete", env.now, s)))
        task.on("fail", lambda s: self.events.append(("fail", env.now, s)))
        return task

    def run(self, seconds: float) -> None:
        self.device.env.run(until=self.device.env.now + seconds)

    def outcome(self) -> tuple[str, list[TaskState]]:
        (final,) = [e for e in self.events if e[0] in ("complete", "fail")]
        return final[0], final[2]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_multipart_post_carries_fields_then_the_named_file_part(
        tmp_path: Path, http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    payload = rig.file("photos/a.jpg", 600_000)
    before = len(http_server.received)
    rig.start(f"{http_server.url}/upload", [{"uri": "internal://cache/photos/a.jpg",
                                             "filename": "holiday.jpg", "name": "photo",
                                             "type": "image/jpeg"}],
              data=[{"name": "album", "value": "summer"}, {"name": "n", "value": "1"}],
              header={"X-App": "syncrig"})
    rig.run(30)
    assert rig.outcome() == ("complete", [TaskState("a.jpg", 0, "file uploaded successfully")])
    (record,) = http_server.received[before:]
    assert record.fields == {"album": "summer", "n": "1"}
    assert record.headers["X-App"] == "syncrig"
    assert record.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    (part,) = record.files
    assert (part["name"], part["filename"], part["content_type"], part["size"]) == (
        "photo", "holiday.jpg", "image/jpeg", 600_000)
    assert part["sha256"] == sha(payload)


def test_release_3_2_names_the_part_file_after_the_uri(tmp_path: Path,
                                                       http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path, fidelity=OHOS_3_2)
    rig.file("a.jpg", 1000)
    rig.start(f"{http_server.url}/upload", [{"uri": "internal://cache/a.jpg",
                                             "filename": "holiday.jpg", "name": "photo",
                                             "type": "jpg"}])
    rig.run(30)
    part = http_server.received[-1].files[0]
    assert (part["name"], part["filename"], part["content_type"]) == ("file", "a.jpg", "jpg")
    (header,) = [e[1] for e in rig.events if e[0] == "headerReceive"]
    assert isinstance(header, str) and header.startswith("HTTP/1.1 200")
    assert header.endswith("\r\n\r\n")


def test_header_receive_is_an_object_by_the_documents(tmp_path: Path,
                                                      http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    rig.file("a.txt", 100)
    rig.start(f"{http_server.url}/upload?reply_header=X-Answer:42&reply_body=stored",
              [{"uri": "internal://cache/a.txt"}])
    rig.run(30)
    (header,) = [e[1] for e in rig.events if e[0] == "headerReceive"]
    assert header["headers"]["X-Answer"] == "42" and header["body"] == "stored"
    part = http_server.received[-1].files[0]
    assert (part["name"], part["content_type"]) == ("file", "text/plain")  # page defaults


def test_put_sends_the_raw_file(tmp_path: Path, http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    payload = rig.file("raw.bin", 200_000)
    rig.start(f"{http_server.url}/upload", [{"uri": "internal://cache/raw.bin"}], method="put",
              data=[{"name": "ignored", "value": "x"}])
    rig.run(30)
    assert rig.outcome()[0] == "complete"
    record = http_server.received[-1]
    assert record.method == "PUT" and record.fields == {}
    assert record.headers["Content-Type"] == "application/octet-stream"
    assert record.files[0]["sha256"] == sha(payload)


def test_timing_follows_the_uplink(tmp_path: Path, http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    rig.file("raw.bin", 500_000)
    rig.start(f"{http_server.url}/upload", [{"uri": "internal://cache/raw.bin"}], method="PUT")
    rig.run(30)
    done = next(e for e in rig.events if e[0] == "complete")
    assert done[1] == pytest.approx(0.05 + 0.05 + 500_000 / UP_RATE, abs=1e-6)
    progress = [(u, t) for _, _, u, t in (e for e in rig.events if e[0] == "progress")]
    assert progress[-1] == (500_000, 500_000)
    assert [u for u, _ in progress] == sorted(u for u, _ in progress)


def test_only_200_is_success(tmp_path: Path, http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    rig.file("a.bin", 100)
    rig.start(f"{http_server.url}/upload?status=201", [{"uri": "internal://cache/a.bin"}])
    rig.run(30)
    assert rig.outcome() == ("fail", [TaskState("a.bin", 5, "upload failed")])


def test_one_request_per_file_with_the_form_fields_each_time(
        tmp_path: Path, http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    rig.file("a.bin", 1000)
    rig.file("b.bin", 2000)
    before = len(http_server.received)
    rig.start(f"{http_server.url}/upload", [{"uri": "internal://cache/a.bin"},
                                            {"uri": "internal://cache/b.bin"}],
              data=[{"name": "k", "value": "v"}])
    rig.run(30)
    kind, states = rig.outcome()
    assert kind == "complete" and [s.path for s in states] == ["a.bin", "b.bin"]
    records = http_server.received[before:]
    assert [r.files[0]["size"] for r in records] == [1000, 2000]
    assert all(r.fields == {"k": "v"} for r in records)
    last = [e for e in rig.events if e[0] == "progress"][-1]
    assert last[2:] == (3000, 3000)


@pytest.mark.parametrize(("uri", "code", "message"), [
    ("dataability:///com.x/file.txt", 1, "file path error"),
    ("/data/file.txt", 1, "file path error"),
    ("internal://cache/missing.bin", 2, "failed to get file"),
    ("internal://cache/../../../etc/passwd", 2, "failed to get file"),
])
def test_a_file_that_cannot_be_obtained_stops_the_whole_task(
        tmp_path: Path, http_server: FixtureHTTPServer, uri: str, code: int,
        message: str) -> None:
    rig = Rig(tmp_path)
    rig.file("ok.bin", 10)
    before = len(http_server.received)
    rig.start(f"{http_server.url}/upload", [{"uri": "internal://cache/ok.bin"}, {"uri": uri}])
    rig.run(30)
    kind, states = rig.outcome()
    assert kind == "fail"
    assert [(s.responseCode, s.message) for s in states] == [(5, "upload failed"),
                                                             (code, message)]
    assert len(http_server.received) == before  # nothing was sent


def test_a_lost_radio_fails_the_file_with_a_libcurl_error(tmp_path: Path,
                                                          http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    rig.file("big.bin", 3_000_000)
    rig.device.controls.set_radio("cellular", False)
    rig.start(f"{http_server.url}/upload", [{"uri": "internal://cache/big.bin"}], method="PUT")
    rig.run(2.0)
    rig.device.controls.set_radio("wifi", False)
    rig.run(30)
    assert rig.outcome() == ("fail", [TaskState("big.bin", 4, "libcurl return error")])
    uploaded = [e for e in rig.events if e[0] == "progress"][-1][2]
    assert 0 < uploaded < 3_000_000


def test_remove_mid_upload_suppresses_complete_and_fail(tmp_path: Path,
                                                        http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    rig.file("big.bin", 3_000_000)
    task = rig.start(f"{http_server.url}/upload", [{"uri": "internal://cache/big.bin"}])
    rig.run(1.0)
    assert rig.device.env.run(until=task.remove()) is True
    rig.run(30)
    assert [e for e in rig.events if e[0] in ("complete", "fail")] == []
    assert [s.responseCode for s in task.states] == [7]


def test_a_late_progress_listener_gets_the_current_values(tmp_path: Path,
                                                          http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    rig.file("a.bin", 5000)
    task = rig.start(f"{http_server.url}/upload", [{"uri": "internal://cache/a.bin"}])
    rig.run(30)
    late: list[tuple[int, int]] = []
    task.on("progress", lambda u, t: late.append((u, t)))
    assert late == [(5000, 5000)]
    replay: list[Any] = []
    task.off("complete")
    task.on("complete", lambda s: replay.append(s))
    assert replay == []  # delivered once already to the first listener


@pytest.mark.parametrize(("fidelity", "calls"), [(DOCUMENTED, []), (OHOS_3_2, [(5000, 5000)])])
def test_off_progress_with_a_callback(tmp_path: Path, http_server: FixtureHTTPServer,
                                      fidelity: RequestFidelity, calls: list[Any]) -> None:
    rig = Rig(tmp_path, fidelity=fidelity)
    rig.file("a.bin", 5000)
    task = rig.start(f"{http_server.url}/upload", [{"uri": "internal://cache/a.bin"}])
    rig.run(30)
    got: list[Any] = []
    task.off("progress", lambda u, t: got.append((u, t)))
    assert got == calls


@pytest.mark.parametrize(("config", "detail"), [
    ({"header": {}, "method": "POST", "files": [], "data": []}, "url is missing"),
    ({"url": "ftp://h", "header": {}, "method": "POST", "files": [{"uri": "x"}], "data": []},
     "url"),
    ({"url": "http://h", "header": {}, "method": "GET", "files": [{"uri": "x"}], "data": []},
     "method"),
    ({"url": "http://h", "header": {}, "method": "POST", "files": [], "data": []}, "files"),
    ({"url": "http://h", "header": [], "method": "POST", "files": [{"uri": "x"}], "data": []},
     "header"),
    ({"url": "http://h", "header": {}, "method": "POST", "files": [{"uri": "x"}],
      "data": [{"name": "a"}]}, "data"),
])
def test_bad_config_is_401(tmp_path: Path, config: dict[str, Any], detail: str) -> None:
    rig = Rig(tmp_path)
    with pytest.raises(BusinessError) as info:
        rig.request.upload(config)
    assert info.value.code == 401
    assert info.value.message == ("the parameters check fails   "
                                  f"Initialize. ParseUploadConfig fail: {detail}")
    with pytest.raises(JsError):
        Rig(tmp_path / "b", fidelity=OHOS_3_2).request.upload(config)


def test_unknown_event_type_is_401(tmp_path: Path, http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    rig.file("a.bin", 10)
    task = rig.start(f"{http_server.url}/upload", [{"uri": "internal://cache/a.bin"}])
    with pytest.raises(BusinessError) as info:
        task.on("done", lambda: None)
    assert (info.value.code, info.value.message) == (
        401, "the parameters check fails   ParseParam fail")


def test_without_internet_permission_the_promise_rejects_201(tmp_path: Path) -> None:
    rig = Rig(tmp_path, caller=Caller())
    promise = rig.request.upload({"url": "http://127.0.0.1:9/u", "header": {},
                                  "method": "POST", "files": [{"uri": "internal://cache/a"}],
                                  "data": []})
    assert promise is not None
    with pytest.raises(BusinessError) as info:
        rig.device.env.run(until=promise)
    assert info.value.code == 201


def test_a_file_is_held_from_the_start_so_a_delete_or_swap_before_its_turn_changes_nothing(
        tmp_path: Path, http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    rig.file("a.bin", 2_000_000)  # 4 s over the uplink
    b = rig.file("b.bin", 1000)
    c = rig.file("c.bin", 1000)
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"OUTSIDE" * 100)
    before = len(http_server.received)
    rig.start(f"{http_server.url}/upload", [{"uri": "internal://cache/a.bin"},
                                            {"uri": "internal://cache/b.bin"},
                                            {"uri": "internal://cache/c.bin"}], method="PUT")
    rig.run(1.0)
    (rig.sandbox.cache_dir / "b.bin").unlink()
    (rig.sandbox.cache_dir / "c.bin").unlink()
    (rig.sandbox.cache_dir / "c.bin").symlink_to(outside)
    rig.run(30)
    assert rig.outcome() == ("complete", [TaskState(n, 0, "file uploaded successfully")
                                          for n in ("a.bin", "b.bin", "c.bin")])
    sent = [r.files[0]["sha256"] for r in http_server.received[before:]]
    assert sent[1:] == [hashlib.sha256(b).hexdigest() for b in (b, c)]
