"""The ``ayla-monitor`` command: the window, ``record``, ``export``, ``import``, ``simulate``.

``main(argv) -> int`` returns one of :class:`ExitCode`. The window and the
simulator are imported only when asked for, so ``record`` and ``export`` run
where Qt cannot.
"""

from __future__ import annotations

import argparse
import asyncio
import enum
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TextIO
from urllib.parse import urlsplit

from ayla_monitor import __version__, desktop_entry
from ayla_monitor.dss.endpoints import CLIENT_TYPES, DEPLOYMENTS, REGIONS, ReplayWindow
from ayla_monitor.dss.errors import ConfigError
from ayla_monitor.dss.keys import normalize_key
from ayla_monitor.dss.subscription import StreamDefinition, parse_subscription
from ayla_monitor.paths import migrate_old_folders

if TYPE_CHECKING:
    from ayla_monitor.simulator.server import SimulatorConfig

__all__ = ["main", "ExitCode"]

log = logging.getLogger(__name__)


class ExitCode(enum.IntEnum):
    OK = 0
    #: a bug: the traceback is in the log
    FAILURE = 1
    #: the command line or a key/subscription file is wrong
    USAGE = 2
    #: every stream's key was rejected by the server
    KEY_REJECTED = 3
    #: the database could not be opened
    DATABASE = 4
    #: some events could not be stored; they were saved to a file named on stderr
    UNSTORED = 5
    #: the window was asked for but there is no display
    NO_DISPLAY = 6
    #: ``doctor``: a step of the connection failed (the report says which)
    CHECK_FAILED = 7


EXIT_CODES_HELP = "\n".join(
    f"  {code.value}  {text}"
    for code, text in [
        (ExitCode.OK, "success (also after Ctrl+C or SIGTERM: what was received is stored)"),
        (ExitCode.FAILURE, "internal error (traceback in the log)"),
        (ExitCode.USAGE, "bad command line, URL, proxy, key or subscription file"),
        (ExitCode.KEY_REJECTED, "every stream key was rejected by the server"),
        (ExitCode.DATABASE, "the database could not be opened"),
        (
            ExitCode.UNSTORED,
            "some events could not be stored; they were saved to a JSON Lines file "
            "(put them back with: ayla-monitor import FILE)",
        ),
        (ExitCode.NO_DISPLAY, "the window needs a display and there is none"),
        (ExitCode.CHECK_FAILED, "doctor: a step of the connection failed (the report says which)"),
    ]
)


class UsageError(Exception):
    """The user's command line cannot work; the message says why."""


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {text}")
    return value


def _seq(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {text}")
    return value


def _add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="PATH_OR_URL",
        help="SQLite file path, sqlite:///PATH or mysql://user@host:3306/db "
        "(default: events.sqlite in your user data folder)",
    )
    parser.add_argument(
        "--db-password-file",
        metavar="FILE",
        help="the MySQL password, from the first line of FILE (or set AYLA_DB_PASSWORD); "
        "a password inside --db is VISIBLE to other users of this machine",
    )


