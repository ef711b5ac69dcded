"""Render the README's benchmark figures from the JSON the benches wrote.

Every speed or size figure in README.md sits in a marked block, ``<!-- bench:NAME:start -->``
… ``<!-- bench:NAME:end -->``, rendered from ``bench/results/*.json`` (each bench's
``--json PATH``), never typed by hand, so a figure in the README is one a bench measured and a
reader can re-measure: each block ends with the command that wrote its JSON.

Usage: ``python bench/render.py`` rewrites the blocks; ``--check`` exits 1 if one differs.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
README = ROOT / "README.md"

Figures = Sequence[dict[str, Any]]


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:g} h"


def _wall(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _millions(value: float) -> str:
    return f"{value / 1e6:.1f} M"


def _hundreds(value: float) -> str:
    return f"{round(value, -2):,.0f}"


def _size(mib: int) -> str:
    return f"{mib // 1024} GiB" if mib % 1024 == 0 else f"{mib} MiB"


def _spread(values: Sequence[float]) -> str:
    return f"{values[0]:.2f}–{values[1]:.2f} s"


def _percent(share: float) -> str:
    return f"{100 * share:.0f} %"


def simulate(figures: Figures) -> str:
    """The device simulation against bare SimPy, one row per scenario."""
    first = figures[0]
    versions = {(f["python"], f["simpy"], f["repeat"]) for f in figures}
    if len(versions) != 1:
        raise ValueError(f"the figures come from different setups: {sorted(versions)}")
    lines = [f"On the 2-core development machine (Python {first['python']}, SimPy "
             f"{first['simpy']}, median of {first['repeat']} runs):", "",
             "| scenario | simulated | wall | simulated s / wall s | events | events/s "
             "| bare SimPy events/s | ratio |",
             "|---|---|---|---|---|---|---|---|"]
    for f in figures:
        lines.append(f"| {f['scenario']} | {_hours(f['simulated_s'])} | "
                     f"{_wall(f['wall_s_median'])} | {_millions(f['simulated_s_per_wall_s'])} "
                     f"| {f['simpy_events']} | {_hundreds(f['events_per_s'])} | "
                     f"{_hundreds(f['bare_simpy_events_per_s'])} | "
                     f"{f['ratio_to_bare_simpy']:.2f} |")
    day = next(f for f in figures if f["scenario"] == "day-in-the-life")
    ratios = sorted(f["ratio_to_bare_simpy"] for f in figures)
    lines += ["", f"A simulated day takes about 1/{round(1 / day['wall_s_median']):,} of a 1 s "
              f"budget. Events/s reach {ratios[0]:.2f}–{ratios[-1]:.2f} of bare SimPy's."]
    return "\n".join(lines)


def request(figures: Figures) -> str:
    """The @ohos.request reference against curl, download and multipart upload."""
    (f,) = figures
    lines = [f"Medians of {f['repeat']} (spread in brackets):", "",
             "| transfer | reference | curl | ratio (curl time / ours) |", "|---|---|---|---|"]
    for key, what in (("download", "download"), ("upload", "multipart upload")):
        row = f[key]
        lines.append(f"| {what} {_size(row['mib'])} | {row['ours_mib_s']:.0f} MiB/s "
                     f"({_spread(row['ours_spread'])}) | {row['curl_mib_s']:.0f} MiB/s "
                     f"({_spread(row['curl_spread'])}) | {row['ratio']:.2f} |")
    return "\n".join(lines)


def cloudsync(figures: Figures) -> str:
    """cloudSync's upload and download against ``shutil.copyfile``, on disk and on tmpfs."""
    lines = ["| data | where | upload | download |", "|---|---|---|---|"]
    for f in figures:
        where = "tmpfs (`--dir /dev/shm`)" if "/dev/shm" in f["command"] else "disk (temp folder)"
        for key in ("small", "big"):
            row = f[key]
            each = row["bytes"] // row["files"]
            size = f"{each // 1024} KiB" if each < 1 << 20 else _size(each >> 20)
            lines.append(f"| {row['files']:,} × {size} | {where} | {row['upload_ratio']:.2f} | "
                         f"{row['download_ratio']:.2f} |")
    return "\n".join(lines)


def nas(figures: Figures) -> str:
    """The emulated NAS's ``list_conn`` against a bare aiohttp handler, under load."""
    (f,) = figures
    ours, bare = f["nas"], f["bare"]
    codes = ", ".join(f"{code} ×{n:,}" for code, n in ours["codes"].items())
    return (f"With {f['clients']} clients for {f['seconds']:g} s: `list_conn` at "
            f"{ours['rps']:,.0f} req/s (p50 {ours['p50_ms']:.1f} ms, p99 {ours['p99_ms']:.1f} ms;"
            f" reply codes {codes}) against the bare handler's {bare['rps']:,.0f} req/s (p50 "
            f"{bare['p50_ms']:.1f} ms, p99 {bare['p99_ms']:.1f} ms) — ratio {f['ratio']:.2f}.")


