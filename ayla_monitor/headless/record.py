"""The headless recorder: streams into the database, a one-line status on
stderr, a summary at the end.

Stops on SIGINT/SIGTERM (everything received is stored first), after
``--count`` events, after ``--exit-after`` seconds, or when every stream has
stopped for good (keys rejected, replay windows complete).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import shlex
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from ayla_monitor.alerts.rules import RuleSet
from ayla_monitor.core.alert_command import AlertCommand
from ayla_monitor.core.alerting import Alerting, stream_facts
from ayla_monitor.core.engine import Engine
from ayla_monitor.core.observed import FrameObserver, ObservedEngine
from ayla_monitor.core.status import FramesReceived, StatusChanged, StreamState, StreamStatus, WriterHealth
from ayla_monitor.dss.client import ClientOptions
from ayla_monitor.dss.errors import SETTINGS_REJECTED
from ayla_monitor.dss.subscription import StreamDefinition
from ayla_monitor.store.location import describe_database, is_mysql_url

__all__ = ["RecordResult", "record", "StatusLine"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class RecordResult:
    """How a recording ended."""

    statuses: list[StreamStatus] = field(default_factory=list)
    stored: int = 0
    writer_error: str | None = None
    spill_path: Path | None = None
    seconds: float = 0.0
    #: with ``fill_gaps``: what came of it, one sentence per stream
    filled: str = ""
    #: the database as given to ``ayla-monitor import`` (no password)
    database: str = ""
    #: with ``--alerts``: what this recorder raised, cleared and ran, one sentence
    alerts: str = ""

    @property
    def all_rejected(self) -> bool:
        return bool(self.statuses) and all(
            s.state is StreamState.STOPPED and "rejected" in s.detail for s in self.statuses
        )

    @property
    def internal_error(self) -> bool:
        """A stream stopped on a bug (its traceback is in the log)."""
        return any(s.detail.startswith("internal error") for s in self.statuses)

    @property
    def settings_rejected(self) -> bool:
        """Every stream stopped for good, at least one because our settings
        cannot work (an unsupported proxy, a redirect away from ws/wss)."""
        final = [
            s
            for s in self.statuses
            if s.state is StreamState.STOPPED
            and (s.detail.startswith(SETTINGS_REJECTED) or "rejected" in s.detail)
        ]
        return (
            bool(self.statuses)
            and len(final) == len(self.statuses)
            and any(s.detail.startswith(SETTINGS_REJECTED) for s in final)
        )


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


class StatusLine:
    """The live status on stderr: rewritten in place on a terminal, one line
    every ``every`` seconds otherwise (logs, CI)."""

    def __init__(self, out: TextIO, *, every: float = 10.0) -> None:
        self.out = out
        self.tty = out.isatty()
        self.every = 0.5 if self.tty else every
        self._last_print = 0.0
        self._last_events = 0
        self._last_time = time.monotonic()
        self.rate = 0.0
        self._width = 0

    def render(self, statuses: Sequence[StreamStatus], health: WriterHealth, now: float) -> str:
        events = sum(s.events for s in statuses)
        beats = sum(s.heartbeats for s in statuses)
        bad = sum(s.malformed for s in statuses)
        if len(statuses) == 1:
            status = statuses[0]
            state = status.describe(now)
            seq = f"last seq {status.last_seq}" if status.last_seq is not None else "no seq yet"
        else:
            counts: dict[str, int] = {}
            for s in statuses:
                counts[s.state.value] = counts.get(s.state.value, 0) + 1
            state = ", ".join(f"{n} {name}" for name, n in counts.items())
            seqs = [s.last_seq for s in statuses if s.last_seq is not None]
            seq = f"last seq {max(seqs)}" if seqs else "no seq yet"
        parts = [
            state,
            _plural(events, "event"),
            f"{self.rate:,.0f}/s",
            seq,
            _plural(beats, "heartbeat"),
        ]
        if bad:
            parts.append(_plural(bad, "bad frame"))
        parts.append(accounting(statuses))
        gaps = sum(s.open_gaps for s in statuses)
        if gaps:
            missing = sum(s.missing for s in statuses)
            parts.append(f"{_plural(gaps, 'open gap')} ({_plural(missing, 'seq')} missing)")
        if health.error:
            parts.append(f"DATABASE: {health.error}")
        return " · ".join(parts)

    def due(self) -> bool:
        """Whether the next :meth:`update` would print."""
        return time.monotonic() - self._last_print >= self.every

    def update(self, statuses: Sequence[StreamStatus], health: WriterHealth, *, force: bool = False) -> None:
        if not force and not self.due():
            return
        mono = time.monotonic()
        events = sum(s.events for s in statuses)
        elapsed = mono - self._last_time
        if elapsed > 0:
            self.rate = (events - self._last_events) / elapsed
        self._last_events, self._last_time = events, mono
        self._last_print = mono
        line = self.render(statuses, health, time.time())
        if self.tty:
            pad = max(0, self._width - len(line))
            self.out.write("\r" + line + " " * pad)
            self._width = len(line)
        else:
            self.out.write(line + "\n")
        self.out.flush()

    def finish(self) -> None:
        if self.tty and self._width:
            self.out.write("\n")
            self.out.flush()


async def record(
    definitions: Sequence[StreamDefinition],
    database_url: str,
    *,
    options: ClientOptions | None = None,
    count: int | None = None,
    exit_after: float | None = None,
    out: TextIO | None = None,
    stop: asyncio.Event | None = None,
    handle_signals: bool = True,
    fill_gaps: bool = False,
    frame_observer: FrameObserver | None = None,
    max_pending: int = 20_000,
    retention_days: float | None = None,
    status_interval: float | None = None,
    alerts: RuleSet | None = None,
    on_alert: AlertCommand | None = None,
    alerts_check_after: float = 60.0,
) -> RecordResult:
    """Record until told to stop; see the module docstring. ``frame_observer``
    sees every batch received (``--capture``); ``max_pending``: how many
    frames may wait for the database writer before the streams pause;
    ``retention_days``: prune older events meanwhile; ``status_interval``:
    write this recorder's status row that often (``ayla-monitor status``);
    ``alerts``: rules evaluated on what arrives, alerts recorded in the
    database (each problem of the file is written once at the start); and
    ``on_alert``: run for each raise and clear this recorder recorded;
    ``alerts_check_after``: the rules are checked against the devices in
    the database that many seconds after the start (once). Raises
    :class:`~ayla_monitor.store.errors.DatabaseUnavailable` if the database
    cannot be opened (nothing was received then)."""
    out = out if out is not None else sys.stderr
    stop = stop or asyncio.Event()
    # A recorder only stores: its events are decoded once, never typed.
    options = dataclasses.replace(options or ClientOptions(), lean=True)
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    if handle_signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, stop.set)
                installed.append(sig)
    line = StatusLine(out)
    result = RecordResult()
    result.database = _import_db_arg(database_url)
    started = time.monotonic()
    out.write(f"Recording {_plural(len(definitions), 'stream')} into {describe_database(database_url)}\n")
    for definition in definitions:
        out.write(f"  {definition.name}: {definition.display_url}\n")
    alerting = _start_alerts(alerts, on_alert, out) if not fill_gaps else None
    if alerting is not None and alerting.needs_typed_events:
        options = dataclasses.replace(options, lean=False)  # the insight reads typed events
    out.flush()
    try:
        reporting = None if fill_gaps else status_interval
        if frame_observer is None:
            engine = Engine(database_url, options=options, max_events=count, max_pending=max_pending,
                            retention_days=retention_days, status_interval=reporting)
        else:
            engine = ObservedEngine(database_url, options=options, max_events=count, max_pending=max_pending,
                                    frame_observer=frame_observer, retention_days=retention_days,
                                    status_interval=reporting)
        async with engine:
            updates = engine.subscribe()
            if alerting is not None:
                alerting.store = engine.store
                # alerts a previous run left open: cleared when their condition is seen to stop
                alerting.adopt(await asyncio.to_thread(engine.store.list_alerts, open_only=True))
            if fill_gaps:  # on demand: ask for the open gaps, then stop
                sentences = []
                for definition in definitions:
                    stream_id = await engine.add_stream(definition, start=False)
                    sentence = await engine.fill_gaps(stream_id)
                    sentences.append(f"{definition.name}: {sentence}")
                    out.write(f"  {sentences[-1]}\n")
                result.filled = "; ".join(sentences)
                stop.set()
            for definition in definitions if not fill_gaps else ():
                await engine.add_stream(definition)

            async def watch() -> None:
                async for update in updates:
                    if alerting is not None and update.__class__ is FramesReceived:
                        alerting.add(update.frames, engine.definition(update.stream_id).name)
                    # Snapshots only when a stream stops or the line is due,
                    # not for every batch of a burst.
                    if (
                        isinstance(update, StatusChanged)
                        and update.status.state is StreamState.STOPPED
                        and all(s.state is StreamState.STOPPED for s in engine.statuses())
                    ):
                        stop.set()
                    if line.due():
                        line.update(engine.statuses(), engine.health)

            async def deadline() -> None:
                if exit_after is not None:
                    await asyncio.sleep(exit_after)
                    stop.set()

            async def counted() -> None:
                await engine.done.wait()
                stop.set()

            def warn(text: str) -> None:
                line.finish()
                out.write(text + "\n")
                out.flush()

            async with asyncio.TaskGroup() as tasks:
                helpers = [tasks.create_task(f()) for f in (watch, deadline, counted)]
                if alerting is not None:
                    helpers.append(tasks.create_task(alerting.run(lambda: stream_facts(engine.statuses()), warn=warn,
                                                                 check_after=alerts_check_after)))
                running = tasks.create_task(on_alert.run()) if on_alert is not None and alerting else None
                await stop.wait()
                for task in helpers:
                    task.cancel()
                if running is not None:
                    # the commands of the last alerts finish (each has its timeout)
                    await on_alert.drain(on_alert.timeout + 1.0)  # type: ignore[union-attr]
                    running.cancel()
            for status in engine.statuses():
                await engine.stop_stream(status.stream_id)
        # after the writer closed: what became of every frame is known now
        result.statuses = engine.statuses()
        line.update(result.statuses, engine.health, force=True)
        result.stored = engine.health.stored
        result.writer_error = engine.health.error
        result.spill_path = engine.spill_path
        if alerting is not None:
            result.alerts = _alerts_sentence(alerting, on_alert)
    finally:
        line.finish()
        for sig in installed:
            loop.remove_signal_handler(sig)
    result.seconds = time.monotonic() - started
    return result


def _start_alerts(alerts: RuleSet | None, on_alert: AlertCommand | None, out: TextIO) -> Alerting | None:
    """The rules' evaluation, its problems written once; ``None`` without rules."""
    if alerts is None:
        return None
    for problem in alerts.problems:
        out.write(f"Alert rules: {problem}\n")
    if alerts.problems:
        out.write(f"  ({_plural(len(alerts.rules), 'good rule')} of {alerts.path} will run)\n")
    if not alerts.rules:
        return None
    alerting = Alerting(alerts, now=time.time())
    if on_alert is not None:
        # A recorder has no desktop: its command serves every rule that notifies.
        alerting.add_notifier(on_alert, ("exec", "desktop"))
    out.write(f"Alerts: {_plural(len(alerts.rules), 'rule')} from {alerts.path}"
              + (f", running {on_alert.command!r} for each raise and clear" if on_alert else "") + "\n")
    return alerting


