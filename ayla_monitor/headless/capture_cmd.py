"""The command line's captures: ``record --capture FILE [--redact ...]`` and
``export --format capture``.

The options are added here (:func:`add_record_options`,
:func:`add_export_options`) so that ``cli.py`` only calls them; the file
format is :mod:`ayla_monitor.capture`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import TextIO

from ayla_monitor.capture.export import export_store
from ayla_monitor.capture.format import StreamInfo
from ayla_monitor.capture.redact import RedactionSpec, parse_redaction
from ayla_monitor.capture.writer import CaptureError, CaptureStats, CaptureWriter
from ayla_monitor.dss.subscription import StreamDefinition

__all__ = [
    "CaptureRefused",
    "add_record_options",
    "add_export_options",
    "add_replay_options",
    "open_record_capture",
    "capture_summary",
    "export_command",
]

#: The exit codes of ``cli.ExitCode`` this module returns.
_OK, _USAGE, _DATABASE = 0, 2, 4

REDACT_HELP = (
    "redact the capture: dsn (same-shape pseudonyms), uuid (user UUIDs and ack_ids), location "
    "(rounded to 2 decimals; location:N, location:remove), ip, values:PROP1,PROP2 (mask those "
    "properties' values); e.g. --redact dsn,uuid,location"
)


class CaptureRefused(Exception):
    """The capture options cannot work (the user's path or choices): one sentence."""


def _redaction(text: str | None) -> RedactionSpec | None:
    if text is None:
        return None
    try:
        return parse_redaction(text)
    except ValueError as exc:
        raise CaptureRefused(f"--redact: {exc}") from None


def add_record_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("capture (a file of the frames as received, to replay)")
    group.add_argument(
        "--capture",
        metavar="FILE",
        help="also write every frame received to FILE (JSON Lines; gzip if FILE ends in .gz); "
        "never holds a stream key",
    )
    group.add_argument("--redact", metavar="CHOICES", help=REDACT_HELP)


def add_export_options(parser: argparse.ArgumentParser) -> None:
    """``--redact`` for ``export --format capture``."""
    parser.add_argument("--redact", metavar="CHOICES", help="with --format capture: " + REDACT_HELP)


def add_replay_options(parser: argparse.ArgumentParser) -> None:
    """``--replay FILE [--speed 1|10|max] [--loop]`` on ``simulate`` (served by
    :mod:`ayla_monitor.simulator.replay`, imported only when asked for)."""
    group = parser.add_argument_group("replay a capture (instead of the simulated fleet)")
    group.add_argument(
        "--replay",
        metavar="FILE",
        help="serve the frames of a capture (record --capture, export --format capture) as a DSS stream",
    )
    group.add_argument(
        "--speed", default="1", metavar="1|10|max", help="1: as received (default), 10: ten times faster, max: at once"
    )
    group.add_argument("--loop", action="store_true", help="start again at the end (seqs continue)")


def open_record_capture(args: argparse.Namespace, definitions: Sequence[StreamDefinition]) -> CaptureWriter | None:
    """The capture ``record`` writes, created now (before anything is
    recorded), or ``None`` without ``--capture``. Raises :class:`CaptureRefused`."""
    redaction = _redaction(getattr(args, "redact", None))
    path = getattr(args, "capture", None)
    if path is None:
        if redaction is not None:
            raise CaptureRefused("--redact applies to a capture: give --capture FILE too")
        return None
    streams = [StreamInfo(d.name, d.masked_key, d.subscription_type, d.display_url) for d in definitions]
    try:
        return CaptureWriter(path, streams, redaction=redaction, secrets=[d.key for d in definitions])
    except CaptureError as exc:
        raise CaptureRefused(str(exc)) from None


def capture_summary(stats: CaptureStats) -> str:
    if stats.error:
        return f"Capture: {stats.error}"
    return f"Capture: {stats.frames:,} frames written to {stats.path}"


def export_command(
    args: argparse.Namespace,
    resolve_database: Callable[[], str],
    err: TextIO,
) -> int:
    """``export --format capture``: the selected events (and, without a
    device selection, the bad frames) as a capture at ``-o FILE``."""
    from ayla_monitor.dss.filter import EventFilter, epoch_of
    from ayla_monitor.headless.export import parse_time_bound
    from ayla_monitor.store.connection import open_read_only
    from ayla_monitor.store.database import Store
    from ayla_monitor.store.errors import StoreError

    if not args.output:
        err.write("ayla-monitor export: --format capture needs -o FILE (FILE.jsonl or FILE.jsonl.gz)\n")
        return _USAGE
    if args.malformed:
        err.write("ayla-monitor export: a capture holds the bad frames already; leave out --malformed\n")
        return _USAGE
    try:
        redaction = _redaction(args.redact)
        since = epoch_of(parse_time_bound(args.since)) if args.since else None
        until = epoch_of(parse_time_bound(args.until, end=True)) if args.until else None
        url = resolve_database()
    except (CaptureRefused, ValueError) as exc:
        err.write(f"ayla-monitor export: {exc}\n")
        return _USAGE
    except Exception as exc:  # the cli's UsageError or a StoreError: the user's --db
        err.write(f"ayla-monitor export: {exc}\n")
        return _USAGE
    try:
        store = Store(url, open_read_only(url))
    except StoreError as exc:
        err.write(f"ayla-monitor export: {exc}\n")
        return _DATABASE
    try:
        query = EventFilter(
            event_types=args.type, dsns=args.dsn, property_names=args.property, since=since, until=until
        )
        result = export_store(store, query, args.output, redaction=redaction)
    except CaptureError as exc:
        err.write(f"ayla-monitor export: {exc}\n")
        return _USAGE
    except StoreError as exc:
        err.write(f"ayla-monitor export: {exc}\n")
        return _DATABASE
    finally:
        store.close()
    if result.error:
        err.write(f"ayla-monitor export: {result.error}\n")
        return _USAGE
    line = f"Wrote {result.frames:,} frames to {args.output}"
    if redaction is not None:
        line += f" (redacted: {redaction.describe().describe()})"
    if result.without_json:
        line += f"; {result.without_json:,} events stored without their JSON were left out"
    err.write(line + "\n")
    return _OK
