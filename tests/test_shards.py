"""A campaign split into parts, the shards of a run, and ``syncrig report merge``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance.campaign import examples_of, part_seed, tour_part
from conformance.cli import main
from conformance.coverage import union
from conformance.options import Options
from conformance.reporting.merge import MergeError, merge
from conformance.runner import run
from conformance.shards import first_failing, shard, tasks
from conformance.suite import CAMPAIGNS
from sim.errors import ConfigError

OPTIONS = Options(examples=5, steps=8)
APIS = ["request", "SYNO.CloudSync"]


def test_a_split_is_a_function_of_the_options_and_the_count_only() -> None:
    campaign = CAMPAIGNS["request"]
    for count in (1, 2, 3, 7):
        shares = [examples_of(OPTIONS, campaign, (i, count)) for i in range(count)]
        assert sum(shares) == 5 and max(shares) - min(shares) <= 1
    seeds = [part_seed(OPTIONS, campaign, i) for i in range(4)]
    assert len(set(seeds)) == 4
    assert seeds == [part_seed(Options(examples=5, steps=8), campaign, i) for i in range(4)]
    assert part_seed(Options(hypothesis_profile="explore", seed=1), campaign, 0) != \
        part_seed(Options(hypothesis_profile="explore", seed=2), campaign, 0)
    assert 0 <= tour_part(campaign, 3) < 3
    assert [t.key for t in tasks(["request"], 2)] == ["request[1/2]", "request[2/2]"]
    assert [t.key for t in tasks(["request"], 3, only=1)] == ["request[2/3]"]
    assert [t.key for t in tasks(["request"])] == ["request"]


@pytest.mark.parametrize("text", ["2/2", "-1/2", "1", "a/b", "0/0"])
def test_a_bad_shard_is_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="I/N"):
        shard(text)


def test_matrices_unite_and_the_first_broken_rule_is_reported() -> None:
    a = {"api": "x", "document": "d", "documented": 3, "reached": [["e", "m", "n", "1"]],
         "unreached": [["e", "m", "n", "2"], ["e", "m", "n", "3"]],
         "excused": [["e", "m", "n", "3", "why"]], "percent": 33.3, "accounted_percent": 66.7}
    b = a | {"reached": [["e", "m", "n", "2"]],
             "unreached": [["e", "m", "n", "1"], ["e", "m", "n", "3"]]}
    merged = union(a, b)
    assert merged["reached"] == [["e", "m", "n", "1"], ["e", "m", "n", "2"]]
    assert merged["unreached"] == [] and merged["excused"] == [["e", "m", "n", "3", "why"]]
    assert (merged["percent"], merged["accounted_percent"]) == (66.7, 100.0)
    assert first_failing([None, {"kind": "harness"}, {"kind": "violation"},
                          {"kind": "violation"}]) == 2
    assert first_failing([None, {"kind": "flaky"}, {"kind": "harness"}]) == 1
    assert first_failing([None, None]) is None


def _same_run(a: dict[str, Any], b: dict[str, Any]) -> None:
    """Two matrix.json of the same examples: same matrices, verdicts, counts and steps."""
    assert a["matrices"] == b["matrices"]
    assert a["ok"] == b["ok"]
    for x, y in zip(a["campaigns"], b["campaigns"], strict=True):
        assert (x["campaign"], x["ok"], x["failure"]) == (y["campaign"], y["ok"], y["failure"])
        for key in ("examples", "steps", "rules"):
            assert x["statistics"][key] == y["statistics"][key], (x["campaign"], key)
        assert [n for n, _ in x["statistics"]["timing"]] == \
            [n for n, _ in y["statistics"]["timing"]]


@pytest.fixture(scope="module")
def sharded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Shards 0/2 and 1/2 of a run, and the same split run in one go."""
    out = tmp_path_factory.mktemp("reports")
    folders = {f"{i}/2": run(out, OPTIONS, APIS, shards=2, shard=i).folder for i in (0, 1)}
    folders["whole"] = run(out, OPTIONS, APIS, shards=2).folder
    assert all(folders.values())
    return {k: v for k, v in folders.items() if v is not None} | {"out": out}


def test_report_merge_of_the_shards_equals_the_unsharded_run(sharded: dict[str, Path],
                                                             tmp_path: Path) -> None:
    merged = tmp_path / "merged"
    assert main(["report", "merge", str(sharded["1/2"]), str(sharded["0/2"]),
                 "--out", str(merged)]) == 0
    whole = json.loads((sharded["whole"] / "matrix.json").read_text())
    _same_run(json.loads((merged / "matrix.json").read_text()), whole)
    manifest = json.loads((merged / "run.json").read_text())
    assert manifest["shard"] is None and manifest["shards"] == 2
    assert manifest["merged"] == [sharded["0/2"].name, sharded["1/2"].name]
    assert manifest["counts"] == json.loads((sharded["whole"] / "run.json").read_text())[
        "counts"]
    for name in ("junit.xml", "report.html", "stats.json", "bench.json"):
        assert (merged / name).is_file(), name
    assert list((merged / "allure-results").glob("*-result.json"))
    bench = json.loads((merged / "bench.json").read_text())
    assert [n for n, _ in bench["campaigns"]["request"]["timing"]] == \
        [n for n, _ in whole["campaigns"][0]["statistics"]["timing"]]
    # the merged run is a run directory like any: it compares with report diff
    assert main(["report", "diff", str(sharded["whole"]), str(merged)]) == 0


def test_a_shard_alone_is_judged_on_its_rules_not_its_coverage(tmp_path: Path) -> None:
    # the shard without request's tour leaves documented items unreached, and passes
    index = 1 - tour_part(CAMPAIGNS["request"], 2)
    assert main(["conformance", "--api", "request", "--examples", "5", "--steps", "8",
                 "--shard", f"{index}/2", "--out", str(tmp_path)]) == 0
    manifest = json.loads(next(tmp_path.glob("*/run.json")).read_text())
    assert (manifest["shards"], manifest["shard"]) == (2, index)
    assert manifest["counts"]["unreached"] > 0


def test_merge_refuses_a_missing_or_repeated_shard_or_another_run(
        sharded: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(MergeError, match="shard 1/2 missing"):
        merge([sharded["0/2"]], tmp_path / "a")
    with pytest.raises(MergeError, match="shard 0/2 again"):
        merge([sharded["0/2"], sharded["0/2"], sharded["1/2"]], tmp_path / "b")
    with pytest.raises(MergeError, match="whole run"):
        merge([sharded["0/2"], sharded["whole"]], tmp_path / "c")
    other = tmp_path / "other"
    other.mkdir()
    for name in ("run.json", "matrix.json"):
        (other / name).write_text((sharded["1/2"] / name).read_text())
    manifest = json.loads((other / "run.json").read_text())
    (other / "run.json").write_text(json.dumps(manifest | {"steps": 9}))
    with pytest.raises(MergeError, match="steps is 9"):
        merge([sharded["0/2"], other], tmp_path / "d")
    assert main(["report", "merge", str(sharded["0/2"]), "--out", str(tmp_path / "e")]) == 2
