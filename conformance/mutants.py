"""A catalogue of deliberate deviations of the references, to measure what the suite catches.

Each mutant rewrites one function of a reference: an exact snippet of its source is replaced
(it must occur exactly once), the function is recompiled in its own module's namespace and put
in place of the original for as long as the mutant is applied. The references carry no
switches for this; what is measured is the code users run, changed in one place.

``syncrig mutants`` runs the campaign each mutant belongs to with the mutant applied: a mutant
is *killed* when the campaign reports a broken rule, and the report says which rule, after how
many (shrunk) steps and how long.
"""

from __future__ import annotations
import __future__

import contextlib
import importlib
import inspect
import shutil
import statistics
import sys
import tempfile
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from conformance.campaign import run_campaign
from conformance.options import Options
from conformance.outcome import PRODUCT_KINDS, Outcome
from conformance.suite import CAMPAIGNS


class MutantError(RuntimeError):
    """A mutant that no longer applies: its snippet is gone or ambiguous."""


@dataclass(frozen=True)
class Mutant:
    """One deviation: in ``module``'s ``function`` (a qualified name), ``old`` becomes
    ``new``; ``breaks`` names the documented rule this breaks."""

    name: str
    campaign: str
    module: str
    function: str
    old: str
    new: str
    breaks: str

    def planted_in(self, options: Options) -> Options:
        """``options`` with this mutant among the planted ones: a replay file of its run
        plants it again."""
        return replace(options, mutants=(*options.mutants, self.name))

    def _target(self) -> tuple[Any, str, Any]:
        module = importlib.import_module(self.module)
        owner_name, _, attr = self.function.rpartition(".")
        owner: Any = module
        for part in filter(None, owner_name.split(".")):
            owner = getattr(owner, part)
        if attr not in vars(owner):
            raise MutantError(f"{self.name}: {self.function} not found in {self.module}")
        return owner, attr, vars(owner)[attr]

    def source(self) -> tuple[str, int, str]:
        """The mutated source of the function, its first line number and file."""
        _, _, original = self._target()
        lines, first = inspect.getsourcelines(original)
        source = "".join(lines)  # as indented in the file, so snippets read as they do there
        if source.count(self.old) != 1:
            raise MutantError(f"{self.name}: the snippet occurs {source.count(self.old)} times "
                              f"in {self.function}, not once")
        if "super()" in source:
            raise MutantError(f"{self.name}: {self.function} uses super(), which cannot be "
                              "recompiled outside its class")
        return source.replace(self.old, self.new), first, inspect.getsourcefile(original) or ""

    @contextlib.contextmanager
    def applied(self) -> Iterator[None]:
        owner, attr, original = self._target()
        source, first, filename = self.source()
        module = importlib.import_module(self.module)
        # a method keeps its indentation under an ``if``; the padding keeps tracebacks
        # pointing at the real file's lines
        header = "\n" * (first - 1) if source[0] != " " else "\n" * (first - 2) + "if 1:\n"
        code = compile(header + source, filename, "exec",
                       flags=__future__.annotations.compiler_flag, dont_inherit=True)
        namespace: dict[str, Any] = {}
        exec(code, vars(module), namespace)
        # a module-level function is also bound wherever it was imported by name, and in
        # dispatch tables (a dict at module level mapping names to handlers)
        holders: list[tuple[Any, str]] = [(owner, attr)]
        tables: list[tuple[dict[str, Any], str]] = []
        if isinstance(owner, types.ModuleType):
            for mod in list(sys.modules.values()):
                for name, value in list(vars(mod).items()):
                    if value is original and mod is not owner:
                        holders.append((mod, name))
                    elif type(value) is dict:
                        tables += [(value, k) for k, v in value.items() if v is original]
        for holder, name in holders:
            setattr(holder, name, namespace[attr])
        for table, key in tables:
            table[key] = namespace[attr]
        try:
            yield
        finally:
            for holder, name in holders:
                setattr(holder, name, original)
            for table, key in tables:
                table[key] = original


def _m(name: str, campaign: str, where: str, old: str, new: str, breaks: str) -> Mutant:
    module, _, function = where.partition(":")
    return Mutant(name, campaign, module, function, old, new, breaks)


