"""The rules that hold every API to who may call it and with what: callers without the
permission or not a system app, wrong arguments, the callback forms, a sync service that does
not answer, file states and the file-system errors reading them can meet, listeners."""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from conformance.machines.base import ConformanceFailure
from conformance.machines.cloudsync.model import CloudSyncModel
from conformance.machines.cloudsync.outcomes import FS_FAULTS
from conformance.targets.reference import BUNDLE
from sim.cloud import CloudService
from sim.spec import ohos_cloudsync as spec

Make = Callable[[Any, Any], Callable[[], Any]]


def _ignore(*_: Any) -> None:
    """A listener for calls whose events this machine does not follow."""


def _uri(machine: Any, module: Any) -> str:
    return str(module.files.uri("f0.txt"))


def _watched(machine: Any, module: Any) -> str:
    """A folder that exists and that nobody watches (so only the caller can be refused)."""
    uri = str(module.files.mkdir("watched"))
    machine.target.modules["system"].unregisterChange(uri)
    return uri


CALLER_CHECKED: dict[str, tuple[str, bool, Make]] = {
    # name: (documented method, needs CLOUDFILE_SYNC, the call as the caller makes it)
    "GallerySync.start": ("GallerySync.start", True, lambda m, mod: mod.GallerySync().start),
    "GallerySync.stop": ("GallerySync.stop", True, lambda m, mod: mod.GallerySync().stop),
    "GallerySync.on": ("GallerySync.on", True,
                       lambda m, mod: lambda: mod.GallerySync().on("progress", _ignore)),
    "GallerySync.off": ("GallerySync.off", True,
                        lambda m, mod: lambda: mod.GallerySync().off("progress")),
    "FileSync.start": ("FileSync.start", True, lambda m, mod: lambda: mod.FileSync().start()),
    "FileSync.stop": ("FileSync.stop", True, lambda m, mod: lambda: mod.FileSync().stop()),
    "FileSync.on": ("FileSync.on", True,
                    lambda m, mod: lambda: mod.FileSync().on("progress", _ignore)),
    "FileSync.off": ("FileSync.off", True,
                     lambda m, mod: lambda: mod.FileSync().off("progress")),
    "FileSync.getLastSyncTime": ("FileSync.getLastSyncTime", True,
                                 lambda m, mod: lambda: mod.FileSync().getLastSyncTime()),
    "Download.start": ("Download.start", True,
                       lambda m, mod: lambda: mod.Download().start(_uri(m, mod))),
    "Download.stop": ("Download.stop", True,
                      lambda m, mod: lambda: mod.Download().stop(_uri(m, mod))),
    "Download.on": ("Download.on", True,
                    lambda m, mod: lambda: mod.Download().on("progress", _ignore)),
    "Download.off": ("Download.off", True,
                     lambda m, mod: lambda: mod.Download().off("progress")),
    "CloudFileCache.cleanCache": ("CloudFileCache.cleanCache", True,
                                  lambda m, mod: lambda: mod.CloudFileCache().cleanCache(
                                      _uri(m, mod))),
    "getFileSyncState": ("cloudSync.getFileSyncState", True,
                         lambda m, mod: lambda: mod.getFileSyncState([_uri(m, mod)])),
    "getFileSyncState(string)": ("cloudSync.getFileSyncState(string)", False,
                                 lambda m, mod: lambda: mod.getFileSyncState(_uri(m, mod))),
    "registerChange": ("cloudSync.registerChange", False,
                       lambda m, mod: lambda: mod.registerChange(_watched(m, mod), True,
                                                                 _ignore)),
    "unregisterChange": ("cloudSync.unregisterChange", False,
                         lambda m, mod: lambda: mod.unregisterChange(_watched(m, mod))),
}
"""The system APIs and who may call them (the page: CLOUDFILE_SYNC and a system app)."""


