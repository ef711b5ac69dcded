"""Scenarios: the shipped ones do what they describe, runs replay from a seed, and bad files
get one clear message naming the file, the key path and the value."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from sim.device import load_profile
from sim.errors import ConfigError
from sim.scenario import build_run, load_scenario, summarize
from sim.scenario.runner import RunResult
from sim.trace import EventKind, read_trace

SHIPPED = ["day-in-the-life", "low-battery-upload", "wifi-flap", "heatwave", "storage-pressure"]


def run(name: str, seed: int | None = None, device: str | None = None) -> RunResult:
    scenario, path = load_scenario(name)
    return build_run(scenario, path, seed=seed, device=device).run()


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenarios_run_their_whole_duration(name: str) -> None:
    result = run(name)
    events = result.device.trace.events
    assert events[0].kind is EventKind.START and events[-1].kind is EventKind.END
    assert events[-1].t == result.scenario.duration
    assert len(result.device.trace.of_kind(EventKind.SCENARIO)) == len(result.scenario.timeline)


def test_day_in_the_life_commutes_on_cellular_and_charges_overnight() -> None:
    result = run("day-in-the-life")
    trace = result.device.trace
    summary = summarize(trace.timeline())
    wifi = [(e.t, e.data["up"]) for e in trace.of_kind(EventKind.RADIO)
            if e.data["radio"] == "wifi" and e.data["cause"] == "control"]
    assert wifi[:2] == [(3600.0, False), (6900.0, True)]
    commute_done = [e for e in trace.of_kind(EventKind.TRANSFER_DONE)
                    if e.data["label"] == "commute-stream"]
    assert commute_done[0].data["radio"] == "cellular"
    assert trace.of_kind(EventKind.CHARGER)[-1].data["plugged"] is True
    assert summary.final["charging"] is True and summary.final["battery_pct"] > 95
    assert summary.bytes_up == 1_300_000_000 and summary.bytes_down == 2_650_000_000


def test_low_battery_upload_powers_off_mid_upload_and_resumes_on_the_charger() -> None:
    trace = run("low-battery-upload").device.trace
    levels = [(e.data["level"], e.data["direction"])
              for e in trace.of_kind(EventKind.BATTERY_THRESHOLD)]
    assert levels[:3] == [(15.0, "falling"), (10.0, "falling"), (0.0, "falling")]
    off, on = trace.of_kind(EventKind.POWER)
    assert (off.data["on"], on.data["on"]) == (False, True)
    interrupted = trace.of_kind(EventKind.TRANSFER_INTERRUPTED)
    assert interrupted[0].t == off.t and 0 < interrupted[0].data["bytes_done"] < 60 * 10**9
    done = trace.of_kind(EventKind.TRANSFER_DONE)
    assert done[-1].t > on.t
    assert interrupted[0].data["bytes_done"] + done[-1].data["nbytes"] == 60 * 10**9


def test_wifi_flap_interrupts_and_the_download_still_completes() -> None:
    result = run("wifi-flap")
    summary = summarize(result.device.trace.timeline())
    assert summary.radio_outages["wifi"] >= 5
    assert summary.transfers_interrupted >= 2
    assert summary.bytes_down == 10 * 10**9
    assert summary.offline_s > 0


def test_heatwave_overheats_and_recovers_through_the_hysteresis_band() -> None:
    trace = run("heatwave").device.trace
    overheat = trace.of_kind(EventKind.OVERHEAT)
    assert [e.data["overheated"] for e in overheat][:2] == [True, False]
    assert overheat[0].data["celsius"] == 45 and overheat[1].data["celsius"] == 42


def test_storage_pressure_refuses_the_download_that_does_not_fit() -> None:
    trace = run("storage-pressure").device.trace
    full = trace.of_kind(EventKind.STORAGE_FULL)
    assert [e.data["requested"] for e in full] == [10**9]
    labels = [e.data["label"] for e in trace.of_kind(EventKind.TRANSFER_DONE)]
    assert labels == ["small-download", "large-download-retry"]


def test_same_seed_gives_a_byte_identical_trace(tmp_path: Path) -> None:
    first, second = run("wifi-flap", seed=11), run("wifi-flap", seed=11)
    first.device.trace.save(tmp_path / "a.jsonl")
    second.device.trace.save(tmp_path / "b.jsonl")
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert first.device.trace.digest() == second.device.trace.digest()


def test_different_seeds_give_different_traces() -> None:
    assert run("wifi-flap", seed=1).device.trace.digest() != \
        run("wifi-flap", seed=2).device.trace.digest()


def test_a_saved_trace_reads_back_to_the_same_summary(tmp_path: Path) -> None:
    result = run("day-in-the-life")
    result.device.trace.save(tmp_path / "t.jsonl")
    saved = summarize(read_trace(tmp_path / "t.jsonl")).to_dict()
    live = summarize(result.device.trace.timeline()).to_dict()
    assert saved.keys() == live.keys()
    for key, value in live.items():
        if key == "final":
            assert saved[key].keys() == value.keys()
            for k, v in value.items():
                assert saved[key][k] == (pytest.approx(v, abs=1e-5) if isinstance(v, float)
                                         else v)
        else:  # the file rounds times and readings to 1e-6
            assert saved[key] == (pytest.approx(value, abs=1e-4) if isinstance(value, float)
                                  else value)


def test_time_below_thresholds_is_exact() -> None:
    scenario, path = load_scenario("low-battery-upload")
    result = build_run(scenario, path).run()
    summary = summarize(result.device.trace.timeline())
    crossings = {(e.data["level"], e.data["direction"]): e.t
                 for e in result.device.trace.of_kind(EventKind.BATTERY_THRESHOLD)}
    assert summary.below_15_s == pytest.approx(crossings[(15.0, "rising")]
                                               - crossings[(15.0, "falling")])


def test_a_scenario_runs_on_another_device() -> None:
    result = run("storage-pressure", device="tablet")
    assert result.device.profile.name == "tablet"


# -- bad input ------------------------------------------------------------------------------

def write(tmp_path: Path, text: str, name: str = "bad.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def scenario_error(path: Path, device: str | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        scenario, p = load_scenario(path)
        build_run(scenario, p, device=device)
    return info.value


MINIMAL = """\
name: t
duration: 1h
timeline:
  - at: 0s