_CS = "cloudSync"
_CSP = "cloudSync-paths"
_CS2 = "cloudSync-twodevice"
_API = "sim.ohos.cloudsync.api"
_ENG = "sim.ohos.cloudsync.engine"
_CND = "sim.ohos.cloudsync.conditions"
_FLD = "sim.ohos.cloudsync.folder"
_SVC = "sim.ohos.cloudsync.service"
_RQ = "request"
_DL = "sim.ohos.request.download"
_UP = "sim.ohos.request.upload"
_NAS = "SYNO.CloudSync"
_SM = "sim.synology.methods"

CATALOGUE: tuple[Mutant, ...] = (
    # -- @ohos.file.cloudSync ----------------------------------------------------------------
    _m("cs-permission-skipped", _CS, f"{_API}:CloudSyncModule.caller_error",
       "if permission and not self.caller.has(CLOUDFILE_SYNC):", "if False:",
       "201 when the caller lacks ohos.permission.CLOUDFILE_SYNC"),
    _m("cs-not-system-as-201", _CS, f"{_API}:CloudSyncModule.caller_error",
       "return self.error(K.NOT_SYSTEM_APP)", "return self.error(K.PERMISSION_DENIED)",
       "202 for a system API called by an ordinary app"),
    _m("cs-system-check-skipped", _CS, f"{_API}:CloudSyncModule.caller_error",
       "if system and not self.caller.system_app:", "if False:",
       "202 for a system API called by an ordinary app"),
    _m("cs-messages-unpunctuated", _CS, f"{_API}:CloudSyncModule.error",
       "BusinessError(code, self.fidelity.message(code))",
       "BusinessError(code, self.fidelity.message(code).rstrip('.'))",
       "each error code's documented message"),
    _m("cs-ipc-unchecked", _CS, f"{_API}:_SyncBase._service_call",
       "if error is None and not self._module.cloud.ipc_ok():", "if False:",
       "13600001 when the sync service cannot be reached"),
    _m("cs-battery-low-at-10", _CS, f"{_CND}:start_refusal",
       "if battery_below(device, K.STOP_CAPACITY_LIMIT):",
       "if battery_below(device, K.STOP_CAPACITY_LIMIT + 1e-9):",
       "22400003 below 10 % (not at 10 %)"),
    _m("cs-battery-low-while-charging", _CS, f"{_CND}:battery_below",
       "battery.percent is not None and not battery.charging \\",
       "battery.percent is not None \\",
       "22400003 only when not charging"),
    _m("cs-cloud-before-network", _CS, f"{_CND}:start_refusal",
       "    if not online(device):\n        return K.NETWORK_UNAVAILABLE\n"
       "    if not drive.ready(bundle):\n        return K.CLOUD_NOT_READY\n",
       "    if not drive.ready(bundle):\n        return K.CLOUD_NOT_READY\n"
       "    if not online(device):\n        return K.NETWORK_UNAVAILABLE\n",
       "start()'s checks in order: network, then cloud, then battery"),
    _m("cs-offline-start-accepted", _CS, f"{_CND}:start_refusal",
       "    if not online(device):\n        return K.NETWORK_UNAVAILABLE\n", "",
       "22400002 when there is no network"),
    _m("cs-cloud-readiness-unchecked", _CS, f"{_CND}:start_refusal",
       "if not drive.ready(bundle):", "if False:",
       "22400001 when the cloud is not ready (logged out, switch off)"),
    _m("cs-on-any-event", _CS, f"{_API}:_SyncBase.on",
       'if evt != "progress" or not callable(callback):', "if not callable(callback):",
       "401 for an event other than 'progress'"),
    _m("cs-listener-permission-skipped", _CS, f"{_API}:_SyncBase.on",
       "        error = self._caller()\n        if error is not None:\n            raise error\n",
       "", "201/202 from on('progress')"),
    _m("cs-off-refuses-its-callback", _CS, f"{_API}:_SyncBase.off",
       "(callback is not None and not callable(callback))",
       "(callback is not None and callable(callback))",
       "off('progress', callback) with a function is accepted; a non-function is 401"),
    _m("cs-off-keeps-listening", _CS, f"{_API}:_SyncBase.off",
       "self._engine.listeners.pop(key, None)", "self._engine.listeners.pop(None, None)",
       "after off('progress') the callback hears nothing more"),
    _m("cs-stop-callback-ignored", _CS, f"{_API}:_SyncBase.stop",
       "return self._answer(error, None, callback)", "return self._answer(error, None, None)",
       "stop(callback) calls the callback once (err, data)"),
    _m("cs-download-start-callback-unchecked", _CS, f"{_API}:_FetchBase._check_args",
       "return uri, self._module.callback(callback)", "return uri, callback",
       "401 for a callback that is not a function"),
    _m("cs-missing-argument-typeerror", _CS, f"{_API}:CloudSyncModule.arguments",
       "        padded = [*given, *[None] * (most - len(given))]\n",
       "        padded = [*given, *[None] * (most - len(given))]\n"
       "        if len(given) < mandatory:\n"
       "            raise TypeError(f'{method}() missing a required positional argument')\n",
       "a missing argument is the NAPI's 401, never a Python TypeError"),
    _m("cs-download-listener-unchecked", _CS, f"{_API}:Download.on",
       "self._module.require_caller()", "pass", "201/202 from Download.on"),
    _m("cs-state-of-missing-file", _CS, f"{_API}:CloudSyncModule._file_state",
       "if not self.is_file(rel):", "if False:",
       "13900002 from getFileSyncState for a file that does not exist"),
    _m("cs-foreign-uri-as-missing", _CS, f"{_API}:CloudSyncModule.getFileSyncState",
       "rel = self.relative(uris, K.INVALID_URI)", "rel = self.relative(uris, K.NO_SUCH_FILE)",
       "14000002 for a URI outside the app's cloud folder"),
    _m("cs-clean-local-only-file", _CS, f"{_API}:CloudFileCache._clean",
       " or engine.container.get(rel) is None", "",
       "cleanCache of a file the cloud does not have is 13900002 and deletes nothing"),
    _m("cs-clean-cache-permission-skipped", _CS, f"{_API}:CloudFileCache.cleanCache",
       "module.require_caller()", "pass", "201/202 from cleanCache"),
    _m("cs-download-space-unchecked", _CS, f"{_API}:_FetchBase._start",
       "if obj.size > module.device.storage.free:", "if False:",
       "13900025 when the file cannot fit"),
    _m("cs-download-of-nothing-accepted", _CS, f"{_API}:_FetchBase._start",
       "raise module.error(K.NO_SUCH_FILE)", "return module.settle(None, None, callback)",
       "13900002 from Download.start for a file the cloud does not have"),
    _m("cs-download-stop-unchecked", _CS, f"{_API}:Download.stop",
       "self._module.caller_error()", "None", "201/202 from Download.stop"),
    _m("cs-watch-missing-path", _CS, f"{_API}:CloudSyncModule._watched",
       "if self.status(rel) is None:", "if False:",
       "13900002 from registerChange for a path that does not exist"),
    _m("cs-last-sync-time-unchecked", _CS, f"{_API}:FileSync.getLastSyncTime",
       "error = self._service_call(callback)", "error = None",
       "201/202 from getLastSyncTime"),
    _m("cs-error-on-completed", _CS, f"{_ENG}:SyncEngine._runs",
       "self._emit(SyncState.COMPLETED)",
       "self._emit(SyncState.COMPLETED, ErrorType.NETWORK_UNAVAILABLE)",
       "SyncProgress carries an error exactly when the state is *_FAILED"),
    _m("cs-upload-failed-without-error", _CS, f"{_ENG}:SyncEngine._run",
       "self._emit(SyncState.UPLOAD_FAILED, self._top())", "self._emit(SyncState.UPLOAD_FAILED)",
       "UPLOAD_FAILED names its ErrorType"),
    _m("cs-battery-warning-at-15", _CS, f"{_CND}:battery_fault",
       "if battery_below(device, K.PAUSE_CAPACITY_LIMIT)",
       "if battery_below(device, K.PAUSE_CAPACITY_LIMIT + 1e-9)",
       "BATTERY_LEVEL_WARNING below 15 % (not at 15 %)"),
    _m("cs-no-stopped-event", _CS, f"{_ENG}:SyncEngine._runs",
       "self._emit(SyncState.STOPPED)", "pass", "stop() ends a running sync with STOPPED"),
    _m("cs-uploading-before-pull-failed", _CS, f"{_ENG}:SyncEngine._run",
       "self._emit(SyncState.DOWNLOAD_FAILED, self._top())",
       "self._emit(SyncState.UPLOADING)\n"
       "            self._emit(SyncState.DOWNLOAD_FAILED, self._top())",
       "a sync's states move only along the documented transitions"),

    # -- @ohos.file.cloudSync: path safety and data integrity ----------------------------------
    _m("cs-snapshot-follows-links", _CSP, f"{_FLD}:CloudFolder.snapshot",
       "fd = self.held.open(rel)", "fd = os.open(self.root / rel, os.O_RDONLY)",
       "an upload never reads through a link in the cloud folder"),
    _m("cs-temp-by-name", _CSP, f"{_FLD}:CloudFolder.place",
       "return self.held.write_atomic(rel, src, create_parents=True)",
       "temp = (self.root / rel).with_name(TEMP_PREFIX + Path(rel).name); "
       "temp.parent.mkdir(parents=True, exist_ok=True); temp.write_bytes(src.read()); "
       "os.replace(temp, self.root / rel); return os.stat(self.root / rel)",
       "a download is never written through a planted temporary name"),
    _m("cs-cloud-path-unchecked", _CSP, f"{_ENG}:SyncEngine._pull",
       "accepted = {p for p in {**gone, **wanted} if self._accepted(p)}",
       "accepted = set({**gone, **wanted})",
       "a cloud path that is not a file of the folder is skipped and recorded"),
    _m("cs-uri-resolved-by-realpath", _CSP, f"{_API}:CloudSyncModule.relative",
       'rel = "/".join(parts(uri[len(prefix):]))\n            status = self.folder.lstat(rel)',
       "path = self.sandbox.resolve_cloud_uri(uri)\n            if path is None:\n"
       "                raise UnsafePath(uri, UnsafePath.LINK)\n"
       "            rel, status = str(path.relative_to(self.sandbox.cloud_dir)), None",
       "14000002 for a URI that is not a plain path of the cloud folder"),
    _m("cs-callback-exception-escapes", _CSP, f"{_SVC}:CloudSyncService.call_app",
       "except Exception as exc:", "except ArithmeticError as exc:",
       "an app callback that raises does not stop the sync service"),
    _m("cs-delete-unconditional", _CS2, f"{_ENG}:SyncEngine._push_delete",
       "self.container.delete(rel, base_version=self.synced[rel].version)",
       "self.container.delete(rel)",
       "a delete never removes a version its device did not see"),
    _m("cs-clash-file-in-the-way", _CS2, f"{_ENG}:SyncEngine._make_way",
       "                self._keep_conflict(prefix)\n", "                pass\n",
       "a local file where the cloud has a folder moves aside; phones and cloud agree"),
    _m("cs-clash-folder-at-the-name", _CS2, f"{_ENG}:SyncEngine._receive",
       "self._keep_conflict(rel)  # a folder where the cloud has a file",
       "pass  # a folder where the cloud has a file",
       "a local folder where the cloud has a file moves aside; no sync ends in an exception"),

    # -- @ohos.request -------------------------------------------------------------------------
    _m("rq-permission-skipped", _RQ, "sim.ohos.request.api:RequestModule.download",
       "if not self.caller.has(INTERNET):", "if False:",
       "201 when the caller lacks ohos.permission.INTERNET"),
    _m("rq-permission-as-401", _RQ, "sim.ohos.request.api:RequestModule._permission_denied",
       "business_error(C.EXCEPTION_PERMISSION)", "business_error(C.EXCEPTION_PARAMCHECK)",
       "201 (not 401) when the permission is missing"),
    _m("rq-any-scheme-accepted", _RQ, f"{_DL}:parse_config",
       "if not sendable_url(url):", "if not isinstance(url, str):",
       "401 for a URL that is not http(s)"),
    _m("rq-header-unchecked", _RQ, f"{_DL}:parse_config",
       "if not isinstance(header, dict) or not all(", "if isinstance(header, int) and not all(",
       "401 for a header that is not a record of strings"),
    _m("rq-network-type-unchecked", _RQ, f"{_DL}:parse_config",
       "if isinstance(network_type, bool) or not isinstance(network_type, int) \\",
       "if isinstance(network_type, bool) \\", "401 for a networkType that is not a number"),
    _m("rq-bad-input-leaves-a-file", _RQ, f"{_DL}:parse_config",
       'raise bad_call(fidelity, "download config header error", api9=api9)',
       "raise ((module.sandbox.cache_dir / 'partial').touch() or "
       'bad_call(fidelity, "download config header error", api9=api9))',
       "bad input is refused before anything is written"),
    _m("rq-existing-file-reused", _RQ, f"{_DL}:_create",
       "if existing is not None and not stat.S_ISDIR(existing.st_mode):", "if False:",
       "13400002 when filePath names an existing file"),
    _m("rq-offline-start", _RQ, f"{_DL}:DownloadService._run",
       "if not self.device.sensors.network().internet:", "if False:",
       "a download started offline fails with ERROR_OFFLINE"),
    _m("rq-metered-ignored", _RQ, f"{_DL}:DownloadService.satisfied",
       "if radio.metered and not config.enableMetered:", "if False:",
       "enableMetered: false refuses a metered network (ERROR_UNSUPPORTED_NETWORK_TYPE)"),
    _m("rq-network-type-ignored", _RQ, f"{_DL}:DownloadService.satisfied",
       "return bool(current & config.networkType)", "return True",
       "networkType limits the networks a download may use"),
    _m("rq-redirect-loop-as-http-code", _RQ, f"{_DL}:DownloadService._conclude",
       "elif result.code == pycurl.E_TOO_MANY_REDIRECTS:", "elif False:",
       "a redirect loop fails with ERROR_TOO_MANY_REDIRECTS"),
    _m("rq-any-status-completes", _RQ, f"{_DL}:DownloadService._conclude",
       "ok_status = result.http_status == 200 or", "ok_status = result.http_status < 600 or",
       "a 2xx that is not 200 (204, no body) fails with ERROR_UNHANDLED_HTTP_CODE"),
    _m("rq-fails-instead-of-waiting", _RQ, f"{_DL}:DownloadService._run",
       "task._set(C.SESSION_PAUSED, C.ERROR_UNKNOWN,\n"
       "                              self.module.fidelity.retry_pause_reason)",
       "task._set(C.SESSION_FAILED, C.ERROR_UNKNOWN, C.PAUSED_UNKNOWN)",
       "after the last retry a task waits (PAUSED, PAUSED_WAITING_TO_RETRY)"),
    _m("rq-complete-twice", _RQ, f"{_DL}:DownloadTask._set",
       'self._emit("complete")', 'self._emit("complete")\n            self._emit("complete")',
       "one complete, fail or pause per task"),
    _m("rq-progress-after-complete", _RQ, f"{_DL}:DownloadTask._set",
       'self._emit("complete")',
       'self._emit("complete")\n            self._emit("progress", self.downloaded, self.total)',
       "a download's events come in the documented order: nothing but remove after complete"),
    _m("rq-fail-unannounced", _RQ, f"{_DL}:DownloadTask._set",
       'self._emit("fail", self.failed_reason)', "pass",
       "a task that ends tells its listeners (complete, fail or pause)"),
    _m("rq-pause-keeps-downloading", _RQ, f"{_DL}:DownloadTask._pause",
       'self._halt("paused by user")', "pass",
       "a paused download moves no byte more"),
    _m("rq-user-pause-reason-unknown", _RQ, f"{_DL}:DownloadTask._pause",
       "C.ERROR_UNKNOWN, C.PAUSED_BY_USER)", "C.ERROR_UNKNOWN, C.PAUSED_UNKNOWN)",
       "pause() gives PAUSED_BY_USER"),
    _m("rq-chunked-total-zero", _RQ, f"{_DL}:DownloadTask._progress",
       "if self.total >= 0 else -1", "if self.total >= 0 else 0",
       "a download of unknown length reports total -1"),
    _m("rq-progress-short-of-total", _RQ, f"{_DL}:DownloadTask._progress",
       "received = self.downloaded // unit", "received = max(0, self.downloaded - 1) // unit",
       "complete comes after progress reports every byte"),
    _m("rq-paused-before-running", _RQ, f"{_DL}:DownloadService._run",
       "task._set(C.SESSION_RUNNING)\n        attempts = 0",
       "task._set(C.SESSION_PAUSED)\n        task._set(C.SESSION_RUNNING)\n        attempts = 0",
       "states move only along the documented transitions"),

    _m("rq-resume-from-zero", _RQ, f"{_DL}:DownloadService._body",
       "resume_from=position)", "resume_from=0)",
       "a resumed download asks for the rest (Range) and ends with the server's bytes"),
    _m("rq-no-space-as-data-error", _RQ, f"{_DL}:DownloadService._fail_space",
       "code = (C.ERROR_INSUFFICIENT_SPACE if", "code = (C.ERROR_HTTP_DATA_ERROR if",
       "a file that does not fit fails with ERROR_INSUFFICIENT_SPACE"),
    _m("rq-network-loss-not-waited-out", _RQ, f"{_DL}:DownloadService._run",
       'if outcome == "lost" and self.module.fidelity.network_loss_waits:', "if False:",
       "a network lost mid-download pauses with PAUSED_WAITING_FOR_NETWORK"),
    # integrity and path safety: each bug class re-planted
    _m("rq-error-page-written", _RQ, f"{_DL}:DownloadService._belongs",
       "return head.status == 200", "return True",
       "only the file's own bytes reach it: an error page's body is never written"),
    _m("rq-short-body-completes", _RQ, f"{_DL}:DownloadService._conclude",
       "if any(n >= 0 and n != size for n in announced):", "if False:",
       "complete only with every byte the probe announced"),
    _m("rq-content-range-unchecked", _RQ, f"{_DL}:DownloadService._belongs",
       "            return None\n        return True",
       "            return True\n        return True",
       "a 206 of other bytes than were asked is never appended"),
    _m("rq-resume-without-if-range", _RQ, f"{_DL}:DownloadService._body",
       'headers = [*headers, f"If-Range:{task.validator}"]', "headers = [*headers]",
       "a resume continues only the representation it began (If-Range)"),
    _m("rq-write-follows-symlinks", _RQ, f"{_DL}:DownloadService._body",
       "_write_all(task.fd, data, position + written)",
       "_write_all(os.open(task.path, os.O_WRONLY), data, position + written)",
       "nothing outside the sandbox is written"),
    _m("rq-remove-follows-symlinks", _RQ, f"{_DL}:DownloadTask._remove",
       "self.folder.unlink(self.relative)",
       "os.unlink(os.path.realpath(self.path))",
       "nothing outside the sandbox is deleted"),
    _m("rq-create-follows-symlinks", _RQ, f"{_DL}:_create",
       "fd = folder.create(relative, create_parents=create_parents)",
       "fd = os.open(folder.path / relative, os.O_CREAT | os.O_RDWR)",
       "a folder that leads out of the sandbox is a bad path (13400002)"),
    _m("rq-listener-exception-escapes", _RQ, f"{_DL}:DownloadTask._call",
       "except Exception as exc:", "except ArithmeticError as exc:",
       "a listener that throws does not stop its task"),
    _m("rq-download-file-arity-unchecked", _RQ, "sim.ohos.request.api:RequestModule.downloadFile",
       "if not 2 <= len(args) <= 3:", "if False:",
       "a wrong argument count is 401, never a Python exception"),
    _m("rq-suspend-resolves-nothing", _RQ, f"{_DL}:DownloadTask.suspend",
       "return self._answer(True, callback)", "return self._answer(None, callback)",
       "suspend() resolves true"),
    _m("rq-mime-before-probe-resolves", _RQ, f"{_DL}:DownloadTask._mime",
       "if not self.mime_type and rejects:", "if False:",
       "getTaskMimeType() before the size probe rejects with 13400003"),
    _m("rq-upload-2xx-as-lib-error", _RQ, f"{_UP}:UploadService._send",
       "if result.http_status != 200:\n            return C.UPLOAD_FAIL,",
       "if result.http_status != 200:\n            return C.UPLOAD_LIB_ERROR,",
       "an answer other than 200 is TaskState 5 \"upload failed\""),
    _m("rq-upload-complete-twice", _RQ, f"{_UP}:UploadService._finish",
       'task._emit("complete" if ok else "fail", list(task.states))',
       'task._emit("complete" if ok else "fail", list(task.states))\n'
       '        task._emit("complete" if ok else "fail", list(task.states))',
       "one complete or fail per upload"),
    _m("rq-upload-part-misnamed", _RQ, f"{_UP}:UploadService._body",
       'else (f.name or "file")', 'else (f.filename or "file")',
       "the file part is named File.name"),
    _m("rq-upload-progress-past-total", _RQ, f"{_UP}:UploadTask._progress",
       "values = (self.uploaded // unit,",
       "values = ((self.uploaded + self.uploaded // 8) // unit,",
       "upload progress never passes the total"),

    # -- SYNO.CloudSync ------------------------------------------------------------------------
    _m("syno-workers-limit-21", _NAS, f"{_SM}:set_global_config",
       'int_param(params, "worker_count", low=1, high=MAX_WORKERS)',
       'int_param(params, "worker_count", low=1, high=MAX_WORKERS + 1)',
       "worker_count within 1..20"),
    _m("syno-log-count-zero", _NAS, f"{_SM}:set_global_config",
       'int_param(params, "log_count", low=1,', 'int_param(params, "log_count", low=0,',
       "log_count within 1..100000"),
    _m("syno-workers-not-saved", _NAS, f"{_SM}:set_global_config",
       "log_count=log_count, worker_count=workers,", "log_count=log_count,",
       "get_config reflects an acknowledged set_global_config"),
    _m("syno-schedule-length-unchecked", _NAS, f"{_SM}:set_schedule_setting",
       "if len(schedule) != SCHEDULE_LENGTH or set(schedule) - {\"0\", \"1\"}:",
       "if set(schedule) - {\"0\", \"1\"}:", "schedule_info is 168 characters"),
    _m("syno-direction-unchecked", _NAS, f"{_SM}:set_session_setting",
       "if direction not in DIRECTIONS:", "if not direction:",
       "sync_direction is one of the documented values"),
    _m("syno-unknown-task-accepted", _NAS, f"{_SM}:task",
       "if row is None or (conn is not None and row[\"conn_id\"] != conn[\"id\"]):",
       "if row is None and sess_id > 1000:", "an unknown session_id is refused"),
    _m("syno-relink-inverted", _NAS, f"{_SM}:set_personal_config",
       'sync_mode=bool_param(params, "sync_mode")', 'sync_mode=not bool_param(params, "sync_mode")',
       "get_config reflects set_personal_config's sync_mode"),
    _m("syno-pause-all-ignored", _NAS, f"{_SM}:_pause",
       "nas.store.set_config(paused=paused)", "pass",
       "pause without connection_id pauses every connection"),
    _m("syno-resume-pauses", _NAS, f"{_SM}:resume",
       "_pause(nas, params, False)", "_pause(nas, params, True)",
       "resume undoes pause"),
    _m("syno-negative-size-limit", _NAS, f"{_SM}:set_selective_sync_config",
       'int_param(params, "filtered_max_upload_size", low=0)',
       'int_param(params, "filtered_max_upload_size")',
       "filtered_max_upload_size is not negative"),
    _m("syno-pause-one-pauses-all", _NAS, f"{_SM}:_pause",
       'if "connection_id" in params:', "if False:",
       "pause with connection_id pauses that connection only"),
    _m("syno-connection-name-not-saved", _NAS, f"{_SM}:set_connection_setting",
       'values = {"task_name": name,', 'values = {"task_name": row["task_name"],',
       "get_connection_setting reflects an acknowledged set_connection_setting"),
    _m("syno-task-remove-keeps-task", _NAS, f"{_SM}:unlink_session",
       'db.execute("DELETE FROM tasks WHERE id = ?", (row["id"],))', "pass",
       "unlink_session removes the task"),
    _m("syno-test-setting-accepts-any-path", _NAS, f"{_SM}:_check_new_task",
       'if not path.startswith("/") or not nas.share_exists(path):', "if False:",
       "a new task's local path must be an existing share"),
    _m("syno-lost-parameter-as-invalid", _NAS, f"{_SM}:_raw",
       "raise SynoError(LOST_PARAMETER,", "raise SynoError(INVALID_PARAMETER,",
       "a missing parameter is 114"),
    _m("syno-unknown-method-as-api", _NAS, "sim.synology.web:NasServer._dispatch",
       "            raise SynoError(NO_SUCH_METHOD, method)\n        return handler",
       "            raise SynoError(NO_SUCH_API, method)\n        return handler",
       "an unknown method is 103"),
    _m("syno-flag-unchecked", _NAS, f"{_SM}:bool_param",
       'if text not in ("true", "false"):', "if False:",
       "a flag that is neither true nor false is 120"),
    _m("syno-missing-flag-false", _NAS, f"{_SM}:bool_param",
       "text = _raw(params, name)", 'text = params.get(name, "false")',
       "a missing flag is 114"),
    _m("syno-log-offset-ignored", _NAS, f"{_SM}:get_log",
       "(*args, limit, offset))", "(*args, limit, 0))",
       "get_log's offset pages through the log"),
    _m("syno-log-level-filter-ignored", _NAS, f"{_SM}:get_log",
       "    if level >= 0:", "    if False:",
       "get_log's log_level keeps only lines of that level"),
    _m("syno-log-keyword-ignored", _NAS, f"{_SM}:get_log",
       "    if keyword:", "    if False:",
       "get_log's keyword keeps only the lines that name it"),
    _m("syno-log-total-of-page", _NAS, f"{_SM}:get_log",
       'return {"items": items, "total": total}', 'return {"items": items, "total": len(items)}',
       "get_log's total counts every matching line, not the page"),
)