def _add_logging(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """``-v`` and ``--log-file``, before or after the command (a command's
    own copy keeps the value given before it unless given again)."""
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0 if top else argparse.SUPPRESS,
        help="more log output (-vv: debug)",
    )
    parser.add_argument(
        "--log-file",
        metavar="PATH",
        default=None if top else argparse.SUPPRESS,
        help="also log to PATH (appended; at least INFO), e.g. when running as a service",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ayla-monitor",
        description="Watch and record Ayla Datastream Service (DSS) events. "
        "Without a command, opens the window.",
        epilog="exit codes:\n" + EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version",
        action="store_true",
        help="print the version and exit (with --verbose: Python, Qt and library versions, for bug reports)",
    )
    parser.add_argument("--demo", action="store_true", help="open the window on the built-in demo stream")
    parser.add_argument(
        "--watch", action="store_true",
        help="open the window on --db as recorders elsewhere write it (no stream key; team mode)",
    )
    parser.add_argument(
        "--exit-after", type=_positive_float, metavar="SECONDS", help="close cleanly after SECONDS"
    )
    _add_logging(parser, top=True)
    _add_db(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    rec = commands.add_parser(
        "record",
        help="record streams into the database (headless)",
        description="Record one or more DSS streams into the database until Ctrl+C, "
        "with a live status line on stderr.",
        epilog="Keys: --stream-key puts the key on the command line, where other users of this "
        "machine can see it (ps, shell history): prefer --stream-key-file, AYLA_STREAM_KEY or "
        "--subscription.\n\nexit codes:\n" + EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    keys = rec.add_argument_group("stream keys (at least one)")
    keys.add_argument(
        "--stream-key",
        action="append",
        default=[],
        metavar="KEY",
        help="a 32-hex stream key (repeatable; VISIBLE to other users of this machine)",
    )
    keys.add_argument(
        "--stream-key-file",
        action="append",
        default=[],
        metavar="FILE",
        help="a file with one key per line (# comments allowed)",
    )
    keys.add_argument(
        "--subscription",
        action="append",
        default=[],
        metavar="FILE",
        help="a subscription JSON as copied from the Ayla dashboard or API browser",
    )
    where = rec.add_argument_group("where (a URL, or region/deployment/client type)")
    where.add_argument("--url", metavar="WS_URL", help="e.g. ws://127.0.0.1:8765/stream for a simulator")
    where.add_argument("--region", choices=REGIONS, default="us")
    where.add_argument("--deployment", choices=DEPLOYMENTS, default="field")
    where.add_argument("--client-type", choices=CLIENT_TYPES, help="default: from --subscription, else cloud")
    rec.add_argument("--seq-start", type=_seq, metavar="N", help="replay from seq N")
    rec.add_argument("--seq-end", type=_seq, metavar="M", help="stop at seq M (needs --seq-start)")
    _add_db(rec)
    rec.add_argument("--count", type=_count, metavar="N", help="stop after N events (like tcpdump -c)")
    rec.add_argument("--exit-after", type=_positive_float, metavar="SECONDS", help="stop after SECONDS")
    rec.add_argument(
        "--dead-after",
        type=_positive_float,
        default=75.0,
        metavar="SECONDS",
        help="reconnect when no frame arrives for this long (default 75)",
    )
    rec.add_argument("--ca-file", metavar="PEM", help="extra CA certificates to trust (TLS stays verified)")
    rec.add_argument("--proxy", metavar="URL", help="proxy URL (default: the system's proxy settings)")
    rec.add_argument(
        "--max-frame-mb",
        type=_positive_float,
        default=16.0,
        metavar="MB",
        help="largest frame received (default 16); a larger one is kept as a bad frame with its size, "
        "its seq recorded as a gap, and the stream goes on after it",
    )
    rec.add_argument(
        "--fill-gaps",
        action="store_true",
        help="ask the server again for the open gaps in the recorded seqs, then stop "
        "(gaps are also asked for after every reconnect)",
    )
    from ayla_monitor.headless import capture_cmd, doctor

    capture_cmd.add_record_options(rec)

    gaps = commands.add_parser(
        "gaps",
        help="list the gaps in the recorded seqs",
        description="List the gaps found in each stream's seqs: open (the server may still have "
        "them: `record --fill-gaps`), filled, partial, lost (the server no longer had them) or "
        "oversized (refused for their size).",
    )
    _add_db(gaps)
    gaps.add_argument("--format", choices=("text", "json"), default="text")
    gaps.add_argument("--open", action="store_true", help="only the gaps still open")

    rep = commands.add_parser(
        "report",
        help="what is wrong with the fleet, from the database (text, JSON or one HTML file)",
        description="The fleet insight over stored events: flaps, devices gone quiet against their own "
        "rhythm, failed and missing acks, latency, clock skew, rate spikes, gaps.",
    )
    _add_db(rep)
    rep.add_argument("--since", metavar="TIME", help="event time from (e.g. 2018-09-24 or ...T10:26:37Z)")
    rep.add_argument("--until", metavar="TIME", help="event time until (a date includes the whole day)")
    rep.add_argument("--format", choices=("text", "json", "html"), default="text")
    rep.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")

    imp = commands.add_parser(
        "import",
        help="put events saved to a spill file back into the database",
        description="Store the frames of spill files (written when the recorder could not store "
        "everything, exit code 5) in the database they were recorded for. Importing twice stores "
        "nothing new.",
        epilog="exit codes:\n" + EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_db(imp)
    imp.add_argument("files", nargs="+", metavar="FILE", help="a spill file (unstored-….jsonl)")

    exp = commands.add_parser(
        "export",
        help="write stored events as CSV or JSON Lines",
        description="Write stored events, one per row or line, oldest first.",
    )
    _add_db(exp)
    exp.add_argument("--format", choices=("jsonl", "csv", "capture"), default="jsonl")
    capture_cmd.add_export_options(exp)
    exp.add_argument(
        "--type", action="append", metavar="EVENT_TYPE", help="only this event type (repeatable)"
    )
    exp.add_argument("--dsn", action="append", metavar="DSN", help="only this device (repeatable)")
    exp.add_argument("--property", action="append", metavar="NAME", help="only this property (repeatable)")
    exp.add_argument("--since", metavar="TIME", help="event time from (e.g. 2018-09-24 or ...T10:26:37Z)")
    exp.add_argument("--until", metavar="TIME", help="event time until (a date includes the whole day)")
    exp.add_argument("--malformed", action="store_true", help="list the kept malformed frames instead")
    exp.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")

    sim = commands.add_parser(
        "simulate",
        help="serve a realistic DSS stream locally (no Ayla account needed)",
        description="A local DSS-compatible server for demos and tests.",
    )
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=8765, help="0 picks a free port (default 8765)")
    sim.add_argument("--devices", type=_count, default=20)
    sim.add_argument("--rate", type=float, default=20.0, help="events per second for the fleet (0: none)")
    sim.add_argument(
        "--keys",
        metavar="K1,K2:datapoint",
        help="stream keys served, each optionally KEY:event_type (default: the demo key, all types)",
    )
    sim.add_argument("--heartbeat", type=_positive_float, default=30.0, metavar="SECONDS")
    sim.add_argument("--seed", type=int, default=None)
    sim.add_argument(
        "--scenarios", action="store_true",
        help="five devices flap, go quiet, ack slowly/badly/never, run a late clock and spike (the demo's fleet)",
    )
    sim.add_argument(
        "--hostile", action="store_true", help="mix in HTML, control characters, nulls, unknown types"
    )
    sim.add_argument(
        "--hostile-mb",
        type=_positive_float,
        default=0.1,
        metavar="MB",
        help="the longest value --hostile and --big-every send, in MB (default 0.1)",
    )
    sim.add_argument(
        "--big-every",
        type=_count,
        metavar="N",
        help="every Nth event carries a value of --hostile-mb MB (default 0.1; e.g. 9 and 1)",
    )
    sim.add_argument("--drop-after", type=_count, metavar="N", help="drop each connection after N events")
    sim.add_argument(
        "--malformed-every", type=_count, metavar="N", help="send a malformed frame every N events"
    )
    sim.add_argument(
        "--stall-after", type=_count, metavar="N", help="go silent after N events per connection"
    )
    sim.add_argument(
        "--prefill", type=int, default=0, metavar="N", help="put N events in the replay buffer first"
    )
    sim.add_argument(
        "--replay-size", type=_count, default=100_000, metavar="N", help="events each key's replay buffer keeps"
    )
    faults = sim.add_argument_group(
        "faults for a client that must lose nothing",
        "N counts the events one connection has been sent (extra frames not counted), unless said otherwise",
    )
    faults.add_argument(
        "--reset-after", type=_count, metavar="N",
        help="once a key has published N events (once per run), restart its sequence: empty replay "
        "buffer, open connections closed with 1012 'service restart', next event numbered 1",
    )
    faults.add_argument("--dup-every", type=_count, metavar="N", help="send every Nth event twice, byte for byte")
    faults.add_argument(
        "--conflict-every", type=_count, metavar="N",
        help="after every Nth event, send another event with the same seq (its times 1 s later)",
    )
    faults.add_argument(
        "--gap-every", type=_count, metavar="N",
        help="leave every seq divisible by N out of live delivery and catch-up; a request with "
        "seq_start and seq_end still gets it while the replay buffer holds it",
    )
    faults.add_argument(
        "--oversize-at", type=_count, metavar="N",
        help="make the event numbered N a frame of --oversize-mb MiB (a 'message' padding it), "
        "kept in the replay buffer like any event",
    )
    faults.add_argument(
        "--oversize-mb", type=_positive_float, metavar="MB",
        help="size of the --oversize-at frame in MiB (default 17: above a client's usual 16 MiB limit)",
    )
    faults.add_argument(
        "--bad-seq-every", type=_count, metavar="N",
        help="after every Nth event, send a copy whose seq is 0, abc, -3, 1.5, empty or missing, in turn",
    )
    desktop_entry.add_parser(commands)
    capture_cmd.add_replay_options(sim)
    doctor.add_parser(commands)
    from ayla_monitor.headless import team_cmd

    team_cmd.add_parsers(commands, _add_db)  # prune, status, tail
    team_cmd.add_record_options(rec)
    from ayla_monitor.headless import alerts_cmd

    alerts_cmd.add_parser(commands, _add_db, _count)
    alerts_cmd.add_record_options(rec, _positive_float, _count)
    for command in commands.choices.values():
        _add_logging(command, top=False)
    return parser


# -- record ------------------------------------------------------------------


def _read_key_file(path: str) -> list[str]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read key file {path}: {exc.strerror}") from None
    keys = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    keys = [k for k in keys if k]
    if not keys:
        raise UsageError(f"key file {path} holds no key")
    return keys


def check_stream_url(url: str) -> None:
    """Refuse, in one sentence, a ``--url`` that can never connect (UsageError)."""
    from ayla_monitor.dss.endpoints import display_url

    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss"):
        raise UsageError(f"a stream URL starts with ws:// or wss://, not {display_url(url)!r}")
    if not parts.hostname:
        raise UsageError(f"the stream URL {display_url(url)!r} names no host (ws://HOST:PORT/stream)")
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0 or (parts.netloc.rsplit("@", 1)[-1].endswith(":") and port is None):
        raise UsageError(f"the stream URL {display_url(url)!r} has no valid port (a number from 1 to 65535)")


def _read_password_file(path: str) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise UsageError(f"cannot read the database password file {path}: {why}") from None
    lines = text.splitlines()
    if not lines or not lines[0]:
        raise UsageError(f"the database password file {path} is empty (the password is its first line)")
    return lines[0]


def database_url(args: argparse.Namespace, environ: dict[str, str]) -> str:
    """The database URL for ``--db``, with the password from
    ``--db-password-file`` or ``AYLA_DB_PASSWORD`` put in (in memory only).
    Raises UsageError or :class:`~ayla_monitor.store.errors.BadDatabaseUrl`."""
    from ayla_monitor.store.location import PASSWORD_ENV, is_mysql_url, resolve_database_url, with_password

    url = resolve_database_url(args.db)
    password_file = getattr(args, "db_password_file", None)
    if password_file:
        return with_password(url, _read_password_file(password_file), source="--db-password-file")
    password = environ.get(PASSWORD_ENV)
    if password and is_mysql_url(url) and urlsplit(url).password is None:
        return with_password(url, password, source=PASSWORD_ENV)
    return url


def stream_definitions(args: argparse.Namespace, environ: dict[str, str]) -> list[StreamDefinition]:
    """The streams a ``record`` command line asks for (UsageError if none or bad)."""
    if args.url is not None:
        check_stream_url(args.url)
    replay = ReplayWindow(args.seq_start, args.seq_end)
    found: list[tuple[str, dict[str, object]]] = []
    for key in args.stream_key:
        found.append((key, {}))
    for path in args.stream_key_file:
        found.extend((key, {}) for key in _read_key_file(path))
    for path in args.subscription:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read subscription file {path}: {exc.strerror}") from None
        fields = parse_subscription(text)
        found.append((str(fields["key"]), fields))
    if not found and environ.get("AYLA_STREAM_KEY"):
        found.extend((k.strip(), {}) for k in environ["AYLA_STREAM_KEY"].split(",") if k.strip())
    if not found:
        raise UsageError(
            "no stream key: give --stream-key-file FILE, --subscription FILE, AYLA_STREAM_KEY or --stream-key KEY"
        )
    definitions = []
    seen: set[str] = set()
    for key, fields in found:
        key = normalize_key(key)
        if key in seen:
            continue
        seen.add(key)
        client_type = args.client_type or str(fields.get("client_type") or "cloud")
        sub_type = fields.get("subscription_type")
        name = fields.get("name")
        definitions.append(
            StreamDefinition.create(
                key,
                name=str(name) if name else None,
                url=args.url,
                client_type=client_type,
                region=args.region,
                deployment=args.deployment,
                subscription_type=str(sub_type) if sub_type else None,
                replay=replay,
            )
        )
    return definitions


def _cmd_record(args: argparse.Namespace, err: TextIO) -> int:
    from ayla_monitor.core.gc_tuning import tune_garbage_collector
    from ayla_monitor.dss.client import ClientOptions
    from ayla_monitor.headless.record import record, summary
    from ayla_monitor.store.errors import StoreError

    try:
        definitions = stream_definitions(args, dict(os.environ))
        url = database_url(args, dict(os.environ))
    except (UsageError, ConfigError, StoreError) as exc:
        err.write(f"ayla-monitor record: {exc}\n")
        return ExitCode.USAGE
    if args.ca_file and not Path(args.ca_file).is_file():
        err.write(f"ayla-monitor record: CA file {args.ca_file} does not exist\n")
        return ExitCode.USAGE
    from ayla_monitor.headless.capture_cmd import CaptureRefused, capture_summary, open_record_capture

    try:  # created now: an unwritable capture path is refused before anything is recorded
        capture = open_record_capture(args, definitions)
    except CaptureRefused as exc:
        err.write(f"ayla-monitor record: {exc}\n")
        return ExitCode.USAGE
    from ayla_monitor.headless.alerts_cmd import record_alerts

    rules, on_alert, wrong = record_alerts(args)
    if wrong is not None:
        err.write(f"ayla-monitor record: {wrong}\n")
        return ExitCode.USAGE
    options = ClientOptions(
        dead_after=args.dead_after,
        ca_file=args.ca_file,
        proxy=args.proxy,
        max_frame_bytes=int(args.max_frame_mb * 2**20),
    )
    try:
        tune_garbage_collector()
        result = asyncio.run(
            record(
                definitions,
                url,
                options=options,
                count=args.count,
                exit_after=args.exit_after,
                out=err,
                fill_gaps=args.fill_gaps,
                frame_observer=capture.observe if capture is not None else None,
                retention_days=args.retention_days,
                status_interval=args.status_interval,
                alerts=rules,
                on_alert=on_alert,
            )
        )
    except StoreError as exc:
        err.write(f"ayla-monitor record: {exc}\n")
        return ExitCode.DATABASE
    finally:
        if capture is not None:
            err.write(capture_summary(capture.close()) + "\n")
    for line in summary(result):
        err.write(line + "\n")
    if result.spill_path is not None:
        return ExitCode.UNSTORED
    if result.internal_error:
        return ExitCode.FAILURE
    if result.settings_rejected:
        return ExitCode.USAGE
    if result.all_rejected:
        return ExitCode.KEY_REJECTED
    return ExitCode.OK


# -- export ------------------------------------------------------------------


def _cmd_export(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.format == "capture":
        from ayla_monitor.headless.capture_cmd import export_command

        return export_command(args, lambda: database_url(args, dict(os.environ)), err)
    from ayla_monitor.dss.filter import EventFilter, epoch_of
    from ayla_monitor.headless.export import Progress, parse_time_bound
    from ayla_monitor.store.connection import open_read_only
    from ayla_monitor.store.database import Store
    from ayla_monitor.store.errors import StoreError
    from ayla_monitor.store.export import export_events, export_malformed

    try:
        url = database_url(args, dict(os.environ))
        since = epoch_of(parse_time_bound(args.since)) if args.since else None
        until = epoch_of(parse_time_bound(args.until, end=True)) if args.until else None
    except (UsageError, StoreError, ValueError) as exc:
        err.write(f"ayla-monitor export: {exc}\n")
        return ExitCode.USAGE
    selected = EventFilter(event_types=args.type, dsns=args.dsn, property_names=args.property,
                           since=since, until=until, malformed=args.malformed)
    try:
        # Read only: nothing is created (not even a missing file), nothing
        # written, and a read-only file, folder or mount can be exported.
        store = Store(url, open_read_only(url, mapped=True))
    except StoreError as exc:
        err.write(f"ayla-monitor export: {exc}\n")
        return ExitCode.DATABASE
    what = "malformed frames" if args.malformed else "events"
    progress = Progress(err, what, output=None if args.output else out)
    try:
        target: BinaryIO = open(args.output, "wb") if args.output else out.buffer  # noqa: SIM115
        try:
            write = export_malformed if args.malformed else export_events
            count = write(store, selected, args.format, target, progress=progress)
        finally:
            progress.done()
            if args.output:
                target.close()
            else:
                target.flush()
    except OSError as exc:
        err.write(f"ayla-monitor export: cannot write {args.output or 'the output'}: {exc.strerror}\n")
        return ExitCode.USAGE
    except StoreError as exc:
        err.write(f"ayla-monitor export: {exc}\n")
        return ExitCode.DATABASE
    finally:
        store.close()
    if args.output:
        err.write(f"Wrote {count:,} {what} to {args.output}\n")
    return ExitCode.OK


# -- gaps --------------------------------------------------------------------


def _cmd_gaps(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ayla_monitor.headless.gaps import format_gaps
    from ayla_monitor.store.connection import open_read_only
    from ayla_monitor.store.database import Store
    from ayla_monitor.store.errors import StoreError

    try:
        url = database_url(args, dict(os.environ))
    except (UsageError, StoreError) as exc:
        err.write(f"ayla-monitor gaps: {exc}\n")
        return ExitCode.USAGE
    try:
        with Store(url, open_read_only(url)) as store:
            found = store.gaps(open_only=args.open)
    except StoreError as exc:
        err.write(f"ayla-monitor gaps: {exc}\n")
        return ExitCode.DATABASE
    out.write(format_gaps(found, args.format) + "\n")
    return ExitCode.OK


# -- report ------------------------------------------------------------------


def _cmd_report(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ayla_monitor.dss.filter import epoch_of
    from ayla_monitor.headless.export import parse_time_bound
    from ayla_monitor.headless.report import build_report, render
    from ayla_monitor.store.connection import open_read_only
    from ayla_monitor.store.database import Store
    from ayla_monitor.store.errors import StoreError

    try:
        url = database_url(args, dict(os.environ))
        since = epoch_of(parse_time_bound(args.since)) if args.since else None
        until = epoch_of(parse_time_bound(args.until, end=True)) if args.until else None
    except (UsageError, StoreError, ValueError) as exc:
        err.write(f"ayla-monitor report: {exc}\n")
        return ExitCode.USAGE
    try:
        with Store(url, open_read_only(url)) as store:
            text = render(build_report(store, since, until), args.format)
    except StoreError as exc:
        err.write(f"ayla-monitor report: {exc}\n")
        return ExitCode.DATABASE
    if not args.output:
        out.write(text + "\n")
        return ExitCode.OK
    try:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        err.write(f"ayla-monitor report: cannot write {args.output}: {exc.strerror or exc}\n")
        return ExitCode.USAGE
    err.write(f"Wrote the {args.format} report to {args.output}\n")
    return ExitCode.OK


# -- import ------------------------------------------------------------------


def _cmd_import(args: argparse.Namespace, err: TextIO) -> int:
    from ayla_monitor.store.errors import DatabaseUnavailable, StoreError
    from ayla_monitor.store.location import describe_database
    from ayla_monitor.store.spill_import import ImportRefused, import_spills

    try:
        url = database_url(args, dict(os.environ))
    except (UsageError, StoreError) as exc:
        err.write(f"ayla-monitor import: {exc}\n")
        return ExitCode.USAGE
    try:
        counts = import_spills([Path(f) for f in args.files], url)
    except ImportRefused as exc:
        err.write(f"ayla-monitor import: {exc}\n")
        return ExitCode.USAGE
    except (DatabaseUnavailable, StoreError) as exc:
        err.write(f"ayla-monitor import: {exc}\n")
        return ExitCode.DATABASE
    for problem in counts.problems:
        err.write(f"  unreadable: {problem}\n")
    err.write(
        f"Read {counts.read:,} frames from {counts.files} file{'s' if counts.files != 1 else ''} into "
        f"{describe_database(url)}: {counts.stored:,} events stored, {counts.duplicates:,} already "
        f"there (duplicates), {counts.bad_frames:,} bad frames kept, "
        f"{counts.unreadable:,} unreadable lines.\n"
    )
    if counts.spill_path is not None:
        err.write(f"Frames that could not be stored again were saved to {counts.spill_path} (JSON Lines).\n")
        return ExitCode.UNSTORED
    return ExitCode.OK


# -- simulate ----------------------------------------------------------------


def _simulator_config(args: argparse.Namespace, keys: dict[str, str | None]) -> SimulatorConfig:
    """The ``simulate`` options as a config (raises ``SimulatorConfigError``)."""
    from ayla_monitor.simulator.errors import SimulatorConfigError
    from ayla_monitor.simulator.server import SimulatorConfig

    if args.oversize_mb is not None and args.oversize_at is None:
        raise SimulatorConfigError("--oversize-mb needs --oversize-at (which event to make that big)")
    size = {} if args.oversize_mb is None else {"oversize_mb": args.oversize_mb}
    return SimulatorConfig(
        devices=args.devices,
        rate=args.rate,
        heartbeat=args.heartbeat,
        keys=keys,
        seed=args.seed,
        hostile=args.hostile,
        hostile_value_bytes=max(1, int(args.hostile_mb * 1_000_000)),
        big_every=args.big_every,
        replay_size=args.replay_size,
        drop_after=args.drop_after,
        malformed_every=args.malformed_every,
        stall_after=args.stall_after,
        prefill=args.prefill,
        reset_after=args.reset_after,
        dup_every=args.dup_every,
        conflict_every=args.conflict_every,
        gap_every=args.gap_every,
        oversize_at=args.oversize_at,
        bad_seq_every=args.bad_seq_every,
        scenarios=args.scenarios,
        **size,
    )


def _cmd_simulate(args: argparse.Namespace, err: TextIO) -> int:
    if args.replay:
        from ayla_monitor.simulator.replay import replay_command

        return replay_command(args, err)
    from ayla_monitor.simulator.errors import SimulatorError
    from ayla_monitor.simulator.server import DEMO_KEY, parse_keys_option, run_simulator

    try:
        keys: dict[str, str | None] = parse_keys_option(args.keys) if args.keys else {DEMO_KEY: None}
        config = _simulator_config(args, keys)
    except (ValueError, SimulatorError) as exc:
        err.write(f"ayla-monitor simulate: {exc}\n")
        return ExitCode.USAGE

    def ready(url: str) -> None:
        # Simulator keys are local test keys, printed in full so that they can be used.
        err.write(f"Simulated DSS listening on {url}\n")
        for key, kind in keys.items():
            err.write(f"  stream key {key} ({kind or 'all event types'})\n")
        err.write(f"Record it with: ayla-monitor record --url {url} --stream-key {next(iter(keys))}\n")
        err.flush()

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        import signal

        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):
                pass
        await run_simulator(config, args.host, args.port, ready=ready, stop=stop)

    try:
        asyncio.run(serve())
    except SimulatorError as exc:
        err.write(f"ayla-monitor simulate: {exc}\n")
        return ExitCode.USAGE
    return ExitCode.OK


# -- the window --------------------------------------------------------------


def _cmd_window(args: argparse.Namespace, err: TextIO) -> int:
    from ayla_monitor.display import display_problem

    # Before Qt is imported: without a display Qt aborts with a misleading message.
    problem = display_problem()
    if problem is not None:
        err.write(f"ayla-monitor: {problem}\n")
        return ExitCode.NO_DISPLAY
    from ayla_monitor.store.errors import StoreError
    from ayla_monitor.ui.app import run_gui

    database = args.db
    if args.db_password_file or (database and database.startswith("mysql://")):
        try:  # the password from --db-password-file or AYLA_DB_PASSWORD, in memory only
            database = database_url(args, dict(os.environ))
        except (UsageError, StoreError) as exc:
            err.write(f"ayla-monitor: {exc}\n")
            return ExitCode.USAGE
    return run_gui(database=database, demo=args.demo, exit_after=args.exit_after, watch=args.watch)


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _configure_logging(verbosity: int, log_file: str | None = None) -> None:
    """Console logging at the ``-v`` level; with ``log_file``, also a plain
    file at INFO or more detail (a service's log). Stream keys never reach a
    log line (see :mod:`ayla_monitor.dss.keys`). Raises UsageError if the
    file cannot be opened."""
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, format=LOG_FORMAT)
    if log_file:
        from ayla_monitor.headless.logfile import ReopeningFileHandler, install_sighup

        try:  # reopened when rotated away, and on SIGHUP
            handler = ReopeningFileHandler(log_file, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write the log file {log_file}: {exc.strerror or exc}") from None
        install_sighup(handler)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        file_level = min(level, logging.INFO)
        handler.setLevel(file_level)
        root = logging.getLogger()
        for existing in root.handlers:
            if existing is not handler and existing.level == logging.NOTSET:
                existing.setLevel(level)  # the console keeps the -v level
        root.addHandler(handler)
        root.setLevel(min(root.level, file_level))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    err = sys.stderr
    if args.version:
        if args.verbose:
            from ayla_monitor.ui.versions import version_lines

            sys.stdout.write("\n".join(version_lines()) + "\n")
        else:
            sys.stdout.write(f"ayla-monitor {__version__}\n")
        return ExitCode.OK
    try:
        _configure_logging(args.verbose, args.log_file)
    except UsageError as exc:
        err.write(f"ayla-monitor: {exc}\n")
        return ExitCode.USAGE
    migrate_old_folders()  # settings, database, keys and logs left under an older folder name
    try:
        if args.command == "record":
            return _cmd_record(args, err)
        if args.command == "export":
            return _cmd_export(args, sys.stdout, err)
        if args.command == "import":
            return _cmd_import(args, err)
        if args.command == "report":
            return _cmd_report(args, sys.stdout, err)
        if args.command == "gaps":
            return _cmd_gaps(args, sys.stdout, err)
        if args.command == "alerts":
            from ayla_monitor.headless.alerts_cmd import run as alerts_command

            return alerts_command(args, lambda: database_url(args, dict(os.environ)), sys.stdout, err,
                                  usage_errors=(UsageError,))
        if args.command == "simulate":
            return _cmd_simulate(args, err)
        if args.command == "doctor":
            from ayla_monitor.headless.doctor import doctor_command

            return doctor_command(args, lambda: stream_definitions(args, dict(os.environ)), sys.stdout, err)
        if args.command in ("prune", "status", "tail"):
            from ayla_monitor.headless.team_cmd import run as team_command

            return team_command(args, lambda: database_url(args, dict(os.environ)), sys.stdout, err,
                                usage_errors=(UsageError,))
        if args.command == "install-desktop":
            return desktop_entry.run(args, sys.stdout, err)
        return _cmd_window(args, err)
    except KeyboardInterrupt:
        return ExitCode.OK
    except Exception:
        log.exception("ayla-monitor failed")
        return ExitCode.FAILURE
