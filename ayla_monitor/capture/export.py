"""A capture made from stored rows (``export --format capture``, the window's
File -> Save capture...).

The rows come in as plain objects (the store's ``StoredEvent`` and
``StoredMalformed`` fit :class:`EventRow` and :class:`BadRow`): events and
bad frames are merged back into the order they were received, and each
event's frame is rebuilt from its JSON as received.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from ayla_monitor.capture.format import StreamInfo
from ayla_monitor.capture.redact import RedactionSpec
from ayla_monitor.capture.writer import CaptureWriter
from ayla_monitor.dss.frames import encode_frame

__all__ = [
    "EventRow",
    "BadRow",
    "StreamRow",
    "StoreLike",
    "Selection",
    "ExportResult",
    "stream_info",
    "export_capture",
    "export_store",
]


class EventRow(Protocol):
    @property
    def stream_name(self) -> str | None: ...

    @property
    def raw(self) -> str | None: ...

    @property
    def received_at(self) -> float | None: ...


class BadRow(Protocol):
    @property
    def stream_name(self) -> str | None: ...

    @property
    def raw(self) -> str: ...

    @property
    def received_at(self) -> float: ...


class StreamRow(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def display_url(self) -> str: ...

    @property
    def subscription_type(self) -> str | None: ...


class Selection(Protocol):
    """Which events (``ayla_monitor.dss.filter.EventFilter``): what a capture needs of it."""

    @property
    def dsns(self) -> Sequence[str] | None: ...

    @property
    def event_types(self) -> Sequence[str] | None: ...

    @property
    def property_names(self) -> Sequence[str] | None: ...

    @property
    def since(self) -> float | None: ...

    @property
    def until(self) -> float | None: ...


class StoreLike(Protocol):
    """What :func:`export_store` reads (``ayla_monitor.store.database.Store``)."""

    def streams(self) -> Sequence[StreamRow]: ...

    def iter_events(self, query: Any = None) -> Iterable[EventRow]: ...

    def iter_malformed(self) -> Iterable[BadRow]: ...


@dataclass(frozen=True, slots=True)
class ExportResult:
    frames: int
    #: events stored without their JSON (rows of the original table): not in the capture
    without_json: int
    error: str | None


def stream_info(stream: StreamRow) -> StreamInfo:
    """A stored stream for the header: its URL holds the key masked already."""
    query = dict(parse_qsl(urlsplit(stream.display_url).query))
    return StreamInfo(stream.name, query.get("stream_key", ""), stream.subscription_type, stream.display_url)


def _frames(
    events: Iterable[EventRow], bad: Iterable[BadRow], skipped: list[int]
) -> Iterator[tuple[float, str, str]]:
    """(receive time, stream, frame) of both, in receive order."""
    last = 0.0

    def from_events() -> Iterator[tuple[float, str, str]]:
        nonlocal last
        for row in events:
            if row.raw is None:
                skipped[0] += 1
                continue
            when = row.received_at if row.received_at is not None else last
            last = when
            yield when, row.stream_name or "stream", encode_frame(row.raw)

    def from_bad() -> Iterator[tuple[float, str, str]]:
        for row in bad:
            yield row.received_at, row.stream_name or "stream", row.raw

    return heapq.merge(from_events(), from_bad(), key=lambda item: item[0])


def export_capture(
    path: str | Path,
    streams: Sequence[StreamRow],
    events: Iterable[EventRow],
    bad: Iterable[BadRow],
    *,
    redaction: RedactionSpec | None = None,
    progress: Callable[[int], object] | None = None,
) -> ExportResult:
    """Write the rows as a capture at ``path``. Raises
    :class:`~ayla_monitor.capture.writer.CaptureError` if it cannot be created."""
    skipped = [0]
    merged = _frames(events, bad, skipped)
    first = next(merged, None)
    infos = [stream_info(s) for s in streams]
    writer = CaptureWriter(
        path, infos, redaction=redaction, start=first[0] if first else None, threaded=False
    )
    count = 0
    try:
        if first is not None:
            pending = itertools.chain([first], merged)
            while True:
                chunk = list(itertools.islice(pending, 2000))
                if not chunk:
                    break
                for when, stream, frame in chunk:
                    writer.add(stream, when, frame)
                count += len(chunk)
                if progress is not None:
                    progress(count)
                if writer.error is not None:
                    break
    finally:
        stats = writer.close()
    return ExportResult(stats.frames, skipped[0], stats.error)


def export_store(
    store: StoreLike,
    selected: Selection,
    path: str | Path,
    *,
    redaction: RedactionSpec | None = None,
    progress: Callable[[int], object] | None = None,
) -> ExportResult:
    """The events ``selected`` finds, and (when it selects no device, type
    or property: bad frames belong to none) the bad frames received in its
    time range, as a capture at ``path``. Blocking: call it from a thread."""
    whole = not (selected.dsns or selected.event_types or selected.property_names)
    since, until = selected.since, selected.until
    bad = (
        row
        for row in (store.iter_malformed() if whole else ())
        if (since is None or row.received_at >= since) and (until is None or row.received_at < until)
    )
    return export_capture(
        path, store.streams(), store.iter_events(selected), bad, redaction=redaction, progress=progress
    )
