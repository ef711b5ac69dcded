"""Hardware-in-the-loop commands: ``syncrig sensors``, ``bringup`` and ``shape``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from sim.hil.sensors import HostSensors, SensorInfo


def add_parsers(sub: Any) -> None:
    sensors = sub.add_parser("sensors", help="list this machine's sensors: what was found, its "
                             "source and its reading")
    sensors.add_argument("--path", type=Path, default=Path("."), help="the filesystem whose "
                         "free space is the device's storage (default: the current folder)")
    sensors.add_argument("--json", action="store_true", help="print JSON instead of a table")


def sensors_table(found: list[SensorInfo], title: str = "sensors") -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("sensor", "found", "source", "reading"):
        table.add_column(column)
    for info in found:
        table.add_row(info.name, "yes" if info.found else "[yellow]no[/yellow]", info.source,
                      info.reading)
    return table


def sensors(args: argparse.Namespace, console: Console) -> int:
    host = HostSensors(args.path)
    found = host.inventory()
    if args.json:
        snap = host.network()
        print(json.dumps({"sensors": [i.to_json() for i in found],
                          "network": {"internet": snap.internet, "active": snap.active.value,
                                      "radios": {n: r.up for n, r in snap.radios.items()}}},
                         indent=2))
    else:
        console.print(sensors_table(found))
    return 0