BY_NAME = {m.name: m for m in CATALOGUE}


@dataclass
class Verdict:
    """A mutant's fate: killed (by which rule, after how many steps, how fast) or not."""

    mutant: Mutant
    outcome: Outcome

    @property
    def killed(self) -> bool:
        """The suite failed the mutant for what it did: a broken rule, a crash of the
        implementation or a documented item no longer reached. A harness error or a flaky
        run says nothing about the mutant and kills nothing."""
        failure = self.outcome.failure
        return not self.outcome.ok and (failure is None or failure.get("kind") in PRODUCT_KINDS)

    def to_json(self) -> dict[str, Any]:
        failure = self.outcome.failure or {}
        return {"name": self.mutant.name, "campaign": self.mutant.campaign,
                "breaks": self.mutant.breaks, "killed": self.killed,
                "by": failure.get("message"), "kind": failure.get("kind"),
                "steps": len(self.outcome.steps) if self.killed else None,
                "seconds": round(self.outcome.seconds, 2),
                "replay": str(self.outcome.replay) if self.outcome.replay else None}


def run_mutants(mutants: list[Mutant], options: Options, replays: Path | None = None,
                progress: Callable[[Verdict], None] = lambda _: None) -> list[Verdict]:
    """Run each mutant's campaign with the mutant applied."""
    verdicts = []
    work = Path(tempfile.mkdtemp(prefix="syncrig-mutants-"))
    try:
        for mutant in mutants:
            with mutant.applied():
                outcome = run_campaign(CAMPAIGNS[mutant.campaign], mutant.planted_in(options),
                                       work / mutant.name,
                                       replays / mutant.name if replays else None)
            verdicts.append(Verdict(mutant, outcome))
            progress(verdicts[-1])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return verdicts


