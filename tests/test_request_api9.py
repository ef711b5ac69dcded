"""The API 9 request surface (``downloadFile``/``uploadFile`` and the task methods added in
API 9), JavaScript argument semantics, the ``ohos-head`` profile's switches and progress as
the platform paces it — each against the fixture HTTP server on a simulated device."""

from __future__ import annotations

import errno
import hashlib
import os
import socket
from pathlib import Path
from typing import Any

import pytest

from sim.device import Device
from sim.ohos.common import AppSandbox, BusinessError, Caller, Context, Promise
from sim.ohos.request import (
    DOCUMENTED,
    OHOS_3_2,
    OHOS_HEAD,
    CurlOptions,
    DownloadTask,
    JsError,
    RequestFidelity,
    RequestModule,
)
from sim.ohos.request import constants as C
from sim.ohos.request.upload import UploadTask
from sim.servers import FixtureHTTPServer
from tests.conftest import make_profile

FAST = CurlOptions(connect_timeout_s=2, low_speed_time_s=5, max_redirects=5)
PARAM = "the parameters check fails"


class App:
    """A device and one app on it, with its context as API 9 calls pass it."""

    def __init__(self, tmp_path: Path, fidelity: RequestFidelity = DOCUMENTED,
                 caller: Caller | None = None) -> None:
        self.device = Device(make_profile())
        self.sandbox = AppSandbox(tmp_path / "app")
        self.context = self.sandbox.context
        self.request = RequestModule(self.device, sandbox=self.sandbox, fidelity=fidelity,
                                     curl_options=FAST, caller=caller)
        self.events: list[tuple[Any, ...]] = []
        self.made = 0

    def settle(self, promise: Promise | None) -> Any:
        assert promise is not None
        return self.device.env.run(until=promise)

    def download(self, url: str, **config: Any) -> DownloadTask:
        """A task by ``downloadFile``; without a ``filePath``, a new name in the cache
        folder given absolute (as every profile takes it)."""
        self.made += 1
        config.setdefault("filePath", f"{self.context.cacheDir}/{self.made}.bin")
        task: DownloadTask = self.settle(
            self.request.downloadFile(self.context, {"url": url, **config}))
        for kind in ("complete", "pause", "remove", "fail", "progress"):
            task.on(kind, lambda *a, k=kind: self.events.append((k, *a)))
        return task

    def run(self, seconds: float) -> None:
        self.device.env.run(until=self.device.env.now + seconds)

    def kinds(self) -> list[tuple[Any, ...]]:
        return [e for e in self.events if e[0] != "progress"]


def error_of(call: Any, *args: Any) -> tuple[int, str]:
    with pytest.raises(BusinessError) as caught:
        call(*args)
    return caught.value.code, caught.value.message


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- downloadFile ---------------------------------------------------------------------------------

def test_download_file_writes_to_the_files_folder_by_device_path(
        tmp_path: Path, http_server: FixtureHTTPServer) -> None:
    app = App(tmp_path)
    path = f"{app.context.filesDir}/small.bin"
    task = app.download(f"{http_server.url}/files/small.bin", filePath=path)
    app.run(60)
    assert app.kinds() == [("complete",)]
    assert sha(app.sandbox.files_dir / "small.bin") == sha(http_server.root / "small.bin")
    info = app.settle(task.getTaskInfo())
    assert (info.filePath, info.fileName, info.status) == (path, "small.bin",
                                                           C.SESSION_SUCCESSFUL)


@pytest.mark.parametrize(("file_path", "where"), [
    ("", "small.bin"), ("x.bin", "x.bin"), ("./y.bin", "y.bin")])
def test_download_file_takes_a_relative_path_under_the_cache_folder(
        tmp_path: Path, http_server: FixtureHTTPServer, file_path: str, where: str) -> None:
    app = App(tmp_path)
    task: DownloadTask = app.settle(app.request.downloadFile(app.context, {
        "url": f"{http_server.url}/files/small.bin", "filePath": file_path}))
    app.run(60)
    assert task.info().status == C.SESSION_SUCCESSFUL
    assert (app.sandbox.cache_dir / where).stat().st_size == 300_000
    assert task.info().filePath == f"{app.context.cacheDir}/{where}"


