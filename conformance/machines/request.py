"""A state machine for ``@ohos.request`` downloads against the reference on a simulated device,
with real HTTP from a fixture server: creation errors, the network rules at start, what a
faulty server's answer fails with, outcomes after time passes, and what must always hold of a
task's events (research §3)."""

from __future__ import annotations

import hashlib
import itertools
import socket
from typing import Any, ClassVar, NamedTuple

from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule

from conformance.coverage import Coverage
from conformance.machines.base import ConformanceFailure, Step, combos, follow_event_order
from conformance.machines.events import DeviceEvents, passing_time
from conformance.machines.upload import UploadRules
from conformance.targets import RequestTarget
from conformance.targets.reference import ReferenceRequest
from sim.ohos.common import BusinessError
from sim.ohos.request.errors import JsError
from sim.ohos.request.fidelity import DOCUMENTED, RequestFidelity
from sim.servers import FixtureHTTPServer
from sim.servers.scripted import etag
from sim.spec import ohos_request as spec
from sim.trace import DeviceEvent, EventKind

SESSIONS = {spec.SESSION_SUCCESSFUL: "SESSION_SUCCESSFUL", spec.SESSION_RUNNING: "SESSION_RUNNING",
            spec.SESSION_PENDING: "SESSION_PENDING", spec.SESSION_PAUSED: "SESSION_PAUSED",
            spec.SESSION_FAILED: "SESSION_FAILED"}
ERRORS = {getattr(spec, n): n for n in dir(spec) if n.startswith("ERROR_")}
PAUSES = {getattr(spec, n): n for n in dir(spec) if n.startswith("PAUSED_")}
ALLOWED = {(t.source, t.target) for t in spec.TRANSITIONS}  # research §3.3
EVENT_ORDER = {(t.source, t.target) for t in spec.EVENT_ORDER}  # research §3.3, §3.7, §3.9

ENDED = {spec.SESSION_SUCCESSFUL: "complete", spec.SESSION_FAILED: "fail",
         spec.SESSION_PAUSED: "pause"}
"""The states a started download (:attr:`RequestMachine.tasks`: none is paused by the app)
ends in, and the event each sends."""
FINAL = frozenset(ENDED.values())
WAITS = f"pause:{spec.PAUSED_WAITING_FOR_NETWORK}:{spec.ERROR_UNKNOWN}"
"""The outcome of a download that waits for a network (research §3.13): it goes on by itself
when one comes, so its later events are not another ending."""

class Download(NamedTuple):
    """A download the machine started, and what it predicted of it."""

    task: Any
    events: list[tuple[str, Any]]
    """``(kind, payload)`` as the listeners heard them; progress carries (received, total)."""
    outcome: str | None
    network_type: int
    last_progress: tuple[int, int] | None
    """(received, total) of the last progress event, where the server's answer completes
    the download."""
    name: str = ""
    """The file in the app's cache: on ``complete`` it holds the representation exactly."""
    source: str = ""
    """The served file whose bytes those are."""
    folder: str = "cache"
    """The app's folder the file is in: ``cache``, or ``files`` (an API 9 download)."""


def growing(received: list[int]) -> None:
    """Progress is only reported when the byte count changed, and it only grows (research
    §3.9)."""
    if any(b <= a for a, b in itertools.pairwise(received)):
        raise ConformanceFailure("progress only when the count grew", "research §3.9",
                                 "strictly increasing", received)


class AppListenerError(RuntimeError):
    """What an app's listener throws in :meth:`RequestMachine.a_listener_that_raises`."""


SCRIPTS = itertools.count()
"""Unique tokens: of scripted answers (the server counts each one's requests), and of the
folders the path attacks make."""
RESUME_FAULTS = {  # what answers the resume of a download paused mid-body
    "error-page": "ok,page:503:10000000,ok",  # a 10 MB error page paused, then the file
    "wrong-range": "ok,ok,badrange",  # a 206 of other bytes than were asked
    "replaced": "ok,ok,changed",  # the representation replaced between pause and resume
}


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


SERVER_FAULTS = {  # research §3.5: the result of each server answer
    "/status/404": spec.ERROR_UNHANDLED_HTTP_CODE, "/status/500": spec.ERROR_UNHANDLED_HTTP_CODE,
    "/status/204": spec.ERROR_UNHANDLED_HTTP_CODE,  # a 2xx that is not 200, without a body
    "/loop": spec.ERROR_TOO_MANY_REDIRECTS,
}


CONTEXT = object()
"""Stands for the app's context in :data:`WRONG_CALLS` (the machine's own, at call time)."""
_URL = "http://127.0.0.1:9/x.bin"
_CB = print  # a function: where a callback is due, what it is does not matter
WRONGS = ("missing", "extra", "type")
WRONG_CALLS: dict[str, dict[str, tuple[Any, ...] | None]] = {
    "request.download": {"missing": (), "extra": ({"url": _URL}, _CB, 3),
                         "type": ("not a config",)},
    "request.upload": {"missing": (), "extra": ({"url": _URL}, _CB, 3),
                       "type": ("not a config",)},
    "request.downloadFile": {"missing": (CONTEXT,), "extra": (CONTEXT, {"url": _URL}, _CB, 4),
                             "type": (CONTEXT, "not a config")},
    "request.uploadFile": {"missing": (CONTEXT,), "extra": (CONTEXT, {}, _CB, 4),
                           "type": (CONTEXT, "not a config")},
    "DownloadTask.on": {"missing": ("progress",), "extra": ("progress", _CB, 3),
                        "type": (5, _CB)},
    "DownloadTask.off": {"missing": (), "extra": ("progress", _CB, 3),
                         "type": ("progress", 5)},
    **{f"DownloadTask.{name}": {"missing": None, "extra": (_CB, 2), "type": ("not a function",)}
       for name in ("pause", "resume", "remove", "query", "queryMimeType", "delete", "suspend",
                    "restore", "getTaskInfo", "getTaskMimeType")},
}
"""Each method called wrongly, as JavaScript can: an argument missing, one too many, one of
the wrong type (``None`` where every argument is optional)."""
API9_NAMES = frozenset({"downloadFile", "uploadFile", "delete", "suspend", "restore",
                        "getTaskInfo", "getTaskMimeType"})


