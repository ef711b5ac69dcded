"""The emulated NAS driven by the unmodified synology-api client, over real HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
import requests
from synology_api import base_api
from synology_api.cloud_sync import CloudSync
from synology_api.exceptions import CloudSyncError, LoginError

from sim.synology import Nas, NasServer, load_seed

SEED = Path(__file__).parents[1] / "fixtures" / "nas" / "default.yaml"
ADMIN = ("admin", "Admin-Pass-1")
ALICE_TOTP = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


class Rig:
    def __init__(self, tmp_path: Path, **nas: Any) -> None:
        self.data = tmp_path / "nas"
        self.nas = Nas(self.data, load_seed(SEED), **nas)
        self.server = NasServer(self.nas, test_control=True).start()
        self.clients: list[CloudSync] = []

    def client(self, user: str = ADMIN[0], password: str = ADMIN[1],
               otp: str | None = None) -> CloudSync:
        base_api.BaseApi.shared_session = None  # the client shares one session class-wide
        cs = CloudSync("127.0.0.1", str(self.server.port), user, password, secure=False,
                       cert_verify=False, dsm_version=7, debug=False, otp_code=otp)
        self.clients.append(cs)
        return cs

    def advance(self, seconds: float) -> None:
        request = urllib.request.Request(f"{self.server.url}/_test/advance?seconds={seconds}",
                                         method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            assert json.load(response)["success"]

    def raw(self, cs: CloudSync, **params: Any) -> dict[str, Any]:
        """A request the client would not send (bad values it would correct, unknown names)."""
        params.setdefault("api", "SYNO.CloudSync")
        params.setdefault("version", "1")
        params.setdefault("_sid", cs.session._sid)  # type: ignore[attr-defined]
        token = cs.session._syno_token  # type: ignore[attr-defined]
        reply = requests.get(f"{self.server.url}/webapi/entry.cgi", params=params,
                             headers={"X-SYNO-TOKEN": token}, timeout=30)
        assert reply.status_code == 200
        return reply.json()  # type: ignore[no-any-return]

    def share(self, *parts: str) -> Path:
        return self.data / "shares" / Path(*parts)

    def remote(self, conn_id: int = 3) -> dict[str, Any]:
        return self.nas.drive_by_id(conn_id).container("files").objects

    def close(self) -> None:
        base_api.BaseApi.shared_session = None
        self.server.stop()
        self.nas.store.close()


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    r = Rig(tmp_path)
    yield r
    r.close()


def code_of(call: Any) -> int:
    with pytest.raises((CloudSyncError, LoginError)) as info:
        call()
    return int(info.value.error_code)


# -- login -------------------------------------------------------------------------------------

def test_login_handshake_and_logout(rig: Rig) -> None:
    cs = rig.client()
    assert cs.get_pkg_config()["success"] is True
    sid = cs.session._sid  # type: ignore[attr-defined]
    assert rig.nas.store.session(sid)["user"] == "admin"
    cs.logout()
    assert base_api.BaseApi.shared_session is None


def test_wrong_password_is_400(rig: Rig) -> None:
    assert code_of(lambda: rig.client("admin", "nope")) == 400
    assert code_of(lambda: rig.client("mallory", "x")) == 400


def test_two_factor_codes(rig: Rig) -> None:
    assert code_of(lambda: rig.client("alice", "Alice-Pass-1")) == 403
    assert code_of(lambda: rig.client("alice", "Alice-Pass-1", otp="000000")) == 404
    cs = rig.client("alice", "Alice-Pass-1", otp=pyotp.TOTP(ALICE_TOTP).now())
    assert cs.get_connections()["data"]["total"] == 0  # both connections are admin's


def test_sessions_are_checked(rig: Rig, tmp_path: Path) -> None:
    cs = rig.client()
    assert rig.raw(cs, method="list_conn", _sid="nope") == {
        "success": False, "error": {"code": 119}}
    params = {"api": "SYNO.CloudSync", "version": "1", "method": "list_conn"}
    assert requests.get(f"{rig.server.url}/webapi/entry.cgi", params=params,
                        timeout=30).json()["error"]["code"] == 119
    short = Rig(tmp_path / "short", session_ttl_s=0.5)
    try:
        client = short.client()
        time.sleep(0.7)
        assert code_of(client.get_pkg_config) == 106
    finally:
        short.close()


def test_request_errors_are_json_never_500(rig: Rig) -> None:
    cs = rig.client()
    assert rig.raw(cs, api="SYNO.Nope", method="x")["error"]["code"] == 102
    assert rig.raw(cs, method="no_such_method")["error"]["code"] == 103
    assert rig.raw(cs, method="list_conn", version="2")["error"]["code"] == 104
    reply = requests.get(f"{rig.server.url}/webapi/entry.cgi",
                         params={"api": "SYNO.CloudSync", "_sid": "x"}, timeout=30)
    assert (reply.status_code, reply.json()["error"]["code"]) == (200, 101)
    assert rig.raw(cs, method="get_connection_setting")["error"]["code"] == 114
    assert rig.raw(cs, method="get_connection_setting",
                   connection_id="three")["error"]["code"] == 120
    assert rig.raw(cs, method="list_conn", group_by="bogus")["error"]["code"] == 120


# -- reads -------------------------------------------------------------------------------------

def test_package_config(rig: Rig) -> None:
    data = rig.client().get_pkg_config()["data"]
    assert (data["repo_vol_path"], data["worker_count"], data["log_count"]) == ("/volume1", 3,
                                                                              20000)
    assert data["volume_list"][0]["mount_point"] == "/volume1"
    assert int(data["volume_list"][0]["size_total"]) == 4 * 10**12


def test_connections_grouped_both_ways(rig: Rig) -> None:
    cs = rig.client()
    by_user = cs.get_connections()["data"]
    by_type = cs.get_connections(group_by="group_by_cloud_type")["data"]
    assert [c["id"] for c in by_user["conn"]] == [3, 5]
    assert [c["type"] for c in by_type["conn"]] == ["az", "db"]
    assert by_user["tray_status"] == "uptodate" and by_user["total"] == 2
    # DSM numbers local users from 1024 in the order created; admin is the seed's first
    assert {(c["user_name"], c["user_id"]) for c in by_user["conn"]} == {("admin", 1024)}


def test_connection_settings_property_and_auth(rig: Rig) -> None:
    cs = rig.client()
    settings = cs.get_connection_settings(3)["data"]
    assert (settings["task_name"], settings["pull_event_period"]) == ("Dropbox", 60)
    assert len(settings["schedule_info"]) == 168
    prop = cs.get_connection_information(3)["data"]
    seeded = len(b"hello from the cloud") + len(b"# notes")
    assert (prop["type"], prop["quota_total"], prop["quota_used"]) == ("db", 2 * 10**9, seeded)
    auth = cs.get_connection_auth(3)["data"]
    assert auth["access_token"] == "token-3" and auth["conn_id"] == 3


def test_secrets_only_for_admin_sessions(rig: Rig) -> None:
    alice = rig.client("alice", "Alice-Pass-1", otp=pyotp.TOTP(ALICE_TOTP).now())
    assert code_of(lambda: alice.get_connection_auth(3)) == 105


def test_tasks_filters_and_cloud_folders(rig: Rig) -> None:
    cs = rig.client()
    (task,) = cs.get_tasks(3)["data"]["sess"]
    assert (task["sess_id"], task["sync_direction"], task["local_sync_path"]) == (
        4, "BIDIRECTION", "/docs")
    assert cs.get_task_filters(4)["data"]["filtered_paths"] == []
    folders = cs.get_task_cloud_folders(4, "id:root")["data"]["children"]
    assert [(f["path"], f["text"]) for f in folders] == [("/sub dir", "sub dir")]
    assert code_of(lambda: cs.get_tasks(99)) == 120


def test_the_engine_syncs_and_logs_what_it_did(rig: Rig) -> None:
    cs = rig.client()
    rig.advance(120)
    assert rig.share("docs", "readme.txt").read_text() == "hello from the cloud"
    assert rig.share("docs", "sub dir", "notes.md").read_text() == "# notes"
    rig.share("docs", "report.txt").write_text("quarterly")
    rig.advance(120)
    assert "/docs/report.txt" in rig.remote()
    logs = cs.get_connection_logs(3)["data"]
    assert logs["total"] == 3
    assert {(i["action"], i["file_name"]) for i in logs["items"]} == {
        (1, "readme.txt"), (1, "notes.md"), (2, "report.txt")}
    page = cs.get_connection_logs(3, offset=1, limit=1)["data"]
    assert page["total"] == 3 and len(page["items"]) == 1
    assert cs.get_connection_logs(3, keyword="REPORT")["data"]["total"] == 1
    assert cs.get_connection_logs(3, action=2)["data"]["total"] == 1
    recent = cs.get_recently_modified()["data"]
    assert recent["history_items"][0]["base_name"] == "report.txt"
    assert cs.get_connection_information(3)["data"]["quota_used"] == 27 + len(b"quarterly")


# -- writes ------------------------------------------------------------------------------------

def test_package_config_limits(rig: Rig) -> None:
    cs = rig.client()
    cs.set_pkg_config("/volume1", log_count=1000, workers=5, admin_mode=False)
    data = cs.get_pkg_config()["data"]
    assert (data["log_count"], data["worker_count"], data["admin_mode"]) == (1000, 5, "disable")
    for kwargs in ({"workers": 50}, {"log_count": 100001}, {"workers": 0}):
        assert code_of(lambda k=kwargs: cs.set_pkg_config("/volume1", **k)) == 120
    assert code_of(lambda: cs.set_pkg_config("/volume9")) == 120
    assert cs.get_pkg_config()["data"]["worker_count"] == 5  # nothing changed


def test_relink_behaviour_is_reported_as_sync_mode(rig: Rig) -> None:
    cs = rig.client()
    assert cs.get_pkg_config()["data"]["sync_mode"] is False
    cs.set_relink_behavior(True)
    assert cs.get_pkg_config()["data"]["sync_mode"] is True
    cs.set_relink_behavior(False)
    assert cs.get_pkg_config()["data"]["sync_mode"] is False


def test_connection_settings_are_stored(rig: Rig) -> None:
    cs = rig.client()
    cs.set_connection_settings(3, "My Task", pull_event_period=120, max_upload_speed=100,
                               storage_class="STANDARD", isSSE=True, part_size=64)
    data = cs.get_connection_settings(3)["data"]
    assert (data["task_name"], data["pull_event_period"], data["max_upload_speed"],
            data["storage_class"], data["isSSE"], data["part_size"]) == (
        "My Task", 120, 100, "STANDARD", True, 64)
    assert code_of(lambda: cs.set_connection_settings(42, "x")) == 120


def test_schedule_bitmap(rig: Rig) -> None:
    cs = rig.client()
    cs.set_connection_schedule(3, True, ["0" * 24] + ["1" * 24] * 6)
    data = cs.get_connection_settings(3)["data"]
    assert data["is_enabled_schedule"] is True and data["schedule_info"][:25] == "0" * 24 + "1"
    bad = rig.raw(cs, method="set_schedule_setting", connection_id="3",
                  is_enabled_schedule="true", schedule_info='"' + "1" * 167 + '"')
    assert bad == {"success": False, "error": {"code": 120}}
    assert cs.get_connection_settings(3)["data"]["schedule_info"][:24] == "0" * 24


def test_a_closed_schedule_hour_transfers_nothing(rig: Rig) -> None:
    cs = rig.client()
    cs.set_connection_schedule(3, True, ["0" * 24] * 7)
    rig.advance(600)
    assert not rig.share("docs", "readme.txt").exists()
    cs.set_connection_schedule(3, True, ["1" * 24] * 7)
    rig.advance(120)
    assert rig.share("docs", "readme.txt").exists()


def test_task_direction_is_obeyed(rig: Rig) -> None:
    cs = rig.client()
    assert code_of(lambda: cs.set_task_settings(4, "SIDEWAYS")) == 120
    cs.set_task_settings(4, "ONLY_UPLOAD")
    assert cs.get_tasks(3)["data"]["sess"][0]["sync_direction"] == "ONLY_UPLOAD"
    rig.share("docs", "up.txt").write_text("up")
    rig.advance(120)
    assert "/docs/up.txt" in rig.remote()
    assert not rig.share("docs", "readme.txt").exists()  # nothing comes down


def test_filters_are_obeyed_by_the_next_sync(rig: Rig) -> None:
    cs = rig.client()
    cs.set_task_filters(4, filtered_paths=["/private"], filtered_filenames=["secret.txt"],
                        filtered_extensions=["iso"], max_upload_size=100)
    stored = cs.get_task_filters(4)["data"]
    assert (stored["filtered_paths"], stored["filtered_extensions"]) == (["/private"], ["iso"])
    rig.share("docs", "private").mkdir()
    for name, data in (("private/a.txt", b"a"), ("secret.txt", b"s"), ("disk.iso", b"i"),
                       ("big.bin", b"x" * 200), ("ok.txt", b"ok")):
        rig.share("docs", name).write_bytes(data)
    rig.advance(120)
    uploaded = {p for p in rig.remote() if p.startswith("/docs/") and "cloud" not in p}
    assert "/docs/ok.txt" in uploaded
    assert not uploaded & {"/docs/private/a.txt", "/docs/secret.txt", "/docs/disk.iso",
                           "/docs/big.bin"}
    assert code_of(lambda: cs.set_task_filters(4, filtered_paths=["relative"])) == 120


def test_a_paused_connection_transfers_nothing(rig: Rig) -> None:
    cs = rig.client()
    cs.connection_pause(3)
    assert cs.get_connections()["data"]["conn"][0]["status"] == "pause"
    rig.advance(600)
    assert not rig.share("docs", "readme.txt").exists()
    cs.connection_resume(3)
    rig.advance(120)
    assert rig.share("docs", "readme.txt").exists()
    cs.connection_pause()
    assert cs.get_connections()["data"]["is_pause"] is True
    cs.connection_resume()
    assert cs.get_connections()["data"]["is_pause"] is False


def test_removing_a_task_leaves_the_files_on_both_sides(rig: Rig) -> None:
    cs = rig.client()
    rig.advance(120)
    cs.task_remove(3, 4)
    assert cs.get_tasks(3)["data"]["total"] == 0
    rig.advance(600)
    assert rig.share("docs", "readme.txt").exists() and "/docs/readme.txt" in rig.remote()
    assert code_of(lambda: cs.task_remove(3, 4)) == 120


def test_unlinking_a_connection(rig: Rig) -> None:
    cs = rig.client()
    cs.connection_remove(5)
    assert [c["id"] for c in cs.get_connections()["data"]["conn"]] == [3]
    assert code_of(lambda: cs.connection_remove(5)) == 120


def test_compound_creates_a_task_that_syncs(rig: Rig) -> None:
    cs = rig.client()
    info = {"conn_id": 5, "path": "/photos", "server_folder_path": "/backup",
            "sync_direction": "ONLY_UPLOAD", "filter_file": {"filtered_extensions": ["tmp"]}}
    check = cs.batch_request([{"api": "SYNO.CloudSync", "method": "test_task_setting",
                               "version": 1, "conn_info": info}])
    assert check["data"]["has_fail"] is False
    reply = cs.batch_request([
        {"api": "SYNO.CloudSync", "method": "create_session", "version": 1, "conn_info": info},
        {"api": "SYNO.CloudSync", "method": "list_sess", "version": 1, "connection_id": 5}])
    assert reply["data"]["has_fail"] is False
    sess = reply["data"]["result"][1]["data"]["sess"]
    assert [(s["local_sync_path"], s["remote_sync_path"]) for s in sess] == [("/photos",
                                                                              "/backup")]
    rig.share("photos", "cat.jpg").write_bytes(b"jpeg")
    rig.share("photos", "x.tmp").write_bytes(b"tmp")
    rig.advance(120)
    assert set(rig.remote(5)) == {"/backup/cat.jpg"}
    bad = dict(info, sync_direction="SIDEWAYS")
    result = cs.batch_request([{"api": "SYNO.CloudSync", "method": "test_task_setting",
                                "version": 1, "conn_info": bad}])
    assert result["data"]["has_fail"] is True


# -- persistence ---------------------------------------------------------------------------------

def test_state_survives_a_kill_9(tmp_path: Path) -> None:
    data = tmp_path / "nas"

    def start() -> tuple[subprocess.Popen[str], int]:
        proc = subprocess.Popen([sys.executable, "-m", "conformance.cli", "serve", "nas",
                                 "--port", "0", "--data", str(data), "--test-control"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        return proc, int(line.split("127.0.0.1:")[1].split("/")[0])

    proc, port = start()
    try:
        base_api.BaseApi.shared_session = None
        cs = CloudSync("127.0.0.1", str(port), *ADMIN, secure=False, dsm_version=7,
                       debug=False)
        cs.set_pkg_config("/volume1", log_count=777, workers=7)
        cs.set_connection_settings(3, "Renamed")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=10)
    proc, port = start()
    try:
        base_api.BaseApi.shared_session = None
        cs = CloudSync("127.0.0.1", str(port), *ADMIN, secure=False, dsm_version=7,
                       debug=False)
        assert cs.get_pkg_config()["data"]["log_count"] == 777
        assert cs.get_connection_settings(3)["data"]["task_name"] == "Renamed"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
        base_api.BaseApi.shared_session = None


def test_a_full_cloud_marks_the_task_in_error_and_logs_it(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    try:
        cs = rig.client()
        rig.nas.drive_by_id(3).quota = 40  # the seeded files take 27 bytes
        rig.share("docs", "big.bin").write_bytes(b"x" * 100)
        rig.advance(120)
        assert cs.get_tasks(3)["data"]["sess"][0]["sync_status"] == "error"
        assert cs.get_connections()["data"]["conn"][0]["status"] == "error"
        errors = cs.get_connection_logs(3, log_level=2)["data"]["items"]
        assert errors and all(e["error_code"] != 0 for e in errors)  # one per retried round
        assert "/docs/big.bin" not in rig.remote()
    finally:
        rig.close()


def test_losing_the_nas_network_stops_transfers(rig: Rig) -> None:
    cs = rig.client()
    request = urllib.request.Request(f"{rig.server.url}/_test/device?ethernet=down",
                                     method="POST")
    urllib.request.urlopen(request, timeout=30).close()
    rig.advance(120)
    assert not rig.share("docs", "readme.txt").exists()
    assert cs.get_tasks(3)["data"]["sess"][0]["sync_status"] == "error"


def test_logs_are_rotated_at_log_count(rig: Rig) -> None:
    cs = rig.client()
    cs.set_pkg_config("/volume1", log_count=2)
    for i in range(3):
        rig.share("docs", f"f{i}.txt").write_text(str(i))
    rig.advance(120)
    assert cs.get_connection_logs(3)["data"]["total"] == 2


def test_speed_cap_and_live_progress(rig: Rig) -> None:
    cs = rig.client()
    cs.set_connection_settings(3, "Dropbox", max_upload_speed=102_400)  # bytes/s
    rig.advance(120)  # the seeded files come down first
    rig.share("docs", "video.bin").write_bytes(b"v" * 1_024_000)  # 10 s at the cap
    rig.advance(5)  # the round due at t = 120 s picks it up
    items = cs.get_recently_modified()["data"]["processing_items"]
    (item,) = items
    assert (item["base_name"], item["status"], item["total_size"]) == ("video.bin",
                                                                      "uploading", 1_024_000)
    rig.advance(20)
    assert "/docs/video.bin" in rig.remote()
    assert cs.get_recently_modified()["data"]["processing_items"] == []


@pytest.mark.parametrize(("delete_from_cloud", "in_cloud", "back_here"),
                         [(False, True, True), (True, False, False)])
def test_relink_behaviour_decides_what_a_local_deletion_does(
        rig: Rig, delete_from_cloud: bool, in_cloud: bool, back_here: bool) -> None:
    cs = rig.client()
    cs.set_relink_behavior(delete_from_cloud)
    cs.set_task_settings(4, "BIDIRECTION", no_delete_on_cloud=False)
    rig.advance(120)
    rig.share("docs", "readme.txt").unlink()
    rig.advance(120)  # the deletion is seen
    rig.advance(120)  # and, when kept in the cloud, the file is fetched again
    assert ("/docs/readme.txt" in rig.remote()) is in_cloud
    assert rig.share("docs", "readme.txt").exists() is back_here


@pytest.mark.parametrize(("no_delete", "kept"), [(True, True), (False, False)])
def test_no_delete_keeps_cloud_copies_of_local_deletions(rig: Rig, no_delete: bool,
                                                         kept: bool) -> None:
    cs = rig.client()
    cs.set_task_settings(4, "ONLY_UPLOAD", no_delete_on_cloud=no_delete)
    rig.share("docs", "mine.txt").write_text("mine")
    rig.advance(120)
    assert "/docs/mine.txt" in rig.remote()
    rig.share("docs", "mine.txt").unlink()
    rig.advance(120)
    assert ("/docs/mine.txt" in rig.remote()) is kept
    assert not rig.share("docs", "mine.txt").exists()


def test_part_size_splits_uploads(rig: Rig) -> None:
    cs = rig.client()
    cs.set_connection_settings(3, "Dropbox", part_size=1)  # 1 MB parts
    rig.advance(120)
    rig.share("docs", "big.bin").write_bytes(b"b" * (3 * 1024 * 1024 + 10))
    rig.advance(120)
    parts = [e for e in rig.nas.device.trace.events
             if e.kind.value == "transfer.done" and e.data["label"] == "nas:big.bin"]
    assert [e.data["nbytes"] for e in parts] == [1024 * 1024] * 3 + [10]


@pytest.mark.parametrize("workers", [1, 2])
def test_worker_count_limits_concurrent_rounds(rig: Rig, workers: int) -> None:
    cs = rig.client()
    cs.set_pkg_config("/volume1", workers=workers)
    info = {"conn_id": 5, "path": "/photos", "server_folder_path": "/backup",
            "sync_direction": "ONLY_UPLOAD"}
    reply = cs.batch_request([{"api": "SYNO.CloudSync", "method": "create_session",
                               "version": 1, "conn_info": info}])
    assert reply["data"]["has_fail"] is False
    cs.set_connection_settings(3, "Dropbox", max_upload_speed=102_400)  # bytes/s
    cs.set_connection_settings(5, "S3 backup", max_upload_speed=102_400)
    rig.advance(120)  # the seeded files come down first
    rig.share("docs", "a.bin").write_bytes(b"a" * 1_024_000)  # 10 s at the cap
    rig.share("photos", "b.bin").write_bytes(b"b" * 1_024_000)
    rig.advance(5)  # the rounds due at t = 120 s start both tasks' uploads if workers allow
    items = cs.get_recently_modified()["data"]["processing_items"]
    assert len(items) == workers
    rig.advance(30)
    assert "/docs/a.bin" in rig.remote(3) and "/backup/b.bin" in rig.remote(5)