def _alerts_sentence(alerting: Alerting, command: AlertCommand | None) -> str:
    text = (f"{_plural(alerting.raised, 'alert')} raised, {alerting.cleared:,} cleared, "
            f"{len(alerting.evaluator.open()):,} open")
    if command is not None:
        text += f"; --on-alert ran {_plural(command.ran, 'command')} ({command.failed:,} failed"
        text += f", {command.dropped:,} not run: too many waiting)" if command.dropped else ")"
    return text


def _import_db_arg(url: str) -> str:
    """``--db`` for the import command the summary suggests: the SQLite path,
    or the MySQL URL without its password (which goes by file or variable)."""
    shown = describe_database(url)
    return shown.replace(":***@", "@", 1) if is_mysql_url(url) else shown


def import_command(result: RecordResult) -> str:
    """The command line that puts the spilled frames back."""
    command = f"ayla-monitor import --db {shlex.quote(result.database)} {shlex.quote(str(result.spill_path))}"
    if result.database.startswith("mysql://") and "@" in result.database:
        command += "  (give the password with --db-password-file FILE or AYLA_DB_PASSWORD)"
    return command


def _totals(statuses: Sequence[StreamStatus]) -> tuple[int, int, int, int, int]:
    """What became of the frames received, all streams together: (stored,
    duplicates, conflicts, bad frames stored, pending). They add up to the
    frames received."""
    return (
        sum(s.stored for s in statuses),
        sum(s.duplicates for s in statuses),
        sum(s.conflicts for s in statuses),
        sum(s.bad_stored for s in statuses),
        sum(s.pending for s in statuses),
    )