@pytest.mark.parametrize("file_path", ["", "x.bin", "internal://cache/x.bin"])
def test_release_3_2_takes_only_an_absolute_path(
        tmp_path: Path, http_server: FixtureHTTPServer, file_path: str) -> None:
    app = App(tmp_path, OHOS_3_2)
    assert error_of(app.request.downloadFile, app.context,
                    {"url": f"{http_server.url}/files/small.bin", "filePath": file_path}) == (
        C.EXCEPTION_FILEPATH, "bad file path   Download File Path Valid")
    assert list(app.sandbox.cache_dir.iterdir()) == []


@pytest.mark.parametrize(("fidelity", "code", "message"), [
    (DOCUMENTED, C.EXCEPTION_FILEPATH, "bad file path   Download File Path Valid"),
    (OHOS_3_2, C.EXCEPTION_FILEPATH, "bad file path   Download File Path Valid"),
    (OHOS_HEAD, C.EXCEPTION_FILEIO, f" file operation error   Failed to open file errno "
     f"{errno.ENOENT}")])
def test_a_folder_that_is_not_there(tmp_path: Path, http_server: FixtureHTTPServer,
                                    fidelity: RequestFidelity, code: int, message: str) -> None:
    app = App(tmp_path, fidelity)
    assert error_of(app.request.downloadFile, app.context, {
        "url": f"{http_server.url}/files/small.bin",
        "filePath": f"{app.context.filesDir}/nowhere/x.bin"}) == (code, message)
    assert not (app.sandbox.files_dir / "nowhere").exists()


@pytest.mark.parametrize("file_path", [
    "/system/lib/abc2.txt", "/data/storage/el2/base/haps/other/files/x.bin",
    "/data/storage/el2/base/haps/entry/cachex/y"])
def test_a_path_outside_the_app_folders_cannot_be_opened(
        tmp_path: Path, http_server: FixtureHTTPServer, file_path: str) -> None:
    app = App(tmp_path)
    assert error_of(app.request.downloadFile, app.context, {
        "url": f"{http_server.url}/files/small.bin", "filePath": file_path}) == (
        C.EXCEPTION_FILEIO, f" file operation error   Failed to open file errno {errno.EACCES}")


def test_an_existing_file_and_a_symlinked_folder_are_bad_paths(
        tmp_path: Path, http_server: FixtureHTTPServer) -> None:
    app = App(tmp_path)
    (app.sandbox.files_dir / "there.bin").write_bytes(b"mine")
    outside = tmp_path / "outside"
    outside.mkdir()
    (app.sandbox.files_dir / "link").symlink_to(outside)
    url = f"{http_server.url}/files/small.bin"
    assert error_of(app.request.downloadFile, app.context, {
        "url": url, "filePath": f"{app.context.filesDir}/there.bin"}) == (
        C.EXCEPTION_FILEPATH, "bad file path   Download File already exists")
    assert error_of(app.request.downloadFile, app.context, {
        "url": url, "filePath": f"{app.context.filesDir}/link/x.bin"}) == (
        C.EXCEPTION_FILEPATH, "bad file path   Download File Path Valid")
    assert (app.sandbox.files_dir / "there.bin").read_bytes() == b"mine"
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("fidelity", [DOCUMENTED, OHOS_3_2, OHOS_HEAD])
def test_download_file_checks_its_arguments_with_401_on_every_profile(
        tmp_path: Path, http_server: FixtureHTTPServer, fidelity: RequestFidelity) -> None:
    app = App(tmp_path, fidelity)
    call, ctx = app.request.downloadFile, app.context
    config = {"url": f"{http_server.url}/files/small.bin"}
    need = f"{PARAM}   native params parameters is error,need 2 or 3 parameters"
    assert error_of(call) == (401, need)
    assert error_of(call, ctx) == (401, need)
    # a mandatory argument given as undefined is a bad value of it, not a missing one
    assert error_of(call, ctx, None) == (401, f"{PARAM}   download config has wrong type")
    assert error_of(call, ctx, None, None, None) == (401, f"{PARAM}   download config has "
                                                     "wrong type")
    assert error_of(call, ctx, config, lambda e, t: None, 4) == (401, need)
    assert error_of(call, {"cacheDir": "/"}, config) == (401, f"{PARAM}   GetContext fail")
    assert error_of(call, ctx, "url") == (401, f"{PARAM}   download config has wrong type")
    assert error_of(call, ctx, {"url": "ftp://x/y"}) == (401, f"{PARAM}   download config "
                                                          "url error")
    assert error_of(call, ctx, config, "cb") == (401, f"{PARAM}   callback is not a function")
    assert list(app.sandbox.cache_dir.iterdir()) == []


