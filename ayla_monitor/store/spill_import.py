"""Putting spilled frames back: what ``ayla-monitor import FILE…`` does.

The frames of a spill file (:mod:`ayla_monitor.store.spill`) go back through
the ordinary :class:`~ayla_monitor.store.writer.EventWriter`, re-parsed from
their raw text as when they arrived, so they are stored exactly as the
recorder would have stored them.

Importing is idempotent: an event with a seq is skipped by the database's
unique (stream, seq) key; an event without a seq and a malformed frame (which
have no such key) are looked up before they are submitted. A spill file only
fits the database it was written for (it names streams by their id there):
if one of its stream ids is not in the database, nothing is imported.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import peewee

from ayla_monitor.dss.events import Event, MalformedFrame
from ayla_monitor.dss.frames import parse_event
from ayla_monitor.store.database import open_connected
from ayla_monitor.store.errors import StoreError
from ayla_monitor.store.location import describe_database
from ayla_monitor.store.models import Event as EventRow
from ayla_monitor.store.models import MalformedFrame as MalformedRow
from ayla_monitor.store.models import Stream
from ayla_monitor.store.spill import SpillLine, Unreadable, read_spill
from ayla_monitor.store.writer import EventWriter

__all__ = ["ImportCounts", "ImportRefused", "import_spills"]

#: Unreadable lines listed one by one before the rest are only counted.
SHOWN_PROBLEMS = 10


class ImportRefused(StoreError):
    """The spill files cannot be imported here (unreadable file, or frames of
    streams this database does not have); nothing was imported."""


@dataclass(slots=True)
class ImportCounts:
    """What an import did, frame by frame."""

    files: int = 0
    #: frames read from the files (unreadable lines apart)
    read: int = 0
    #: events newly stored
    stored: int = 0
    #: malformed frames newly stored (kept as such, as the recorder does)
    bad_frames: int = 0
    #: events and bad frames the database already had
    duplicates: int = 0
    #: lines that are not a spilled frame
    unreadable: int = 0
    problems: list[str] = field(default_factory=list)
    #: frames that could not be stored this time either, saved again here
    spill_path: Path | None = None


def _read(paths: Sequence[Path], counts: ImportCounts) -> list[SpillLine]:
    lines: list[SpillLine] = []
    for path in paths:
        try:
            for line in read_spill(path):
                if isinstance(line, Unreadable):
                    counts.unreadable += 1
                    if len(counts.problems) < SHOWN_PROBLEMS:
                        counts.problems.append(f"{path} line {line.number}: {line.why}")
                else:
                    lines.append(line)
        except OSError as exc:
            raise ImportRefused(f"Cannot read the spill file {path}: {exc.strerror or exc}.") from None
        counts.files += 1
    counts.read = len(lines)
    return lines


def _frame(line: SpillLine, now: float) -> Event | MalformedFrame:
    received = line.received_at if line.received_at is not None else now
    if line.reason is not None:
        return MalformedFrame(line.raw, line.reason, received)
    try:
        obj = json.loads(line.raw)
    except ValueError:
        return MalformedFrame(line.raw, "a spilled event whose text is not JSON", received)
    if not isinstance(obj, dict):
        return MalformedFrame(line.raw, "a spilled event that is not a JSON object", received)
    return parse_event(obj, line.raw, received)


def _already_stored(
    database: peewee.Database, stream_ids: set[int]
) -> tuple[set[tuple[int, float, str]], set[tuple[int, str]]]:
    """What is stored without a unique key: malformed frames, events without a seq."""
    ids = list(stream_ids)
    bad: list[Any] = list(
        MalformedRow.select(MalformedRow.stream, MalformedRow.received_at, MalformedRow.raw)
        .where(MalformedRow.stream.in_(ids))
        .tuples()
        .bind(database)
    )
    plain: list[Any] = list(
        EventRow.select(EventRow.stream, EventRow.raw)
        .where(EventRow.stream.in_(ids), EventRow.seq.is_null())
        .tuples()
        .bind(database)
    )
    malformed = {(int(s), float(r), str(raw)) for s, r, raw in bad}
    seqless = {(int(s), str(raw)) for s, raw in plain}
    return malformed, seqless


def import_spills(
    paths: Sequence[Path], url: str, *, close_timeout: float = 60.0, spill_dir: Path | None = None
) -> ImportCounts:
    """Store the frames of the spill files ``paths`` in ``url``'s database.

    Raises :class:`ImportRefused` (nothing imported) or
    :class:`~ayla_monitor.store.errors.DatabaseUnavailable`. Frames the
    database still cannot take within ``close_timeout`` seconds are saved to
    a new spill file (:attr:`ImportCounts.spill_path`), never lost.
    """
    counts = ImportCounts()
    lines = _read(paths, counts)
    wanted = {line.stream_id for line in lines}
    database = open_connected(url)
    try:
        ids: list[Any] = list(Stream.select(Stream.id).tuples().bind(database))
        known = {int(row[0]) for row in ids}
        missing = sorted(wanted - known)
        if missing:
            names = ", ".join(str(i) for i in missing[:5]) + (" …" if len(missing) > 5 else "")
            raise ImportRefused(
                f"The spill file{'s' if len(paths) > 1 else ''} hold{'' if len(paths) > 1 else 's'} "
                f"frames of stream id {names}, which {describe_database(url)} does not have: "
                "it belongs to another database (give that one with --db); nothing was imported."
            )
        malformed_seen, seqless_seen = _already_stored(database, wanted) if wanted else (set(), set())
    finally:
        database.close()

    now = time.time()
    by_stream: dict[tuple[int, int], list[Event | MalformedFrame]] = {}
    for line in lines:
        frame = _frame(line, now)
        if isinstance(frame, MalformedFrame):
            key = (line.stream_id, frame.received_at, frame.raw)
            if key in malformed_seen:
                counts.duplicates += 1
                continue
            malformed_seen.add(key)
        elif frame.seq is None:
            seqless = (line.stream_id, frame.raw)
            if seqless in seqless_seen:
                counts.duplicates += 1
                continue
            seqless_seen.add(seqless)
        by_stream.setdefault((line.stream_id, line.epoch), []).append(frame)

    total = sum(len(frames) for frames in by_stream.values())
    if not total:
        return counts
    writer = EventWriter(url, max_pending=total + 1, spill_dir=spill_dir)
    writer.start()
    try:
        for (stream_id, epoch), frames in by_stream.items():
            for start in range(0, len(frames), 5000):
                writer.submit(stream_id, frames[start : start + 5000], epoch)
    finally:
        counts.spill_path = writer.close(timeout=close_timeout)
    stored, duplicates, conflicts, bad = writer.counts()
    counts.bad_frames = bad
    counts.duplicates += duplicates
    counts.stored = stored + conflicts  # a conflict is stored too, apart
    return counts