def accounting(statuses: Sequence[StreamStatus]) -> str:
    """The status line's part: ``stored 1,200 · 3 duplicates · …``."""
    stored, duplicates, conflicts, _bad, pending = _totals(statuses)
    parts = [f"stored {stored:,}"]
    if duplicates:
        parts.append(_plural(duplicates, "duplicate"))
    if conflicts:
        parts.append(_plural(conflicts, "conflict"))
    if pending:
        parts.append(f"{pending:,} to write")
    return " · ".join(parts)


def summary(result: RecordResult) -> list[str]:
    """The closing lines the recorder prints: every frame received accounted for."""
    statuses = result.statuses
    events = sum(s.events for s in statuses)
    bad = sum(s.malformed for s in statuses)
    beats = sum(s.heartbeats for s in statuses)
    rate = events / result.seconds if result.seconds > 0 else 0.0
    lines = [
        f"Received {_plural(events + bad, 'frame')} in {result.seconds:.1f} s ({rate:,.0f} events/s), "
        f"and {_plural(beats, 'heartbeat')}:",
        "  " + _breakdown(statuses),
    ]
    for s in statuses:
        seq = f"last seq {s.last_seq:,}" if s.last_seq is not None else "no seq"
        if s.epoch:
            seq += f" (epoch {s.epoch})"
        detail = f" ({s.detail})" if s.detail and s.detail != "disconnected" else ""
        lines.append(
            f"  {s.name}: {_plural(s.received, 'frame')}: {_breakdown([s])}; {seq}, "
            f"{_plural(s.heartbeats, 'heartbeat')}, {_plural(s.reconnects, 'reconnect')}{detail}"
        )
        if s.open_gaps:
            lines.append(
                f"    {_plural(s.open_gaps, 'open gap')} ({_plural(s.missing, 'seq')} missing): "
                "see `ayla-monitor gaps`; `ayla-monitor record --fill-gaps` asks the server again"
            )
        if s.notice:
            lines.append(f"    {s.notice}")
    if result.filled:
        lines.append(f"Gaps: {result.filled}")
    if result.alerts:
        lines.append(f"Alerts: {result.alerts}")
    if result.writer_error:
        lines.append(f"Database error: {result.writer_error}")
    if result.spill_path is not None:
        lines.append(f"Events that could not be stored were saved to {result.spill_path} (JSON Lines).")
        lines.append(f"Put them back in the database with: {import_command(result)}")
    return lines


def _breakdown(statuses: Sequence[StreamStatus]) -> str:
    """The summary's part: ``1,200 events stored, 3 duplicates (already stored), …``."""
    stored, duplicates, conflicts, bad, pending = _totals(statuses)
    text = (
        f"{_plural(stored, 'event')} stored, {_plural(duplicates, 'duplicate')} (already stored), "
        f"{_plural(conflicts, 'conflict')} (stored apart), {_plural(bad, 'bad frame')} stored"
    )
    if pending:
        text += f", {pending:,} not written"
    return text