def summary(verdicts: list[Verdict]) -> dict[str, Any]:
    """Score, and for the killed the median shrunk trace length and time to detect."""
    killed = [v for v in verdicts if v.killed]
    return {"mutants": len(verdicts), "killed": len(killed),
            "score": round(len(killed) / len(verdicts), 3) if verdicts else 0.0,
            "median_steps": statistics.median(len(v.outcome.steps) for v in killed)
            if killed else None,
            "median_seconds": round(statistics.median(v.outcome.seconds for v in killed), 2)
            if killed else None,
            "survivors": [v.mutant.name for v in verdicts if not v.killed]}



def markdown(verdicts: list[Verdict], options: Options) -> str:
    """The mutation report as a table a person reads: each mutant, its fate, the rule."""
    s = summary(verdicts)
    lines = [f"# Mutation run: {s['killed']} of {s['mutants']} killed (score {s['score']})", "",
             f"{options.examples} examples per campaign ({options.hypothesis_profile}); median "
             f"shrunk trace {s['median_steps']} steps, median time to detect "
             f"{s['median_seconds']} s.", "",
             "| mutant | campaign | breaks | killed by | steps | seconds |",
             "|---|---|---|---|---|---|"]
    for v in verdicts:
        row = v.to_json()
        by = (row["by"] or "").replace("|", "\\|") if v.killed else "**survived**"
        lines.append(f"| {row['name']} | {row['campaign']} | {row['breaks']} | {by} | "
                     f"{row['steps'] if v.killed else ''} | {row['seconds']} |")
    return "\n".join(lines) + "\n"