def _methods(module: Any) -> dict[str, Callable[..., Any]]:
    """Each method of :data:`~sim.spec.ohos_cloudsync.ARITY` as ``module`` offers it (on a
    FileSync with a listener, so that only its arguments can be wrong)."""
    sync = module.FileSync()
    sync.on("progress", _ignore)
    gallery, download, cache = module.GallerySync(), module.Download(), module.CloudFileCache()
    return {
        "GallerySync.constructor": module.GallerySync, "FileSync.constructor": module.FileSync,
        "Download.constructor": module.Download,
        "CloudFileCache.constructor": module.CloudFileCache,
        **{f"GallerySync.{n}": getattr(gallery, n) for n in ("on", "off", "start", "stop")},
        **{f"FileSync.{n}": getattr(sync, n)
           for n in ("on", "off", "start", "stop", "getLastSyncTime")},
        **{f"Download.{n}": getattr(download, n) for n in ("on", "off", "start", "stop")},
        **{f"CloudFileCache.{n}": getattr(cache, n)
           for n in ("on", "off", "start", "stop", "cleanCache")},
        **{f"cloudSync.{n}": getattr(module, n)
           for n in ("getFileSyncState", "registerChange", "unregisterChange")},
    }


def _call(function: Callable[..., Any], *args: object) -> Callable[[], Any]:
    """``function(*args)``, to be called later."""
    return lambda: function(*args)


def _listening_to(obj: Any) -> Any:
    """``obj`` with a progress listener, so only the arguments of an ``off`` can be wrong."""
    obj.on("progress", _ignore)
    return obj


def _listening(make: Callable[[Any], Any]) -> Make:
    """An ``off`` call on an instance that has a listener (so only the IPC can fail)."""
    def build(machine: Any, module: Any) -> Callable[[], Any]:
        obj = make(module)
        obj.on("progress", _ignore)
        return lambda: obj.off("progress")
    return build


IPC_CHECKED: dict[str, tuple[str, Make]] = {
    # the methods whose page lists 13600001, each as the system caller makes it
    "FileSync.start": ("FileSync.start", lambda m, mod: mod.FileSync().start),
    "FileSync.stop": ("FileSync.stop", lambda m, mod: mod.FileSync().stop),
    "FileSync.getLastSyncTime": ("FileSync.getLastSyncTime",
                                 lambda m, mod: mod.FileSync().getLastSyncTime),
    "FileSync.on": ("FileSync.on", lambda m, mod: lambda: mod.FileSync().on("progress", _ignore)),
    "FileSync.off": ("FileSync.off", _listening(lambda mod: mod.FileSync())),
    "GallerySync.on": ("GallerySync.on",
                       lambda m, mod: lambda: mod.GallerySync().on("progress", _ignore)),
    "GallerySync.off": ("GallerySync.off", _listening(lambda mod: mod.GallerySync())),
    "CloudFileCache.cleanCache": ("CloudFileCache.cleanCache",
                                  lambda m, mod: lambda: mod.CloudFileCache().cleanCache(
                                      _uri(m, mod))),
    "getFileSyncState": ("cloudSync.getFileSyncState",
                         lambda m, mod: lambda: mod.getFileSyncState([_uri(m, mod)])),
    "Download.on": ("Download.on", lambda m, mod: lambda: mod.Download().on("progress",
                                                                            _ignore)),
    "Download.off": ("Download.off", _listening(lambda mod: mod.Download())),
}


