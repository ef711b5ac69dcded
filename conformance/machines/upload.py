"""Rules for ``@ohos.request`` uploads, mixed into the request machine (and so the device
campaign): real multipart POSTs and PUTs of files in the app's cache to the fixture server, each
upload let run to its end in its rule and held to what research §4 says — per-file TaskState
codes and messages (§1.3, §4.5), progress (§4.4), headerReceive (§4.6), on/off/remove (§4.7)
— and what the server received compared byte for byte with the files."""

from __future__ import annotations

import itertools
import random
from pathlib import Path
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule

from conformance.machines.base import ConformanceFailure, Step, combos, follow_event_order
from conformance.machines.events import DeviceEvents
from sim.ohos.common import BusinessError
from sim.spec import ohos_request as spec

FINALS = ("complete", "fail")
EVENT_ORDER = {(t.source, t.target) for t in spec.UPLOAD_EVENT_ORDER}  # research §4.4–§4.7
ANSWERS = {"200": "status=200", "201": "status=201", "404": "status=404",
           "500": "status=500", "drop": "drop_after=2000", "slow": "delay_headers=0.3"}
"""How the server answers an upload (query of ``/upload``), by the name a rule samples."""
UPLOADS = itertools.count()
"""Unique tokens: each upload's URL names its own, so the server's records of it are found."""


class UploadRecord:
    """One upload the machine made: the task, its events as heard, and what it sent."""

    def __init__(self, task: Any, names: list[str], sizes: list[int], unit: int) -> None:
        self.task = task
        self.names = names
        self.total = sum(sizes) // unit
        self.events: list[tuple[str, Any]] = []
        self.late: list[tuple[str, Any]] = []
        """What a listener heard once ``off`` had been called for its type."""
        self.live = {"progress", "headerReceive", *FINALS}
        self.removed = False
        self.listeners = {kind: self.listener(kind) for kind in sorted(self.live)}

    def listen(self) -> None:
        """One listener per type, each recording ``(type, payload)``; kept by :attr:`live`."""
        for kind, listener in self.listeners.items():
            self.task.on(kind, listener)

    def listener(self, kind: str) -> Any:
        def heard(*args: Any) -> None:
            payload = args if kind == "progress" else args[0]
            (self.events if kind in self.live else self.late).append((kind, payload))
        return heard

    def finals(self) -> list[tuple[str, Any]]:
        return [e for e in self.events if e[0] in FINALS]


def states(payload: Any) -> list[tuple[str, int, str]]:
    """A TaskState array as comparable tuples."""
    return [(s.path, s.responseCode, s.message) for s in payload or []]


def expected_states(names: list[str], codes: list[int]) -> list[tuple[str, int, str]]:
    return [(n, c, spec.UPLOAD_MESSAGES[c]) for n, c in zip(names, codes, strict=True)]


def content(index: int, size: int) -> bytes:
    """A file's bytes, reproducible from its index."""
    return random.Random(index).randbytes(size)


def simulated(machine: Any) -> bool:
    """Whether the device's time is simulated: on hardware an upload's seconds are real and
    these rules, which wait for each upload to end, are left out of a bring-up."""
    return machine.longest_wait_s is None