@pytest.mark.parametrize(("file_path", "code", "detail"), [
    ("{c}", 13400001, "Failed to open file errno 21"),
    ("{c}/.", 13400001, "Failed to open file errno 21"),
    ("{c}/..", 13400001, "Failed to open file errno 21"),
    ("{c}/x/", 13400002, "Download File Path Valid"),
    ("{c}/x/..", 13400002, "Download File Path Valid"),
    ("{c}/../../../x", 13400002, "Download File Path Valid")])
def test_download_file_to_a_folder_name(tmp_path: Path, http_server: FixtureHTTPServer,
                                        file_path: str, code: int, detail: str) -> None:
    """A path naming a folder: its folder part must be there (else a bad path), then it
    cannot be opened for writing (EISDIR, §3.1 step 8)."""
    app = App(tmp_path)
    message = {13400001: " file operation error", 13400002: "bad file path"}[code]
    assert error_of(app.request.downloadFile, app.context, {
        "url": f"{http_server.url}/files/small.bin",
        "filePath": file_path.format(c=app.context.cacheDir)}) == (code, f"{message}   {detail}")
    assert list(app.sandbox.cache_dir.iterdir()) == []


def test_download_file_names_a_file_after_the_url_as_it_stands(
        tmp_path: Path, http_server: FixtureHTTPServer) -> None:
    app = App(tmp_path)
    task: DownloadTask = app.settle(app.request.downloadFile(
        app.context, {"url": f"{http_server.url}/files/small.bin?v=1"}))
    assert task.info().fileName == "small.bin?v=1"
    assert error_of(app.request.downloadFile, app.context, {
        "url": f"{http_server.url}/files/"}) == (
        13400001, " file operation error   Failed to open file errno 21")


@pytest.mark.parametrize("fidelity", [DOCUMENTED, OHOS_3_2, OHOS_HEAD])
def test_a_refused_server_pauses_with_the_profile_reason(
        tmp_path: Path, fidelity: RequestFidelity) -> None:
    nowhere = socket.socket()
    nowhere.bind(("127.0.0.1", 0))
    app = App(tmp_path, fidelity)
    port = nowhere.getsockname()[1]
    task = app.download(f"http://127.0.0.1:{port}/x.bin")
    app.run(30)
    nowhere.close()
    info = task.info()
    assert (info.status, info.pausedReason) == (C.SESSION_PAUSED, fidelity.retry_pause_reason)
    assert fidelity.retry_pause_reason == (C.PAUSED_WAITING_FOR_NETWORK if fidelity is OHOS_HEAD
                                           else C.PAUSED_WAITING_TO_RETRY)


def test_api9_calls_without_internet_throw_201_first(
        tmp_path: Path, http_server: FixtureHTTPServer) -> None:
    app = App(tmp_path, DOCUMENTED, caller=Caller.with_permissions())
    denied = (201, "the permissions check fails   Permission denied.An attempt was made to "
              "forbidden by permission:INTERNET")
    assert error_of(app.request.downloadFile, app.context,
                    {"url": f"{http_server.url}/files/small.bin"}) == denied
    assert error_of(app.request.downloadFile) == denied
    assert error_of(app.request.uploadFile) == denied


def test_download_file_callback_form(tmp_path: Path, http_server: FixtureHTTPServer) -> None:
    app = App(tmp_path)
    got: list[Any] = []
    assert app.request.downloadFile(app.context, {"url": f"{http_server.url}/files/small.bin"},
                                    lambda err, task: got.append((err, task))) is None
    app.run(1)
    assert got[0][0] is None and isinstance(got[0][1], DownloadTask)


# -- the API 9 task methods --------------------------------------------------------------------

def test_suspend_restore_delete_resolve_true(tmp_path: Path,
                                            http_server: FixtureHTTPServer) -> None:
    app = App(tmp_path)
    task = app.download(f"{http_server.url}/files/big.bin")
    assert app.settle(task.suspend()) is True
    assert task.info().status == C.SESSION_PAUSED
    assert task.info().pausedReason == C.PAUSED_BY_USER
    assert app.settle(task.restore()) is True
    assert task.info().status in (C.SESSION_PENDING, C.SESSION_RUNNING)  # queued again
    assert app.settle(task.delete()) is True
    assert app.settle(task.restore()) is True  # a deleted task still "succeeds" (§2.2)
    assert [e[0] for e in app.kinds()] == ["pause", "remove"]


