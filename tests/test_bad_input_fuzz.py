"""Arbitrary input never produces a traceback or an HTTP 500 (property-based)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.device import Device
from sim.ohos.cloudsync import CloudSyncModule
from sim.ohos.common import AppSandbox, BusinessError
from sim.ohos.request import JsError, RequestModule
from sim.synology import Nas, NasServer, load_seed
from sim.synology.methods import METHODS
from tests.conftest import make_profile

SEED = Path(__file__).parents[1] / "fixtures" / "nas" / "default.yaml"
PARAM_NAMES = ["connection_id", "session_id", "group_by", "is_tray", "offset", "limit",
               "keyword", "date_from", "date_to", "log_level", "action", "path", "file_id",
               "repo_vol_path", "log_count", "worker_count", "admin_mode", "sync_mode",
               "task_name", "pull_event_period", "max_upload_speed", "max_download_speed",
               "storage_class", "isSSE", "part_size", "is_enabled_schedule", "schedule_info",
               "sync_direction", "sync_attr_check_option", "no_delete",
               "google_drive_convert_online_doc", "filtered_paths", "filtered_names",
               "filtered_extensions", "user_defined_names", "user_defined_extensions",
               "filtered_max_upload_size", "conn_info"]
VALUES = st.one_of(st.sampled_from(["3", "4", "-1", "0", "true", "false", "", '""', "[]",
                                    "null", "/volume1", "BIDIRECTION", "1" * 168, "{}"]),
                   st.text(max_size=20))
KNOWN_CODES = {100, 101, 102, 103, 104, 105, 106, 114, 119, 120}


@pytest.fixture(scope="module")
def nas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NasServer, str]]:
    data = tmp_path_factory.mktemp("nas")
    instance = Nas(data, load_seed(SEED))
    server = NasServer(instance, test_control=True).start()
    sid, _ = instance.store.new_session("admin", 3600)
    yield server, sid
    server.stop()
    instance.store.close()


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(method=st.sampled_from([*METHODS, "no_such"]),
       params=st.dictionaries(st.sampled_from(PARAM_NAMES), VALUES, max_size=6),
       version=st.sampled_from(["1", "2", "x"]))
def test_any_cloudsync_request_gets_json(nas: tuple[NasServer, str], method: str,
                                         params: dict[str, str], version: str) -> None:
    server, sid = nas
    query = {"api": "SYNO.CloudSync", "method": method, "version": version, "_sid": sid,
             **params}
    reply = requests.get(f"{server.url}/webapi/entry.cgi", params=query, timeout=30)
    assert reply.status_code == 200
    body = reply.json()
    assert isinstance(body["success"], bool)
    if not body["success"]:
        assert body["error"]["code"] in KNOWN_CODES - {100}, body


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
CONFIG_KEYS = ["url", "header", "enableMetered", "enableRoaming", "description", "networkType",
               "filePath", "title", "background", "method", "files", "data"]


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(config=st.one_of(JSON, st.dictionaries(st.sampled_from(CONFIG_KEYS), JSON, max_size=6)),
       upload=st.booleans())
def test_any_request_config_is_accepted_or_refused_cleanly(tmp_path: Path, config: Any,
                                                           upload: bool) -> None:
    if isinstance(config, dict) and isinstance(config.get("url"), str) \
            and config["url"].startswith(("http://", "https://")):
        config["url"] = "http://127.0.0.1:9/x"  # only ever loopback, whatever was generated
    device = Device(make_profile())
    sandbox = AppSandbox(tmp_path / "app")
    request = RequestModule(device, sandbox=sandbox)
    before = sorted(sandbox.cache_dir.rglob("*"))
    try:
        (request.upload if upload else request.download)(config)
    except (BusinessError, JsError) as exc:
        assert getattr(exc, "code", 401) == 401
        assert sorted(sandbox.cache_dir.rglob("*")) == before  # nothing written
    device.run(until=5)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(uri=JSON, flag=JSON, call=st.sampled_from(["state", "states", "register", "unregister",
                                                  "download", "cache", "clean", "stop"]))
def test_any_cloudsync_argument_is_accepted_or_refused_cleanly(tmp_path: Path, uri: Any,
                                                               flag: Any, call: str) -> None:
    from sim.cloud import CloudService

    device = Device(make_profile())
    module = CloudSyncModule(device, CloudService(tmp_path / "cloud"),
                             sandbox=AppSandbox(tmp_path / "app"))
    calls = {
        "state": lambda: module.getFileSyncState(uri),
        "states": lambda: module.getFileSyncState([uri]),
        "register": lambda: module.registerChange(uri, flag, print),
        "unregister": lambda: module.unregisterChange(uri),
        "download": lambda: module.Download().start(uri),
        "cache": lambda: module.CloudFileCache().start(uri),
        "clean": lambda: module.CloudFileCache().cleanCache(uri),
        "stop": lambda: module.CloudFileCache().stop(uri, flag),
    }
    try:
        calls[call]()
        device.run(until=1)
    except BusinessError as exc:
        assert exc.code in {201, 202, 401, 13600001, 13900002, 13900025, 14000002}