class UploadRules(DeviceEvents):
    """Upload rules; the machine they are mixed into provides ``request``,
    ``request_target``, ``device``, ``server``, ``request_fidelity`` and ``has_controls``."""

    request: Any
    request_target: Any
    server: ClassVar[Any]
    request_fidelity: ClassVar[Any]
    device: Any

    def __init__(self) -> None:
        super().__init__()
        self.uploads: list[UploadRecord] = []
        self.files_made = 0

    def settle_downloads(self) -> None:
        """Let the downloads in flight end first, where the machine has them: each was
        predicted for the network it began on, which a rule here is about to change."""
        settle = getattr(self, "settle_tasks", None)
        if settle is not None:
            settle()

    @classmethod
    def upload_tour(cls) -> list[Step]:
        """The upload rules' tour steps (the request machine's tour adds them)."""
        return [
            *combos("upload_files", method=["POST", "PUT"], count=[2],
                    answer=sorted(ANSWERS), api9=[False]),
            *combos("upload_files", method=["POST"], count=[1], answer=["200"], api9=[True]),
            *combos("upload_an_unusable_file", kind=["missing", "scheme"], first=[True, False],
                    api9=[False, True]),
            *combos("radio_lost_mid_upload"),
            *combos("remove_upload", when=["before", "during", "after"], api9=[False, True]),
            *combos("upload_listeners_off_and_late",
                    kind=["progress", "headerReceive", "complete", "fail"]),
        ]

    # -- helpers ---------------------------------------------------------------------------

    def cache_file(self, size: int) -> tuple[str, bytes]:
        """A new file of ``size`` bytes in the app's cache: its name and bytes."""
        index = self.files_made
        self.files_made += 1
        name = f"u{index}.bin"
        data = content(index, size)
        self.request_target.write_cache(name, data)
        return name, data

    def upload_online(self) -> bool:
        """Wi-Fi up where the machine has Controls; whether there is a network to upload on."""
        if self.request_target.has_controls:
            self.device.controls.set_radio("wifi", True)
        return bool(self.device.sensors.network().internet)

    def upload_url(self, answer: str) -> tuple[str, str]:
        """A URL of the server's upload route answering as ``answer`` says, and its path."""
        path = f"/upload?{ANSWERS[answer]}&reply_header=X-Syncrig:u{next(UPLOADS)}"
        return f"{self.server.url}{path}", path

    def upload_config(self, url: str, method: str, files: list[dict[str, str]],
               fields: list[dict[str, str]] | None = None,
               header: dict[str, str] | None = None) -> dict[str, Any]:
        return {"url": url, "header": header or {}, "method": method, "files": files,
                "data": fields or []}

    def start_upload(self, config: dict[str, Any], names: list[str], sizes: list[int],
                     api9: bool) -> UploadRecord:
        """Create the upload (legacy ``upload`` or API 9 ``uploadFile``) and listen to it at
        once (before its 50 ms start, research §1.3)."""
        if api9:
            promise = self.request.uploadFile(self.request.context, config)
        else:
            promise = self.request.upload(config)
        task = self.device.run(promise)
        record = UploadRecord(task, names, sizes, self.request_fidelity.progress_unit)
        record.listen()
        self.uploads.append(record)
        return record

    def settle_upload(self, record: UploadRecord, limit: float = 60.0) -> None:
        env = self.device.env
        end = env.now + limit
        while env.now < end and not record.finals() and not record.removed:
            self.device.run(until=env.now + 0.5)

    def upload_received(self, path: str) -> list[Any]:
        return [r for r in self.server.received if r.path == path]

    def upload_outcome(self, record: UploadRecord, codes: list[int], what: str) -> None:
        """Exactly one final event — complete if every file's code is 0, else fail — with one
        TaskState per file in order (research §4.5)."""
        kind = "complete" if all(c == spec.UPLOAD_OK for c in codes) else "fail"
        expected = [(kind, expected_states(record.names, codes))]
        observed = [(k, states(p)) for k, p in record.finals()]
        if observed != expected:
            raise ConformanceFailure(what, "research §1.3, §4.5", expected, observed)

    def predicted_part(self, name: str, filename: str, uri_name: str) -> tuple[str, str]:
        """The file part's name and filename on this profile (research §4.3)."""
        fidelity = self.request_fidelity
        part = "file" if fidelity.multipart_name_file else name
        return part, uri_name if fidelity.multipart_filename_from_uri else filename

    # -- rules -----------------------------------------------------------------------------

    @precondition(simulated)
    @rule(method=st.sampled_from(["POST", "PUT"]), count=st.integers(1, 3),
          answer=st.sampled_from(sorted(ANSWERS)), api9=st.booleans())
    def upload_files(self, method: str, count: int, answer: str, api9: bool) -> None:
        """Files uploaded one request each (research §4.3): a POST carries the form fields,
        then the file part (its name and filename as the profile sends them); a PUT the raw
        bytes; the user's header on each. Success is HTTP 200 exactly: another 2xx, 4xx or 5xx
        is code 5 for that file, a connection dropped mid-body 4; a slow answer is still
        success. The server receives each file's bytes exactly."""
        if not self.upload_online():
            return
        url, path = self.upload_url(answer)
        files, names, blobs = [], [], []
        for i in range(count):
            name, data = self.cache_file(3000 + 7919 * i)
            files.append({"filename": f"given-{name}", "name": f"part{i}",
                          "uri": f"internal://cache/{name}", "type": "application/x-test"})
            names.append(name)
            blobs.append(data)
        fields = [{"name": "who", "value": "syncrig"}, {"name": "n", "value": str(count)}]
        record = self.start_upload(
            self.upload_config(url, method, files, fields, {"X-Client": "conformance"}),
            names, [len(b) for b in blobs], api9)
        self.settle_upload(record)
        code = {"200": spec.UPLOAD_OK, "slow": spec.UPLOAD_OK,
                "drop": spec.UPLOAD_LIB_ERROR}.get(answer, spec.UPLOAD_FAIL)
        self.upload_outcome(record, [code] * count, f"upload answered {answer}")
        progress = [p for k, p in record.events if k == "progress"]
        if code == spec.UPLOAD_OK and progress[-1:] != [(record.total, record.total)]:
            raise ConformanceFailure("an upload's progress ends at its total", "research §4.4",
                                     (record.total, record.total),
                                     progress[-1] if progress else "no progress")
        if answer != "drop":
            self.headers_heard(record, answer, count)
            self.server_got(path, method, files, fields, blobs)

    def headers_heard(self, record: UploadRecord, answer: str, count: int) -> None:
        """headerReceive: the raw header block as one string, for the last file only when it
        was answered 200 and for every other answer (release 3.2); documented and current, an
        object ``{headers, body}`` once per file (research §4.6)."""
        heard = [p for k, p in record.events if k == "headerReceive"]
        ok = answer in ("200", "slow")
        if self.request_fidelity.header_receive_string:
            want: Any = (1 if ok else count, "str")
            seen: Any = (len(heard), "str" if all(isinstance(h, str) and h.startswith("HTTP/")
                                                  and h.endswith("\r\n") for h in heard)
                         else [type(h).__name__ for h in heard])
        else:
            want = (count, "X-Syncrig")
            seen = (len(heard), "X-Syncrig" if all(
                isinstance(h, dict) and "X-Syncrig" in h.get("headers", {}) for h in heard)
                else heard[:1])
        if seen != want:
            raise ConformanceFailure("headerReceive per file", "research §4.6", want, seen)

    def server_got(self, path: str, method: str, files: list[dict[str, str]],
                   fields: list[dict[str, str]], blobs: list[bytes]) -> None:
        """What the server received: one request per file, in order, with the user's header,
        the form fields and the file's part (POST) or the raw bytes (PUT), byte for byte."""
        got = self.upload_received(path)
        expected: list[Any] = []
        observed: list[Any] = []
        for f, blob, r in itertools.zip_longest(files, blobs, got):
            if f is None or r is None:
                observed.append("an extra request" if f is None else "no request")
                expected.append("a request per file")
                continue
            part = r.files[0] if r.files else {}
            stored = Path(str(part.get("stored", ""))).read_bytes() if part else b""
            name = f["uri"].rsplit("/", 1)[-1]
            if method == "POST":
                want_part: tuple[Any, ...] = (
                    *self.predicted_part(f["name"], f["filename"], name), f["type"],
                    {d["name"]: d["value"] for d in fields})
                seen_part: tuple[Any, ...] = (part.get("name"), part.get("filename"),
                                              part.get("content_type"), r.fields)
            else:
                want_part, seen_part = (), ()
            expected.append((r.method if r.method == method else method, "conformance",
                             *want_part, len(blob), "same bytes"))
            observed.append((r.method, r.headers.get("X-Client"), *seen_part, len(stored),
                             "same bytes" if stored == blob else f"other bytes ({name})"))
        if observed != expected:
            raise ConformanceFailure("the server receives each file as sent", "research §4.3",
                                     expected, observed)

    @precondition(simulated)
    @rule(kind=st.sampled_from(["missing", "scheme"]), first=st.booleans(), api9=st.booleans())
    def upload_an_unusable_file(self, kind: str, first: bool, api9: bool) -> None:
        """A file that cannot be obtained — not in the cache (code 2) or under a URI that is
        not ``internal://`` (code 1) — and nothing is sent: that file reports its code, every
        other 5 "upload failed" (research §4.2, §4.5). ``uploadFile`` refuses such a URI with
        13400002 at the call, and (documented, and the current platform) a missing file too;
        release 3.2 reports the missing file as code 2."""
        if not self.upload_online():
            return
        url, path = self.upload_url("200")
        good, data = self.cache_file(2048)
        bad = f"absent{next(UPLOADS)}.bin"
        bad_uri = f"internal://cache/{bad}" if kind == "missing" else f"file:///data/{bad}"
        entries = [(good, f"internal://cache/{good}"), (bad, bad_uri)]
        if not first:
            entries.reverse()
        files = [{"filename": n, "name": "file", "uri": u, "type": "application/octet-stream"}
                 for n, u in entries]
        config = self.upload_config(url, "POST", files)
        if api9 and (kind == "scheme" or self.request_fidelity.upload_checks_files):
            try:
                self.request.uploadFile(self.request.context, config)
                observed: Any = "a task"
            except BusinessError as exc:
                observed = exc.code
            if observed != spec.EXCEPTION_FILEPATH:
                raise ConformanceFailure("uploadFile of a file it cannot have",
                                         "research §4.1", spec.EXCEPTION_FILEPATH, observed)
            return
        record = self.start_upload(config, [n for n, _ in entries], [len(data)], api9)
        self.settle_upload(record)
        code = spec.UPLOAD_GET_FILE_ERROR if kind == "missing" else spec.UPLOAD_UNSUPPORTED_URI
        self.upload_outcome(record, [code if n == bad else spec.UPLOAD_FAIL for n, _ in entries],
                     f"an upload with a {kind} file")
        if self.upload_received(path):
            raise ConformanceFailure("nothing is sent when a file cannot be had",
                                     "research §4.5", [], self.upload_received(path))

    @precondition(lambda self: self.has_controls)
    @rule()
    def radio_lost_mid_upload(self) -> None:
        """The radio goes while a file's body is on the link: the transfer stops there, that
        file and the next report code 4 "libcurl return error" and the task fails; the server
        never holds a whole file (research §4.3, §4.5)."""
        self.settle_downloads()
        self.upload_online()
        url, path = self.upload_url("200")
        names, blobs = [], []
        for size in (6_000_000, 1000):
            name, data = self.cache_file(size)
            names.append(name)
            blobs.append(data)
        files = [{"filename": n, "name": "file", "uri": f"internal://cache/{n}",
                  "type": "application/octet-stream"} for n in names]
        record = self.start_upload(self.upload_config(url, "PUT", files), names,
                                   [len(b) for b in blobs], False)
        self.device.run(until=self.device.env.now + 0.2)
        self.set_radios(False)
        try:
            self.settle_upload(record, limit=30.0)
        finally:
            self.set_radios(True)
        self.upload_outcome(record, [spec.UPLOAD_LIB_ERROR] * 2, "radio lost mid-upload")
        whole = [r for r in self.upload_received(path) if not r.incomplete
                 and r.files and r.files[0]["size"] == len(blobs[0])]
        if whole:
            raise ConformanceFailure("a lost radio stops the upload", "research §4.3",
                                     "no whole file at the server", f"{len(whole)} whole")

    @precondition(simulated)
    @rule(when=st.sampled_from(["before", "during", "after"]), api9=st.booleans())
    def remove_upload(self, when: str, api9: bool) -> None:
        """``remove()`` (or API 9 ``delete()``) resolves ``true`` at any time (research
        §4.7): before the start nothing is sent, during a body the transfer stops; neither
        complete nor fail follows — every file's code is 7, which release 3.2's ``off`` shows.
        After the end it changes nothing."""
        if not self.upload_online():
            return
        url, path = self.upload_url("200")
        size = 6_000_000 if when == "during" else 4096
        name, _ = self.cache_file(size)
        files = [{"filename": name, "name": "file", "uri": f"internal://cache/{name}",
                  "type": "application/octet-stream"}]
        record = self.start_upload(self.upload_config(url, "POST", files), [name], [size], api9)
        if when == "during":
            self.device.run(until=self.device.env.now + 0.2)
        elif when == "after":
            self.settle_upload(record)
        heard = len(record.finals())
        answered = self.device.run(record.task.delete() if api9 else record.task.remove())
        record.removed = True
        self.device.run(until=self.device.env.now + 5.0)
        finals = record.finals()
        if when == "after":
            expected: Any = (True, 1, [], "the file")
            got = self.upload_received(path)
            observed: Any = (answered, len(finals), finals[heard:],
                             "the file" if len(got) == 1 and not got[0].incomplete else got)
        else:
            whole = [r for r in self.upload_received(path) if not r.incomplete]
            expected = (True, [], [])
            observed = (answered, finals, whole)
        if observed != expected:
            raise ConformanceFailure(f"remove() {when} the upload", "research §4.7",
                                     expected, observed)
        if when != "after" and self.request_fidelity.off_calls_callback:
            told: list[Any] = []
            record.task.off("fail", told.append)
            want = [expected_states([name], [spec.UPLOAD_REMOVED])]
            if [states(t) for t in told] != want:
                raise ConformanceFailure("a removed upload's files report 7",
                                         "research §1.3, §4.7", want,
                                         [states(t) for t in told])

    @precondition(simulated)
    @rule(kind=st.sampled_from(["progress", "headerReceive", "complete", "fail"]))
    def upload_listeners_off_and_late(self, kind: str) -> None:
        """``off(type, cb)`` before the start silences that type (release 3.2: it first calls
        ``cb`` once with the current data, research §4.7); a listener registered after the
        end gets the sticky complete/fail states, the current progress, or the headers that
        arrived with no listener (§4.4, §4.5, §4.6)."""
        if not self.upload_online():
            return
        url, _path = self.upload_url("200" if kind != "fail" else "500")
        name, data = self.cache_file(5000)
        files = [{"filename": name, "name": "file", "uri": f"internal://cache/{name}",
                  "type": "application/octet-stream"}]
        record = self.start_upload(self.upload_config(url, "POST", files), [name],
                                   [len(data)], False)
        record.live.discard(kind)
        record.task.off(kind, record.listeners[kind])
        self.device.run(until=self.device.env.now + 10.0)
        called = {"progress": [("progress", (0, 0))], "headerReceive": [("headerReceive", None)],
                  "complete": [("complete", [])], "fail": [("fail", [])]}[kind]
        expected: Any = (called if self.request_fidelity.off_calls_callback else [], [])
        observed: Any = (record.late, [e for e in record.events if e[0] == kind])
        if observed != expected:
            raise ConformanceFailure(f"off('{kind}') silences it", "research §4.7",
                                     expected, observed)
        late: list[Any] = []
        record.task.on(kind, lambda *args: late.append(args))
        if kind == "progress":
            want: Any = [(record.total, record.total)]
            seen: Any = late
        elif kind in FINALS:
            code = spec.UPLOAD_OK if kind == "complete" else spec.UPLOAD_FAIL
            want = [expected_states([name], [code])]
            seen = [states(a[0]) for a in late]
        else:
            want, seen = 1, len(late)
        if seen != want:
            raise ConformanceFailure(f"a late '{kind}' listener", "research §4.4–§4.6",
                                     want, seen)

    @invariant()
    def uploads_keep_their_promises(self) -> None:
        """Of every upload: at most one complete or fail, none after remove(); progress only
        grows and never passes the total (research §4.4, §4.5, §4.7); its events come in the
        documented order (those of an upload that listens to every type)."""
        for record in self.uploads:
            if record.live == set(record.listeners):
                follow_event_order(self.coverage, spec.UPLOAD_EVENTS, EVENT_ORDER,
                                   [kind for kind, _ in record.events], "research §4.4–§4.7")
            finals = record.finals()
            if len(finals) > 1:
                raise ConformanceFailure("one complete or fail per upload", "research §4.5", 1,
                                         [k for k, _ in finals])
            progress = [p for k, p in record.events if k == "progress"]
            sent = [p[0] for p in progress]
            if any(b <= a for a, b in itertools.pairwise(sent)) or any(
                    not 0 <= r <= t or t != record.total for r, t in progress):
                raise ConformanceFailure("upload progress grows up to the total",
                                         "research §4.4", f"growing, at most {record.total}",
                                         progress)

