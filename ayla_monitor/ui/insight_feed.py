"""The window's one :class:`~ayla_monitor.fleet.insight.FleetInsight`, fed
with every batch it receives and, at start, with the stored events of the
last hour (at most :data:`HISTORY_EVENTS` of them).

The stored events are read and folded off the GUI thread into an insight of
their own (:func:`read_history`, run by the window's query runner); live
batches that arrive meanwhile are held (at most :data:`MAX_HELD` events) and
folded into it on its arrival, skipping the ones the history already had
(same stream, seq not above the history's last). The fleet table and the
Problems list read :meth:`InsightFeed.summaries`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from ayla_monitor.dss.events import DssEvent, MalformedFrame
from ayla_monitor.dss.filter import EventFilter, iso_of
from ayla_monitor.fleet.insight import DeviceSummary, FleetInsight, InsightSettings
from ayla_monitor.headless.report import event_of_row
from ayla_monitor.store.follow import first_id_since
from ayla_monitor.store.scan import row_columns, scan_events

__all__ = ["InsightFeed", "HistoryInsight", "read_history", "HISTORY_SECONDS", "HISTORY_EVENTS", "MAX_HELD"]

#: how far back the stored events are read at start (seconds)
HISTORY_SECONDS = 3600.0
#: the most stored events read at start (more in the hour: the latest half hour,
#: and so on; the insight itself is bounded whatever it reads)
HISTORY_EVENTS = 300_000
#: live events held while the history is read; beyond, the history is dropped
MAX_HELD = 200_000


@dataclass(slots=True)
class HistoryInsight:
    """The insight folded from stored events, and what it read."""

    insight: FleetInsight
    events: int
    #: stream id -> the highest seq read (live events up to it are in already)
    last_seqs: dict[int, int]
    #: the cap was reached: the oldest events of the hour were left out
    truncated: bool


def read_history(store: Any, now: float, settings: InsightSettings | None = None, *,
                 seconds: float = HISTORY_SECONDS, limit: int = HISTORY_EVENTS,
                 cancelled: Callable[[], bool] | None = None) -> HistoryInsight:
    """Fold the stored events of the last ``seconds`` before ``now`` into a
    new insight; past ``limit`` events the range is halved and read again
    (memory stays bounded, the latest events are the ones kept). Blocking:
    run it off the GUI thread."""
    names = {s.id: s.name for s in store.streams()}
    truncated = False
    columns_of = partial(row_columns, store)
    while True:
        insight = FleetInsight(settings)
        last_seqs: dict[int, int] = {}
        events = 0
        full = False
        # From the first id of the range (found on the time index): the walk
        # by id must not read ten million older rows first, holding the lock.
        after = first_id_since(store, iso_of(now - seconds))
        for row in scan_events(store, EventFilter(since=now - seconds), chunk=5000, after=after):
            event = event_of_row(row, columns_of)
            if event is None:
                continue
            stream_id, seq = row[1], row[2]
            insight.add(event, names.get(stream_id))
            events += 1
            if seq is not None and seq > last_seqs.get(stream_id, -1):
                last_seqs[stream_id] = seq
            if events % 5000 == 0 and cancelled is not None and cancelled():
                break
            if events > limit:
                full = True
                break
        if not full or seconds < 60:
            break
        seconds /= 2  # too many: a shorter range, read again
        truncated = True
    insight.advance(now)
    return HistoryInsight(insight, events, last_seqs, truncated)


class InsightFeed:
    """Feeds one insight from the window's batches (see the module doc)."""

    def __init__(self, clock: Callable[[], float] = time.time, settings: InsightSettings | None = None) -> None:
        self.clock = clock
        self.settings = settings
        self.insight = FleetInsight(settings)
        self._names: dict[int, str] = {}
        self._advanced_at = float("-inf")
        #: live batches held while the history is read (``None``: not reading)
        self._held: list[tuple[int, list[DssEvent]]] | None = None
        self._held_count = 0
        #: stored events folded in at start (for the status line and tests)
        self.history_events = 0
        self.history_truncated = False

    def set_stream_name(self, stream_id: int, name: str) -> None:
        self._names[stream_id] = name

    def reset(self) -> None:
        """Forget everything (another database was opened)."""
        self.insight = FleetInsight(self.settings)
        self._held = None
        self._held_count = 0
        self.history_events = 0
        self.history_truncated = False

    def add(self, stream_id: int, frames: Sequence[Any]) -> None:
        """One live batch (bad frames are skipped: they have no device)."""
        events: list[DssEvent] = [f for f in frames if f.__class__ is not MalformedFrame]
        if not events:
            return
        held = self._held
        if held is not None:
            held.append((stream_id, events))
            self._held_count += len(events)
            if self._held_count > MAX_HELD:  # the history takes too long: go on live without it
                self._held = None
                self._held_count = 0
                for sid, batch in held:
                    self.insight.add_many(batch, self._names.get(sid))
            return
        self.insight.add_many(events, self._names.get(stream_id))

    def advance(self) -> bool:
        """Settle ended ack waits, at most once a second; whether it ran."""
        now = self.clock()
        if now - self._advanced_at < 1.0:
            return False
        self._advanced_at = now
        self.insight.advance(now)
        return True

    # -- the stored history
    def begin_history(self) -> None:
        """From now on live batches are held until :meth:`finish_history`."""
        self._held = []
        self._held_count = 0

    def finish_history(self, history: HistoryInsight | None) -> None:
        """Take the history's insight (``None``: it could not be read) and fold
        the held batches into it."""
        held, self._held = self._held, None
        self._held_count = 0
        if held is None:
            return  # the history came too late (live went on without it) or was reset
        if history is not None:
            self.insight = history.insight
            self.history_events = history.events
            self.history_truncated = history.truncated
        last = history.last_seqs if history is not None else {}
        for stream_id, batch in held:
            top = last.get(stream_id)
            if top is not None:
                batch = [e for e in batch if e.seq is None or e.seq > top]
            self.insight.add_many(batch, self._names.get(stream_id))

    @property
    def loading(self) -> bool:
        return self._held is not None

    # -- reading
    def summaries(self, now: float | None = None) -> list[DeviceSummary]:
        return self.insight.summaries(self.clock() if now is None else now)

    def fold(self, events: Iterable[DssEvent], stream: str | None = None) -> None:
        """Events straight in (tests, benchmarks)."""
        self.insight.add_many(events, stream)
