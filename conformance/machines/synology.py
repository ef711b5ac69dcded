"""A state machine for ``SYNO.CloudSync`` against a ``nas`` target: setters with values inside
and outside the documented limits, reads that must reflect what was acknowledged, and error
codes predicted from the spec table. On a ``read_only`` target only the reads run."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import invariant, precondition, rule

from conformance.coverage import Coverage
from conformance.machines.base import ConformanceFailure, RecordedMachine, Step, combos
from conformance.targets.nas import NasTarget
from sim.spec import synology as spec

LOG_LIMIT = spec.MAX_LOG_COUNT
"""The most lines one get_log asks for: as many as a connection may keep (log_count's
documented maximum), so one call reads the whole log."""


def _shown(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in params.items())


class SynologyMachine(RecordedMachine):
    """Bind :attr:`nas_factory` to a callable returning a fresh :class:`NasTarget`."""

    nas_factory: Any = None
    coverage = Coverage()
    unreachable: ClassVar[dict[Any, str]] = {}
    """Documented items this target may not be driven to, with the reason (set per run)."""

    def __init__(self) -> None:
        super().__init__()
        self.nas: NasTarget = self.make_nas()
        config = self.ok("get_config")
        self.workers = config["worker_count"]
        self.log_count = config["log_count"]
        self.sync_mode = config["sync_mode"]
        connections = self.ok("list_conn")
        self.paused_all = connections["is_pause"]
        self.tray_status: str = connections["tray_status"]
        self.directions: dict[int, str] = {}
        self.filters: dict[int, tuple[list[str], int]] = {}
        self.connections = {c["id"] for c in self.ok("list_conn")["conn"]}
        self.conn_names: dict[int, str] = {}

    def make_nas(self) -> NasTarget:
        """The session the machine talks to; a combined machine also makes the NAS."""
        target: NasTarget = self.nas_factory()
        return target

    def teardown(self) -> None:
        self.nas.close()

    @classmethod
    def tour(cls) -> list[Step]:
        return [
            *combos("global_config_limits"),
            *combos("set_session_setting", direction=[*spec.SYNC_DIRECTIONS, "SIDEWAYS"]),
            *combos("set_schedule_setting", length=[spec.SCHEDULE_LENGTH - 1,
                                                    spec.SCHEDULE_LENGTH]),
            *combos("set_personal_config", delete_from_cloud=[True, False]),
            *combos("pause_resume_cycle"),
            *combos("set_selective_sync_config", extensions=[["mp3", "iso"], []],
                    max_size=[1_048_576, -1]),
            *combos("get_selective_folder_list"), *combos("get_conn_auth_info"),
            *combos("read_tasks"),
            *combos("get_recently_change"), *combos("get_log", limit=[1, 200]),
            *combos("nas_time_passes", seconds=[3600]), *combos("log_pages_and_filters"),
            *combos("get_property", connection=[3, 5]),
            *combos("get_connection_setting", connection=[3, 5]),
            *combos("set_connection_setting", name=["Renamed", " "], part_size=[10, 5000]),
            *combos("task_lifecycle", path=["/docs", "/nowhere"],
                    direction=["ONLY_UPLOAD", "SIDEWAYS"]),
            *combos("unknown_ids"), *combos("missing_parameter"), *combos("unknown_method"),
            *combos("malformed_parameters", kind=["not-a-number", "not-a-bool",
                                                  "missing-bool"]),
            *combos("unlink_connection"),  # last: the NAS loses a connection
        ]

    # -- checking ----------------------------------------------------------------------------

    def reply(self, method: str, expected: int, **params: Any) -> dict[str, Any]:
        body = self.nas.call(method, **params)
        observed: int | str = 0
        if not body.get("success"):
            error = body.get("error")
            code = error.get("code") if isinstance(error, dict) else None
            # a reply without a numeric code is a finding about the target, not a crash
            observed = code if isinstance(code, int) and not isinstance(code, bool) \
                else f"error without a numeric code: {json.dumps(error)}"
        if observed != expected:
            raise ConformanceFailure(f"SYNO.CloudSync {method}", f"{spec.DOCUMENT} {method}",
                                     expected, observed)
        self.coverage.error(f"CloudSync.{method}", observed)
        return body

    def ok(self, method: str, **params: Any) -> Any:
        return self.reply(method, 0, **params).get("data")

    @property
    def writable(self) -> bool:
        return not self.nas.read_only

    # -- rules ---------------------------------------------------------------------------------

    @precondition(lambda self: self.writable)
    @rule(workers=st.sampled_from([-1, 0, 1, 2, spec.MAX_WORKERS, spec.MAX_WORKERS + 1]),
          log_count=st.sampled_from([0, 1, 20000, 100000, 100001]))
    def set_global_config(self, workers: int, log_count: int) -> None:
        valid = 1 <= workers <= spec.MAX_WORKERS and 1 <= log_count <= spec.MAX_LOG_COUNT
        self.reply("set_global_config", 0 if valid else spec.INVALID_PARAMETER,
                   repo_vol_path="/volume1", log_count=log_count, worker_count=workers,
                   admin_mode="enable")
        if valid:
            self.workers, self.log_count = workers, log_count

    @precondition(lambda self: self.writable)
    @rule()
    def global_config_limits(self) -> None:
        """worker_count and log_count at and past each documented limit: inside is saved,
        outside is 120 and changes nothing (the invariants read it back)."""
        for workers in (0, 1, spec.MAX_WORKERS, spec.MAX_WORKERS + 1):
            self.set_global_config(workers, 1)
        for log_count in (0, 1, spec.MAX_LOG_COUNT, spec.MAX_LOG_COUNT + 1):
            self.set_global_config(1, log_count)

    @precondition(lambda self: self.writable)
    @rule(direction=st.sampled_from([*spec.SYNC_DIRECTIONS, "SIDEWAYS", ""]))
    def set_session_setting(self, direction: str, session: int = 4) -> None:
        valid = direction in spec.SYNC_DIRECTIONS and session == 4
        self.reply("set_session_setting", 0 if valid else spec.INVALID_PARAMETER,
                   session_id=session, sync_direction=direction, sync_attr_check_option=True,
                   no_delete=True, google_drive_convert_online_doc=False)
        if valid:
            self.directions[session] = direction

    @precondition(lambda self: self.writable)
    @rule(length=st.sampled_from([spec.SCHEDULE_LENGTH - 1, spec.SCHEDULE_LENGTH,
                                  spec.SCHEDULE_LENGTH + 1]))
    def set_schedule_setting(self, length: int) -> None:
        code = 0 if length == spec.SCHEDULE_LENGTH else spec.INVALID_PARAMETER
        self.reply("set_schedule_setting", code, connection_id=3, is_enabled_schedule=False,
                   schedule_info='"' + "1" * length + '"')

    @precondition(lambda self: self.writable)
    @rule(delete_from_cloud=st.booleans())
    def set_personal_config(self, delete_from_cloud: bool) -> None:
        self.ok("set_personal_config", sync_mode=str(delete_from_cloud).lower())
        self.sync_mode = delete_from_cloud

    @precondition(lambda self: self.writable)
    @rule(kind=st.sampled_from(["not-a-number", "not-a-bool", "missing-bool"]))
    def malformed_parameters(self, kind: str) -> None:
        """A value of the wrong type is 120 and a missing one 114, and neither changes a
        setting (the invariants read them back)."""
        if kind == "not-a-number":
            self.reply("set_global_config", spec.INVALID_PARAMETER, repo_vol_path="/volume1",
                       log_count=1, worker_count="many", admin_mode="enable")
            return
        # a flag that is neither true nor false, or left out
        if kind == "not-a-bool":
            code, personal, task = spec.INVALID_PARAMETER, {"sync_mode": "yes"}, \
                {"no_delete": "maybe"}
        else:
            code, personal, task = spec.LOST_PARAMETER, {}, {}
        self.reply("set_personal_config", code, **personal)
        self.reply("set_session_setting", code, session_id=4, sync_direction="ONLY_UPLOAD",
                   sync_attr_check_option=True, google_drive_convert_online_doc=False, **task)

    @precondition(lambda self: self.writable)
    @rule()
    def pause_resume_cycle(self) -> None:
        """Pause and resume, of every connection and of one, each read back at once; the
        state it found is restored."""
        before = self.paused_all
        for method in ("pause", "resume", "pause", "resume"):
            self.pause_or_resume(method, None)
            self.reads_reflect_acknowledged_writes()
        for method in ("pause", "resume"):
            self.pause_or_resume(method, 3)
        self.pause_or_resume("pause" if before else "resume", None)

    @precondition(lambda self: self.writable)
    @rule(method=st.sampled_from(["pause", "resume"]), connection=st.sampled_from([None, 3]))
    def pause_or_resume(self, method: str, connection: int | None) -> None:
        # without connection_id the call applies to every connection (research §3)
        params = {} if connection is None else {"connection_id": connection}
        self.reply(method, spec.INVALID_PARAMETER if connection == 42 else 0, **params)
        if connection is None:
            self.paused_all = method == "pause"

    @precondition(lambda self: self.writable)
    @rule(extensions=st.sampled_from([[], ["mp3", "iso"]]),
          max_size=st.sampled_from([0, 1_048_576, -1]))
    def set_selective_sync_config(self, extensions: list[str], max_size: int,
                                  session: int = 4) -> None:
        valid = session == 4 and max_size >= 0
        lists = {name: json.dumps(extensions if "extensions" in name else [])
                 for name in ("filtered_paths", "filtered_names", "filtered_extensions",
                              "user_defined_names", "user_defined_extensions")}
        self.reply("set_selective_sync_config", 0 if valid else spec.INVALID_PARAMETER,
                   session_id=session, filtered_max_upload_size=max_size, **lists)
        if valid:
            self.filters[session] = (extensions, max_size)

    @rule()
    def get_selective_folder_list(self, session: int = 4) -> None:
        self.reply("get_selective_folder_list", 0 if session == 4 else spec.INVALID_PARAMETER,
                   session_id=session, path="/", file_id="id:/docs", exists_type="null")

    @rule()
    def get_conn_auth_info(self, connection: int = 3) -> None:
        self.reply("get_conn_auth_info", 0 if connection == 3 else spec.INVALID_PARAMETER,
                   connection_id=connection)

    @rule()
    def read_tasks(self) -> None:
        """The task list and a task's filters read (also on a read-only target)."""
        tasks = self.ok("list_sess", connection_id=3)["sess"]
        if 4 not in {t["sess_id"] for t in tasks}:
            raise ConformanceFailure("list_sess lists the connection's tasks",
                                     f"{spec.DOCUMENT} get_tasks", 4, tasks)
        self.ok("get_selective_sync_config", session_id=4)

    @rule()
    def get_recently_change(self) -> None:
        self.ok("get_recently_change")

    @rule(limit=st.sampled_from([1, 200]))
    def get_log(self, limit: int, connection: int = 3) -> None:
        code = 0 if connection == 3 else spec.INVALID_PARAMETER
        body = self.reply("get_log", code, connection_id=connection, offset=0, keyword="",
                          date_from=0, date_to=0, log_level=-1, action=-1, limit=limit)
        if code == 0 and len(body["data"]["items"]) > min(limit, body["data"]["total"]):
            raise ConformanceFailure("get_log returns at most limit items",
                                     f"{spec.DOCUMENT} get_connection_logs", limit,
                                     len(body["data"]["items"]))

    @precondition(lambda self: self.nas.test_clock)
    @rule(seconds=st.sampled_from([60, 3600]))
    def nas_time_passes(self, seconds: int) -> None:
        """The emulator's engine syncs for a while: the cloud's files come down, and each
        transfer is logged."""
        self.nas.advance(seconds)

    def whole_log(self) -> list[dict[str, Any]]:
        data = self.ok("get_log", connection_id=3, offset=0, limit=LOG_LIMIT)
        if data["total"] > LOG_LIMIT or len(data["items"]) != data["total"]:
            raise ConformanceFailure("get_log: total counts the items there are",
                                     f"{spec.DOCUMENT} get_connection_logs", data["total"],
                                     len(data["items"]))
        items: list[dict[str, Any]] = data["items"]
        return items

    @rule()
    def log_pages_and_filters(self) -> None:
        """A page is that slice of the whole log, and each filter (level, action, dates) keeps
        exactly the lines that match it, counted in ``total``. The page does not say what a
        keyword is matched against (name or path, case), so a line's own file name must find
        that line, and only lines whose path holds it in some case (also on a NAS in use: a
        log that changed meanwhile is read again next time, not judged)."""
        whole = self.whole_log()
        if not whole:
            return
        asks: list[tuple[dict[str, Any], list[dict[str, Any]]]] = [
            ({"offset": 1, "limit": 1}, whole[1:2]),
            ({"offset": 0, "limit": 1}, whole[:1]),
            ({"offset": len(whole), "limit": 5}, []),
        ]
        first = whole[0]
        for level in (0, 1, 2):
            asks.append(({"log_level": level}, [i for i in whole if i["log_level"] == level]))
        asks.append(({"action": first["action"]},
                     [i for i in whole if i["action"] == first["action"]]))
        asks.append(({"date_from": first["time"]},
                     [i for i in whole if i["time"] >= first["time"]]))
        asks.append(({"date_to": whole[-1]["time"]},
                     [i for i in whole if i["time"] <= whole[-1]["time"]]))
        answers = [(params, expected, self.ok("get_log", connection_id=3,
                                               **{"limit": LOG_LIMIT, **params}))
                   for params, expected in asks]
        named = self.ok("get_log", connection_id=3, limit=LOG_LIMIT, keyword=first["file_name"])
        if self.whole_log() != whole:
            return  # a NAS in use logged meanwhile
        keyword = first["file_name"].lower()
        found = (first in named["items"], all(i in whole for i in named["items"]),
                 all(keyword in i["path"].lower() for i in named["items"]),
                 named["total"] == len(named["items"]))
        if found != (True, True, True, True):
            raise ConformanceFailure(f"get_log keyword={first['file_name']!r}",
                                     f"{spec.DOCUMENT} get_connection_logs",
                                     "the line of that file, and only lines of the log that "
                                     "name it, all counted", named)
        for params, expected, data in answers:
            paged = "offset" in params
            total = len(whole) if paged else len(expected)
            if (data["items"], data["total"]) != (expected, total):
                raise ConformanceFailure(f"get_log {_shown(params)}",
                                         f"{spec.DOCUMENT} get_connection_logs",
                                         (expected, total), (data["items"], data["total"]))

    @rule(connection=st.sampled_from([3, 5]))
    def get_property(self, connection: int) -> None:
        self.reply("get_property", 0 if connection in self.connections
                   else spec.INVALID_PARAMETER, connection_id=connection)

    @rule(connection=st.sampled_from([3, 5]))
    def get_connection_setting(self, connection: int) -> None:
        body = self.reply("get_connection_setting", 0 if connection in self.connections
                          else spec.INVALID_PARAMETER, connection_id=connection)
        name = self.conn_names.get(connection)
        if name is not None and body["data"]["task_name"] != name:
            raise ConformanceFailure("get_connection_setting after set_connection_setting",
                                     f"{spec.DOCUMENT} set_connection_settings", name,
                                     body["data"]["task_name"])

    @precondition(lambda self: self.writable)
    @rule(name=st.sampled_from(["Dropbox", "Renamed", " "]), part_size=st.sampled_from([10, 5000]))
    def set_connection_setting(self, name: str, part_size: int, connection: int = 3) -> None:
        """Connection settings within their limits are saved (read back by
        get_connection_setting); a blank name or a part size past 4096 MB is 120."""
        valid = bool(name.strip()) and part_size <= 4096 and connection in self.connections
        self.reply("set_connection_setting", 0 if valid else spec.INVALID_PARAMETER,
                   connection_id=connection, task_name=name, pull_event_period=60,
                   max_upload_speed=0, max_download_speed=0, storage_class='""', isSSE=False,
                   part_size=part_size)
        if valid:
            self.conn_names[connection] = name
        self.get_connection_setting(connection)

    @rule(path=st.sampled_from(["/docs", "/nowhere", "docs"]),
          direction=st.sampled_from(["ONLY_UPLOAD", "SIDEWAYS"]))
    def task_lifecycle(self, path: str, direction: str) -> None:
        """A new task: test_task_setting and create_session agree on what is valid; a created
        task is listed with its direction, and unlink_session removes it (once)."""
        connection = 3 if 3 in self.connections else min(self.connections, default=3)
        info = json.dumps({"conn_id": connection, "sync_direction": direction, "path": path,
                           "server_folder_path": "/syncrig-new", "sess_name": "new task"})
        valid = path == "/docs" and direction in spec.SYNC_DIRECTIONS and \
            connection in self.connections
        code = 0 if valid else spec.INVALID_PARAMETER
        self.reply("test_task_setting", code, conn_info=info)
        if not self.writable:
            return  # a check only: it creates nothing
        body = self.reply("create_session", code, conn_info=info)
        if not valid:
            return
        sess = body["data"]["sess_id"]
        listed = {t["sess_id"]: t for t in self.ok("list_sess", connection_id=connection)["sess"]}
        if sess not in listed or listed[sess]["sync_direction"] != direction:
            raise ConformanceFailure("list_sess after create_session",
                                     f"{spec.DOCUMENT} create_sync_task_s3", direction,
                                     listed.get(sess))
        self.reply("unlink_session", 0, connection_id=connection, session_id=sess)
        remaining = {t["sess_id"] for t in self.ok("list_sess",
                                                    connection_id=connection)["sess"]}
        if sess in remaining:
            raise ConformanceFailure("list_sess after unlink_session",
                                     f"{spec.DOCUMENT} task_remove", "gone", sess)
        self.reply("unlink_session", spec.INVALID_PARAMETER, connection_id=connection,
                   session_id=sess)

    @precondition(lambda self: self.writable and self.nas.disposable)
    @rule()
    def unlink_connection(self) -> None:
        """Remove the S3 connection (only on a disposable target: it deletes a cloud link):
        it is gone from list_conn and every call naming it is 120."""
        if 5 not in self.connections:
            self.reply("unlink_connection", spec.INVALID_PARAMETER, connection_id=5)
            return
        self.reply("unlink_connection", 0, connection_id=5)
        self.connections.discard(5)
        listed = {c["id"] for c in self.ok("list_conn")["conn"]}
        if 5 in listed:
            raise ConformanceFailure("list_conn after unlink_connection",
                                     f"{spec.DOCUMENT} connection_remove", "gone", sorted(listed))
        self.get_property(5)

    @rule()
    def unknown_ids(self) -> None:
        """A connection or task that does not exist is 120 for every method that names one,
        and changes nothing (the invariants read everything back)."""
        writable = self.writable
        if writable:
            self.set_session_setting("ONE_WAY_UPLOAD", session=99)
            self.set_selective_sync_config([], 0, session=99)
            self.reply("pause", spec.INVALID_PARAMETER, connection_id=42)
            self.reply("resume", spec.INVALID_PARAMETER, connection_id=42)
        self.get_selective_folder_list(session=99)
        self.get_conn_auth_info(connection=42)
        self.get_log(limit=1, connection=42)
        self.get_property(connection=42)
        self.get_connection_setting(connection=42)

    @rule()
    def missing_parameter(self) -> None:
        self.reply("get_connection_setting", spec.LOST_PARAMETER)

    @rule()
    def unknown_method(self) -> None:
        self.reply("no_such_method", spec.NO_SUCH_METHOD)

    # -- what must always hold -------------------------------------------------------------------

    @invariant()
    def reads_reflect_acknowledged_writes(self) -> None:
        config = self.ok("get_config")
        if config["sync_mode"] != self.sync_mode:
            raise ConformanceFailure("get_config after set_personal_config",
                                     f"{spec.DOCUMENT} set_relink_behavior", self.sync_mode,
                                     config["sync_mode"])
        connections = self.ok("list_conn")
        if connections["is_pause"] != self.paused_all:
            raise ConformanceFailure("list_conn after pause/resume of all connections",
                                     f"{spec.DOCUMENT} connection_pause", self.paused_all,
                                     connections["is_pause"])
        self.tray_moves(connections["tray_status"])
        if (config["worker_count"], config["log_count"]) != (self.workers, self.log_count):
            raise ConformanceFailure("get_config after set_global_config",
                                     f"{spec.DOCUMENT} set_pkg_config",
                                     (self.workers, self.log_count),
                                     (config["worker_count"], config["log_count"]))
        for session, (extensions, max_size) in self.filters.items():
            filters = self.ok("get_selective_sync_config", session_id=session)
            observed = (filters["filtered_extensions"], filters["filtered_max_upload_size"])
            if observed != (extensions, max_size):
                raise ConformanceFailure("get_selective_sync_config after "
                                         "set_selective_sync_config",
                                         f"{spec.DOCUMENT} set_task_filters",
                                         (extensions, max_size), observed)
        for session, direction in self.directions.items():
            tasks = self.ok("list_sess", connection_id=3)["sess"]
            observed = next(t["sync_direction"] for t in tasks if t["sess_id"] == session)
            if observed != direction:
                raise ConformanceFailure("list_sess after set_session_setting",
                                         f"{spec.DOCUMENT} set_task_settings", direction,
                                         observed)

    def tray_moves(self, status: str) -> None:
        """The NAS's tray_status since the last read: a change must be a documented
        transition (research §3, §3.1)."""
        previous, self.tray_status = self.tray_status, status
        if status == previous:
            return
        if not spec.SPEC.allows("list_conn.tray_status", previous, status):
            raise ConformanceFailure("list_conn tray_status", f"{spec.DOCUMENT} list_conn",
                                     sorted((t.source, t.target) for t in spec.TRANSITIONS),
                                     (previous, status))
        self.coverage.transition("list_conn.tray_status", previous, status)
