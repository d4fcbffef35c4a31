"""What the engine tells its watchers: stream states, received frames, writer health.

Plain data, produced on the event loop; the window's bridge and the
recorder's status line read the same objects.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from ayla_monitor.dss.events import Event, MalformedFrame
from ayla_monitor.dss.link import StreamState

__all__ = ["StreamState", "StreamStatus", "FramesReceived", "StatusChanged", "WriterHealth", "Update", "UpdateFanout"]


@dataclass(slots=True)
class StreamStatus:
    """One stream's state and counters. The engine owns and mutates it;
    watchers receive a copy (:meth:`snapshot`)."""

    stream_id: int
    name: str
    display_url: str
    subscription_type: str | None
    state: StreamState = StreamState.CONNECTING
    #: why it stopped, or what it is waiting for, in one sentence.
    detail: str = ""
    #: epoch seconds of the next connection attempt while RECONNECTING.
    retry_at: float | None = None
    #: frames received, heartbeats apart: events (``events``) and bad frames
    #: (``malformed``). Once written, every one of them is exactly one of
    #: ``stored``, ``duplicates``, ``conflicts`` or ``bad_stored``; the rest
    #: is ``pending`` (on its way to the database).
    events: int = 0
    heartbeats: int = 0
    malformed: int = 0
    noted: int = 0
    #: what the database writer made of this stream's frames (see above).
    stored: int = 0
    duplicates: int = 0
    conflicts: int = 0
    bad_stored: int = 0
    last_seq: int | None = None
    last_event_time: str | None = None
    last_frame_at: float | None = None
    connected_since: float | None = None
    reconnects: int = 0
    #: the stream's sequence epoch: 0, then +1 each time the server restarted its seqs.
    epoch: int = 0
    #: gaps in the seqs not filled yet, and how many seqs they miss.
    open_gaps: int = 0
    missing: int = 0
    #: LIVE, and the server has sent nothing since we asked for this seq.
    waiting_for: int | None = None
    #: stopped by the user (Disconnect), not by a failure: shown neutral, remembered.
    by_user: bool = False
    #: the latest thing worth telling the user about this stream (a sequence
    #: restart, an oversized frame, a gap filled), in one sentence.
    notice: str = ""

    @property
    def received(self) -> int:
        """Frames received, heartbeats apart (events and bad frames)."""
        return self.events + self.malformed

    @property
    def pending(self) -> int:
        """Frames received and not yet accounted for by the database."""
        return max(0, self.received - self.stored - self.duplicates - self.conflicts - self.bad_stored)

    def snapshot(self) -> StreamStatus:
        return StreamStatus(**{name: getattr(self, name) for name in self.__slots__})

    def describe(self, now: float) -> str:
        """``live``, ``reconnecting in 4 s``, ``stopped: key rejected …``."""
        if self.state is StreamState.RECONNECTING and self.retry_at is not None:
            text = f"reconnecting in {max(0, round(self.retry_at - now))} s"
            return f"{text} ({self.detail})" if self.detail else text
        if self.state is StreamState.STOPPED and self.detail:
            return f"stopped: {self.detail}"
        return self.state.value


@dataclass(frozen=True, slots=True)
class FramesReceived:
    """A batch of events and malformed frames from one stream, in arrival order."""

    stream_id: int
    frames: list[Event | MalformedFrame] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class StatusChanged:
    status: StreamStatus


@dataclass(frozen=True, slots=True)
class WriterHealth:
    """The database writer's state: rows stored so far, waiting, and the last
    error in one sentence (``None`` when writing works)."""

    stored: int
    pending: int
    error: str | None
    #: stream id -> (events stored, duplicates, conflicts, bad frames stored)
    counts: dict[int, tuple[int, int, int, int]] = field(default_factory=dict)


Update = FramesReceived | StatusChanged | WriterHealth


class UpdateFanout:
    """Hands every :data:`Update` to each watcher from :meth:`subscribe`, in
    order (the engine's and the watched database's one way out). A subclass
    sets ``self._watchers = []`` in its ``__init__``."""

    _watchers: list[asyncio.Queue[Update]]

    def subscribe(self) -> AsyncIterator[Update]:
        """Updates from now on, in order, until the watcher stops iterating."""
        queue: asyncio.Queue[Update] = asyncio.Queue()
        self._watchers.append(queue)

        async def updates() -> AsyncIterator[Update]:
            try:
                while True:
                    yield await queue.get()
            finally:
                self._watchers.remove(queue)

        return updates()

    def publish(self, update: Update) -> None:
        for queue in self._watchers:
            queue.put_nowait(update)