@pytest.mark.parametrize("fidelity", [DOCUMENTED, OHOS_3_2])
@pytest.mark.parametrize("method", ["delete", "suspend", "restore", "getTaskInfo",
                                    "getTaskMimeType"])
def test_api9_task_methods_take_at_most_a_callback(
        tmp_path: Path, http_server: FixtureHTTPServer, method: str,
        fidelity: RequestFidelity) -> None:
    app = App(tmp_path, fidelity)
    task = app.download(f"{http_server.url}/files/small.bin")
    status = task.status
    call = getattr(task, method)
    assert error_of(call, 1) == (401, f"{PARAM}   callback is not a function")
    assert error_of(call, lambda e, v: None, 2) == (401, f"{PARAM}   need 0 or 1 parameter")
    assert not task.removed and task.status == status


def test_legacy_task_methods_answer_bad_arguments_per_profile(
        tmp_path: Path, http_server: FixtureHTTPServer) -> None:
    app = App(tmp_path)
    task = app.download(f"{http_server.url}/files/small.bin")
    assert error_of(task.pause, "x") == (401, f"{PARAM}   callback is not a function")
    assert error_of(task.on, "progress") == (401, f"{PARAM}   need 2 parameters")
    assert error_of(task.off) == (401, f"{PARAM}   need 1 or 2 parameters")
    old = App(tmp_path / "old", OHOS_3_2)
    task = old.download(f"{http_server.url}/files/small.bin")
    with pytest.raises(JsError, match="callback is not a function"):
        task.remove(7)
    task.on("progress")  # 3.2 ignores a wrong count silently (§3.9)


def test_mime_type_before_the_probe_per_profile(tmp_path: Path,
                                                http_server: FixtureHTTPServer) -> None:
    url = f"{http_server.url}/files/small.bin"
    documented = App(tmp_path / "d")
    task = documented.download(url)
    with pytest.raises(BusinessError) as caught:
        documented.settle(task.getTaskMimeType())
    assert (caught.value.code, caught.value.message) == (
        13400003, "task service ability error   download service failed")
    assert documented.settle(task.queryMimeType()) == ""
    documented.run(60)
    assert documented.settle(task.getTaskMimeType()) == "application/octet-stream"
    head = App(tmp_path / "h", OHOS_HEAD)
    assert head.settle(head.download(url).getTaskMimeType()) == ""
    old = App(tmp_path / "o", OHOS_3_2)
    with pytest.raises(BusinessError):
        old.settle(old.download(url).queryMimeType())


def test_task_info_at_every_stage_per_profile(tmp_path: Path,
                                              http_server: FixtureHTTPServer) -> None:
    url = f"{http_server.url}/files/small.bin"
    app = App(tmp_path)
    task = [app.download(url) for _ in range(5)][-1]  # four run at once: the fifth waits
    info = task.info()
    assert (info.status, info.downloadedBytes, info.downloadTotalBytes, info.downloadId,
            info.downloadTitle) == (C.SESSION_PENDING, 0, -1, task.id, "")
    app.run(60)
    info = task.info()
    assert (info.status, info.downloadedBytes, info.downloadTotalBytes) == (
        C.SESSION_SUCCESSFUL, 300_000, 300_000)
    old = App(tmp_path / "o", OHOS_3_2)
    task = [old.download(url) for _ in range(5)][-1]
    info = task.info()  # queued: the unexported 5, sizes as uint32 (§3.2, §3.10)
    assert (info.status, info.downloadedBytes, info.downloadTotalBytes, info.downloadId,
            info.filePath) == (5, 0xFFFFFFFF, 0xFFFFFFFF, 0, old.context.cacheDir)
    head = App(tmp_path / "h", OHOS_HEAD)
    assert head.download(url).info().downloadTitle == "download"


# -- ohos-head ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("fidelity", "events", "status"), [
    (DOCUMENTED, [("fail", C.ERROR_OFFLINE)], C.SESSION_FAILED),
    (OHOS_HEAD, [("pause",), ("complete",)], C.SESSION_SUCCESSFUL)])