class RequestMachine(UploadRules, DeviceEvents):
    """Bind :attr:`server` to a running :class:`FixtureHTTPServer` with ``small.bin`` and
    ``big.bin``; the target is the in-process reference unless
    :attr:`request_target_factory` gives another (over syncrig-rpc/1, on hardware)."""

    server: ClassVar[FixtureHTTPServer | None] = None
    device_profile: ClassVar[str] = "phone"
    request_fidelity: ClassVar[RequestFidelity] = DOCUMENTED
    """The profile whose behaviour the machine predicts (the target runs the same)."""
    settle_each_download: ClassVar[bool] = False
    """Let each download end before the next step: set where other rules share the device
    and change its network at any time (a download's outcome is predicted at its start)."""
    request_target_factory: ClassVar[Any] = None
    """Makes the target: a device, and ``modules`` ``app`` (with INTERNET) and ``denied``
    (without) — :class:`~conformance.targets.reference.ReferenceRequest` or its remote
    proxy."""
    hardware_excused: ClassVar[dict[Any, str]] = {}
    """With ``--hil``: the documented items only rules needing Controls reach, and why."""
    coverage = Coverage()

    def __init__(self) -> None:
        super().__init__()
        assert self.server is not None
        self.request_target: RequestTarget = self.make_request_target()
        self.device = self.request_target.device
        self.request = self.request_target.modules["app"]
        self.denied = self.request_target.modules["denied"]
        self.tasks: list[Download] = []
        self.heard_events: list[list[tuple[str, Any]]] = []
        """The events of every download the machine listens to, each as :meth:`listen` hears
        them: not only :attr:`tasks`, whose ends are predicted."""
        self.names = 0
        self.default_made = False
        """Whether ``downloadFile`` without a ``filePath`` has made its file (its name is
        the URL's last segment)."""
        self.held: set[int] = set()
        """Tasks whose end has been held to their prediction."""
        # the target's download states as its trace reports them, as they happen
        self.states: list[tuple[int, int]] = []
        self.unsubscribe = self.device.trace.subscribe(self.heard)
        # bound but not listening: a connection to it is refused at once, every time
        self.nowhere = socket.socket()
        self.nowhere.bind(("127.0.0.1", 0))

    def make_request_target(self) -> Any:
        """The target the downloads run on: a fresh one unless a subclass shares a device."""
        if self.request_target_factory is not None:
            return self.request_target_factory()
        return ReferenceRequest(self.device_profile, self.request_fidelity)

    def heard(self, event: DeviceEvent) -> None:
        data = event.data
        if event.kind == EventKind.API and data.get("api") == "request.download" \
                and "status" in data:
            self.states.append((data["task"], data["status"]))

    @property
    def has_controls(self) -> bool:
        return bool(self.request_target.has_controls)

    def teardown(self) -> None:
        try:
            # let running transfers end, then hold every task to its predicted outcome, not
            # only those that ended within the steps (on hardware, real seconds: only as
            # long as a task is still running)
            if self.longest_wait_s is None:
                self.device.run(until=self.device.env.now + 120)
            else:
                self.settle_tasks()
            self.tasks_keep_their_promises()
            self.ends_are_told()
        finally:
            self.unsubscribe()
            self.request_target.close()
            self.nowhere.close()

    @classmethod
    def tour(cls) -> list[Step]:
        return [
            *combos("bad_config", kind=["no-url", "ftp", "bad-header", "bad-network-type"]),
            *combos("network_rules"), *combos("existing_file"),
            *combos("download_file", network_type=[0], metered=[True], chunked=[True]),
            *combos("without_permission"),
            *combos("download_from_a_faulty_server", path=sorted(SERVER_FAULTS)),
            *combos("download_an_empty_file"),
            *combos("download_from_a_server_that_refuses"), *combos("storage_full"),
            *combos("network_lost_mid_download"), *combos("user_pauses_and_resumes"),
            *combos("short_body"), *combos("resume_meets_another_answer",
                                           fault=sorted(RESUME_FAULTS)),
            *combos("path_swapped_for_a_symlink",
                    stage=["before-start", "mid-body", "before-remove"]),
            *combos("a_listener_that_raises"),
            *combos("user_removes", when=["at-once", "mid-body", "after-fail"]),
            *combos("download_file_api9", where=["cache", "files", "relative", "default"]),
            *combos("download_file_bad_path",
                    kind=["outside", "missing-folder", "existing", "scheme"]),
            *combos("download_file_without_permission"), *combos("api9_task_methods"),
            *combos("upload_file_api9"),
            *combos("wrong_arguments", method=sorted(WRONG_CALLS), wrong=list(WRONGS)),
            *combos("time_passes", seconds=[30.0]), *cls.upload_tour(),
        ]

    def create(self, config: Any, expected: int, caller_ok: bool = True) -> Any:
        """Create a download; ``expected`` is the documented code (0: a task), which a
        release profile may turn into a plain Error or nothing at all (research §2.2)."""
        module = self.request if caller_ok else self.denied
        want: int | str = expected
        if expected == spec.EXCEPTION_PARAMCHECK and self.request_fidelity.plain_param_errors:
            want = "a plain Error"
        if expected == spec.EXCEPTION_PERMISSION and \
                self.request_fidelity.permission_denied_silent:
            want = "undefined"
        observed: int | str
        try:
            promise = module.download(config)
            task = self.device.run(promise) if promise is not None else None
            observed = 0 if promise is not None else "undefined"
        except JsError:
            observed, task = "a plain Error", None
        except BusinessError as exc:
            observed, task = exc.code, None
            if not exc.message.startswith(spec.MESSAGES[exc.code]):
                raise ConformanceFailure("download message", "research §1.2",
                                         spec.MESSAGES[exc.code], exc.message) from None
        if observed != want:
            raise ConformanceFailure("request.download", f"{spec.DOCUMENT} ## request.download",
                                     want, observed)
        if isinstance(observed, int):
            self.coverage.error("request.download", observed)
        return task

    def url(self) -> str:
        assert self.server is not None
        return f"{self.server.url}/files/small.bin"

    @rule(kind=st.sampled_from(["no-url", "ftp", "bad-header", "bad-network-type"]))
    def bad_config(self, kind: str) -> None:
        config = {"no-url": {}, "ftp": {"url": "ftp://127.0.0.1/x"},
                  "bad-header": {"url": self.url(), "header": "x"},
                  "bad-network-type": {"url": self.url(), "networkType": "wifi"}}[kind]
        # (list(): a remote target's list comes as a reference; its values are compared)
        before = list(self.request_target.cache_files())
        self.create(config, spec.EXCEPTION_PARAMCHECK)
        after = list(self.request_target.cache_files())
        if after != before:
            raise ConformanceFailure("bad input writes nothing", "research §3.1", before, after)

    @precondition(lambda self: self.names > 0)
    @rule()
    def existing_file(self) -> None:
        if "f0.bin" in self.request_target.cache_files():  # (a refused name makes no file)
            self.create({"url": self.url(), "filePath": "f0.bin"}, spec.EXCEPTION_FILEPATH)

    @rule()
    def without_permission(self) -> None:
        self.create({"url": self.url()}, spec.EXCEPTION_PERMISSION, caller_ok=False)

    @rule(network_type=st.sampled_from([0, spec.NETWORK_WIFI, spec.NETWORK_MOBILE]),
          metered=st.booleans(), chunked=st.booleans())
    def download_file(self, network_type: int, metered: bool, chunked: bool = False) -> None:
        """A download that completes where the network allows it; served ``chunked`` (no
        Content-Length), its progress total is -1 (research §3.9)."""
        path = "/chunked/small.bin" if chunked else "/files/small.bin"
        self.start(path, "complete", network_type, metered)

    @property
    def unhandled(self) -> int:
        """The code of an answer that is not the file: ERROR_UNHANDLED_HTTP_CODE, or
        ERROR_UNKNOWN on a profile whose service has no such code (research §3.6)."""
        return spec.ERROR_UNKNOWN if self.request_fidelity.http_error_unknown \
            else spec.ERROR_UNHANDLED_HTTP_CODE

    @rule()
    def download_an_empty_file(self) -> None:
        """A file of no bytes: the probe announces 0, the file is already whole, and the task
        completes with no request and no progress (research §3.5, §3.9)."""
        assert self.server is not None
        empty = self.server.root / "empty.bin"
        if not empty.exists():
            empty.write_bytes(b"")
        self.start("/files/empty.bin", "complete", 0, True)

    @rule(path=st.sampled_from(sorted(SERVER_FAULTS)))
    def download_from_a_faulty_server(self, path: str) -> None:
        code = SERVER_FAULTS[path]
        if code == spec.ERROR_UNHANDLED_HTTP_CODE:
            code = self.unhandled
        self.start(path, f"fail:{code}", 0, True)

    @rule()
    def download_from_a_server_that_refuses(self) -> None:
        # research §3.5: connect errors retry; after the last attempt PAUSED/WAITING_TO_RETRY
        port = self.nowhere.getsockname()[1]
        # (research §3.3: PAUSED, ERROR_UNKNOWN, PAUSED_WAITING_TO_RETRY; the current
        # platform's reason is PAUSED_WAITING_FOR_NETWORK, §3.6)
        reason = self.request_fidelity.retry_pause_reason
        self.start("/x.bin", f"pause:{reason}:{spec.ERROR_UNKNOWN}", 0, True,
                   base=f"http://127.0.0.1:{port}")

    def start(self, path: str, served: str, network_type: int, metered: bool,
              base: str | None = None, api9: tuple[str, str, str] | None = None) -> None:
        """Start a download whose outcome is predicted now: the network rules at start
        (research §3.8), else what the server's answer maps to (``served``, §3.5)."""
        net = self.device.sensors.network()
        radio = net.active_radio
        waits = WAITS if self.request_fidelity.unavailable_network_waits else ""
        if not net.internet:
            outcome: str | None = waits or f"fail:{spec.ERROR_OFFLINE}"
        elif network_type and radio is not None and (
                (radio.metered and not metered)
                or not network_type & (spec.NETWORK_WIFI if net.active.value == "wifi"
                                       else spec.NETWORK_MOBILE)):
            outcome = waits or f"fail:{spec.ERROR_UNSUPPORTED_NETWORK_TYPE}"
        else:
            outcome = served
        assert self.server is not None
        name = self.new_name() if api9 is None else api9[1]
        config = {"url": f"{base or self.server.url}{path}", "filePath": name,
                  "networkType": network_type, "enableMetered": metered}
        if api9 is None:
            task = self.create(config, 0)
        else:
            task = self.create_api9({**config, "filePath": api9[0]}, 0)
        events = self.listen(task)
        last = self.last_progress(path) if served == "complete" else None
        if last == (0, 0):
            last = None  # an empty file: whole at once, with no progress (research §3.5)
        source = path.split("?", 1)[0].rsplit("/", 1)[-1]
        self.tasks.append(Download(task, events, outcome, network_type, last, name, source,
                                   "cache" if api9 is None else api9[2]))
        if self.settle_each_download:
            self.settle_tasks()

    @precondition(lambda self: self.has_controls)
    @rule()
    def network_rules(self) -> None:
        """Each network a download can start on (offline, Wi-Fi, metered cellular) against
        each networkType/enableMetered choice (research §3.8); each download is let run to
        its end before the network changes again."""
        controls = self.device.controls
        self.settle_tasks()  # a download in flight was predicted for the network it began on
        for wifi, cellular in ((False, False), (True, False), (False, True)):
            for network_type in (0, spec.NETWORK_WIFI, spec.NETWORK_MOBILE):
                for metered in (False, True):
                    controls.set_radio("wifi", wifi)
                    controls.set_radio("cellular", cellular)
                    self.start("/files/small.bin", "complete", network_type, metered)
                    self.settle_tasks()
        controls.set_radio("wifi", True)
        controls.set_radio("cellular", True)

    def settle_tasks(self, limit: float = 120.0) -> None:
        """Let time pass until every task has ended (completed, failed or paused). A task
        that told its listeners so is not asked again: over RPC each question is a round
        trip."""
        env = self.device.env
        end = env.now + limit
        while env.now < end and any(not self.ended(i) for i in range(len(self.tasks))):
            self.device.run(until=env.now + 1.0)

    def ended(self, index: int) -> bool:
        task, events = self.tasks[index].task, self.tasks[index].events
        return any(kind in FINAL for kind, _ in events) or task.info().status in ENDED

    @precondition(lambda self: self.server is not None and self.has_controls)
    @rule()
    def network_lost_mid_download(self) -> None:
        """The network goes while a download runs: PAUSED with PAUSED_WAITING_FOR_NETWORK;
        it comes back: the task goes on by itself from where it stopped (a Range request)
        and completes with the server's bytes exactly (research §3.3, §3.13)."""
        controls = self.device.controls
        name, task, events = self.big_download()
        self.device.run(until=self.device.env.now + 0.3)
        controls.set_radio("wifi", False)
        controls.set_radio("cellular", False)
        self.device.run(until=self.device.env.now + 5.0)
        info = task.info()
        observed = (SESSIONS[info.status], PAUSES.get(info.pausedReason),
                    [k for k, _ in events if k != "progress"])
        waits = self.request_fidelity.network_loss_waits
        reason = "PAUSED_WAITING_FOR_NETWORK" if waits else "PAUSED_WAITING_TO_RETRY"
        expected = ("SESSION_PAUSED", reason, ["pause"])
        if observed != expected:
            raise ConformanceFailure("network lost mid-download", "research §3.13 (3.2: §3.5)",
                                     expected, observed)
        self.coverage.value("PAUSED", reason)
        controls.set_radio("wifi", True)
        controls.set_radio("cellular", True)
        if not waits:
            task.resume()  # release 3.2 waits for the app: a retry pause is not lifted
        self.run_to_completion(task)
        received = [p[0] for k, p in events if k == "progress"]
        finals = [k for k, _ in events if k != "progress"]
        data = self.request_target.read_cache(name)
        big = self.served("big.bin")
        growing(received)
        last = self.last_progress("/files/big.bin")[0]
        if finals != ["pause", "complete"] or data != big or received[-1:] != [last]:
            raise ConformanceFailure("a download resumes where the network left it",
                                     "research §3.3, §3.9",
                                     (["pause", "complete"], len(big), "same bytes", last),
                                     (finals, len(data), "same bytes" if data == big
                                      else "different bytes", received[-1:]))

    @rule()
    def user_pauses_and_resumes(self) -> None:
        """pause() stops a running download at once: one ``pause`` event, PAUSED with
        PAUSED_BY_USER, and no byte more while paused; resume() goes on from where it stopped
        (a Range request) to the server's bytes exactly. The promises resolve with nothing
        (``Promise<void>``; release 3.2: true), and the reason after resuming is
        PAUSED_UNKNOWN (release 3.2: PAUSED_BY_USER stays); a finished task stays as it is
        (research §2.2, §3.3)."""
        if not self.has_controls and not self.device.sensors.network().internet:
            return  # on hardware without a network no download runs to be paused
        name, task, events = self.big_download()
        # simulated, the link paces the download: 0.3 s in, it is running; on hardware a
        # fast link may finish it as soon, so there it is paused as it starts
        if self.longest_wait_s is None:
            self.device.run(until=self.device.env.now + 0.3)
        answered = self.device.run(task.pause())
        info = task.info()
        held = info.downloadedBytes
        self.device.run(until=self.device.env.now + 5.0)
        resolves = True if self.request_fidelity.pause_resolves_true else None
        observed = (answered, SESSIONS[info.status], info.pausedReason,
                    [k for k, _ in events if k != "progress"], task.info().downloadedBytes)
        expected = (resolves, "SESSION_PAUSED", spec.PAUSED_BY_USER, ["pause"], held)
        if observed != expected:
            raise ConformanceFailure("pause() stops a download", "research §2.2, §3.3",
                                     expected, observed)
        answered = self.device.run(task.resume())
        self.run_to_completion(task)
        received = [p[0] for k, p in events if k == "progress"]
        data = self.request_target.read_cache(name)
        big = self.served("big.bin")
        after = PAUSES[task.info().pausedReason]
        growing(received)
        resumed = (answered, [k for k, _ in events if k != "progress"], len(data),
                   "same bytes" if data == big else "different bytes", received[-1:], after)
        promised = (resolves, ["pause", "complete"], len(big), "same bytes",
                    [self.last_progress("/files/big.bin")[0]],
                    "PAUSED_BY_USER" if self.request_fidelity.paused_reason_sticky
                    else "PAUSED_UNKNOWN")
        if resumed != promised:
            raise ConformanceFailure("resume() goes on where pause() stopped",
                                     "research §2.2, §3.3, §3.9", promised, resumed)
        # a finished task is not paused or queued again
        heard = len(events)
        self.device.run(task.pause())
        self.device.run(task.resume())
        self.device.run(until=self.device.env.now + 1.0)
        after_end = (SESSIONS[task.info().status], events[heard:])
        if after_end != ("SESSION_SUCCESSFUL", []):
            raise ConformanceFailure("pause() and resume() leave a finished task as it is",
                                     "research §3.3", ("SESSION_SUCCESSFUL", []), after_end)

    # -- the API 9 forms (research §2.1) -----------------------------------------------------

    def create_api9(self, config: Any, expected: int, caller_ok: bool = True,
                    detail: str = "") -> Any:
        """``downloadFile(context, config)``: ``expected`` is the code it throws (0: a task),
        on every profile a BusinessError (research §2.2), with the runtime's message for the
        code and, where given, its detail (§1.2)."""
        module = self.request if caller_ok else self.denied
        observed: int
        try:
            task = self.device.run(module.downloadFile(module.context, config))
            observed = 0
        except BusinessError as exc:
            observed, task = exc.code, None
            want = spec.MESSAGES.get(exc.code, "?") + (f"   {detail}" if detail else "")
            if not (exc.message == want if detail else exc.message.startswith(want)):
                raise ConformanceFailure("downloadFile message", "research §1.2, §3.1",
                                         want, exc.message) from None
        if observed != expected:
            raise ConformanceFailure("request.downloadFile", "research §2.2, §3.1",
                                     expected, observed)
        if observed:
            self.coverage.error("request.downloadFile", observed)
        return task

    @rule(where=st.sampled_from(["cache", "files", "relative", "default"]))
    def download_file_api9(self, where: str) -> None:
        """``downloadFile`` puts the file where ``filePath`` says: an absolute device path in
        the app's cache or files folder; relative, under ``context.cacheDir``; none, the
        URL's last segment there — or, on a release that takes only absolute paths, 13400002
        (research §3.1 step 8). It completes with the server's bytes."""
        context = self.request.context
        name = self.new_name()
        if where in ("relative", "default") and self.request_fidelity.absolute_paths_only:
            before = list(self.request_target.cache_files())
            self.create_api9({"url": self.url(), "filePath": "" if where == "default"
                              else name}, spec.EXCEPTION_FILEPATH,
                             detail="Download File Path Valid")
            if list(self.request_target.cache_files()) != before:
                raise ConformanceFailure("a refused path writes nothing", "research §3.1",
                                         before, list(self.request_target.cache_files()))
            return
        if where == "default":
            if self.default_made:  # its name is taken: 13400002 (research §3.1 step 8)
                self.create_api9({"url": self.url()}, spec.EXCEPTION_FILEPATH,
                                 detail="Download File already exists")
                return
            self.default_made = True
            self.start("/files/small.bin", "complete", 0, True,
                       api9=("", "small.bin", "cache"))
            return
        path = {"cache": f"{context.cacheDir}/{name}", "files": f"{context.filesDir}/{name}",
                "relative": name}[where]
        self.start("/files/small.bin", "complete", 0, True,
                   api9=(path, name, "files" if where == "files" else "cache"))

    @rule(kind=st.sampled_from(["outside", "missing-folder", "existing", "scheme"]))
    def download_file_bad_path(self, kind: str) -> None:
        """A ``filePath`` the app cannot have: outside its folders 13400001 (errno 13); in a
        folder that is not there 13400002 (the current platform: 13400001, errno 2); a file
        that exists, or a URI, 13400002 — and nothing is written (research §3.1 step 8)."""
        context = self.request.context
        name = self.new_name()
        missing = self.request_fidelity.missing_folder_code
        path, code, detail = {
            "outside": (f"/system/lib/{name}", spec.EXCEPTION_FILEIO,
                        "Failed to open file errno 13"),
            "missing-folder": (f"{context.filesDir}/nowhere/{name}", missing,
                               "Failed to open file errno 2" if missing == spec.EXCEPTION_FILEIO
                               else "Download File Path Valid"),
            "existing": (f"{context.cacheDir}/f0.bin", spec.EXCEPTION_FILEPATH,
                         "Download File already exists"),
            "scheme": (f"internal://cache/{name}", spec.EXCEPTION_FILEPATH,
                       "Download File Path Valid"),
        }[kind]
        if kind == "existing" and "f0.bin" not in self.request_target.cache_files():
            return
        before = list(self.request_target.cache_files())
        self.create_api9({"url": self.url(), "filePath": path}, code, detail=detail)
        after = list(self.request_target.cache_files())
        if after != before:
            raise ConformanceFailure("a refused path writes nothing", "research §3.1",
                                     before, after)

    @rule()
    def download_file_without_permission(self) -> None:
        """``downloadFile`` without INTERNET throws 201 on every profile (research §2.2)."""
        self.create_api9({"url": self.url()}, spec.EXCEPTION_PERMISSION, caller_ok=False)

    @rule()
    def api9_task_methods(self) -> None:
        """The task methods API 9 added, on a download from its start: the MIME type before
        the size probe (13400003, or ``""`` on the current platform; the legacy
        ``queryMimeType`` ``""``, or 13400003 on 3.2), ``suspend``/``restore``/``delete``
        resolving ``true`` and acting as ``pause``/``resume``/``remove``, ``getTaskInfo``
        the same fields as ``query`` (research §2.2, §3.7, §3.10)."""
        self.settle_tasks()
        if self.has_controls:
            self.device.controls.set_radio("wifi", True)
        name = self.new_name()
        context = self.request.context
        task = self.create_api9({"url": f"{self.url_base()}/files/big.bin",
                                 "filePath": f"{context.cacheDir}/{name}"}, 0)
        events = self.listen(task)
        fidelity = self.request_fidelity
        for method, rejects in (("getTaskMimeType", fidelity.empty_mime_rejects),
                                ("queryMimeType", fidelity.legacy_empty_mime_rejects)):
            try:
                mime: Any = self.device.run(getattr(task, method)())
            except BusinessError as exc:
                mime = exc.code
                self.coverage.error(f"DownloadTask.{method}", exc.code)
            want = spec.EXCEPTION_SERVICE if rejects else ""
            if mime != want and task.info().downloadTotalBytes in (-1, 0xFFFFFFFF):
                raise ConformanceFailure(f"{method}() before the size probe",
                                         "research §2.2, §3.10", want, mime)
        answers = [self.device.run(task.suspend())]
        paused = task.info()
        answers.append(self.device.run(task.restore()))
        now = task.info()  # (what getTaskInfo answers is taken as it is called)
        same = self.device.run(task.getTaskInfo()) == now
        answers.append(self.device.run(task.delete()))
        kinds = [k for k, _ in events if k != "progress"]
        kept = name in self.request_target.cache_files()
        observed = (answers, (SESSIONS[paused.status], PAUSES[paused.pausedReason]), same,
                    kinds, kept)
        expected = ([True, True, True], ("SESSION_PAUSED", "PAUSED_BY_USER"), True,
                    ["pause", "remove"], fidelity.remove_keeps_file)
        if observed != expected:
            raise ConformanceFailure("suspend, restore, getTaskInfo and delete",
                                     "research §2.2, §3.7, §3.10", expected, observed)

    @rule()
    def upload_file_api9(self) -> None:
        """``uploadFile`` takes only ``internal://cache/<name>`` URIs: another is 13400002
        with the file's name in the detail (research §4.1); a task's ``delete`` takes at most
        a callback (401) and resolves ``true`` (§4.7)."""
        assert self.server is not None
        context = self.request.context

        def config(uri: str) -> dict[str, Any]:
            return {"url": f"{self.server.url}/upload" if self.server else "", "header": {},
                    "method": "POST", "data": [],
                    "files": [{"filename": "f0.bin", "name": "file", "uri": uri,
                               "type": "application/octet-stream"}]}

        try:
            self.request.uploadFile(context, config("/data/f0.bin"))
            observed: Any = 0
        except BusinessError as exc:
            observed = (exc.code, exc.message)
        want = (spec.EXCEPTION_FILEPATH, "bad file path    --{f0.bin 13400002 bad file path}-- ")
        if observed != want:
            raise ConformanceFailure("uploadFile of a URI it cannot have", "research §4.1",
                                     want, observed)
        self.coverage.error("request.uploadFile", spec.EXCEPTION_FILEPATH)
        if "f0.bin" not in self.request_target.cache_files():
            return
        task = self.device.run(self.request.uploadFile(context, config("internal://cache/f0.bin")))
        try:
            task.delete("not a function")
            refused: Any = "accepted"
        except BusinessError as exc:
            refused = exc.code
        answered = self.device.run(task.delete())
        if (refused, answered) != (spec.EXCEPTION_PARAMCHECK, True):
            raise ConformanceFailure("UploadTask.delete", "research §4.7",
                                     (spec.EXCEPTION_PARAMCHECK, True), (refused, answered))
        self.coverage.error("UploadTask.delete", spec.EXCEPTION_PARAMCHECK)

    @rule(method=st.sampled_from(sorted(WRONG_CALLS)), wrong=st.sampled_from(WRONGS))
    def wrong_arguments(self, method: str, wrong: str) -> None:
        """Every method called as JavaScript may call it wrongly — an argument missing, one
        too many, one of the wrong type: the NAPI check's 401 (API 9 forms on every
        profile; the legacy forms a plain Error on a release that asserts, which ignores a
        wrong count of ``on``/``off`` arguments), never anything else, and nothing changes
        (research §2.2, §3.9, §4.1)."""
        args = WRONG_CALLS[method][wrong]
        if args is None:
            return  # (no such mistake: every argument of this method is optional)
        owner, _, name = method.partition(".")
        task = None
        if owner == "request":
            target: Any = self.request
        else:
            task = self.tasks[-1].task if self.tasks else self.create_api9({
                "url": self.url(), "filePath": f"{self.request.context.cacheDir}/"
                                               f"{self.new_name()}"}, 0)
            target = task
        context = self.request.context
        real = [context if a is CONTEXT else a for a in args]
        legacy = name not in API9_NAMES
        plain = legacy and self.request_fidelity.plain_param_errors
        want: int | str = "a plain Error" if plain else spec.EXCEPTION_PARAMCHECK
        if plain and owner == "DownloadTask" and name in ("on", "off") and wrong != "type":
            want = "ignored"  # release 3.2 drops a call with a wrong count (research §3.9)
        before = (list(self.request_target.cache_files()),
                  task.info() if task is not None else None)
        observed: int | str
        try:
            getattr(target, name)(*real)
            observed = "ignored"
        except JsError:
            observed = "a plain Error"
        except BusinessError as exc:
            observed = exc.code
            if not exc.message.startswith(spec.MESSAGES.get(exc.code, "?")):
                raise ConformanceFailure(f"{method} message", "research §1.2",
                                         spec.MESSAGES.get(exc.code), exc.message) from None
        if observed != want:
            raise ConformanceFailure(f"{method} with {wrong} arguments",
                                     "research §2.2, §3.9, §4.1", want, observed)
        after = (list(self.request_target.cache_files()),
                 task.info() if task is not None else None)
        if after != before:
            raise ConformanceFailure(f"{method} with {wrong} arguments changes nothing",
                                     "research §2.2", before, after)
        if observed == spec.EXCEPTION_PARAMCHECK:
            self.coverage.error(method, observed)

    def listen(self, task: Any) -> list[tuple[str, Any]]:
        """The task's events as they come: ``(kind, payload)``, the payload of progress
        (received, total), of fail its code."""
        events: list[tuple[str, Any]] = []
        for kind in ("complete", "pause", "remove"):
            task.on(kind, lambda k=kind, e=events: e.append((k, None)))
        task.on("fail", lambda code, e=events: e.append(("fail", code)))
        task.on("progress", lambda r, t, e=events: e.append(("progress", (r, t))))
        self.heard_events.append(events)
        return events

    def new_name(self) -> str:
        """A file name in the app's cache no download has used."""
        self.names += 1
        return f"f{self.names - 1}.bin"

    def served(self, name: str) -> bytes:
        assert self.server is not None
        return (self.server.root / name).read_bytes()

    def big_download(self, url: str | None = None, name: str | None = None
                     ) -> tuple[str, Any, list[tuple[str, Any]]]:
        """Once the downloads in flight have ended, one of ``big.bin`` (long enough to be
        interrupted; or ``url``) on Wi-Fi where the machine has Controls: its file name,
        task and events."""
        assert self.server is not None
        self.settle_tasks()
        if self.has_controls:
            self.device.controls.set_radio("wifi", True)  # the radio rules may have cut it
        name = name or self.new_name()
        task = self.create({"url": url or f"{self.server.url}/files/big.bin", "filePath": name},
                           0)
        return name, task, self.listen(task)

    def scripted(self, name: str, script: str) -> str:
        """A URL whose answers follow ``script``, one step per request (the probe first)."""
        assert self.server is not None
        return f"{self.server.url}/scripted/s{next(SCRIPTS)}/{name}?script={script}"

    @rule()
    def short_body(self) -> None:
        """A chunked answer that ends cleanly before the size the probe announced is a
        partial file: it fails with ERROR_UNHANDLED_HTTP_CODE, never completes (research §3.5,
        last row)."""
        self.start(self.scripted("small.bin", "ok,short").removeprefix(self.url_base()),
                   f"fail:{self.unhandled}", 0, True)

    def url_base(self) -> str:
        assert self.server is not None
        return self.server.url

    @precondition(lambda self: self.has_controls)
    @rule(fault=st.sampled_from(sorted(RESUME_FAULTS)))
    def resume_meets_another_answer(self, fault: str) -> None:
        """A download paused mid-body and resumed continues only the representation it began:
        an error page's body never reaches the file (the resume starts from 0 and completes
        with the file's bytes); a 206 of other bytes than asked, or a representation replaced
        meanwhile (``If-Range`` carries the first validator), fail with
        ERROR_UNHANDLED_HTTP_CODE and append nothing (research §3.5, §3.7)."""
        source = "big.bin"
        url = self.scripted(source, RESUME_FAULTS[fault])
        name, task, _events = self.big_download(url)
        if not self.pause_mid_body(task):
            return
        self.device.run(task.resume())
        self.settle_one(task)
        data = self.request_target.read_cache(name)
        served = self.served(source)
        info = task.info()
        # (the events are the other rules' to judge: here the state and the bytes)
        state = (SESSIONS[info.status], ERRORS[info.failedReason])
        if fault == "error-page":
            expected: tuple[Any, ...] = (("SESSION_SUCCESSFUL", "ERROR_UNKNOWN"),
                                         digest(served))
            observed: tuple[Any, ...] = (state, digest(data))
        else:
            expected = (("SESSION_FAILED", ERRORS[self.unhandled]),
                        "a prefix of the representation")
            observed = (state, "a prefix of the representation"
                        if served[:len(data)] == data else f"other bytes ({len(data)})")
        if fault == "replaced":
            # the resume names the representation the file holds (RFC 9110 §13.1.5)
            assert self.server is not None
            path = url.removeprefix(self.server.url)
            ranged = [h for _, p, h in self.server.requests if p == path and "Range" in h]
            expected += (etag(served),)
            observed += (ranged[-1].get("If-Range", "no If-Range") if ranged else "no resume",)
        if observed != expected:
            raise ConformanceFailure("a resume continues only the representation it began",
                                     "research §3.5, §3.7", expected, observed)

    @precondition(lambda self: self.longest_wait_s is None)  # (simulated time: it waits)
    @rule(when=st.sampled_from(["at-once", "mid-body", "after-fail"]))
    def user_removes(self, when: str) -> None:
        """remove() tells 'remove' whatever the task's state — at once after its creation,
        mid-body, once it has failed — and nothing follows it: the task is erased and its
        transfer's result ignored (research §3.7)."""
        if when == "after-fail":
            self.settle_tasks()
            task = self.create({"url": f"{self.url_base()}/status/404",
                                "filePath": self.new_name()}, 0)
            events = self.listen(task)
            self.settle_one(task)
        else:
            _, task, events = self.big_download()
            if when == "mid-body":
                self.device.run(until=self.device.env.now + 0.3)
        before = [k for k, _ in events if k != "progress"]
        self.device.run(task.remove())
        self.device.run(until=self.device.env.now + 2.0)
        expected = [*before, "remove"]
        if [k for k, _ in events if k != "progress"] != expected or events[-1][0] != "remove":
            raise ConformanceFailure(f"remove() {when}: 'remove' and nothing after it",
                                     "research §3.7", expected, [k for k, _ in events])

    def pause_mid_body(self, task: Any) -> bool:
        """0.3 s into a big download, pause it: whether it holds still then (whether pause()
        works is :meth:`user_pauses_and_resumes`'s to judge, not the caller's)."""
        self.device.run(until=self.device.env.now + 0.3)
        self.device.run(task.pause())
        held = task.info().downloadedBytes
        self.device.run(until=self.device.env.now + 1.0)
        info = task.info()
        return (info.status, info.downloadedBytes) == (spec.SESSION_PAUSED, held)

    def settle_one(self, task: Any, limit: float = 120.0) -> None:
        """Let time pass until ``task`` has ended, at most ``limit`` seconds (on hardware,
        where they are real ones, at most the machine's longest wait)."""
        env = self.device.env
        if self.longest_wait_s is not None:
            limit = min(limit, self.longest_wait_s)
        end = env.now + limit
        while env.now < end and task.info().status not in ENDED:
            self.device.run(until=env.now + 1.0)

    def outside_untouched(self, before: Any) -> None:
        after = self.request_target.outside_state()
        if list(after) != list(before):
            raise ConformanceFailure("nothing outside the sandbox is read, written or deleted",
                                     "research §3.1 step 8", before, after)

    @precondition(lambda self: self.has_controls)
    @rule(stage=st.sampled_from(["before-start", "mid-body", "before-remove"]))
    def path_swapped_for_a_symlink(self, stage: str) -> None:
        """A symlink swapped in for a download's folder before it starts is a bad path
        (13400002: the folder's realpath must be itself); one swapped for its file while it
        runs, or for its folder before remove(), is never followed: no byte outside the
        sandbox is written or deleted (research §3.1 step 8, §3.7)."""
        before = list(self.request_target.outside_state())
        if stage == "before-start":
            folder = f"l{next(SCRIPTS)}"
            self.request_target.plant_link(folder)
            self.create({"url": self.url(), "filePath": f"{folder}/f.bin"},
                        spec.EXCEPTION_FILEPATH)
        elif stage == "mid-body":
            name, task, _ = self.big_download()
            if not self.pause_mid_body(task):
                return
            self.request_target.swap_for_symlink(name)
            self.device.run(task.resume())
            self.settle_one(task)
            status = SESSIONS[task.info().status]
            if status != "SESSION_SUCCESSFUL":
                raise ConformanceFailure("a download goes on when its file is swapped",
                                         "research §3.7", "SESSION_SUCCESSFUL", status)
        else:
            folder = f"d{next(SCRIPTS)}"
            _, task, _events = self.big_download(self.url(), f"{folder}/f.bin")
            self.settle_one(task)
            self.request_target.swap_for_symlink(folder)
            self.device.run(task.remove())
        self.outside_untouched(before)

    @rule()
    def a_listener_that_raises(self) -> None:
        """An app's listener that throws does not stop its task: the download completes with
        the server's bytes (a throwing JS callback does not stop the platform's service).
        Over syncrig-rpc/1 a callback runs in the client and cannot throw into the target:
        there the listener does not throw."""
        name, task, _events = self.big_download(self.url())

        def throws(*_: Any) -> None:
            raise AppListenerError("the app's listener failed")

        if isinstance(self.request_target, ReferenceRequest):
            task.on("progress", throws)
        try:
            self.settle_one(task)
        except AppListenerError:
            raise ConformanceFailure("a listener that throws does not stop its task",
                                     "research §3.9", "the task goes on",
                                     "the listener's exception stopped the device") from None
        status = SESSIONS[task.info().status]
        data = self.request_target.read_cache(name)
        observed = (status, digest(data))
        expected = ("SESSION_SUCCESSFUL", digest(self.served("small.bin")))
        if observed != expected:
            raise ConformanceFailure("a listener that throws does not stop its task",
                                     "research §3.9", expected, observed)

    def run_to_completion(self, task: Any, limit: float = 120.0) -> None:
        env = self.device.env
        end = env.now + limit
        while env.now < end and task.info().status != spec.SESSION_SUCCESSFUL:
            self.device.run(until=env.now + 1.0)

    @precondition(lambda self: self.server is not None and self.has_controls)
    @rule()
    def storage_full(self) -> None:
        """No room on the device for the file: the download fails with
        ERROR_INSUFFICIENT_SPACE (documented; research §3.6) and the storage is left as it
        was."""
        self.settle_tasks()
        storage = self.device.storage
        filled = self.device.controls.fill_storage(storage.free)
        try:
            code = spec.ERROR_INSUFFICIENT_SPACE if \
                self.request_fidelity.insufficient_space_code else spec.ERROR_HTTP_DATA_ERROR
            self.start("/files/small.bin", f"fail:{code}", 0, True)
            self.settle_tasks()
        finally:
            self.device.controls.free_storage(filled)

    @precondition(lambda self: self.has_controls)
    @rule(radio=st.sampled_from(["wifi", "cellular"]), up=st.booleans())
    def radio(self, radio: str, up: bool) -> None:
        # only between downloads: the outcome of one in flight is predicted at its start
        if all(self.ended(i) for i in range(len(self.tasks))):
            self.set_radios(up, (radio,))

    time_passes = passing_time(1.0, 30.0)

    @invariant()
    def tasks_keep_their_promises(self) -> None:
        for events in self.heard_events:
            follow_event_order(self.coverage, spec.DOWNLOAD_EVENTS, EVENT_ORDER,
                               [kind for kind, _ in events], "research §3.3, §3.7, §3.9")
        for index, download in enumerate(self.tasks):
            # the tasks here are not paused by a rule: a pause is where such a task ends
            finals = [e for e in download.events if e[0] in FINAL]
            if download.outcome == WAITS and finals[:1] == [("pause", None)]:
                finals = finals[:1]  # a waiting task goes on by itself (research §3.13)
            if len(finals) > 1:
                raise ConformanceFailure("one complete, fail or pause per task", "research §3.9",
                                         1, finals)
            progress = [p for kind, p in download.events if kind == "progress"]
            growing([r for r, _ in progress])
            if finals and index not in self.held:
                self.hold_to_outcome(download, finals[0], progress)
                self.held.add(index)

    def last_progress(self, path: str) -> tuple[int, int]:
        """The progress a complete download of ``path`` ends with, in the profile's unit:
        every byte received, of the Content-Length — -1 where it is served chunked
        (research §3.9)."""
        assert self.server is not None
        size = (self.server.root / path.rsplit("/", 1)[-1]).stat().st_size
        unit = self.request_fidelity.progress_unit
        return size // unit, -1 if path.startswith("/chunked/") else size // unit

    def hold_to_outcome(self, download: Download, final: tuple[str, Any],
                        progress: list[Any]) -> None:
        """A task's end against its prediction, once: what its info says then does not
        change without another event, which the invariant's other checks catch."""
        task, outcome, network_type = download.task, download.outcome, download.network_type
        info = task.info()
        kind = final[0]
        observed = {"complete": "complete", "fail": f"fail:{final[1]}",
                    "pause": f"pause:{info.pausedReason}:{info.failedReason}"}[kind]
        if outcome == WAITS and kind == "pause" and info.status != spec.SESSION_PAUSED:
            observed = WAITS  # it has gone on by itself since, as a waiting task does
        if observed != outcome:
            raise ConformanceFailure("download outcome", "research §3.3, §3.5, §3.8",
                                     outcome, observed)
        if observed == "complete" and (progress[-1] if progress else None) != \
                download.last_progress:
            # (not promised by the page, but what arrives in practice: XTS ON_0001 waits
            # for it)
            raise ConformanceFailure("complete after progress reports every byte",
                                     "research §3.9", download.last_progress,
                                     progress[-1] if progress else "no progress")
        if observed == "complete" and download.name:
            data = self.request_target.read_files(download.name) \
                if download.folder == "files" else self.request_target.read_cache(download.name)
            want = digest(self.served(download.source))
            if digest(data) != want:
                raise ConformanceFailure("a complete download holds the representation",
                                         "research §3.5", f"{len(self.served(download.source))} "
                                         f"bytes, SHA-256 {want[:16]}",
                                         f"{len(data)} bytes, SHA-256 {digest(data)[:16]}")
        if observed == "complete":
            # the reasons keep their initial values on a task that never paused or failed
            # (research §3.3)
            reasons = (PAUSES[info.pausedReason], ERRORS[info.failedReason])
            if reasons != ("PAUSED_UNKNOWN", "ERROR_UNKNOWN"):
                raise ConformanceFailure("reasons of a completed task", "research §3.3",
                                         ("PAUSED_UNKNOWN", "ERROR_UNKNOWN"), reasons)
            self.coverage.value("PAUSED", "PAUSED_UNKNOWN")
        # the networkType value's documented effect has now been checked
        for name in ("NETWORK_WIFI", "NETWORK_MOBILE"):
            if network_type & getattr(spec, name):
                self.coverage.value("NETWORK", name)
        self.coverage.value("SESSION", SESSIONS[info.status])
        if kind == "fail":
            self.coverage.value("ERROR", ERRORS.get(final[1], "?"))
        if kind == "pause":
            self.coverage.value("PAUSED", PAUSES[info.pausedReason])
            self.coverage.value("ERROR", ERRORS[info.failedReason])
        self.coverage.error(f"DownloadTask.{kind}", final[1] or 0)

    def ends_are_told(self) -> None:
        """Every task that has ended said so to its listeners (research §3.9): a task
        completed, failed or paused without its event leaves the app waiting forever."""
        for download in self.tasks:
            task, events = download.task, download.events
            status = task.info().status
            if status in ENDED and not any(kind in FINAL for kind, _ in events):
                raise ConformanceFailure("an ended task tells its listeners", "research §3.9",
                                         f"a {ENDED[status]} event", "none")

    @invariant()
    def states_move_along_allowed_transitions(self) -> None:
        history: dict[int, str] = {}
        for task, status in self.states:
            state = SESSIONS[status]
            previous = history.get(task)
            if previous is not None and previous != state:
                if (previous, state) not in ALLOWED:
                    raise ConformanceFailure("DownloadTask state", "research §3.3",
                                             sorted(ALLOWED), (previous, state))
                self.coverage.transition("DownloadTask", previous, state)
            self.coverage.value("SESSION", state)  # a state seen, on an allowed path
            history[task] = state
