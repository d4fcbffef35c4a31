"""What the engine tells its watchers: stream states, received frames, writer health.

Plain data, produced on the event loop; the window's bridge and the
recorder's status line read the same objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ayla_monitor.dss.events import Event, MalformedFrame
from ayla_monitor.dss.link import StreamState

__all__ = ["StreamState", "StreamStatus", "FramesReceived", "StatusChanged", "WriterHealth", "Update"]


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
    events: int = 0
    heartbeats: int = 0
    malformed: int = 0
    noted: int = 0
    last_seq: int | None = None
    last_event_time: str | None = None
    last_frame_at: float | None = None
    connected_since: float | None = None
    reconnects: int = 0

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


Update = FramesReceived | StatusChanged | WriterHealth