class CallRules(CloudSyncModel):
    """Each system API's documented refusals, whatever the device's state."""

    @rule()
    def callers_are_checked(self) -> None:
        """Every system API refuses a caller without CLOUDFILE_SYNC (201) and an ordinary app
        (202), before anything else and whatever the device's state."""
        for method, needs_permission, make in CALLER_CHECKED.values():
            if method == "cloudSync.getFileSyncState(string)":
                needs_permission = self.fidelity.state_string_needs_permission
            for caller in ("no-permission", "not-system") if needs_permission \
                    else ("not-system",):
                module = self.target.modules[caller]
                if method.startswith("FileSync.") and self.fidelity.file_sync_public:
                    self.expect(method, self.public_code(method), make(self, module))
                elif caller == "not-system" and method.startswith("FileSync."):
                    self.expect("FileSync.constructor", spec.NOT_SYSTEM_APP, module.FileSync)
                elif "Change" in method:
                    self.expect(method, self.change_code(self.caller_code(caller)),
                                make(self, module))
                else:
                    self.expect(method, self.caller_code(caller), make(self, module))

    def public_code(self, method: str) -> int:
        """What a public FileSync method answers any caller (research §2.2): what it answers
        the system app on a fresh instance."""
        if method == "FileSync.start":
            return self.start_code(BUNDLE)
        if method == "FileSync.off" and self.fidelity.off_without_on_fails:
            return spec.INVALID_PARAMETER
        return 0

    @rule()
    def javascript_arguments(self) -> None:
        """Every method as JavaScript may call it: one argument too many, a mandatory one
        missing, ``undefined`` (None) where one is mandatory — the NAPI's 401 with the
        profile's message (research §2.1) — and ``undefined`` for an optional argument,
        which is as if it were absent."""
        module = self.target.modules["system"]
        uri = module.files.uri("f0.txt")
        calls = _methods(module)
        for method, (mandatory, most) in spec.ARITY.items():
            given = [uri] * most
            self.expect(method, spec.INVALID_PARAMETER, _call(calls[method], *given, _ignore))
            if mandatory:
                self.expect(method, spec.INVALID_PARAMETER,
                            _call(calls[method], *given[:mandatory - 1]))
                self.expect(method, spec.INVALID_PARAMETER,
                            _call(calls[method], *[None] * mandatory))
        sync = module.FileSync(None)
        self.expect("FileSync.getLastSyncTime", 0, lambda: sync.getLastSyncTime(None))
        self.expect("FileSync.stop", 0, lambda: sync.stop(None))
        self.expect("FileSync.on", 0, lambda: sync.on("progress", _ignore))
        self.expect("FileSync.off", 0, lambda: sync.off("progress", None))

    @rule()
    def bad_arguments(self) -> None:
        """Each method's documented 401: a wrong type or a missing mandatory argument (or,
        where the profile's NAPI says so, 13900020 for a number, research §2.1)."""
        module = self.target.modules["system"]
        uri = module.files.uri("f0.txt")
        einval = spec.INVALID_ARGUMENT if self.fidelity.wrong_type_einval \
            else spec.INVALID_PARAMETER
        for method, code, call in (
                ("FileSync.getLastSyncTime", einval,
                 lambda: module.FileSync().getLastSyncTime(5)),
                ("CloudFileCache.cleanCache", einval,
                 lambda: module.CloudFileCache().cleanCache(5))):
            self.expect(method, code, call)
        for method, call in (
                ("FileSync.constructor", lambda: module.FileSync(5)),
                ("FileSync.start", lambda: module.FileSync().start(5)),
                ("FileSync.stop", lambda: module.FileSync().stop("cb")),
                ("FileSync.getLastSyncTime", lambda: module.FileSync().getLastSyncTime("cb")),
                ("FileSync.constructor", lambda: module.FileSync("")),
                ("GallerySync.on", lambda: module.GallerySync().on("progress", "cb")),
                ("Download.on", lambda: module.Download().on("progress", 5)),
                ("CloudFileCache.on", lambda: module.CloudFileCache().on("done", _ignore)),
                ("CloudFileCache.on", lambda: module.CloudFileCache().on("progress", 5)),
                ("CloudFileCache.off", lambda: module.CloudFileCache().off("progress", 5)),
                ("CloudFileCache.start", lambda: module.CloudFileCache().start(5)),
                ("CloudFileCache.start", lambda: module.CloudFileCache().start(uri, 5)),
                ("CloudFileCache.stop", lambda: _listening_to(module.CloudFileCache()).stop(
                    uri, "yes")),
                ("CloudFileCache.stop", lambda: module.CloudFileCache().stop(5)),
                ("cloudSync.getFileSyncState", lambda: module.getFileSyncState([uri], 5)),
                ("cloudSync.getFileSyncState(string)",
                 lambda: module.getFileSyncState(uri, _ignore)),
                ("cloudSync.getFileSyncState", lambda: module.getFileSyncState(5)),
                ("cloudSync.registerChange", lambda: module.registerChange(5, True, _ignore)),
                ("cloudSync.registerChange", lambda: module.registerChange(uri, True, 5)),
                ("FileSync.on", lambda: module.FileSync().on("progress", 5)),
                ("FileSync.off", lambda: _listening_to(module.FileSync()).off("done")),
                ("FileSync.off", lambda: _listening_to(module.FileSync()).off("progress", 5)),
                ("GallerySync.start", lambda: module.GallerySync().start(5)),
                ("GallerySync.stop", lambda: module.GallerySync().stop(5)),
                ("GallerySync.on", lambda: module.GallerySync().on("done", _ignore)),
                ("GallerySync.off", lambda: _listening_to(module.GallerySync()).off(
                    "progress", 5)),
                ("GallerySync.off", lambda: _listening_to(module.GallerySync()).off("done")),
                ("Download.start", lambda: module.Download().start(5)),
                ("Download.start", lambda: module.Download().start(uri, 5)),
                ("Download.stop", lambda: module.Download().stop(uri, "cb")),
                ("Download.stop", lambda: module.Download().stop("")),
                ("Download.on", lambda: module.Download().on("done", _ignore)),
                ("Download.off", lambda: _listening_to(module.Download()).off("progress", 5)),
                ("Download.off", lambda: _listening_to(module.Download()).off("done")),
                ("cloudSync.getFileSyncState", lambda: module.getFileSyncState([])),
                ("cloudSync.getFileSyncState(string)", lambda: module.getFileSyncState("")),
                ("cloudSync.registerChange", lambda: module.registerChange(uri, "yes", _ignore)),
                ("cloudSync.unregisterChange", lambda: module.unregisterChange(5))):
            self.expect(method, spec.INVALID_PARAMETER, call)

    @rule()
    def callback_forms(self) -> None:
        """The AsyncCallback forms: the callback is called once, with (null, data) where the
        promise would resolve and (err, null) where it would reject — or, on a release that
        ignores callback forms (research §2.1), never, with a Promise returned instead."""
        system, denied = self.target.modules["system"], self.target.modules["no-permission"]
        uri = system.files.uri("dl/cb.bin")
        if self.target.drive.container(BUNDLE).get("dl/cb.bin") is None:
            self.target.cloud.seed(self.target.drive, BUNDLE, "dl/cb.bin", b"cb")
        cases: list[tuple[str, Any, int, bool]] = [
            # method, call with a callback, expected code, ignored on such a release
            ("FileSync.stop", lambda cb: system.FileSync().stop(cb), 0, True),
            ("FileSync.stop", lambda cb: denied.FileSync().stop(cb), spec.PERMISSION_DENIED,
             True),
            ("GallerySync.stop", lambda cb: system.GallerySync().stop(cb), 0, True),
            ("FileSync.getLastSyncTime", lambda cb: system.FileSync().getLastSyncTime(cb), 0,
             False),
            ("Download.start", lambda cb: system.Download().start(uri, cb), 0, False),
            ("Download.stop", lambda cb: system.Download().stop(uri, cb), 0, False),
            ("Download.stop", lambda cb: denied.Download().stop(uri, cb),
             spec.PERMISSION_DENIED, False)]
        for method, call, code, may_ignore in cases:
            calls: list[tuple[Any, Any]] = []
            returned = call(lambda err, data, c=calls: c.append((err, data)))
            self.device.run(until=self.device.env.now + 0.01)
            if may_ignore and self.fidelity.callback_forms_ignored:
                if calls or returned is None:
                    raise ConformanceFailure(f"{method}(callback) on this release",
                                             "research §2.1", "a Promise, no call",
                                             (returned, calls))
                continue
            observed = [getattr(err, "code", 0) if err is not None else 0 for err, _ in calls]
            if observed != [code] or returned is not None:
                raise ConformanceFailure(f"{method}(callback)", f"{spec.DOCUMENT} ## "
                                         f"{method.replace('.', ' ### ')}",
                                         [code], (observed, returned))
            self.coverage.error(method, code)

    @rule()
    def ipc_failures(self) -> None:
        """The sync service does not answer: each method whose page lists 13600001 says so."""
        module = self.target.modules["system"]
        for method, make in IPC_CHECKED.values():
            call = make(self, module)  # built first: building may itself talk to the service
            self.target.cloud.failing_ipc = 1
            try:
                self.expect(method, spec.IPC_ERROR, call)
            finally:
                self.target.cloud.failing_ipc = 0

    @rule()
    def service_not_running(self) -> None:
        """The sync service is not loaded: start() cannot reach it, 13600001; stop() as the
        profile's client does it — a client that does not load the service for a stop
        resolves (research §2.2). Only a target in this process can be made so (a remote
        target's service is its own); elsewhere the step does nothing, so that a campaign
        draws the same rules in-process and over the wire."""
        if not isinstance(self.target.cloud, CloudService):
            return
        module = self.target.modules["system"]
        stop = 0 if self.fidelity.stop_without_service else spec.IPC_ERROR
        self.target.cloud.loaded = False
        try:
            self.expect("FileSync.start", spec.IPC_ERROR, module.FileSync().start)
            self.expect("FileSync.stop", stop, module.FileSync().stop)
            self.expect("GallerySync.stop", stop, module.GallerySync().stop)
        finally:
            self.target.cloud.loaded = True

    @rule(kind=st.sampled_from(["file", "missing", "invalid"]), array=st.booleans())
    def file_sync_state(self, kind: str, array: bool) -> None:
        module = self.target.modules["system"]
        files = module.files
        uri = {"file": files.uri("f0.txt"), "missing": files.uri("missing.txt"),
               "invalid": "file://other.app/data/storage/el2/cloud/x"}[kind]
        if kind == "invalid":
            code = spec.INVALID_URI
        elif kind == "missing" or not self.files:
            # the current NAPI's URI check fails first for a file not there (§2.11)
            code = spec.INVALID_URI if self.fidelity.missing_file_invalid_uri \
                else spec.NO_SUCH_FILE
        else:
            code = 0
        if array:
            states = self.expect("cloudSync.getFileSyncState", code,
                                 lambda: module.getFileSyncState([uri]))
            state = states[0] if states else None
        else:
            state = self.expect("cloudSync.getFileSyncState(string)", code,
                                lambda: module.getFileSyncState(uri))
        if state is not None:
            self.coverage.value("FileSyncState", spec.FileSyncState(state).name)

    @rule(owner=st.sampled_from(["GallerySync", "Download"]), method=st.sampled_from(["on", "off"]))
    def listeners(self, owner: str, method: str) -> None:
        module = self.target.modules["system"]
        obj = module.GallerySync() if owner == "GallerySync" else module.Download()
        listener = _ignore
        if method == "off":
            obj.on("progress", listener)  # off needs a registration on this instance
        # off(type, callback?): with the callback given, as the page allows
        call = (lambda: obj.on("progress", lambda pg: None)) if method == "on" \
            else (lambda: obj.off("progress", listener))
        self.expect(f"{owner}.{method}", 0, call)
        if method == "off":
            # off again: a sync class keeps its callback id after an off, so the service is
            # asked again and it succeeds (research §2.8); Download asks the service, which
            # has no callback: 13600001 (§2.1)
            again = spec.IPC_ERROR if owner == "Download" else 0
            self.expect(f"{owner}.off", again, lambda: obj.off("progress"))
            if owner != "Download":
                # on an instance no on has given a callback id: 401 on the current release
                # (4.1: the service's no-op)
                fresh = module.GallerySync()
                self.expect(f"{owner}.off",
                            spec.INVALID_PARAMETER if self.fidelity.off_without_on_fails
                            else 0, lambda: fresh.off("progress"))

    @precondition(lambda self: self.target.has_controls)
    @rule()
    def file_system_faults(self) -> None:
        """A file-system error where the file's state or a watch is read surfaces as its
        documented code (research §2.11: the state lives in an extended attribute)."""
        module = self.target.modules["system"]
        module.files.mkdir("watched")
        try:
            for fault, code in FS_FAULTS.items():
                self.target.set_fs_fault("f0.txt", fault)
                self.expect("cloudSync.getFileSyncState(string)", code,
                            lambda: module.getFileSyncState(module.files.uri("f0.txt")))
            self.target.set_fs_fault("f0.txt", None)
            for fault in (errno.EPERM, errno.EACCES):
                self.target.set_fs_fault("watched", fault)
                for method in ("registerChange", "unregisterChange"):
                    call = (lambda: module.registerChange(module.files.uri("watched"), True,
                                                          _ignore)) \
                        if method == "registerChange" \
                        else (lambda: module.unregisterChange(module.files.uri("watched")))
                    self.expect(f"cloudSync.{method}", self.change_code(FS_FAULTS[fault]), call)
        finally:
            self.target.set_fs_fault("f0.txt", None)
            self.target.set_fs_fault("watched", None)

    @rule(data=st.binary(max_size=200))
    def write_file(self, data: bytes) -> None:
        self.target.modules["system"].files.write(f"f{self.files % 3}.txt", data)
        self.files += 1