def test_offline_at_start_fails_or_waits(tmp_path: Path, http_server: FixtureHTTPServer,
                                         fidelity: RequestFidelity, events: list[Any],
                                         status: int) -> None:
    app = App(tmp_path, fidelity)
    controls = app.device.controls
    controls.set_radio("wifi", False)
    controls.set_radio("cellular", False)
    task = app.download(f"{http_server.url}/files/small.bin")
    app.run(5)
    if fidelity is OHOS_HEAD:
        info = task.info()
        assert (info.status, info.pausedReason) == (C.SESSION_PAUSED,
                                                    C.PAUSED_WAITING_FOR_NETWORK)
    controls.set_radio("wifi", True)
    app.run(60)
    assert app.kinds() == events
    assert task.info().status == status


@pytest.mark.parametrize(("fidelity", "code"), [
    (DOCUMENTED, C.ERROR_UNHANDLED_HTTP_CODE), (OHOS_3_2, C.ERROR_UNHANDLED_HTTP_CODE),
    (OHOS_HEAD, C.ERROR_UNKNOWN)])
def test_an_http_error_fails_with_the_profile_code(
        tmp_path: Path, http_server: FixtureHTTPServer, fidelity: RequestFidelity,
        code: int) -> None:
    app = App(tmp_path, fidelity)
    task = app.download(f"{http_server.url}/status/404", filePath=f"{app.context.cacheDir}/e")
    app.run(30)
    assert app.kinds() == [("fail", code)]
    assert task.info().failedReason == code


@pytest.mark.parametrize(("fidelity", "heard"), [
    (DOCUMENTED, ["second"]), (OHOS_HEAD, ["first", "second"])])
def test_listeners_per_type(tmp_path: Path, http_server: FixtureHTTPServer,
                            fidelity: RequestFidelity, heard: list[str]) -> None:
    app = App(tmp_path, fidelity)
    task: DownloadTask = app.settle(app.request.downloadFile(app.context, {
        "url": f"{http_server.url}/files/small.bin", "filePath": f"{app.context.cacheDir}/l"}))
    got: list[str] = []

    def first() -> None:
        got.append("first")

    def second() -> None:
        got.append("second")

    def third() -> None:
        got.append("third")

    task.on("complete", first)
    task.on("complete", second)
    task.on("complete", third)
    task.off("complete", third)
    if fidelity is DOCUMENTED:  # one listener: off(type, cb) removed it whatever cb was
        task.on("complete", second)
    app.run(60)
    assert got == heard


@pytest.mark.parametrize(("fidelity", "kept"), [(DOCUMENTED, False), (OHOS_HEAD, True),
                                                (OHOS_3_2, True)])
def test_remove_keeps_or_deletes_the_file(tmp_path: Path, http_server: FixtureHTTPServer,
                                         fidelity: RequestFidelity, kept: bool) -> None:
    app = App(tmp_path, fidelity)
    task = app.download(f"{http_server.url}/files/small.bin",
                        filePath=f"{app.context.filesDir}/s.bin")
    app.run(60)
    app.settle(task.delete())
    assert (app.sandbox.files_dir / "s.bin").exists() is kept


# -- progress --------------------------------------------------------------------------------

def test_a_small_file_reports_progress_in_steps_and_pauses_at_the_first(
        tmp_path: Path, http_server: FixtureHTTPServer) -> None:
    app = App(tmp_path)
    task = app.download(f"{http_server.url}/files/small.bin")
    app.run(60)
    progress = [e[1:] for e in app.events if e[0] == "progress"]
    assert progress[0] == (16 * 1024, 300_000)
    assert len(progress) >= 4 and progress[-1] == (300_000, 300_000)
    paused = App(tmp_path / "p")
    task = paused.download(f"{http_server.url}/files/small.bin")
    task.on("progress", lambda r, t: task.suspend())
    paused.run(60)
    info = task.info()
    assert (info.status, info.pausedReason) == (C.SESSION_PAUSED, C.PAUSED_BY_USER)
    assert 0 < info.downloadedBytes < 300_000
    assert os.path.getsize(task.path) == info.downloadedBytes


# -- uploadFile ------------------------------------------------------------------------------

def upload_config(url: str, uri: str = "internal://cache/up.txt") -> dict[str, Any]:
    return {"url": url, "header": {}, "method": "POST",
            "files": [{"filename": "up.txt", "name": "file", "uri": uri, "type": "txt"}],
            "data": []}