def hil(figures: Figures) -> str:
    """From a uevent to the host device's listener, per feed tick, against a bare monitor."""
    lines = ["| feed tick | changes | bare monitor p50 | p99 | ours p50 | p99 | added p50 | p99 |",
             "|---|---|---|---|---|---|---|---|"]
    for f in figures:
        base, ours = f["baseline_bare_monitor"], f["ours"]
        lines.append(f"| {f['tick_s'] * 1000:g} ms | {f['changes']:,} | {base['p50_ms']:.2f} ms "
                     f"| {base['p99_ms']:.2f} ms | {ours['p50_ms']:.2f} ms | "
                     f"{ours['p99_ms']:.2f} ms | {f['added_p50_ms']:.2f} ms | "
                     f"{f['added_p99_ms']:.2f} ms |")
    return "\n".join(lines)


def conformance(figures: Figures) -> str:
    """Each campaign's steps per second against a bare Hypothesis machine, and where its
    time goes."""
    (f,) = figures
    base = f["bare_hypothesis"]
    lines = [f"`--examples {f['examples']}` (each campaign its share of them, as in "
             f"*Conformance*); bare Hypothesis machine {base['steps_per_s']:,.0f} steps/s.", "",
             "| campaign | steps | wall | steps/s | ratio to bare | share of suite "
             "| where the time goes (profiled, own time) |", "|---|---|---|---|---|---|---|"]
    for row in f["campaigns"]:
        where = ", ".join(f"{area} {_percent(share)}"
                          for area, share in list(row["where"].items())[:3])
        lines.append(f"| {row['campaign']} | {row['steps']:,} | "
                     f"{row['seconds']:.1f} s | {row['steps_per_s']:,.0f} | "
                     f"{row['ratio_to_bare_hypothesis']:.3f} | "
                     f"{_percent(row['share_of_suite'])} | {where} |")
    lines += ["", f"The whole suite at this size: {f['suite_seconds']:.1f} s wall, in one process."]
    return "\n".join(lines)


def rpc(figures: Figures) -> str:
    """cloudSync and request over syncrig-rpc/1 against the same campaigns in-process."""
    (f,) = figures
    lines = [f"`--examples {f['examples']}`:", "",
             "| campaign | in-process | over syncrig-rpc/1 | slowdown | same items reached |",
             "|---|---|---|---|---|"]
    local = {row["campaign"]: row for row in f["campaigns"]}
    for row in f["rpc"]:
        lines.append(f"| {row['campaign']} | {local[row['campaign']]['seconds']:.1f} s | "
                     f"{row['seconds']:.1f} s | {row['slowdown']:.1f}× | "
                     f"{'yes' if row['reached_as_in_process'] else 'no'} |")
    return "\n".join(lines)


def reliability_request(figures: Figures) -> str:
    """Faulted downloads and path attacks against @ohos.request, then the same with each
    re-planted mutant, which must show."""
    f, *mutants = figures
    out = f["outcomes"]
    lines = ["| mutant | seed | downloads | corrupt | path attacks escaped | seen |",
             "|---|---|---|---|---|---|"]
    lines += [f"| `{m['mutant']}` | {m['seed']} | {m['downloads']:,} | {m['corrupt']:,} | "
              f"{m['escaped']} of {len(m['attacks'])} | "
              f"{'yes' if m['corrupt'] or m['escaped'] or m['unended'] else '**no**'} |"
              for m in mutants]
    return (f"Seed {f['seed']}, {f['downloads']:,} downloads, {f['seconds']:g} s: "
            f"{out.get('complete', 0):,} complete, {out.get('failed', 0):,} failed with their "
            f"documented reason, **{f['corrupt']} corrupt**, {f['unended']} left unended; "
            f"{out.get('complete-unsized', 0)} more completed where even the probe got the "
            f"short, unsized chunked answer (counted apart); {len(f['attacks'])} path attacks, "
            f"**{f['escaped']} escapes**.\n\n" + "\n".join(lines))


def reliability_sync(figures: Figures) -> str:
    """cloudSync's path attacks and two-phone sequences."""
    (f,) = figures
    paths, phones = f["path_attacks"], f["two_phones"]
    steps = phones["steps"] // max(1, phones["sequences"])
    return (f"Every path attack alone and in {paths['sequences']:,} random sequences of 10 "
            f"({paths['attacks_run']:,} attacks: **{paths['escapes']} escapes**), and "
            f"{phones['sequences']:,} two-phone sequences of {steps} steps "
            f"({phones['versions_written']:,} versions written, {phones['versions_checked']:,} "
            f"required at the end: **{phones['sequences_losing_versions']} lost versions**), "
            f"{f['seconds']:.0f} s.")


def fuzz_rpc(figures: Figures) -> str:
    """Malformed syncrig-rpc/1 lines."""
    (f,) = figures
    return (f"{f['lines']:,} malformed lines in {len(f['by_kind'])} classes in {f['seconds']:g} s:"
            f" **{f['answered']:,} answered, {f['dropped']} dropped connections**, {f['wrong']} "
            f"wrong answers, {'a' if f['sentinel_written'] else 'no'} file written by a client.")


