"""@ohos.request downloads and uploads: only the server's representation reaches the file, and
nothing outside the app's sandbox is read, written or deleted, whatever is swapped in."""

from __future__ import annotations

import itertools
import logging
import os
import time
from pathlib import Path
from typing import Any

import pytest

from sim.ohos.common import BusinessError
from sim.ohos.request import DownloadTask
from sim.ohos.request import constants as C
from sim.servers import FixtureHTTPServer
from sim.servers.scripted import changed
from tests.test_request_download import Rig

TOKENS = itertools.count()


def scripted(server: FixtureHTTPServer, name: str, script: str) -> str:
    return f"{server.url}/scripted/t{next(TOKENS)}-{os.getpid()}/{name}?script={script}"


def served(server: FixtureHTTPServer, name: str) -> bytes:
    return (server.root / name).read_bytes()


def paused_and_resumed(rig: Rig, url: str) -> tuple[DownloadTask, bytes]:
    """A download of ``url`` paused 0.5 s in (mid-body), resumed and let run: the task and
    what its file held while paused."""
    task = rig.start(url, filePath="a.bin")
    rig.run(0.5)
    rig.device.run(task.pause())
    held = task.path.read_bytes()
    rig.device.run(task.resume())
    rig.run(30)
    return task, held


def test_an_error_page_paused_mid_body_never_becomes_the_files_head(
        tmp_path: Path, http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    # the probe succeeds, the GET answers 503 with a 200 kB page, the retry serves the file
    task = rig.start(scripted(http_server, "small.bin", "ok,page:503:200000,ok"),
                     filePath="a.bin")
    rig.run(0.15)  # the page is on its way
    rig.device.run(task.pause())
    assert task.path.read_bytes() == b""
    rig.device.run(task.resume())
    rig.run(30)
    assert rig.kinds() == ["pause", "complete"]
    assert task.path.read_bytes() == served(http_server, "small.bin")


def test_an_error_status_writes_nothing_and_fails_unhandled(
        tmp_path: Path, http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    task = rig.start(scripted(http_server, "small.bin", "ok,page:503:5000"), filePath="a.bin")
    rig.run(30)
    assert [e[0::2] for e in rig.events] == [("fail", C.ERROR_UNHANDLED_HTTP_CODE)]
    assert task.path.read_bytes() == b""
    assert task.info().downloadedBytes == 0


def test_a_chunked_body_that_ends_short_of_the_probed_size_fails(
        tmp_path: Path, http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    task = rig.start(scripted(http_server, "small.bin", "ok,short"), filePath="a.bin")
    rig.run(30)
    assert rig.kinds() == ["fail"]
    assert rig.events[-1][2] == C.ERROR_UNHANDLED_HTTP_CODE
    assert task.path.read_bytes() == served(http_server, "small.bin")[:150_000]


def test_a_resume_answered_with_other_bytes_than_asked_appends_nothing(
        tmp_path: Path, http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    task, held = paused_and_resumed(rig, scripted(http_server, "big.bin", "ok,ok,badrange"))
    assert 0 < len(held) < 8_000_000
    assert [e[0::2] for e in rig.events if e[0] != "progress"] == [
        ("pause",), ("fail", C.ERROR_UNHANDLED_HTTP_CODE)]
    assert task.path.read_bytes() == held == served(http_server, "big.bin")[:len(held)]


def test_a_representation_replaced_between_pause_and_resume_is_never_spliced(
        tmp_path: Path, http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    url = scripted(http_server, "big.bin", "ok,ok,changed")
    task, held = paused_and_resumed(rig, url)
    # If-Range carried the first ETag: the server answers the new representation whole,
    # which libcurl refuses as a resume (research §3.5): nothing of it is appended
    assert [e[0::2] for e in rig.events if e[0] != "progress"] == [
        ("pause",), ("fail", C.ERROR_UNHANDLED_HTTP_CODE)]
    assert task.path.read_bytes() == held
    asked = [headers for _, path, headers in http_server.requests if url.endswith(path)]
    assert [h.get("If-Range", "")[:1] for h in asked] == ["", "", '"']
    assert changed(served(http_server, "big.bin"))[:len(held)] != held


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "victim.bin").write_bytes(b"OUTSIDE")
    return folder


def test_a_file_swapped_for_a_symlink_mid_download_is_not_written_through(
        tmp_path: Path, http_server: FixtureHTTPServer, outside: Path) -> None:
    rig = Rig(tmp_path)
    task = rig.start(f"{http_server.url}/files/big.bin", filePath="a.bin")
    rig.run(0.5)
    rig.device.run(task.pause())
    task.path.unlink()
    task.path.symlink_to(outside / "victim.bin")
    rig.device.run(task.resume())
    rig.run(30)
    assert rig.kinds() == ["pause", "complete"]
    assert (outside / "victim.bin").read_bytes() == b"OUTSIDE"
    assert sorted(os.listdir(outside)) == ["victim.bin"]


def test_remove_through_a_folder_swapped_for_a_symlink_deletes_nothing_outside(
        tmp_path: Path, http_server: FixtureHTTPServer, outside: Path) -> None:
    rig = Rig(tmp_path)
    (outside / "a.bin").write_bytes(b"KEEP")
    task = rig.start(f"{http_server.url}/files/small.bin", filePath="d/a.bin")
    rig.run(30)
    folder = rig.sandbox.cache_dir / "d"
    folder.rename(rig.sandbox.cache_dir / "moved")
    folder.symlink_to(outside)
    rig.device.run(task.remove())
    assert (outside / "a.bin").read_bytes() == b"KEEP"


def test_a_folder_symlink_in_the_file_path_is_a_bad_path(
        tmp_path: Path, http_server: FixtureHTTPServer, outside: Path) -> None:
    rig = Rig(tmp_path)
    (rig.sandbox.cache_dir / "d").symlink_to(outside)
    with pytest.raises(BusinessError) as caught:
        rig.start(f"{http_server.url}/files/small.bin", filePath="d/new.bin")
    assert (caught.value.code, caught.value.message) == (
        13400002, "bad file path   Download File Path Valid")
    assert sorted(os.listdir(outside)) == ["victim.bin"]


def test_a_name_longer_than_the_file_system_takes_is_a_file_operation_error(
        tmp_path: Path, http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    with pytest.raises(BusinessError) as caught:
        rig.start(f"{http_server.url}/files/small.bin", filePath="x" * 300)
    assert (caught.value.code, caught.value.message) == (
        13400001, " file operation error   Failed to open file errno 36")


@pytest.mark.parametrize("url", ["http://127.0.0.1/a\x00b", "http://127.0.0.1/a b",
                                 "http://127.0.0.1/a\r\nX: y", "http://127.0.0.1/\udcff"])
def test_a_url_that_cannot_go_on_the_wire_is_a_bad_url(tmp_path: Path, url: str) -> None:
    rig = Rig(tmp_path)
    with pytest.raises(BusinessError) as caught:
        rig.start(url)
    assert (caught.value.code, caught.value.message) == (
        401, "the parameters check fails   download config url error")
    assert os.listdir(rig.sandbox.cache_dir) == []


@pytest.mark.parametrize("header", [{"X-A": "1\r\nX-Injected: 1"}, {"X-A": "a\x00"},
                                    {"Bad Name": "v"}, {"X:A": "v"}, {"X-A": "\udcff"}])
def test_a_header_that_cannot_go_on_the_wire_is_a_bad_header(
        tmp_path: Path, header: dict[str, str]) -> None:
    rig = Rig(tmp_path)
    with pytest.raises(BusinessError) as caught:
        rig.start("http://127.0.0.1/x.bin", header=header)
    assert (caught.value.code, caught.value.message) == (
        401, "the parameters check fails   download config header error")


def test_a_non_ascii_url_reaches_libcurl_and_ends_the_task(
        tmp_path: Path, http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    task = rig.start(f"{http_server.url}/files/é.bin", filePath="a.bin")
    rig.run(30)
    assert [e[0::2] for e in rig.events] == [("fail", C.ERROR_UNHANDLED_HTTP_CODE)]
    assert task.info().status == C.SESSION_FAILED


def test_a_listener_that_raises_is_recorded_and_the_download_goes_on(
        tmp_path: Path, http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    task = rig.start(f"{http_server.url}/files/small.bin", filePath="a.bin")

    def throws(*_: object) -> None:
        raise RuntimeError("app bug")

    task.on("progress", throws)
    rig.run(30)
    assert rig.kinds() == ["complete"]
    assert task.path.read_bytes() == served(http_server, "small.bin")
    raised = [e.data for e in rig.device.trace.events if e.data.get("what") == "listener raised"]
    assert raised and raised[0]["event"] == "progress"
    assert raised[0]["error"] == "RuntimeError: app bug"


def test_a_body_after_a_failed_probe_is_never_taken_for_the_file(
        tmp_path: Path, http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    # no size from the probe: the service's write callback takes nothing (research §3.4)
    task = rig.start(scripted(http_server, "small.bin", "page:503:100,short"), filePath="a.bin")
    rig.run(30)
    assert [e[0::2] for e in rig.events] == [("fail", C.ERROR_HTTP_DATA_ERROR)]
    assert task.path.read_bytes() == b""


def test_a_resume_continues_the_representation_in_the_file_not_the_probed_one(
        tmp_path: Path, http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    # the probe sees the replaced representation, the GET serves the original: the resume's
    # If-Range names the original, so the replaced one's 206 is never spliced on
    url = scripted(http_server, "big.bin", "changed,ok,changed")
    task, held = paused_and_resumed(rig, url)
    assert [e[0::2] for e in rig.events if e[0] != "progress"] == [
        ("pause",), ("fail", C.ERROR_UNHANDLED_HTTP_CODE)]
    assert task.path.read_bytes() == held == served(http_server, "big.bin")[:len(held)]


def test_an_async_callback_that_raises_is_logged_and_the_service_goes_on(
        tmp_path: Path, http_server: FixtureHTTPServer, caplog: pytest.LogCaptureFixture) -> None:
    rig = Rig(tmp_path)

    def throws(err: object, data: object) -> None:
        raise RuntimeError("the app's callback failed")

    with caplog.at_level(logging.ERROR, logger="syncrig.app"):
        assert rig.request.download({"url": f"{http_server.url}/files/small.bin",
                                     "filePath": "a.bin"}, throws) is None
        rig.run(30)  # the callback runs, and raises, inside the service's loop
    assert [r.getMessage() for r in caplog.records] == ["an app's AsyncCallback raised"]
    assert caplog.records[0].exc_info is not None
    assert str(caplog.records[0].exc_info[1]) == "the app's callback failed"
    (task,) = rig.request.downloads.tasks.values()
    assert task.info().status == C.SESSION_SUCCESSFUL
    assert task.path.read_bytes() == served(http_server, "small.bin")


def test_a_header_with_digits_only_to_unicode_ends_the_task_not_the_device(
        tmp_path: Path, http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    task = rig.start(scripted(http_server, "small.bin", "ok,digits"), filePath="a.bin")
    rig.run(30)  # ``bytes ¹-²/³`` is no range: the 200 is the file
    assert rig.kinds() == ["complete"]
    assert task.path.read_bytes() == served(http_server, "small.bin")


def test_a_206_of_another_representation_in_spite_of_if_range_is_never_spliced(
        tmp_path: Path, http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    task, held = paused_and_resumed(rig, scripted(http_server, "big.bin", "ok,ok,otheretag"))
    assert [e[0::2] for e in rig.events if e[0] != "progress"] == [
        ("pause",), ("fail", C.ERROR_UNHANDLED_HTTP_CODE)]
    assert task.path.read_bytes() == held == served(http_server, "big.bin")[:len(held)]


def test_a_server_that_trickles_costs_time_and_can_be_paused(
        tmp_path: Path, http_server: FixtureHTTPServer) -> None:
    rig = Rig(tmp_path)
    task = rig.start(scripted(http_server, "small.bin", "ok,trickle:100"), filePath="a.bin")
    started = time.monotonic()
    rig.run(1.0)  # one simulated second, not one byte every 0.2 s until the end
    assert time.monotonic() - started < 10
    rig.device.run(task.pause())
    assert task.info().status == C.SESSION_PAUSED


def test_a_cache_folder_swapped_before_the_first_transfer_is_not_followed(
        tmp_path: Path, http_server: FixtureHTTPServer, outside: Path) -> None:
    rig = Rig(tmp_path)  # the sandbox is made (and its folders held) with the app
    cache = rig.sandbox.cache_dir
    (outside / "secret.txt").write_bytes(b"OUTSIDE SECRET")
    cache.rename(cache.with_name("cache.moved"))
    cache.symlink_to(outside)
    task = rig.start(f"{http_server.url}/files/small.bin", filePath="written.bin")
    rig.run(30)
    assert rig.kinds() == ["complete"]
    assert not (outside / "written.bin").exists()
    assert (cache.with_name("cache.moved") / "written.bin").read_bytes() == \
        served(http_server, "small.bin")
    rig.device.run(task.remove())
    assert sorted(os.listdir(outside)) == ["secret.txt", "victim.bin"]


@pytest.mark.parametrize(("field", "value"), [
    ("url", "http://127.0.0.1/a\x00b"), ("url", "http://127.0.0.1/a b"),
    ("url", "http://127.0.0.1/\udcff"), ("header", {"X-A": "1\r\nX-Injected: yes"}),
    ("header", {"X Y": "v"}), ("header", {"X-A": "a\x01"}),
    ("files.filename", 'f"\r\nX-Inj: 1'), ("files.type", "text/plain\r\nX: 1"),
    ("data", "n\"\r\nContent-Type: evil")])
def test_an_upload_field_that_cannot_go_on_the_wire_is_a_bad_argument(
        tmp_path: Path, field: str, value: Any) -> None:
    rig = Rig(tmp_path)
    (rig.sandbox.cache_dir / "f.bin").write_bytes(b"x")
    config: dict[str, Any] = {"url": "http://127.0.0.1:9/upload", "header": {},
                              "method": "POST", "files": [{"uri": "internal://cache/f.bin"}],
                              "data": []}
    if field in ("url", "header"):
        config[field] = value
    elif field == "data":
        config["data"] = [{"name": value, "value": "v"}]
    else:
        config["files"][0][field.split(".")[1]] = value
    with pytest.raises(BusinessError) as caught:
        rig.request.upload(config)
    key = "files" if field.startswith("files") else field
    assert caught.value.code == 401
    assert caught.value.message.endswith(f"Initialize. ParseUploadConfig fail: {field}") or \
        caught.value.message.endswith(f"Initialize. ParseUploadConfig fail: {key}")
