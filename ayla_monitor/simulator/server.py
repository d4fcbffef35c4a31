"""A local DSS-compatible WebSocket server, for the demo mode, tests and benchmarks.

One :class:`~ayla_monitor.simulator.fleet.Fleet` generates events; each
stream key is one subscription with its own seq counter and replay buffer,
filled whether or not a client is connected (live generation starts with
the first connection, unless ``wait_for_client`` is off, so that a client
connecting live sees every device come online). A connection asks for a key
(``stream_key``) and optionally a replay window (``seq_start``, ``seq_end``),
gets the buffered events, then live ones, and a ``1|Z`` heartbeat every
``heartbeat`` seconds; the ``Z`` replies are counted.

Every frame is built by :mod:`ayla_monitor.dss.wire` and
:func:`~ayla_monitor.dss.frames.encode_frame`, so the simulator serves
exactly what the parser reads. Faults can be injected (see
:class:`SimulatorConfig`): per connection, an abrupt TCP drop, garbage
frames, a link that goes silent, duplicates, a seq reused for another event,
events with a bad seq, seqs left out of live delivery; per subscription, a
sequence that restarts at 1 and one event too big for a client to accept.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State

from ayla_monitor.dss import wire
from ayla_monitor.dss.frames import HEARTBEAT_FRAME, HEARTBEAT_REPLY, encode_frame
from ayla_monitor.dss.keys import RedactingLogger, is_valid_key, mask_key
from ayla_monitor.dss.subscription import SUBSCRIPTION_TYPES
from ayla_monitor.simulator.errors import ListenError, SimulatorConfigError
from ayla_monitor.simulator.fleet import Fleet, event_route

__all__ = [
    "BAD_SEQS",
    "DEMO_KEY",
    "SimulatorConfig",
    "Simulator",
    "conflicting_frame",
    "oversized_frame",
    "parse_keys_option",
    "reseq_frame",
    "run_simulator",
]

log = logging.getLogger(__name__)

#: The simulator's default stream key: key-shaped, obviously not a real one.
DEMO_KEY = "de5a0" * 6 + "de"  # not a secret: the built-in demo's key, printed by `simulate`

#: Frames written to the socket between two checks of time, state and flow control.
_CHUNK = 512

#: The ``seq`` of each ``bad_seq_every`` frame, in turn (``None``: no ``seq`` key at all).
BAD_SEQS: tuple[str | None, ...] = ("0", "abc", "-3", "1.5", "", None)

#: The largest ``oversize_mb``: one such frame is held per subscription.
_OVERSIZE_MB_MAX = 1024

#: Close code and reason of the connections a sequence restart closes.
RESTART_CLOSE = (1012, "service restart")


def parse_keys_option(text: str) -> dict[str, str | None]:
    """``K1,K2:datapoint`` -> ``{K1: None, K2: "datapoint"}`` (``None``: all types).

    Raises :class:`~ayla_monitor.simulator.errors.SimulatorConfigError` (a
    ``ValueError``) naming the bad part.
    """
    keys: dict[str, str | None] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, kind = part.partition(":")
        key = key.strip().lower()
        kind = kind.strip()
        if not is_valid_key(key):
            raise SimulatorConfigError(
                f"a stream key is 32 hexadecimal characters; "
                f"{mask_key(key)!r} ({len(key)} characters) is not one"
            )
        if sep and kind not in SUBSCRIPTION_TYPES:
            raise SimulatorConfigError(
                f"subscription type {kind!r} for key {mask_key(key)} is unknown; "
                f"use one of {', '.join(SUBSCRIPTION_TYPES)}"
            )
        if key in keys:
            raise SimulatorConfigError(f"key {mask_key(key)} is given twice")
        keys[key] = kind if sep else None
    if not keys:
        raise SimulatorConfigError("no stream key given (expected KEY or KEY:type, separated by commas)")
    return keys


def _default_keys() -> dict[str, str | None]:
    return {DEMO_KEY: None}


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """What to simulate. ``rate`` is events per second for the whole fleet
    (0: no live events, only :meth:`Simulator.prefill`); ``keys`` maps each
    stream key to its subscription type (``None``: all five types).

    Faults that count the events sent on one connection (a replay and live
    events alike; the extra frames below are not counted):

    - ``drop_after``: abort the TCP connection (no close frame);
    - ``stall_after``: go silent (no heartbeats either, no pongs), socket open;
    - after every Nth event, in this order: ``dup_every`` sends the same
      frame again, byte for byte; ``conflict_every`` sends another frame with
      the same seq and other content (:func:`conflicting_frame`: the event
      time one second later); ``bad_seq_every`` sends a copy whose ``seq`` is
      each of :data:`BAD_SEQS` in turn; ``malformed_every`` sends one of
      :data:`~ayla_monitor.dss.wire.MALFORMED_FRAMES` in turn. None of these
      takes a seq or enters the replay buffer.

    ``gap_every`` leaves every seq divisible by N out of what a connection
    without ``seq_end`` receives (live, or the catch-up of a ``seq_start``
    request); the event stays in the replay buffer, so a request with both
    ``seq_start`` and ``seq_end`` gets it, for as long as the buffer
    (``replay_size``) holds it.

    Faults of a subscription: ``reset_after`` restarts its sequence once,
    after its Nth event: the replay buffer starts empty, the next event is
    numbered 1, and each open connection sends what it still had of the old
    sequence, then closes with 1012 "service restart" (a stalled one stays
    silent). A request whose ``seq_start`` is beyond the newest seq gets live
    events from now on (with ``seq_end``: nothing, closed at once), which is
    how a client resuming after a restart sees seq 1 again. ``oversize_at`` makes
    every event numbered N a frame of ``oversize_mb`` MiB
    (:func:`oversized_frame`), kept in the replay buffer like any event.
    """

    devices: int = 20
    rate: float = 20.0
    heartbeat: float = 30.0
    keys: Mapping[str, str | None] = field(default_factory=_default_keys)
    seed: int | None = 0
    replay_size: int = 100_000
    hostile: bool = False
    #: with ``hostile``: the longest value sent (``--hostile-mb``), and every
    #: how many events one that long comes (``None``: now and then, at random)
    hostile_value_bytes: int = 100_000
    big_every: int | None = None
    drop_after: int | None = None
    malformed_every: int | None = None
    stall_after: int | None = None
    reject_status: int = 401
    #: events generated into the replay buffers before listening (see :func:`run_simulator`).
    prefill: int = 0
    #: the seq of each subscription's first event: a demo restarted on the same
    #: database continues the stored sequence instead of repeating it.
    first_seq: int = 1
    #: seconds between two rounds of live generation.
    tick: float = 0.05
    #: start live generation with the first connection rather than at start(),
    #: so that a client connecting live sees every device come online.
    wait_for_client: bool = True
    reset_after: int | None = None
    dup_every: int | None = None
    conflict_every: int | None = None
    gap_every: int | None = None
    oversize_at: int | None = None
    #: the size of the ``oversize_at`` frame: above a client's usual 16 MiB limit.
    oversize_mb: float = 17.0
    bad_seq_every: int | None = None
    #: five devices play the scenarios of :data:`~ayla_monitor.simulator.fleet.SCENARIOS`
    #: (flapping, quiet, bad acks, clock skew, a spiking talker): on in the window's demo
    scenarios: bool = False

    def __post_init__(self) -> None:
        if self.devices < 1:
            raise SimulatorConfigError(f"the fleet needs at least one device, not {self.devices}")
        if self.rate < 0:
            raise SimulatorConfigError(f"the event rate cannot be negative ({self.rate})")
        if self.heartbeat <= 0:
            raise SimulatorConfigError(f"the heartbeat interval must be positive, not {self.heartbeat}")
        if self.tick <= 0:
            raise SimulatorConfigError(f"the generation tick must be positive, not {self.tick}")
        if self.replay_size < 1:
            raise SimulatorConfigError(
                f"the replay buffer needs room for one event at least, not {self.replay_size}"
            )
        if not self.keys:
            raise SimulatorConfigError("the simulator needs at least one stream key")
        for key, kind in self.keys.items():
            if not is_valid_key(key):
                raise SimulatorConfigError(
                    f"{mask_key(key)!r} is not a stream key (32 lowercase hexadecimal characters)"
                )
            if kind is not None and kind not in SUBSCRIPTION_TYPES:
                raise SimulatorConfigError(f"subscription type {kind!r} of key {mask_key(key)} is unknown")
        for name in ("drop_after", "malformed_every", "stall_after", "prefill"):
            value = getattr(self, name)
            if value is not None and value < (1 if name == "malformed_every" else 0):
                raise SimulatorConfigError(f"{name.replace('_', ' ')} cannot be {value}")
        for name in ("reset_after", "dup_every", "conflict_every", "bad_seq_every", "oversize_at"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise SimulatorConfigError(f"{name.replace('_', ' ')} must be 1 or more, not {value}")
        if self.gap_every is not None and self.gap_every < 2:
            raise SimulatorConfigError(
                f"gap every must be 2 or more (1 would leave out every event), not {self.gap_every}"
            )
        if not 0 < self.oversize_mb <= _OVERSIZE_MB_MAX:
            raise SimulatorConfigError(
                f"the oversized frame must be more than 0 and at most {_OVERSIZE_MB_MAX} MiB, "
                f"not {self.oversize_mb}"
            )
        if self.first_seq < 0:
            raise SimulatorConfigError(f"the first seq must be 0 or more, not {self.first_seq}")
        if not 400 <= self.reject_status <= 599:
            raise SimulatorConfigError(
                f"the rejection status must be an HTTP error (4xx/5xx), not {self.reject_status}"
            )


class _Run:
    """One run of a subscription's sequence (a reset starts another): its
    replay buffer of ``(seq, frame)`` and the seq its next event gets."""

    __slots__ = ("buffer", "next_seq")

    def __init__(self, size: int, first_seq: int) -> None:
        self.buffer: deque[tuple[int, str]] = deque(maxlen=size)
        self.next_seq = first_seq

    def since(self, seq: int) -> list[tuple[int, str]]:
        """Buffered events with seq >= ``seq`` (from the oldest kept when
        ``seq`` is older; none when it is newer than the newest), reading from
        whichever end is nearer. The buffer holds consecutive seqs (a gap is
        only left out of a connection, never out of the buffer)."""
        buffer = self.buffer
        if not buffer:
            return []
        count = self.next_seq - max(seq, buffer[0][0])
        if count <= 0:
            return []
        if count <= len(buffer) // 2:
            items = list(islice(reversed(buffer), count))
            items.reverse()
            return items
        return list(islice(buffer, len(buffer) - count, None))


class _Subscription:
    """One key: its current :class:`_Run`, and when it changes."""

    __slots__ = ("key", "kind", "size", "run", "published", "was_reset", "oversize_at", "oversize_bytes", "changed")

    def __init__(
        self,
        key: str,
        kind: str | None,
        size: int,
        first_seq: int = 1,
        *,
        oversize_at: int | None = None,
        oversize_bytes: int = 0,
    ) -> None:
        self.key = key
        self.kind = kind
        self.size = size
        self.run = _Run(size, first_seq)
        #: events published in all (every run).
        self.published = 0
        self.was_reset = False
        self.oversize_at = oversize_at
        self.oversize_bytes = oversize_bytes
        self.changed = asyncio.Event()

    @property
    def next_seq(self) -> int:
        return self.run.next_seq

    @property
    def buffer(self) -> deque[tuple[int, str]]:
        return self.run.buffer

    def append(self, text: str) -> None:
        run = self.run
        seq = run.next_seq
        if seq == self.oversize_at:
            frame = oversized_frame(text, seq, self.oversize_bytes)
        else:
            frame = wire.sequenced_frame(text, seq)
        run.buffer.append((seq, frame))
        run.next_seq = seq + 1
        self.published += 1

    def restart(self) -> None:
        """A new run from seq 1 with an empty buffer; connections still
        reading the old run finish it, then close."""
        self.run = _Run(self.size, 1)
        self.was_reset = True

    def notify(self) -> None:
        changed, self.changed = self.changed, asyncio.Event()
        changed.set()

    def since(self, seq: int) -> list[tuple[int, str]]:
        """:meth:`_Run.since` of the current run."""
        return self.run.since(seq)


def _payload(frame: str) -> str:
    return frame[frame.index("|") + 1 :]


def reseq_frame(frame: str, seq: str | None) -> str:
    """The event ``frame`` (as the simulator builds it, ``seq`` first) with
    its ``seq`` replaced by the text ``seq``, or without a ``seq`` key when
    ``seq`` is ``None``; the rest of the payload is unchanged."""
    payload = _payload(frame)
    if not payload.startswith('{"seq":"'):
        raise ValueError("the frame does not start with a seq")
    rest = payload[payload.index('"', 8) + 1 :]  # ',"metadata":...}' or '}'
    if seq is None:
        return encode_frame("{" + rest.removeprefix(","))
    return encode_frame('{"seq":' + json.dumps(seq) + rest)


#: Where each documented event type keeps its time(s).
_TIME_FIELDS = (
    ("connection", ("event_time",)),
    ("datapoint", ("created_at", "updated_at", "created_at_from_device")),
    ("location_event", ("created_at",)),
    ("registration_event", ("registered_at", "unregistered_at")),
)
_ISO = "%Y-%m-%dT%H:%M:%SZ"


def _second_later(text: str) -> str | None:
    try:
        when = datetime.strptime(text, _ISO).replace(tzinfo=UTC)
    except ValueError:
        return None
    return wire.iso_time(when.timestamp() + 1)


def conflicting_frame(frame: str) -> str:
    """Another event under the same seq: ``frame`` with each of its times
    (``event_time``, ``created_at``, ``updated_at``, ...) one second later;
    an event without such a time gets ``"conflict": true`` at the end."""
    obj = json.loads(_payload(frame))
    changed = False
    for body_key, names in _TIME_FIELDS:
        body = obj.get(body_key)
        if not isinstance(body, dict):
            continue
        for name in names:
            value = body.get(name)
            later = _second_later(value) if isinstance(value, str) else None
            if later is not None:
                body[name] = later
                changed = True
    if not changed:
        obj["conflict"] = True
    return encode_frame(obj)


def _oversize_bytes(mib: float) -> int:
    return int(mib * 2**20)


def oversized_frame(text: str, seq: int, size: int) -> str:
    """The frame of :func:`~ayla_monitor.dss.wire.unsequenced_text` ``text``
    numbered ``seq``, with a last top-level key ``"message"`` whose value (all
    ``x``) makes the whole frame ``size`` bytes of UTF-8 (one less in the rare
    case where no length prefix fits exactly; larger when the event alone is)."""
    inner = text[1:-1]
    head = f'{{"seq":"{seq}",{inner},"message":"' if inner else f'{{"seq":"{seq}","message":"'
    tail = '"}'
    fixed = len(head.encode("utf-8", "surrogatepass")) + len(tail)
    payload_size = size - len(str(size)) - 1
    for digits in range(1, 20):
        if len(str(size - digits - 1)) == digits:
            payload_size = size - digits - 1
            break
    padding = max(0, payload_size - fixed)
    return f"{fixed + padding}|{head}{'x' * padding}{tail}"


@dataclass(frozen=True, slots=True)
class _Window:
    key: str
    seq_start: int | None
    seq_end: int | None


def _window(path: str) -> _Window | str:
    """The key and replay window a request asks for, or why it is bad."""
    query = parse_qs(urlsplit(path).query)

    def one(name: str) -> str | None:
        values = query.get(name)
        return values[-1] if values else None

    key = (one("stream_key") or "").strip().lower()
    bounds: list[int | None] = []
    for name in ("seq_start", "seq_end"):
        text = one(name)
        if text is None or text == "":
            bounds.append(None)
            continue
        try:
            number = int(text)
        except ValueError:
            return f"{name} must be a whole number"
        if number < 0:
            return f"{name} cannot be negative"
        bounds.append(number)
    start, end = bounds
    if end is not None and start is None:
        return "seq_end needs seq_start"
    return _Window(key, start, end)


class _Extras:
    """One connection's extra frames after every Nth event: which are on,
    and where each rotation stands."""

    __slots__ = ("every", "bad_seqs", "malformed")

    def __init__(self, config: SimulatorConfig) -> None:
        options = (config.dup_every, config.conflict_every, config.bad_seq_every, config.malformed_every)
        self.every = tuple(n for n in options if n is not None)
        self.bad_seqs = 0
        self.malformed = 0

    def room(self, sent: int) -> int:
        """How many events can go before the next extra frame (at most a chunk)."""
        limit = _CHUNK
        for every in self.every:
            limit = min(limit, every - sent % every)
        return limit

    def due(self, sent: int) -> bool:
        return any(sent % every == 0 for every in self.every)


class Simulator:
    """The server. ``async with Simulator(config) as sim:`` listens on a free
    loopback port; ``sim.url`` is the stream URL (without key)."""

    def __init__(
        self,
        config: SimulatorConfig | None = None,
        *,
        clock: Callable[[], float] = time.time,
        pause: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        """``clock`` gives the events' times; ``pause(seconds)`` waits between
        two rounds of live generation (tests pass one they release by hand)."""
        self.config = config if config is not None else SimulatorConfig()
        self.fleet = Fleet(
            self.config.devices,
            seed=self.config.seed,
            hostile=self.config.hostile,
            hostile_value_bytes=self.config.hostile_value_bytes,
            big_every=self.config.big_every,
            scenarios=self.config.scenarios,
        )
        self._clock = clock
        self._pause = pause
        oversize_bytes = _oversize_bytes(self.config.oversize_mb)
        self._subs = {
            key: _Subscription(
                key,
                kind,
                self.config.replay_size,
                self.config.first_seq,
                oversize_at=self.config.oversize_at,
                oversize_bytes=oversize_bytes,
            )
            for key, kind in self.config.keys.items()
        }
        self._by_route: dict[str | None, list[_Subscription]] = {}
        self._server: Server | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._connections_changed = asyncio.Event()
        self._handlers: set[asyncio.Task[Any]] = set()
        self._stalled: set[ServerConnection] = set()
        #: connections accepted so far (handshake done), open or not.
        self.connections = 0
        #: connections open now.
        self.active_connections = 0
        #: handshakes refused (unknown key or bad window).
        self.rejected = 0
        #: ``Z`` replies received, all connections together.
        self.heartbeat_replies = 0
        self.heartbeats_sent = 0
        #: event frames sent, all connections together (the extra frames below not included).
        self.events_sent = 0
        #: garbage frames (``malformed_every``).
        self.malformed_sent = 0
        #: byte-identical second copies (``dup_every``).
        self.duplicates_sent = 0
        #: other events under a seq already sent (``conflict_every``).
        self.conflicts_sent = 0
        #: events with a seq that is not a positive integer (``bad_seq_every``).
        self.bad_seqs_sent = 0
        #: sends of an ``oversize_at`` event (copies of it not included).
        self.oversized_sent = 0
        #: seqs left out of a connection (``gap_every``), in order; a seq left
        #: out of two connections is listed twice.
        self.gaps_skipped: list[int] = []
        #: sequence restarts (``reset_after``), all subscriptions together.
        self.resets = 0

    # -- generation -------------------------------------------------------

    def _routes(self, route: str | None) -> list[_Subscription]:
        subs = self._by_route.get(route)
        if subs is None:
            subs = [s for s in self._subs.values() if s.kind is None or s.kind == route]
            self._by_route[route] = subs
        return subs

    def _publish_many(self, events: Iterable[dict[str, Any]]) -> int:
        count = 0
        routes = self._routes
        reset_after = self.config.reset_after if self.config.reset_after is not None else -1
        for event in events:
            subs = routes(event_route(event))
            if subs:
                text = wire.unsequenced_text(event)
                for sub in subs:
                    sub.append(text)
                    if sub.published == reset_after and not sub.was_reset:
                        self._restart(sub)
            count += 1
        for sub in self._subs.values():
            sub.notify()
        return count

    def _restart(self, sub: _Subscription) -> None:
        log.info(
            "the sequence of %s restarts at 1 after seq %d (fault injection)", mask_key(sub.key), sub.next_seq - 1
        )
        sub.restart()
        self.resets += 1

    def publish(self, event: dict[str, Any]) -> None:
        """Add one event object (``seq`` is replaced) to every subscription of its type."""
        self._publish_many((event,))

    def prefill(self, count: int) -> None:
        """Generate ``count`` fleet events into the replay buffers now, dated
        back from the present at the configured rate (benchmarks: connect with
        ``seq_start=1`` and receive them as fast as the socket allows). Takes
        about 25 µs per event (5 s for 200,000)."""
        if count <= 0:
            return
        interval = 1.0 / self.config.rate if self.config.rate > 0 else 0.001
        start = self._clock() - count * interval
        fleet = self.fleet
        self._publish_many(fleet.next_event(start + i * interval) for i in range(count))

    def last_seq(self, key: str) -> int:
        """The seq of the last event of ``key``'s subscription (0: none yet,
        or none since its sequence restarted)."""
        return self._subs[key].next_seq - 1

    @property
    def generating(self) -> bool:
        """Whether live generation has started."""
        return self._ticker is not None

    async def _tick(self) -> None:
        """Live generation: ``rate * dt`` events every tick; the intro (each
        device Online with a first value per property) goes out at once."""
        config = self.config
        self._publish_many(self.fleet.take(self.fleet.intro_pending, self._clock()))
        loop = asyncio.get_running_loop()
        last = loop.time()
        due = 0.0
        while True:
            await self._pause(config.tick)
            now = loop.time()
            # Catch up at most one second at a time, so a busy loop stays responsive.
            due += config.rate * min(now - last, 1.0)
            last = now
            count = int(due)
            if count:
                due -= count
                self._publish_many(self.fleet.take(count, self._clock()))

    # -- serving ----------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        window = _window(request.path)
        if isinstance(window, str):
            self.rejected += 1
            return connection.respond(http.HTTPStatus.BAD_REQUEST, f"{window}\n")
        if window.key not in self._subs:
            self.rejected += 1
            log.info("refused a connection for unknown key %s", mask_key(window.key))
            return connection.respond(self.config.reject_status, "Unknown or missing stream key.\n")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        window = _window(ws.request.path if ws.request is not None else "")
        assert isinstance(window, _Window)  # checked in _process_request
        sub = self._subs[window.key]
        self.connections += 1
        self.active_connections += 1
        self._connections_changed.set()
        self._connections_changed = asyncio.Event()
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "connection for %s from seq %s to %s", mask_key(sub.key), window.seq_start, window.seq_end
            )
        # Where this connection starts is decided now, before generation starts.
        run = sub.run
        if window.seq_start is None:
            cursor: int | None = run.next_seq
        elif window.seq_start <= run.next_seq:
            cursor = window.seq_start
        elif window.seq_end is None:
            cursor = run.next_seq  # no such seq (yet): live from now, as after a restart
        else:
            cursor = None  # a window this sequence has not reached: nothing to send
        if self._ticker is None and self._server is not None and self.config.rate > 0:
            self._start_generation()  # the first client sees the fleet come online
        sender = asyncio.create_task(self._send_loop(ws, sub, run, cursor, window.seq_end))
        self._handlers.add(sender)
        sender.add_done_callback(lambda task: self._sender_done(ws, task))
        try:
            async for message in ws:
                if message == HEARTBEAT_REPLY:
                    self.heartbeat_replies += 1
        except ConnectionClosed:
            pass
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                await sender
            self.active_connections -= 1
            self._connections_changed.set()
            self._connections_changed = asyncio.Event()

    def _sender_done(self, ws: ServerConnection, task: asyncio.Task[None]) -> None:
        self._handlers.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None and not isinstance(exc, ConnectionClosed):
            log.error("the simulator's sender failed; closing that connection", exc_info=exc)
            ws.transport.abort()

    async def _send_loop(
        self, ws: ServerConnection, sub: _Subscription, run: _Run, cursor: int | None, end: int | None
    ) -> None:
        """Serve ``run`` from ``cursor`` (``None``: close at once) to ``end``;
        once ``run`` is no longer the subscription's (a restart) and all of it
        is sent, close with :data:`RESTART_CLOSE`."""
        config = self.config
        loop = asyncio.get_running_loop()
        if cursor is None:
            await ws.close()
            return
        # A gap is left out of live delivery and catch-up, never out of a window
        # request: that is how a client fills it.
        gap = config.gap_every if end is None else None
        extras = _Extras(config)
        sent = 0  # events sent on this connection
        next_beat = loop.time() + config.heartbeat
        while True:
            if config.drop_after is not None and sent >= config.drop_after:
                log.info(
                    "dropping a connection of %s after %d events (fault injection)", mask_key(sub.key), sent
                )
                ws.transport.abort()
                return
            if config.stall_after is not None and sent >= config.stall_after:
                log.info(
                    "stalling a connection of %s after %d events (fault injection)", mask_key(sub.key), sent
                )
                # A dead link: no frames, no heartbeats, not even pongs (stop reading).
                ws.transport.pause_reading()
                self._stalled.add(ws)
                try:
                    await ws.wait_closed()
                finally:
                    self._stalled.discard(ws)
                return
            if end is not None and cursor > end:
                await ws.close()
                return
            items = run.since(cursor)
            if not items and sub.run is not run:
                log.info("closing a connection of %s: its sequence restarted", mask_key(sub.key))
                await ws.close(*RESTART_CLOSE)
                return
            if items:
                cursor = items[-1][0] + 1
                if end is not None and items[-1][0] > end:
                    items = [item for item in items if item[0] <= end]
                skipped: list[int] = []
                if gap is not None:
                    skipped = [seq for seq, _ in items if seq % gap == 0]
                    if skipped:
                        items = [item for item in items if item[0] % gap]
                position = 0
                while position < len(items):
                    # Events until the next fault, extra frame or time check.
                    limit = extras.room(sent)
                    if config.drop_after is not None:
                        limit = min(limit, config.drop_after - sent)
                    if config.stall_after is not None:
                        limit = min(limit, config.stall_after - sent)
                    if limit <= 0:
                        break  # a fault is due: the top of the loop applies it
                    chunk = items[position : position + limit]
                    position += len(chunk)
                    await _send_frames(ws, [frame for _, frame in chunk])
                    sent += len(chunk)
                    self.events_sent += len(chunk)
                    oversize = config.oversize_at
                    if oversize is not None and chunk[0][0] <= oversize <= chunk[-1][0]:
                        self.oversized_sent += sum(1 for seq, _ in chunk if seq == oversize)
                    if extras.due(sent):
                        await self._send_extras(ws, extras, chunk[-1][1], sent)
                    if loop.time() >= next_beat:
                        await ws.send(HEARTBEAT_FRAME)
                        self.heartbeats_sent += 1
                        next_beat = loop.time() + config.heartbeat
                if skipped:
                    if position < len(items):  # stopped for a fault: only the seqs passed over count
                        skipped = [seq for seq in skipped if seq < items[position][0]]
                    self.gaps_skipped.extend(skipped)
                continue
            now = loop.time()
            if now >= next_beat:
                await ws.send(HEARTBEAT_FRAME)
                self.heartbeats_sent += 1
                next_beat = now + config.heartbeat
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(next_beat - now):
                    await sub.changed.wait()

    async def _send_extras(self, ws: ServerConnection, extras: _Extras, frame: str, sent: int) -> None:
        """The extra frames due after the ``sent``-th event (``frame``) of a connection."""
        config = self.config
        if config.dup_every is not None and sent % config.dup_every == 0:
            await ws.send(frame)
            self.duplicates_sent += 1
        if config.conflict_every is not None and sent % config.conflict_every == 0:
            await ws.send(conflicting_frame(frame))
            self.conflicts_sent += 1
        if config.bad_seq_every is not None and sent % config.bad_seq_every == 0:
            await ws.send(reseq_frame(frame, BAD_SEQS[extras.bad_seqs % len(BAD_SEQS)]))
            extras.bad_seqs += 1
            self.bad_seqs_sent += 1
        if config.malformed_every is not None and sent % config.malformed_every == 0:
            await ws.send(wire.MALFORMED_FRAMES[extras.malformed % len(wire.MALFORMED_FRAMES)])
            extras.malformed += 1
            self.malformed_sent += 1

    def _start_generation(self) -> None:
        self._ticker = asyncio.create_task(self._tick())

    async def wait_for_connections(self, count: int) -> None:
        """Return once ``count`` connections have been accepted in all."""
        while self.connections < count:
            await self._connections_changed.wait()

    async def wait_for_disconnections(self) -> None:
        """Return once no connection is open."""
        while self.active_connections:
            await self._connections_changed.wait()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen (and start live generation now if ``rate`` > 0 and
        ``wait_for_client`` is off; else with the first connection)."""
        if self._server is not None:
            raise RuntimeError("the simulator is already running")
        try:
            self._server = await serve(
                self._handle,
                host,
                port,
                process_request=self._process_request,
                compression=None,
                max_size=2**20,
                ping_interval=None,  # DSS keeps the link alive with 1|Z; a stall must be silent
                close_timeout=2,
                write_limit=2**20,
                logger=RedactingLogger(logging.getLogger("websockets.server"), {}),
            )
        except OSError as exc:
            raise ListenError(f"the simulator cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
        if self.config.rate > 0 and not self.config.wait_for_client:
            self._start_generation()
        log.info("DSS simulator listening on %s with %d devices", self.url, self.config.devices)

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the simulator is not running")
        sockets = list(self._server.sockets)
        return int(sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        """``ws://HOST:PORT/stream``, without the key."""
        if self._server is None:
            raise RuntimeError("the simulator is not running")
        host, port = list(self._server.sockets)[0].getsockname()[:2]
        if ":" in host:
            host = f"[{host}]"
        return f"ws://{host}:{port}/stream"

    async def stop(self) -> None:
        """Stop generating, close every connection and the listening socket."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        if self._server is not None:
            server, self._server = self._server, None
            for ws in list(self._stalled):
                ws.transport.abort()  # it would not read a closing handshake
            server.close()
            await server.wait_closed()

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


async def _send_frames(ws: ServerConnection, frames: list[str]) -> None:
    """Send text frames with one flow-control wait per chunk.

    ``await ws.send(frame)`` costs a context manager and a drain per frame,
    which caps a replay well below what a socket carries. The first frame of
    each chunk goes through :meth:`send` (state checks, the right
    ``ConnectionClosed``); the rest are framed by the sans-I/O protocol and
    written together, then drained once.
    """
    protocol = ws.protocol
    for first in range(0, len(frames), _CHUNK):
        await ws.send(frames[first])
        if protocol.state is not State.OPEN:
            continue  # the next send raises ConnectionClosed
        for frame in frames[first + 1 : first + _CHUNK]:
            protocol.send_text(frame.encode())
        data = protocol.data_to_send()
        if all(data):
            ws.transport.writelines(data)  # one system call, not one per frame
        else:  # an end-of-stream marker (never while OPEN): let websockets handle it
            for item in data:
                if item:
                    ws.transport.write(item)
                elif ws.transport.can_write_eof():
                    ws.transport.write_eof()
                else:
                    ws.transport.close()
        await ws.drain()
        await asyncio.sleep(0)  # let the reader and other connections run


async def run_simulator(
    config: SimulatorConfig,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    ready: Callable[[str], object] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve until ``stop`` is set (or until cancelled); call ``ready(url)``
    once listening. Prefills ``config.prefill`` events first."""
    simulator = Simulator(config)
    simulator.prefill(config.prefill)
    await simulator.start(host, port)
    try:
        if ready is not None:
            ready(simulator.url)
        if stop is None:
            await asyncio.Future()  # until cancelled
        else:
            await stop.wait()
    finally:
        await simulator.stop()
