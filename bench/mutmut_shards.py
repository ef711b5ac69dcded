"""mutmut's mutants spread over N jobs (CI matrix jobs, or machines of a cluster), their
survivors gathered into one list.

mutmut 3 names a mutant after the function it changes (``module.x_function__mutmut_3``,
``module.xǁClassǁmethod__mutmut_3``) and ``mutmut run`` takes name patterns. The functions
of the files ``[tool.mutmut] only_mutate`` lists are read from the sources, in file and line
order, and function i goes to shard i mod N: the same cut in every job, from the sources
alone. Each job runs its shard's patterns and writes its results as JSON; ``gather`` joins
the N files into one survivors list.

Usage::

    python bench/mutmut_shards.py run I/N --out mutmut-I.json     # in each job
    python bench/mutmut_shards.py gather mutmut-*.json --out survivors.json
"""

from __future__ import annotations

import argparse
import ast
import json
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def patterns() -> list[str]:
    """A ``mutmut run`` pattern per function mutmut mutates, in a stable order."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    out = []
    for file in config["only_mutate"]:
        module = file.removesuffix(".py").replace("/", ".")
        tree = ast.parse((ROOT / file).read_text())
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                out.append(f"{module}.x_{node.name}__mutmut_*")
            elif isinstance(node, ast.ClassDef):
                out += [f"{module}.xǁ{node.name}ǁ{item.name}__mutmut_*" for item in node.body
                        if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)]
    return out


def run(index: int, count: int, out: Path) -> int:
    """Run shard ``index`` of ``count`` and write its mutants' statuses to ``out``."""
    mine = patterns()[index::count]
    subprocess.run(["mutmut", "run", *mine], cwd=ROOT, check=False)
    listed = subprocess.run(["mutmut", "results", "--all", "true"], cwd=ROOT, text=True,
                            capture_output=True, check=True).stdout
    statuses = {}
    for line in listed.splitlines():
        name, _, status = line.strip().partition(": ")
        if status and any(_matches(name, p) for p in mine):
            statuses[name] = status
    out.write_text(json.dumps({"shard": [index, count], "mutants": statuses}, indent=2))
    return 0


def _matches(name: str, pattern: str) -> bool:
    return name.startswith(pattern.removesuffix("*"))


def gather(files: list[Path], out: Path) -> int:
    """Join the shards' results; exit 1 when a shard is missing or a mutant survived."""
    results = [json.loads(f.read_text()) for f in files]
    count = results[0]["shard"][1]
    missing = sorted(set(range(count)) - {r["shard"][0] for r in results})
    statuses = {k: v for r in results for k, v in r["mutants"].items()}
    survivors = sorted(k for k, v in statuses.items() if v == "survived")
    out.write_text(json.dumps({"mutants": len(statuses), "survivors": survivors,
                               "missing_shards": missing}, indent=2))
    print(f"{len(statuses)} mutants, {len(survivors)} survived"
          + (f"; shards {missing} of {count} missing" if missing else ""))
    return 1 if missing or survivors else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("run")
    one.add_argument("shard", help="I/N")
    one.add_argument("--out", type=Path, required=True)
    many = sub.add_parser("gather")
    many.add_argument("files", nargs="+", type=Path)
    many.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if args.command == "gather":
        return gather(args.files, args.out)
    index, count = (int(x) for x in args.shard.split("/"))
    return run(index, count, args.out)


if __name__ == "__main__":
    sys.exit(main())
