"""``ayla-monitor alerts`` (list the stored alerts) and the recorder's
``--alerts FILE`` / ``--on-alert CMD`` options (issue 13).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from ayla_monitor.alerts.rules import RuleSet, load_rules
from ayla_monitor.core.alert_command import AlertCommand
from ayla_monitor.store.alerts import AlertRecord

__all__ = ["add_parser", "add_record_options", "record_alerts", "format_alerts", "run"]

#: The exit codes of ``cli.ExitCode`` this module returns.
_OK, _USAGE, _DATABASE = 0, 2, 4


def add_record_options(parser: argparse.ArgumentParser, seconds: Callable[[str], float],
                       count: Callable[[str], int]) -> None:
    """``--alerts`` and ``--on-alert`` with its bounds (``seconds`` and
    ``count``: the command line's checks of a positive number)."""
    group = parser.add_argument_group("alerts (see the README's Alerts section)")
    group.add_argument("--alerts", metavar="FILE",
                       help="evaluate the rules of this alerts.toml on what arrives and record the alerts "
                       "in the database (a bad rule is reported and the others run)")
    group.add_argument("--on-alert", metavar="CMD",
                       help="run this shell command for each alert raised or cleared, the alert as one JSON "
                       "object on its standard input (needs --alerts)")
    group.add_argument("--on-alert-timeout", type=seconds, default=30.0, metavar="SECONDS",
                       help="stop a command still running after SECONDS (default 30)")
    group.add_argument("--on-alert-max", type=count, default=4, metavar="N",
                       help="run at most N commands at once (default 4; up to 200 more wait, beyond that "
                       "they are dropped and logged)")


def record_alerts(args: argparse.Namespace) -> tuple[RuleSet | None, AlertCommand | None, str | None]:
    """The rules and the command a ``record`` command line asks for, or the
    usage error (a missing file is one here: the user named it)."""
    if args.alerts is None:
        if args.on_alert:
            return None, None, "--on-alert needs --alerts FILE (the rules that raise alerts)"
        return None, None, None
    ruleset = load_rules(args.alerts)
    if not ruleset.rules and not ruleset.problems and not Path(args.alerts).is_file():
        return None, None, f"the alerts file {args.alerts} does not exist"
    command = (AlertCommand(args.on_alert, max_running=args.on_alert_max, timeout=args.on_alert_timeout)
               if args.on_alert else None)
    return ruleset, command, None


def add_parser(
    commands: argparse._SubParsersAction,  # type: ignore[type-arg]
    add_db: Callable[[argparse.ArgumentParser], None],
    count: Callable[[str], int],
) -> None:
    ale = commands.add_parser(
        "alerts",
        help="list the alerts recorded in the database",
        description="The alerts raised by rules (record --alerts, or the window), open ones first, then "
        "the newest: when raised and cleared, rule, condition, device or stream, detail, who acknowledged.",
    )
    add_db(ale)
    ale.add_argument("--open", action="store_true", help="only the alerts still open")
    ale.add_argument("--format", choices=("text", "json"), default="text")
    ale.add_argument("--search", metavar="TEXT", help="only alerts whose rule, device/stream or detail has TEXT")
    ale.add_argument("--limit", type=count, default=1000, metavar="N", help="at most N alerts (default 1000)")


def _time(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def format_alerts(alerts: Sequence[AlertRecord], fmt: str) -> str:
    """``json``: an array of objects (every field of the stored alert, epoch
    seconds); ``text``: one line per alert."""
    if fmt == "json":
        return json.dumps([a.as_json() for a in alerts], ensure_ascii=False, indent=2)
    if not alerts:
        return "No alerts."
    lines = []
    for a in alerts:
        state = "OPEN   " if a.open else "cleared"
        ack = f"  (acknowledged by {a.acknowledged_by} {_time(a.acknowledged_at)})" if a.acknowledged_by else ""
        cleared = "" if a.open else f" .. {_time(a.cleared_at)}"
        lines.append(f"{state} {_time(a.raised_at)}{cleared}  [{a.severity}] {a.rule}: {a.detail}{ack}")
    return "\n".join(lines)


def run(args: argparse.Namespace, url_of: Callable[[], str], out: TextIO, err: TextIO,
        *, usage_errors: tuple[type[Exception], ...]) -> int:
    from ayla_monitor.store.connection import open_read_only
    from ayla_monitor.store.database import Store
    from ayla_monitor.store.errors import StoreError

    caught: tuple[type[Exception], ...] = (StoreError, *usage_errors)
    try:
        url = url_of()
    except caught as exc:
        err.write(f"ayla-monitor alerts: {exc}\n")
        return _USAGE
    try:
        with Store(url, open_read_only(url)) as store:
            found = store.list_alerts(open_only=args.open, limit=args.limit, search=args.search)
    except StoreError as exc:
        err.write(f"ayla-monitor alerts: {exc}\n")
        return _DATABASE
    out.write(format_alerts(found, args.format) + "\n")
    return _OK
