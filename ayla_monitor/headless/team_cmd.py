"""Team mode on the command line: ``prune``, ``status``, ``tail``, and the
recorder's ``--retention-days`` and ``--status-interval``.

The options are added here so that ``cli.py`` only calls
:func:`add_parsers`, :func:`add_record_options` and :func:`run`.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TextIO

from ayla_monitor.dss.keys import redact
from ayla_monitor.headless.export import parse_time_bound
from ayla_monitor.store.database import Store
from ayla_monitor.store.errors import StoreError
from ayla_monitor.store.follow import FollowedEvent, Follower, first_id_since
from ayla_monitor.store.location import describe_database
from ayla_monitor.store.recorders import RecorderRow, read_recorders
from ayla_monitor.store.retention import BATCH, prune

__all__ = [
    "add_parsers",
    "add_record_options",
    "parse_duration",
    "format_status",
    "format_event",
    "tail",
    "run",
    "COMMANDS",
]

#: The exit codes of ``cli.ExitCode`` this module returns.
_OK, _USAGE, _DATABASE = 0, 2, 4
COMMANDS = ("prune", "status", "tail")

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0, "w": 604_800.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)


def parse_duration(text: str, *, default_unit: str = "d") -> float:
    """``30d``, ``12h``, ``90m``, ``45s``, ``2w`` (a bare number: ``default_unit``) in seconds.
    Raises ValueError with the reason."""
    match = _DURATION.match(text)
    if match is None or float(match.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a duration; use e.g. 30d, 12h, 90m or 45s")
    return float(match.group(1)) * _UNITS[(match.group(2) or default_unit).lower()]


def _duration_arg(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _days_arg(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a number of days, not {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


def _seconds_arg(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a number of seconds, not {text!r}") from None
    if value < 0.5:
        raise argparse.ArgumentTypeError(f"must be 0.5 or more, not {text}")
    return value


def add_record_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("team mode (several recorders, one database)")
    group.add_argument(
        "--retention-days",
        type=_days_arg,
        metavar="DAYS",
        help="delete events older than DAYS, in small batches while recording "
        "(with several recorders on one MySQL, one prunes at a time)",
    )
    group.add_argument(
        "--status-interval",
        type=_seconds_arg,
        default=5.0,
        metavar="SECONDS",
        help="write this recorder's status row (ayla-monitor status, windows in --watch) "
        "every SECONDS (default 5; stale after 3 missed)",
    )


def add_parsers(
    commands: argparse._SubParsersAction,  # type: ignore[type-arg]
    add_db: Callable[[argparse.ArgumentParser], None],
) -> None:
    pru = commands.add_parser(
        "prune",
        help="delete events older than a duration (for cron)",
        description="Delete events (and kept bad frames) older than --older-than, in small batches "
        "that never hold up recorders writing meanwhile. With several processes on one MySQL, one "
        "prunes at a time: if another holds the lock this prints so and exits 0.",
    )
    add_db(pru)
    pru.add_argument(
        "--older-than", type=_duration_arg, required=True, metavar="AGE", help="e.g. 30d, 12h (a bare number: days)"
    )
    pru.add_argument("--batch", type=int, default=BATCH, metavar="N", help=f"rows per transaction (default {BATCH})")
    pru.add_argument(
        "--pause", type=float, default=0.05, metavar="SECONDS", help="pause between batches (default 0.05)"
    )

    sta = commands.add_parser(
        "status",
        help="the recorders writing into the database, and their streams",
        description="Every recorder that reports to the database: host, process id, version, state "
        "(stale when it stopped updating its row for 3 intervals), streams with masked keys, last seq, "
        "rate and open gaps.",
    )
    add_db(sta)
    sta.add_argument("--format", choices=("text", "json"), default="text")

    tai = commands.add_parser(
        "tail",
        help="print new events as recorders store them, until Ctrl+C",
        description="Follow the database like tail -f: each event stored from now on (or from --since) "
        "is printed once, in the order stored.",
    )
    add_db(tai)
    tai.add_argument("--type", action="append", metavar="EVENT_TYPE", help="only this event type (repeatable)")
    tai.add_argument("--dsn", action="append", metavar="DSN", help="only this device (repeatable)")
    tai.add_argument("--property", action="append", metavar="NAME", help="only this property (repeatable)")
    tai.add_argument("--stream", action="append", metavar="NAME_OR_ID", help="only this stream (repeatable)")
    tai.add_argument("--format", choices=("text", "jsonl"), default="text")
    tai.add_argument(
        "--since",
        metavar="TIME_OR_AGE",
        help="start with events whose time is from then: 2026-11-30T08:00Z, or an age like 10m",
    )
    tai.add_argument(
        "--poll", type=float, default=0.25, metavar="SECONDS", help="how often to look for new rows (default 0.25)"
    )
    tai.add_argument("--exit-after", type=float, metavar="SECONDS", help="stop after SECONDS")


# -- status --------------------------------------------------------------------


def _when(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ago(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 2 * 86_400:
        return f"{seconds / 3600:.1f} h ago"
    return f"{seconds / 86_400:.1f} days ago"


def _seq(seq: int | None) -> str:
    return f"last seq {seq:,}" if seq is not None else "no seq yet"


def format_status(rows: Sequence[RecorderRow], fmt: str, now: float, database: str = "") -> str:
    if fmt == "json":
        return json.dumps({"database": database, "recorders": [r.as_json(now) for r in rows]}, indent=2)
    if not rows:
        return f"No recorder has reported to {database or 'this database'} yet."
    lines = []
    for r in rows:
        state = r.shown_state(now)
        if state == "stale":
            state = f"STALE (no update for {now - r.updated_at:.0f} s)"
        lines.append(
            f"{r.role} {r.host} pid {r.pid} (ayla-monitor {r.version}): {state}; "
            f"started {_when(r.started_at)}, updated {_ago(now - r.updated_at)}"
        )
        lines.append(
            f"  {r.events:,} events, {r.rate:,.1f}/s, {_seq(r.last_seq)}, "
            f"{r.open_gaps:,} open gap{'' if r.open_gaps == 1 else 's'}"
        )
        for s in r.streams:
            detail = f" ({s.detail})" if s.detail else ""
            lines.append(
                f"  stream {s.name!r} {s.url} key {s.key}: {s.state}{detail}, {_seq(s.last_seq)}, "
                f"{s.rate:,.1f}/s, {s.stored:,} stored, {s.open_gaps:,} open gaps"
            )
    return "\n".join(redact(line) for line in lines)


# -- tail ----------------------------------------------------------------------


def format_event(event: FollowedEvent, fmt: str, stream_names: dict[int, str]) -> str:
    stream = stream_names.get(event.stream_id or -1)
    if fmt == "jsonl":
        obj: object = None
        if event.raw is not None:
            try:
                obj = json.loads(event.raw)
            except ValueError:
                obj = event.raw
        return json.dumps(
            {
                "id": event.id,
                "stream_id": event.stream_id,
                "stream": stream,
                "seq": event.seq,
                "epoch": event.epoch,
                "event_type": event.event_type,
                "dsn": event.dsn,
                "property": event.property_name,
                "value": event.value,
                "time": event.time,
                "received_at": event.received_at,
                "note": event.note,
                "event": obj,
            },
            ensure_ascii=False,
        )
    what = event.event_type or "?"
    if event.property_name:
        what += f" {event.property_name} = {event.value}"
    elif event.value is not None:
        what += f" {event.value}"
    seq = f"seq {event.seq}" if event.seq is not None else "no seq"
    where = f"{stream or event.stream_id or '?'} {seq}"
    line = f"{event.time or '-':20}  {event.dsn or '-':18}  {what}  [{where}]"
    if event.note:
        line += f"  ({event.note})"
    # One line per event whatever a device sent.
    return line.replace("\r", "\\r").replace("\n", "\\n")[:2000]


def _matches(args: argparse.Namespace, stream_ids: set[int] | None) -> Callable[[FollowedEvent], bool]:
    types = set(args.type or ())
    dsns = set(args.dsn or ())
    props = set(args.property or ())

    def match(e: FollowedEvent) -> bool:
        return (
            (not types or e.event_type in types)
            and (not dsns or e.dsn in dsns)
            and (not props or e.property_name in props)
            and (stream_ids is None or e.stream_id in stream_ids)
        )

    return match


def _stream_ids(store: Store, wanted: Sequence[str] | None) -> set[int] | None:
    if not wanted:
        return None
    streams = store.streams()
    found: set[int] = set()
    for name in wanted:
        hits = {s.id for s in streams if s.name == name or str(s.id) == name}
        if not hits:
            known = ", ".join(f"{s.id} {s.name!r}" for s in streams) or "none"
            raise ValueError(f"no stream {name!r} in this database (streams: {known})")
        found |= hits
    return found


def _since(text: str, now: float) -> str:
    try:
        return _when(now - parse_duration(text, default_unit="s"))
    except ValueError:
        return parse_time_bound(text)


def tail(
    store: Store,
    args: argparse.Namespace,
    out: TextIO,
    *,
    stop: Callable[[], bool] = lambda: False,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
) -> int:
    """Print matching events as they are stored until ``stop()``; how many were printed.
    Raises ValueError (a bad ``--stream`` or ``--since``) or StoreError."""
    stream_ids = _stream_ids(store, args.stream)
    since = _since(args.since, clock()) if args.since else None
    after = first_id_since(store, since) if since is not None else None
    follower = Follower(store, after)
    match = _matches(args, stream_ids)
    names = {s.id: s.name for s in store.streams()}
    printed = 0
    while not stop():
        events, _bad = follower.poll()
        if any(e.stream_id is not None and e.stream_id not in names for e in events):
            names = {s.id: s.name for s in store.streams()}
        lines = [
            format_event(e, args.format, names)
            for e in events
            if match(e) and (since is None or (e.time or "") >= since)
        ]
        if lines:
            out.write("\n".join(lines) + "\n")
            out.flush()
            printed += len(lines)
        if not follower.behind:
            sleep(args.poll)
    return printed


# -- running -------------------------------------------------------------------


def run(
    args: argparse.Namespace,
    database_url: Callable[[], str],
    out: TextIO,
    err: TextIO,
    *,
    usage_errors: tuple[type[Exception], ...] = (),
) -> int:
    """Run ``prune``, ``status`` or ``tail``; the exit code. ``database_url``
    resolves ``--db`` (raising one of ``usage_errors`` for the user's mistakes)."""
    from ayla_monitor.store.connection import open_read_only

    command = args.command
    caught: tuple[type[Exception], ...] = (ValueError, StoreError, *usage_errors)
    try:
        url = database_url()
    except caught as exc:
        err.write(f"ayla-monitor {command}: {exc}\n")
        return _USAGE
    shown = describe_database(url)
    try:
        if command == "prune":
            with Store.open(url) as store:
                before = time.time() - args.older_than
                result = prune(store, before, batch=max(1, args.batch), pause=max(0.0, args.pause))
            if result.skipped:
                err.write(f"Another process is pruning {shown} now; nothing deleted this time.\n")
            else:
                err.write(
                    f"Deleted {result.events:,} events and {result.malformed:,} bad frames older than "
                    f"{_when(before)} from {shown} ({result.batches:,} batches).\n"
                )
            return _OK
        with Store(url, open_read_only(url)) as store:
            if command == "status":
                out.write(format_status(read_recorders(store), args.format, time.time(), shown) + "\n")
                return _OK
            deadline = None if args.exit_after is None else time.monotonic() + args.exit_after
            try:
                tail(store, args, out, stop=lambda: deadline is not None and time.monotonic() >= deadline)
            except (KeyboardInterrupt, BrokenPipeError):  # Ctrl+C, or the reader (| head) is gone
                pass
            except ValueError as exc:
                err.write(f"ayla-monitor tail: {exc}\n")
                return _USAGE
            return _OK
    except StoreError as exc:
        err.write(f"ayla-monitor {command}: {exc}\n")
        return _DATABASE