def test_upload_file_sends_and_completes(tmp_path: Path,
                                         http_server: FixtureHTTPServer) -> None:
    app = App(tmp_path)
    (app.sandbox.cache_dir / "up.txt").write_bytes(b"hello upload")
    task: UploadTask = app.settle(app.request.uploadFile(
        app.context, upload_config(f"{http_server.url}/upload")))
    states: list[Any] = []
    task.on("complete", states.append)
    app.run(30)
    assert [(s.path, s.responseCode, s.message) for s in states[0]] == [
        ("up.txt", 0, "file uploaded successfully")]
    assert app.settle(task.delete()) is True
    assert error_of(task.delete, "x") == (401, f"{PARAM}   callback is not a function")


@pytest.mark.parametrize("fidelity", [DOCUMENTED, OHOS_3_2, OHOS_HEAD])
def test_upload_file_checks_in_the_platform_order(
        tmp_path: Path, http_server: FixtureHTTPServer, fidelity: RequestFidelity) -> None:
    app = App(tmp_path, fidelity)
    (app.sandbox.cache_dir / "up.txt").write_bytes(b"x")
    call, ctx, url = app.request.uploadFile, app.context, f"{http_server.url}/upload"
    assert error_of(call, ctx) == (401, f"{PARAM}   need 2 parameters!")
    assert error_of(call, Context(AppSandbox(tmp_path / "other")), upload_config(url)) == (
        13499999, "other error   GetContext fail")
    assert error_of(call, ctx, upload_config("upload")) == (401, f"{PARAM}   config error!")
    assert error_of(call, ctx, {**upload_config(url), "header": None}) == (
        401, f"{PARAM}   config error!")
    assert error_of(call, ctx, upload_config(url, "/data/up.txt")) == (
        13400002, "bad file path    --{up.txt 13400002 bad file path}-- ")


@pytest.mark.parametrize(("fidelity", "thrown"), [(DOCUMENTED, True), (OHOS_HEAD, True),
                                                  (OHOS_3_2, False)])
def test_upload_file_of_a_missing_file(tmp_path: Path, http_server: FixtureHTTPServer,
                                       fidelity: RequestFidelity, thrown: bool) -> None:
    app = App(tmp_path, fidelity)
    config = upload_config(f"{http_server.url}/upload", "internal://cache/gone.txt")
    if thrown:
        assert error_of(app.request.uploadFile, app.context, config) == (
            13400002, "bad file path    --{up.txt 13400002 bad file path}-- ")
        return
    task: UploadTask = app.settle(app.request.uploadFile(app.context, config))
    states: list[Any] = []
    task.on("fail", states.append)
    app.run(30)
    assert [(s.responseCode, s.message) for s in states[0]] == [(2, "failed to get file")]


# -- JavaScript argument semantics of the legacy entry points ---------------------------------

@pytest.mark.parametrize("call", ["download", "upload"])
def test_legacy_entry_points_count_their_arguments(tmp_path: Path, call: str) -> None:
    app = App(tmp_path)
    method = getattr(app.request, call)
    assert error_of(method) == (401, f"{PARAM}   need 1 or 2 parameters")
    assert error_of(method, {}, lambda e, t: None, 3) == (401, f"{PARAM}   need 1 or 2 "
                                                          "parameters")
    old = App(tmp_path / "o", OHOS_3_2)
    with pytest.raises(JsError, match="assertion \\(false\\) failed: need 1 or 2 parameters"):
        getattr(old.request, call)()
    head = App(tmp_path / "h", OHOS_HEAD)  # the platform's own tests expect 401 (§3.1 step 6)
    assert error_of(head.request.download, {"url": "xxxxxxx.xxx"}) == (
        401, f"{PARAM}   download config url error")


def test_legacy_download_takes_a_context_first(tmp_path: Path,
                                               http_server: FixtureHTTPServer) -> None:
    app = App(tmp_path)
    task = app.settle(app.request.download(app.context, {
        "url": f"{http_server.url}/files/small.bin", "filePath": "c.bin", "header": None,
        "networkType": None, "title": None}))
    app.run(60)
    assert task.info().status == C.SESSION_SUCCESSFUL
    assert (app.sandbox.cache_dir / "c.bin").stat().st_size == 300_000
