"""``syncrig`` command line.

Bad input (an unknown scenario, an invalid file, a malformed option) ends with one line on
stderr naming what is wrong and exit status 2 — never a traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, NoReturn

import simpy
import simpy.rt
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from conformance import mutants as M
from conformance.cli import hil as hil_cli
from conformance.cli.hil import BRINGUP_APIS
from conformance.mutants import BY_NAME, CATALOGUE
from conformance.reporting import allure
from conformance.reporting.diff import Incomparable, compare
from conformance.reporting.rundir import RunDirError, load, render
from conformance.rpc import MIN_TOKEN, RpcServer, serve_stream
from conformance.runner import run
from conformance.suite import CAMPAIGNS, PROFILE_CAMPAIGNS, Options, _host_port, replay, rpc_address
from conformance.targets.rpc import APIS, TOKEN_ENV, open_target, server_token
from sim.arguments import image_path, out_folder
from sim.device import load_profile
from sim.device.profile import fixtures_dir
from sim.errors import ConfigError
from sim.plot import plot_trace
from sim.scenario import build_run, load_scenario, summarize
from sim.scenario.summary import Summary
from sim.servers import FixtureHTTPServer
from sim.synology import Nas, NasServer, load_seed
from sim.trace import read_trace
from sim.units import format_duration, format_size, parse_duration

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive_duration(text: str) -> float:
    seconds = _duration(text)
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"must be a duration > 0, got {text!r}")
    return seconds


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    # (the harness is loaded only to build the parser: other commands never import it)

    parser = _Parser(prog="syncrig", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--version", action="version",
                        version=f"syncrig {importlib.metadata.version('syncrig')}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    sim = sub.add_parser("simulate", help="run a scenario on a simulated device")
    sim.add_argument("scenario", help="scenario name (fixtures/scenarios) or YAML path")
    sim.add_argument("--device", help="device profile name (fixtures/devices) or YAML path; "
                     "default: the scenario's")
    sim.add_argument("--seed", type=int, help="seed for the perturbations; default: the "
                     "scenario's")
    sim.add_argument("--until", type=_positive_duration, help="simulated time to run, e.g. 24h; "
                     "default: the scenario's duration")
    sim.add_argument("--trace", type=Path, help="write the trace as JSON lines to this file")
    sim.add_argument("--plot", type=image_path, help="write a PNG of the timeline to this file")
    sim.add_argument("--sample", type=_positive_duration,
                     help="sampling interval for plots, e.g. 1m")
    sim.add_argument("--realtime", type=_positive, metavar="FACTOR",
                     help="run in real time, FACTOR simulated seconds per wall second")
    sim.add_argument("--json", action="store_true", help="print the summary as JSON")

    serve = sub.add_parser("serve", help="run a server on 127.0.0.1")
    serve_sub = serve.add_subparsers(dest="server", required=True, parser_class=_Parser)
    http = serve_sub.add_parser("http", help="the fault-injecting fixture HTTP server")
    http.add_argument("--port", type=int, default=8080, help="port (0 picks a free one)")
    http.add_argument("--host", default="127.0.0.1", help="address to listen on (default "
                      "127.0.0.1: the server has no authentication; 0.0.0.0 exposes it)")
    http.add_argument("--root", type=Path, default=Path("."), help="folder of files to serve")
    http.add_argument("--uploads", type=Path, help="where uploads are stored "
                      "(default ROOT/uploads)")

    rpc = serve_sub.add_parser("rpc", help="the cloudSync and request references over "
                               "syncrig-rpc/1 (JSON-RPC; see conformance/rpc.py)")
    rpc.add_argument("--port", type=int, default=7300, help="port (0 picks a free one)")
    rpc.add_argument("--host", default="127.0.0.1", help="address to listen on (default "
                     "127.0.0.1; any other needs a token)")
    rpc.add_argument("--token", help="the token a client's open must carry (default "
                     "$SYNCRIG_RPC_TOKEN; at least 16 characters)")
    rpc.add_argument("--stdio", action="store_true", help="serve one client on stdin/stdout "
                     "instead of TCP")

    nas = serve_sub.add_parser("nas", help="the emulated Synology NAS (SYNO.CloudSync)")
    nas.add_argument("--port", type=int, default=5000, help="port (0 picks a free one)")
    nas.add_argument("--host", default="127.0.0.1", help="address to listen on (default "
                     "127.0.0.1; 0.0.0.0 exposes the NAS to the network)")
    nas.add_argument("--data", type=Path, required=True, help="data directory (SQLite, shares, "
                     "cloud blobs); created if missing")
    nas.add_argument("--seed-file", type=Path, help="seed for a new data directory "
                     "(default: fixtures/nas/default.yaml)")
    nas.add_argument("--test-control", action="store_true", help="serve /_test/advance and "
                     "/_test/device, and let simulated time move only through them")

    conf = sub.add_parser("conformance", help="run the conformance campaigns and write the "
                          "coverage matrix and replay files")
    conf.add_argument("--target", default="reference", help="reference (default: the "
                      "in-process references and the NAS emulator), nas=http://HOST:PORT "
                      "(any SYNO.CloudSync endpoint; password from $SYNCRIG_NAS_PASSWORD) or "
                      "rpc=HOST:PORT (cloudSync and request implementations speaking "
                      "syncrig-rpc/1)")
    conf.add_argument("--nas-user", default="admin", help="user for a nas= target")
    conf.add_argument("--read-only", action="store_true", help="make only non-mutating calls "
                      "(for a NAS in use)")
    conf.add_argument("--api", action="append", choices=list(CAMPAIGNS),
                      help="run only this campaign (repeatable); default: all the target has")
    conf.add_argument("--profile", default="documented", help="fidelity profile the target "
                      "runs and the machines predict: documented, ohos-4.1 (cloudSync), "
                      "ohos-3.2 or page-kb (request)")
    conf.add_argument("--device", default="phone", help="device profile of the simulated "
                      "device (fixtures/devices name or YAML path)")
    conf.add_argument("--hypothesis-profile", default="ci", choices=["ci", "explore", "nightly"],
                      help="ci: derandomized, 50 examples; explore: 500 random examples with "
                      "an example database; nightly: 5000")
    conf.add_argument("--examples", type=int, help="examples per campaign (overrides the "
                      "profile's)")
    conf.add_argument("--steps", type=int, default=25, help="steps per example")
    conf.add_argument("--timeout", type=float, metavar="SECONDS", help="time limit of each "
                      "campaign; one past it ends as a harness error")
    conf.add_argument("--seed", type=int, help="Hypothesis seed of a profile that is not "
                      "derandomized (explore, nightly); default: drawn and recorded in run.json")
    conf.add_argument("-n", "--processes", type=int, default=1, help="run the campaigns side "
                      "by side in N processes")
    conf.add_argument("--out", type=out_folder, default=Path("reports"), help="report folder")
    conf.add_argument("--hil", action="store_true", help="hardware in the loop: run the "
                      "references on this machine's sensors in real time (cloudSync, request "
                      "and the NAS emulator; rules that need device control are left out)")
    conf.add_argument("--duration", type=_positive_duration, help="time for each campaign's "
                      "random examples; none starts after it (the run then ends normally)")
    conf.add_argument("--mutant", action="append", default=[], metavar="NAME",
                      help="plant a deviation of the catalogue in the reference (repeatable; "
                      "see syncrig mutants --list)")

    mut = sub.add_parser("mutants", help="run the suite against deliberate deviations of the "
                         "references and report which it caught")
    mut.add_argument("names", nargs="*", help="mutants to run (default: the whole catalogue)")
    mut.add_argument("--api", choices=sorted({m.campaign for m in CATALOGUE}),
                     help="only the mutants of this campaign")
    mut.add_argument("--list", action="store_true", help="list the catalogue and exit")
    mut.add_argument("--examples", type=int, default=50, help="examples per campaign")
    mut.add_argument("--min-score", type=float, default=0.95, help="exit 1 below this "
                     "fraction killed")
    mut.add_argument("--out", type=out_folder, default=Path("reports"), help="report folder")

    rep = sub.add_parser("replay", help="re-run a replay file's steps and say whether the "
                         "same rule breaks")
    rep.add_argument("file", type=Path)
    rep.add_argument("--plot", type=image_path,
                     help="write the device timeline of the replay as PNG")
    rep.add_argument("--mutant", action="append", default=[], metavar="NAME",
                     help="replay with a deviation of the catalogue planted (repeatable)")

    report = sub.add_parser(
        "report", help="render a run directory's reports, or compare two runs",
        usage="syncrig report RUN_DIR [--no-allure]\n       syncrig report diff BASE_RUN "
        "NEW_RUN [--gate-speed] [--json FILE]",
        description="syncrig report RUN_DIR: (re)write junit.xml, allure-results/ and the "
        "self-contained report.html of a run, and the allure report (allure-report/, with "
        "the previous run's history) when the allure command is installed. syncrig report "
        "diff BASE_RUN NEW_RUN: newly failing, newly passing and still failing cases, "
        "coverage gained and lost, speed changes beyond noise; exit 1 on a regression.")
    report.add_argument("runs", nargs="+", metavar="RUN_DIR", type=Path)
    report.add_argument("--no-allure", action="store_true", help="do not run allure generate")
    report.add_argument("--gate-speed", action="store_true", help="diff: a campaign slower "
                        "beyond the noise is a regression too")
    report.add_argument("--json", type=Path, help="diff: also write the comparison as JSON")


    hil_cli.add_parsers(sub)

    plot = sub.add_parser("plot", help="plot a saved trace")
    plot.add_argument("trace", type=Path)
    plot.add_argument("--out", type=image_path, required=True, help="PNG file to write")
    plot.add_argument("--title", default="")
    return parser


def _summary_table(summary: Summary, title: str) -> Table:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value")
    final = summary.final
    if final.get("battery_pct") is not None:
        charging = "charging" if final.get("charging") else "not charging"
        table.add_row("battery", f"{final['battery_pct']:.1f} % ({charging}), "
                      f"min {summary.min_battery_pct:.1f} %")
    else:
        table.add_row("battery", "none (mains powered)")
    table.add_row("temperature", f"{final['celsius']:.1f} °C (ambient "
                  f"{final['ambient_c']:.1f} °C), peak {summary.max_celsius:.1f} °C")
    radios = ", ".join(f"{n} {'up' if up else 'down'}" for n, up in final["radios"].items())
    table.add_row("radios", f"{radios}; active: {final['active']}")
    table.add_row("free storage", format_size(final["free_bytes"]))
    table.add_row("time below 15 %", format_duration(summary.below_15_s))
    table.add_row("time below 10 %", format_duration(summary.below_10_s))
    table.add_row("time overheated", format_duration(summary.overheated_s))
    table.add_row("time powered off", format_duration(summary.powered_off_s))
    table.add_row("time offline", format_duration(summary.offline_s))
    outages = ", ".join(f"{n} {c}" for n, c in summary.radio_outages.items()) or "none"
    table.add_row("radio outages", outages)
    table.add_row("bytes moved", f"up {format_size(summary.bytes_up)}, "
                  f"down {format_size(summary.bytes_down)} "
                  f"({summary.transfers_done} transfers done, "
                  f"{summary.transfers_interrupted} interrupted)")
    return table


def _simulate(args: argparse.Namespace, console: Console) -> int:
    scenario, path = load_scenario(args.scenario)
    env: simpy.Environment | None = None
    if args.realtime:
        env = simpy.rt.RealtimeEnvironment(factor=1.0 / args.realtime, strict=False)
    run = build_run(scenario, path, device=args.device, seed=args.seed, env=env,
                    sample_interval=args.sample)
    until = args.until if args.until is not None else scenario.duration
    err = Console(stderr=True)
    progress: Progress | None = None
    task = None
    started = time.perf_counter()

    def on_progress(now: float, end: float) -> None:
        nonlocal progress, task
        if progress is None and time.perf_counter() - started > 1.0:
            progress = Progress(TextColumn(f"simulating {scenario.name}"), BarColumn(),
                                TextColumn("{task.percentage:>3.0f}%"), TimeRemainingColumn(),
                                console=err, transient=True)
            progress.start()
            task = progress.add_task("run", total=end)
        if progress is not None and task is not None:
            progress.update(task, completed=now)

    try:
        result = run.run(until, on_progress=on_progress)
    finally:
        if progress is not None:
            progress.stop()
    events = result.device.trace.timeline()
    summary = summarize(events)
    title = (f"{scenario.name} on {result.device.profile.name}, seed {result.seed}, "
             f"{format_duration(until)} simulated in {result.wall_seconds:.3f} s")
    if args.trace:
        with _writing(args.trace):
            result.device.trace.save(args.trace)
    if args.plot:

        with _writing(args.plot):
            plot_trace(events, args.plot, title)
    if args.json:
        payload = {"scenario": scenario.name, "device": result.device.profile.name,
                   "seed": result.seed, "until_s": until, "wall_s": result.wall_seconds,
                   "trace_sha256": result.device.trace.digest(), **summary.to_dict()}
        console.print_json(json.dumps(payload))
    else:
        console.print(_summary_table(summary, title))
        for label, file in (("trace", args.trace), ("plot", args.plot)):
            if file:
                console.print(f"{label}: {file}")
    return 0


@contextmanager
def _writing(path: Path) -> Iterator[None]:
    """Turn a failure to write an output file into one clear error naming the file."""
    try:
        yield
    except OSError as exc:
        raise ConfigError(path, "", str(path), f"cannot write file: {exc.strerror}") from None


def _plot(args: argparse.Namespace, console: Console) -> int:

    try:
        events = read_trace(args.trace)
    except OSError as exc:
        raise ConfigError(args.trace, "", str(args.trace), f"cannot read trace: {exc.strerror}") \
            from None
    except (ValueError, KeyError) as exc:
        raise ConfigError(args.trace, "", str(args.trace), f"not a syncrig trace: {exc}") \
            from None
    try:
        with _writing(args.out):
            plot_trace(events, args.out, args.title)
    except ValueError as exc:
        raise ConfigError(args.trace, "", str(args.trace), str(exc)) from None
    except (KeyError, TypeError) as exc:
        raise ConfigError(args.trace, "", str(args.trace),
                          f"not a syncrig trace: an event lacks field {exc}") from None
    console.print(f"plot: {args.out}")
    return 0


def _serve_until_stopped(banner: str, stop: Callable[[], None]) -> NoReturn:
    """Print ``banner`` and wait; Ctrl-C or SIGTERM runs ``stop`` (main then exits with 130).

    Both signals are bound here even when the process started with SIGINT ignored (a shell's
    background job), so a server started with ``&`` can still be stopped cleanly.
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    print(banner, flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        stop()


def _serve_http(args: argparse.Namespace, console: Console) -> int:

    if not args.root.is_dir():
        raise ConfigError(args.root, "", str(args.root), "not a folder")
    if not 0 <= args.port <= 65535:
        raise ConfigError("--port", "", args.port, "must be within 0..65535")
    server = FixtureHTTPServer(args.root, args.uploads, port=args.port, host=args.host)
    try:
        server.start()
    except OSError as exc:
        raise ConfigError("--port", "", args.port,
                          f"cannot listen on {args.host}: {exc.strerror}") from None
    _serve_until_stopped(f"serving {args.root.resolve()} on {server.url} (Ctrl-C stops)",
                         server.stop)


def _serve_rpc(args: argparse.Namespace) -> int:

    token = server_token(args.token)
    if token is not None and len(token) < MIN_TOKEN:
        raise ConfigError("--token", "", "(not shown)", f"needs at least {MIN_TOKEN} characters")
    if args.stdio:
        # SIGTERM as Ctrl-C: the targets are closed and their folders removed on the way out
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        serve_stream(open_target, sys.stdin.buffer, sys.stdout.buffer, token)
        return 0
    if not 0 <= args.port <= 65535:
        raise ConfigError("--port", "", args.port, "must be within 0..65535")
    if args.host != "127.0.0.1" and token is None:
        raise ConfigError("--host", "", args.host, "listening on an address other than "
                          f"127.0.0.1 needs a token (--token or ${TOKEN_ENV})")
    try:
        server = RpcServer(open_target, args.port, args.host, token).start()
    except OSError as exc:
        raise ConfigError("--port", "", f"{args.host}:{args.port}",
                          f"cannot listen: {exc.strerror}") from None
    address = f"[{args.host}]" if ":" in args.host else args.host
    needs = "token required; " if token is not None else ""
    _serve_until_stopped(f"syncrig-rpc/1 on {address}:{server.port} ({needs}Ctrl-C stops)",
                         server.stop)


def _serve_nas(args: argparse.Namespace) -> int:

    if not 0 <= args.port <= 65535:
        raise ConfigError("--port", "", args.port, "must be within 0..65535")
    seed = load_seed(args.seed_file or fixtures_dir() / "nas" / "default.yaml")
    try:
        nas = Nas(args.data, seed)
    except (OSError, sqlite3.DatabaseError) as exc:
        raise ConfigError(args.data, "", str(args.data), f"unusable data directory: {exc}") \
            from None
    server = NasServer(nas, args.port, test_control=args.test_control, host=args.host)
    try:
        server.start()
    except OSError as exc:
        raise ConfigError("--port", "", args.port,
                          f"cannot listen on {args.host}: {exc.strerror}") from None

    def stop() -> None:
        server.stop()
        nas.store.close()

    _serve_until_stopped(f"NAS ({args.data}) serving DSM's web API on {server.url}/webapi/ "
                         "(Ctrl-C stops)", stop)


def _conformance_options(args: argparse.Namespace) -> tuple[Any, list[str]]:


    if args.examples is not None and args.examples < 1:
        raise ConfigError("--examples", "", args.examples, "must be at least 1")
    if args.steps < 1:
        raise ConfigError("--steps", "", args.steps, "must be at least 1")
    if args.processes < 1:
        raise ConfigError("--processes", "", args.processes, "must be at least 1")
    load_profile(args.device)  # a bad profile is bad input, not a failure of the target

    if args.profile not in PROFILE_CAMPAIGNS:
        raise ConfigError("--profile", "", args.profile, "must be one of "
                          f"{', '.join(PROFILE_CAMPAIGNS)} (the profiles the machines predict)")
    overrides: dict[str, Any] = {"device": args.device, "steps": args.steps,
                                 "read_only": args.read_only, "profile": args.profile}
    if args.examples is not None:
        overrides["examples"] = args.examples
    if args.timeout is not None:
        if not args.timeout > 0:
            raise ConfigError("--timeout", "", args.timeout, "must be a positive number of "
                              "seconds")
        overrides["timeout_s"] = args.timeout
    if args.seed is not None:
        if not 0 <= args.seed < 2**32:
            raise ConfigError("--seed", "", args.seed, "must be in 0 .. 2**32-1")
        if args.hypothesis_profile == "ci":
            raise ConfigError("--seed", "", args.seed, "applies to --hypothesis-profile "
                              "explore or nightly; ci is derandomized")
        overrides["seed"] = args.seed
    if args.duration is not None:
        overrides["duration_s"] = args.duration
    if args.hil:

        if args.target != "reference":
            raise ConfigError("--hil", "", args.target, "runs the reference on this machine; "
                              "give no --target")
        hardware = list(BRINGUP_APIS.values())
        wrong = [name for name in args.api or [] if name not in hardware]
        if wrong:
            raise ConfigError("--api", "", ",".join(wrong), "--hil runs "
                              f"{', '.join(hardware)} (the others need simulated time)")
        overrides["hil"] = True
        names = args.api or hardware
    elif args.target == "reference":
        names = args.api or list(CAMPAIGNS)
    elif args.target.startswith("nas="):

        _host_port(args.target[4:])
        overrides |= {"nas": args.target[4:], "nas_user": args.nas_user,
                      "nas_password": os.environ.get("SYNCRIG_NAS_PASSWORD", "")}
        if any(name != "SYNO.CloudSync" for name in args.api or []):
            raise ConfigError("--api", "", ",".join(args.api), "a nas= target has only "
                              "SYNO.CloudSync")
        names = ["SYNO.CloudSync"]
    elif args.target.startswith("rpc="):

        rpc_address(args.target[4:])
        overrides["rpc"] = args.target[4:]

        wrong = [name for name in args.api or [] if name not in APIS]
        if wrong:
            raise ConfigError("--api", "", ",".join(wrong), "an rpc= target serves "
                              f"{' and '.join(APIS)}")
        names = args.api or list(APIS)
    else:
        raise ConfigError("--target", "", args.target, "must be reference, "
                          "nas=http://HOST:PORT or rpc=HOST:PORT")
    names = [n for n in names if n in PROFILE_CAMPAIGNS[args.profile]]
    if not names:
        raise ConfigError("--profile", "", args.profile, "applies to "
                          f"{', '.join(PROFILE_CAMPAIGNS[args.profile])} only")
    return Options.for_profile(args.hypothesis_profile, **overrides), names


@contextmanager
def _planted(names: list[str]) -> Iterator[None]:
    """Apply the named mutants of the catalogue for the duration."""


    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise ConfigError("--mutant", "", ", ".join(unknown), "not in the catalogue (see "
                          "syncrig mutants --list)")
    with ExitStack() as stack:
        for name in names:
            stack.enter_context(BY_NAME[name].applied())
        yield


def _conformance(args: argparse.Namespace, console: Console) -> int:

    options, names = _conformance_options(args)
    with _planted(args.mutant):
        report = run(args.out, options, names,
                     progress=lambda what: console.print(f"[dim]{what}[/dim]"),
                     processes=args.processes)
    table = Table(title=f"conformance run {report.started}")
    for column in ("API", "documented items", "reached", "%", "seconds", "result"):
        table.add_column(column)
    for out in report.outcomes:
        m = out.matrix
        table.add_row(m["api"], str(m["documented"]), str(len(m["reached"])), str(m["percent"]),
                      f"{out.seconds:.1f}", "conforms" if out.ok else "[red]FAILED[/red]")
    console.print(table)
    for out in report.failures:
        console.print("[red]FAILED[/red] ", end="")
        console.print(out.describe(), markup=False, highlight=False)
    return 0 if report.ok else 1


def _mutants(args: argparse.Namespace, console: Console) -> int:


    chosen = [M.BY_NAME[n] for n in args.names if n in M.BY_NAME]
    unknown = [n for n in args.names if n not in M.BY_NAME]
    if unknown:
        raise ConfigError("mutants", "", ", ".join(unknown), "not in the catalogue (see "
                          "syncrig mutants --list)")
    chosen = chosen or list(M.CATALOGUE)
    if args.api:
        chosen = [m for m in chosen if m.campaign == args.api]
    if args.list:
        for m in chosen:  # one line each, unwrapped: for people and for grep
            print(f"{m.name:34} {m.campaign:15} {m.breaks}")
        return 0
    if args.examples < 1:
        raise ConfigError("--examples", "", args.examples, "must be at least 1")
    if not 0 <= args.min_score <= 1:
        raise ConfigError("--min-score", "", args.min_score, "must be within 0..1")
    options = Options(examples=args.examples)
    started = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = args.out / f"mutants-{started}"

    def show(v: M.Verdict) -> None:
        row = v.to_json()
        fate = f"killed in {row['steps']} steps ({row['seconds']} s) by {row['by']}" \
            if v.killed else "[red]survived[/red]"
        console.print(f"{v.mutant.name}: {fate}", highlight=False)

    verdicts = M.run_mutants(chosen, options, folder / "replays", progress=show)
    folder.mkdir(parents=True, exist_ok=True)
    summary = M.summary(verdicts)
    (folder / "mutants.json").write_text(json.dumps(
        {"started": started, "options": options.to_json(), "summary": summary,
         "mutants": [v.to_json() for v in verdicts]}, indent=2))
    (folder / "mutants.md").write_text(M.markdown(verdicts, options))
    console.print(f"{summary['killed']} of {summary['mutants']} killed (score "
                  f"{summary['score']}), median shrunk trace {summary['median_steps']} steps; "
                  f"report: {folder}")
    return 0 if summary["score"] >= args.min_score else 1


def _replay(args: argparse.Namespace, console: Console) -> int:

    with _planted(args.mutant):
        result = replay(args.file, args.plot)
    console.print(f"{len(result.steps)} steps of {result.campaign} replayed")
    for i, step in enumerate(result.steps, 1):
        console.print(f"  {i}. {step}", markup=False, highlight=False)
    recorded = result.recorded["message"] if result.recorded else "no failure"
    observed = result.observed["message"] if result.observed else "no failure"
    console.print(f"recorded: {recorded}", markup=False, highlight=False)
    console.print(f"observed: {observed}", markup=False, highlight=False)
    if result.plot is not None:
        console.print(f"timeline: {result.plot}")
    if result.reproduced:
        console.print("reproduced" if result.observed else "still conforms")
        return 1 if result.observed else 0
    console.print("[yellow]not reproduced[/yellow]: the target now behaves differently")
    return 3


def _report(args: argparse.Namespace, console: Console) -> int:

    runs: list[Path] = args.runs
    try:
        if runs[0] == Path("diff"):

            if len(runs) != 3:
                raise ConfigError("report diff", "", " ".join(map(str, runs[1:])),
                                  "needs two run directories: BASE_RUN NEW_RUN")
            try:
                diff = compare(load(runs[1]), load(runs[2]))
            except Incomparable as exc:
                print(f"syncrig: {exc}", file=sys.stderr)
                return EXIT_BAD_INPUT
            console.print(diff.markdown(), markup=False, highlight=False)
            if args.json is not None:
                args.json.write_text(json.dumps(diff.to_json(), indent=2))
            regression = diff.regression(gate_speed=args.gate_speed)
            console.print("[red]regression[/red]" if regression else "no regression")
            return 1 if regression else 0
        if len(runs) != 1:
            raise ConfigError("report", "", " ".join(map(str, runs)), "takes one run directory "
                              "(or: report diff BASE_RUN NEW_RUN)")
        run = load(runs[0])
    except RunDirError as exc:
        print(f"syncrig: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    written = render(run)
    for what, path in written.items():
        console.print(f"{what}: {path}")
    if not args.no_allure:

        command = allure.allure_command()
        if command is None:
            console.print("allure report: skipped, the allure command is not installed "
                          "(npm install -g allure)")
        else:
            try:
                console.print(f"allure report: {allure.generate(run.path, command)}")
            except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
                print(f"syncrig: {exc}", file=sys.stderr)
                return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``syncrig`` console script."""
    args = build_parser().parse_args(argv)
    console = Console()
    try:
        if args.command == "simulate":
            return _simulate(args, console)
        if args.command == "conformance":
            return _conformance(args, console)
        if args.command == "mutants":
            return _mutants(args, console)
        if args.command == "replay":
            return _replay(args, console)
        if args.command == "report":
            return _report(args, console)
        if args.command in ("sensors", "bringup", "shape"):

            return int(getattr(hil_cli, args.command)(args, console))
        if args.command == "serve":
            if args.server == "nas":
                return _serve_nas(args)
            if args.server == "rpc":
                return _serve_rpc(args)
            return _serve_http(args, console)
        return _plot(args, console)
    except ConfigError as exc:
        print(f"syncrig: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("syncrig: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (``syncrig sensors --json | head``): nothing more to say, and
        # the interpreter must not try to flush into the closed pipe on exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