"""


@pytest.mark.parametrize(("step", "key_path", "value", "problem"), [
    ("    wfii: down", "timeline[0].wfii", "down", "unknown key"),
    ("    bluetooth: down", "timeline[0].bluetooth", "down", "unknown key"),
    ("    battery: 150", "timeline[0].battery", 150, "less than or equal to 100"),
    ("    wifi: sideways", "timeline[0].wifi", "sideways", "expected 'up', 'down'"),
    ("    cpu: 2", "timeline[0].cpu", 2, "less than or equal to 1"),
    ("    transfer: {size: 1GB, direction: sideways}", "timeline[0].transfer.direction",
     "sideways", "'up' or 'down'"),
    ("    transfer: {size: lots, direction: up}", "timeline[0].transfer.size", "lots",
     "malformed size"),
])
def test_bad_timeline_steps_are_named(tmp_path: Path, step: str, key_path: str, value: object,
                                      problem: str) -> None:
    path = write(tmp_path, MINIMAL + step + "\n")
    error = scenario_error(path)
    assert (error.source, error.key_path, error.value) == (str(path), key_path, value)
    assert problem in error.problem
    assert str(error).startswith(f"{path}: {key_path}: ")


def test_malformed_time_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "name: t\nduration: 1h\ntimeline:\n  - at: 2x\n    wifi: down\n")
    error = scenario_error(path)
    assert (error.key_path, error.value) == ("timeline[0].at", "2x")
    assert "malformed duration" in error.problem


def test_malformed_duration_is_named(tmp_path: Path) -> None:
    error = scenario_error(write(tmp_path, "name: t\nduration: 1 week\n"))
    assert (error.key_path, error.value) == ("duration", "1 week")


def test_unknown_flap_radio_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "name: t\nduration: 1h\nperturbations:\n  radio_flaps:\n"
                 "    - {radio: lora, rate_per_hour: 1, down_for: [1s, 2s]}\n")
    error = scenario_error(path)
    assert (error.key_path, error.value) == ("perturbations.radio_flaps[0].radio", "lora")


def test_a_radio_the_device_lacks_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "    cellular: down\n")
    error = scenario_error(path, device="tablet")
    assert (error.key_path, error.value) == ("timeline[0].cellular", "cellular")
    assert "device 'tablet' has no cellular radio" in error.problem


def test_a_battery_action_on_a_mains_device_is_named(tmp_path: Path) -> None:
    error = scenario_error(write(tmp_path, MINIMAL + "    battery: 50\n"), device="nas")
    assert (error.key_path, error.value) == ("timeline[0].battery", 50)


def test_an_empty_step_is_refused(tmp_path: Path) -> None:
    error = scenario_error(write(tmp_path, MINIMAL))
    assert error.key_path == "timeline[0]"
    assert "at least one action" in error.problem


def test_yaml_syntax_errors_give_the_position(tmp_path: Path) -> None:
    error = scenario_error(write(tmp_path, "name: t\nduration: [1h\n"))
    assert "YAML syntax error" in error.problem and "line" in str(error.value)


def test_unknown_scenario_name_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as info:
        load_scenario("no-such-scenario")
    assert "unknown scenario" in info.value.problem
    assert "day-in-the-life" in info.value.problem


# -- bad device profiles ----------------------------------------------------------------------

PROFILE = """\
name: p
battery: {capacity_mah: 1000, charge_ma: 1000}
thermal: {resistance_c_per_w: 1, time_constant_s: 10, overheat_c: 40}
radios:
  wifi: {down_kbps: 1000, up_kbps: 1000}
storage: {capacity: 1GB}
"""


@pytest.mark.parametrize(("old", "new", "key_path", "value", "problem"), [
    ("capacity_mah: 1000", "capacity_mah: -5", "battery.capacity_mah", -5, "greater than 0"),
    ("capacity_mah: 1000", "capacity_mah: 1000, level_pct: 150", "battery.level_pct", 150,
     "less than or equal to 100"),
    ("  wifi:", "  bluetooth:", "radios.bluetooth", {"down_kbps": 1000, "up_kbps": 1000},
     "unknown key"),
    ("capacity: 1GB", "capacity: 1GB, used: 2GB", "storage", {"capacity": "1GB", "used": "2GB"},
     "exceeds capacity"),
    ("up_kbps: 1000}", "up_kbps: 1000, preset: lte}", "radios", None, "presets are cellular"),
    ("name: p", "name: p\nbatery: {}", "batery", {}, "unknown key"),
])
def test_bad_profiles_are_named(tmp_path: Path, old: str, new: str, key_path: str,
                                value: object, problem: str) -> None:
    path = write(tmp_path, PROFILE.replace(old, new), "profile.yaml")
    with pytest.raises(ConfigError) as info:
        load_profile(path)
    error = info.value
    assert (error.source, error.key_path) == (str(path), key_path)
    if value is not None:
        assert error.value == value
    assert problem in error.problem


def test_the_shipped_profiles_load() -> None:
    assert {load_profile(n).kind for n in ("phone", "tablet", "nas")} == {"phone", "tablet", "nas"}
