"""``syncrig conformance``, ``mutants`` and ``replay``: the campaigns against a target, the
mutant catalogue against the references, a failure replayed."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from conformance import mutants as M
from conformance.cli import scaleout
from conformance.cli.common import MissingVariable
from conformance.cli.hil import BRINGUP_APIS
from conformance.mutants import BY_NAME, CATALOGUE
from conformance.options import (
    NAS_CERT_ENV,
    NAS_PASSWORD_ENV,
    Options,
    check_nas_cert,
    nas_address,
    rpc_address,
)
from conformance.replay import load_replay, replay
from conformance.runner import run
from conformance.suite import CAMPAIGNS, PROFILE_CAMPAIGNS
from conformance.targets.rpc import APIS
from sim.arguments import image_path, out_folder, positive_duration
from sim.device import load_profile
from sim.errors import ConfigError


def add_parsers(sub: Any) -> None:
    conf = sub.add_parser("conformance", help="run the conformance campaigns and write the "
                          "coverage matrix and replay files",
                          epilog="exit status: 0 the target conforms; 1 it broke a rule or "
                          "left a documented item unreached; 2 bad input; 4 the run could "
                          "not be done (a campaign past --timeout, an unreachable target, a "
                          "harness error) and no rule broke")
    conf.add_argument("--target", default="reference", help="reference (default: the "
                      "in-process references and the NAS emulator), nas=http://HOST:PORT or "
                      "nas=https://HOST:PORT (any SYNO.CloudSync endpoint; password from "
                      f"${NAS_PASSWORD_ENV}) or rpc=HOST:PORT (cloudSync and request "
                      "implementations speaking syncrig-rpc/1); an IPv6 address goes in "
                      "brackets: rpc=[::1]:7300")
    conf.add_argument("--nas-user", default="admin", help="user for a nas= target")
    trust = conf.add_mutually_exclusive_group()
    trust.add_argument("--nas-cert", metavar="PEM", default=os.environ.get(NAS_CERT_ENV),
                       help="trust an https NAS whose certificate is in this PEM file (its "
                       "self-signed certificate, or the CA that signed it; default "
                       f"${NAS_CERT_ENV}, else the system's CAs)")
    trust.add_argument("--nas-insecure", action="store_true", help="do not verify an https "
                       "NAS's certificate (anyone on the path can read the password)")
    conf.add_argument("--read-only", action="store_true", help="make only non-mutating calls "
                      "(for a NAS in use)")
    conf.add_argument("--api", action="append", choices=list(CAMPAIGNS),
                      help="run only this campaign (repeatable); default: all the target has")
    conf.add_argument("--profile", default="documented", help="fidelity profile the target "
                      "runs and the machines predict: documented, ohos-head (cloudSync "
                      "and request), ohos-4.1 (cloudSync), ohos-3.2 or page-kb (request)")
    conf.add_argument("--device", default="phone", help="device profile of the simulated "
                      "device (fixtures/devices name or YAML path)")
    conf.add_argument("--hypothesis-profile", default="ci", choices=["ci", "explore", "nightly"],
                      help="ci: derandomized, 50 examples; explore: 500 random examples with "
                      "an example database; nightly: 5000")
    conf.add_argument("--examples", type=int, help="examples per campaign (overrides the "
                      "profile's)")
    conf.add_argument("--steps", type=int, default=25, help="steps per example")
    conf.add_argument("--timeout", type=float, metavar="SECONDS", help="time limit of each "
                      "campaign; one past it ends as a harness error (exit status 4), with no "
                      "trace or replay file")
    conf.add_argument("--seed", type=int, help="Hypothesis seed of a profile that is not "
                      "derandomized (explore, nightly); default: drawn and recorded in run.json")
    conf.add_argument("-n", "--processes", type=int, default=1, help="run the campaigns side "
                      "by side in N processes")
    conf.add_argument("--out", type=out_folder, default=Path("reports"), help="report folder")
    conf.add_argument("--hil", action="store_true", help="hardware in the loop: run the "
                      "references on this machine's sensors in real time (cloudSync, request "
                      "and the NAS emulator; rules that need device control are left out)")
    conf.add_argument("--duration", type=positive_duration, help="time for each campaign's "
                      "random examples; none starts after it (the run then ends normally)")
    conf.add_argument("--mutant", action="append", default=[], metavar="NAME",
                      help="plant a deviation of the catalogue in the reference (repeatable; "
                      "see syncrig mutants --list); replay files record it")
    scaleout.add_arguments(conf)

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
    scaleout.add_arguments(mut, split=False)

    rep = sub.add_parser("replay", help="re-run a replay file's steps and say whether the "
                         "same rule breaks")
    rep.add_argument("file", type=Path)
    rep.add_argument("--plot", type=image_path,
                     help="write the device timeline of the replay as PNG")
    rep.add_argument("--mutant", action="append", default=[], metavar="NAME",
                     help="replay with a deviation of the catalogue planted, besides those "
                     "the file records (repeatable)")
    conf.set_defaults(run=_conformance)
    mut.set_defaults(run=_mutants)
    rep.set_defaults(run=_replay)


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
                                 "read_only": args.read_only, "profile": args.profile,
                                 "mutants": tuple(args.mutant)}
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
        nas = nas_address(args.target[4:])
        password = os.environ.get(NAS_PASSWORD_ENV, "")
        if not password:
            raise MissingVariable(NAS_PASSWORD_ENV, f"the password of {args.nas_user!r} "
                                  "(--nas-user) on the NAS")
        if args.nas_cert or args.nas_insecure:
            if not nas.secure:
                option = "--nas-cert" if args.nas_cert else "--nas-insecure"
                raise ConfigError(option, "", args.target, "applies to an https NAS only")
            if args.nas_cert:
                check_nas_cert(args.nas_cert)
        overrides |= {"nas": args.target[4:], "nas_user": args.nas_user,
                      "nas_password": password, "nas_cert": args.nas_cert or None,
                      "nas_insecure": args.nas_insecure}
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
                          "nas=http://HOST:PORT, nas=https://HOST:PORT or rpc=HOST:PORT")
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
    with _planted(args.mutant), scaleout.campaign_execution(args) as how:
        report = run(args.out, options, names,
                     progress=lambda what: console.print(f"[dim]{what}[/dim]"),
                     processes=args.processes, **how)
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
        # unwrapped: the replay command is copied as it stands, and a path folded in two is
        # not one
        console.print(out.describe(), markup=False, highlight=False, soft_wrap=True)
    return scaleout.exit_status(args, report)


def _mutants(args: argparse.Namespace, console: Console) -> int:


    chosen = [M.BY_NAME[n] for n in args.names if n in M.BY_NAME]
    unknown = [n for n in args.names if n not in M.BY_NAME]
    if unknown:
        raise ConfigError("mutants", "", ", ".join(unknown), "not in the catalogue (see "
                          "syncrig mutants --list)")
    chosen = chosen or list(M.CATALOGUE)
    if args.api:
        chosen = [m for m in chosen if m.campaign == args.api]
    chosen = scaleout.chosen_mutants(args, chosen)
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

    verdicts = scaleout.run_mutants(args, chosen, options, folder / "replays", show)
    folder.mkdir(parents=True, exist_ok=True)
    summary = M.summary(verdicts)
    (folder / "mutants.json").write_text(json.dumps(
        {"started": started, "options": options.to_json(), "shard": args.shard,
         "summary": summary,
         "mutants": [v.to_json() for v in verdicts]}, indent=2))
    (folder / "mutants.md").write_text(M.markdown(verdicts, options))
    console.print(f"{summary['killed']} of {summary['mutants']} killed (score "
                  f"{summary['score']}), median shrunk trace {summary['median_steps']} steps; "
                  f"report: {folder}")
    return 0 if summary["score"] >= args.min_score else 1


def _replay(args: argparse.Namespace, console: Console) -> int:

    # the file's mutants are planted again, so its failure reproduces as it was found
    planted = list(dict.fromkeys([*load_replay(args.file)[1].mutants, *args.mutant]))
    with _planted(planted):
        result = replay(args.file, args.plot)
    console.print(f"{len(result.steps)} steps of {result.campaign} replayed"
                  + (f" with {', '.join(planted)} planted" if planted else ""))
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