def fuzz_nas(figures: Figures) -> str:
    """Malformed web-API requests to the emulated NAS, then ``kill -9`` during writes."""
    (f,) = figures
    m, k = f["malformed"], f["kill9"]
    codes = ", ".join(f"{code} ×{n:,}" for code, n in m["codes"].items())
    return (f"{m['requests']:,} malformed requests in {m['seconds']:g} s — **{m['five_xx']} 5xx**,"
            f" {m['tracebacks']} tracebacks, {m['stalls']} stalls; reply codes {codes}; "
            f"{m['http_refusals']:,} refused by the HTTP layer; {m['findings']} findings. "
            f"`kill -9` ×{k['kills']} during acknowledged writes ({k['writes_sent']:,} writes, "
            f"{k['seconds']:g} s): **{k['lost']} lost**, {k['integrity_failures']} integrity "
            f"failures.")


def cluster(figures: Figures) -> str:
    """The same work on a LocalCluster of one and of two workers."""
    (f,) = figures
    lines = ["| workers | start-up | per no-op task | latency | "
             f"{f['mutants']} mutants | {f['campaign']} in {f['shards']} parts |",
             "|---|---|---|---|---|---|"]
    for row in f["runs"]:
        lines.append(f"| {row['workers']} | {row['startup_s']:.1f} s | "
                     f"{row['per_task_s'] * 1000:.1f} ms | {row['latency_s'] * 1000:.1f} ms | "
                     f"{row['mutants_s']:.1f} s | {row['campaign_s']:.1f} s |")
    scaling = f["scaling"]
    lines += ["", f"Scaling from 1 to 2 workers: mutants ×{scaling['mutants']:.2f}, campaign "
              f"×{scaling['campaign']:.2f} ({f['examples']} examples a campaign)."]
    return "\n".join(lines)


@dataclass(frozen=True)
class Block:
    """One marked block of the README and the JSON files it is rendered from."""

    name: str
    files: tuple[str, ...]
    render: Callable[[Figures], str]

    @property
    def start(self) -> str:
        return f"<!-- bench:{self.name}:start -->"

    @property
    def end(self) -> str:
        return f"<!-- bench:{self.name}:end -->"


BLOCKS = {b.name: b for b in (
    Block("simulate", ("simulate-day-in-the-life.json", "simulate-low-battery-upload.json"),
          simulate),
    Block("request", ("request.json",), request),
    Block("reliability-request", ("reliability-request.json", *(
        f"reliability-request-{name}.json" for name in (
            "rq-error-page-written", "rq-short-body-completes", "rq-resume-without-if-range",
            "rq-write-follows-symlinks", "rq-remove-follows-symlinks"))), reliability_request),
    Block("reliability-sync", ("reliability-sync.json",), reliability_sync),
    Block("fuzz-rpc", ("fuzz-rpc.json",), fuzz_rpc),
    Block("fuzz-nas", ("fuzz-nas.json",), fuzz_nas),
    Block("cloudsync", ("cloudsync.json", "cloudsync-tmpfs.json"), cloudsync),
    Block("nas", ("nas.json",), nas),
    Block("hil", ("hil.json", "hil-tick-1ms.json"), hil),
    Block("conformance", ("conformance.json",), conformance),
    Block("rpc", ("conformance-rpc.json",), rpc),
    Block("cluster", ("cluster.json",), cluster),
)}
"""The README's blocks, in its order."""


def load(block: Block, results: Path = RESULTS) -> list[dict[str, Any]]:
    """The figures a block is rendered from, one per file."""
    return [json.loads((results / name).read_text()) for name in block.files]


def render(block: Block, figures: Figures) -> str:
    """The block's text (markers excluded): its figures, then the commands that measured
    them."""
    text = "\n\n".join(p if p.startswith("|") else textwrap.fill(
        p, 96, break_long_words=False, break_on_hyphens=False)
        for p in block.render(figures).split("\n\n"))
    commands = "\n".join(f["command"] for f in figures)
    return f"{text}\n\nMeasured with:\n\n```sh\n{commands}\n```"


def rewrite(text: str, block: Block, body: str) -> str:
    """``text`` with ``block``'s marked block replaced by ``body``."""
    start, end = block.start, block.end
    if text.count(start) != 1 or text.count(end) != 1 or text.index(start) > text.index(end):
        raise ValueError(f"README.md must hold one {start} ... {end} block")
    head, rest = text.split(start)
    _, tail = rest.split(end)
    return f"{head}{start}\n{body}\n{end}{tail}"


def rewrite_all(text: str, results: Path = RESULTS) -> str:
    """``text`` with every block rendered from the JSON in ``results``."""
    for block in BLOCKS.values():
        text = rewrite(text, block, render(block, load(block, results)))
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if a block of README.md is not what the JSON renders")
    args = parser.parse_args()
    text = README.read_text()
    new = rewrite_all(text)
    if args.check:
        if new != text:
            print("README.md: a bench block differs from bench/results/; run "
                  "python bench/render.py", file=sys.stderr)
            return 1
        return 0
    README.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
