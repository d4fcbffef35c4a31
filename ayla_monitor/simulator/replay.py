"""Serve a capture file as a DSS stream (``ayla-monitor simulate --replay``).

Each stream of the capture is one subscription, served under a key of its
own (the demo key for the first, unless keys are given). Frames are
published at the pace they were received (``speed`` 1), faster (10), or all
at once (``None``: as fast as the client reads); playback starts with the
first connection, so a recorder that connects first gets everything. Like
DSS, a connection may ask for ``seq_start`` (and ``seq_end``): it gets the
published frames from the first event with that seq on, then what comes
next, which is how a recorder resumes after a drop. Bad frames of the
capture are served where they were, as they were. With ``loop``, the
capture starts again at its end, its seqs continued (each round adds the
span of the capture's seqs), so a recorder sees one long sequence.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import http
import json
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from ayla_monitor.capture.format import Capture, describe_problems, read_capture
from ayla_monitor.dss.frames import HEARTBEAT_FRAME, HEARTBEAT_REPLY, encode_frame, parse_frame
from ayla_monitor.dss.keys import RedactingLogger, mask_key
from ayla_monitor.simulator.errors import ListenError, SimulatorConfigError
from ayla_monitor.simulator.server import DEMO_KEY, _send_frames, _window, parse_keys_option

__all__ = [
    "ReplayConfig",
    "ReplayServer",
    "SPEEDS",
    "parse_speed",
    "replay_keys",
    "run_replay",
    "replay_command",
]

log = logging.getLogger(__name__)

#: What ``--speed`` offers (``max``: as fast as the client reads).
SPEEDS = ("1", "10", "max")
#: Frames sent per turn of a connection's loop.
_SEND_CHUNK = 4096
_SEQ_PREFIX = re.compile(r'\d+\|\{"seq":"(\d+)"')


def parse_speed(text: str) -> float | None:
    """``1``, ``10`` (or any positive number) or ``max`` (``None``)."""
    if text.strip().lower() == "max":
        return None
    try:
        speed = float(text)
    except ValueError:
        raise SimulatorConfigError(f"--speed is 1, 10 or max, not {text!r}") from None
    if not speed > 0:
        raise SimulatorConfigError(f"--speed must be more than 0, not {text!r}")
    return speed


def replay_keys(labels: Sequence[str], given: Sequence[str] = ()) -> list[str]:
    """One key per stream: ``given`` in order, then the demo key for the
    first stream and a key derived from each other stream's label."""
    keys = list(given[: len(labels)])
    for label in labels[len(keys) :]:
        if DEMO_KEY not in keys:
            keys.append(DEMO_KEY)
        else:
            keys.append(hashlib.sha256(f"replay {label}".encode()).hexdigest()[:32])
    return keys


@dataclass(frozen=True, slots=True)
class ReplayConfig:
    speed: float | None = 1.0
    loop: bool = False
    heartbeat: float = 30.0
    #: published frames each stream keeps for ``seq_start`` (at least one round).
    replay_size: int = 1_000_000


def _seq(frame: str) -> int | None:
    match = _SEQ_PREFIX.match(frame)
    if match is not None:
        return int(match.group(1))
    parsed = parse_frame(frame, 0.0)
    seq = getattr(parsed, "seq", None)
    return seq if isinstance(seq, int) else None


def _renumber(frame: str, seq: int) -> str:
    """``frame`` with its seq set to ``seq`` (a later round of a loop)."""
    payload = frame[frame.index("|") + 1 :]
    if payload.startswith('{"seq":"'):
        close = payload.index('"', 8)
        return encode_frame('{"seq":"' + str(seq) + payload[close:])
    obj = json.loads(payload)
    obj["seq"] = str(seq)
    return encode_frame(obj)


class _Track:
    """One stream of the capture: its frames, and what is published of them."""

    __slots__ = ("label", "key", "frames", "span", "log", "base", "changed")

    def __init__(self, label: str, key: str) -> None:
        self.label = label
        self.key = key
        #: (seq or None, frame text), in capture order
        self.frames: list[tuple[int | None, str]] = []
        self.span = 0
        #: published frames; ``base`` is the absolute position of log[0]
        self.log: list[tuple[int | None, str]] = []
        self.base = 0
        self.changed = asyncio.Event()

    @property
    def end(self) -> int:
        return self.base + len(self.log)

    def publish(self, items: list[tuple[int | None, str]], keep: int) -> None:
        self.log.extend(items)
        excess = len(self.log) - keep
        if excess > 0:
            del self.log[:excess]
            self.base += excess
        changed, self.changed = self.changed, asyncio.Event()
        changed.set()

    def position_of(self, seq: int) -> int | None:
        """The position of the first published event with seq >= ``seq``."""
        for index, (found, _frame) in enumerate(self.log):
            if found is not None and found >= seq:
                return self.base + index
        return None


class ReplayServer:
    """``async with ReplayServer(capture, config) as server:`` serves on a
    free loopback port; :attr:`keys` maps each key to its stream's label."""

    def __init__(
        self,
        capture: Capture,
        config: ReplayConfig | None = None,
        *,
        keys: Sequence[str] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config or ReplayConfig()
        self.capture = capture
        labels = capture.labels or ["stream"]
        chosen = replay_keys(labels, keys)
        self._tracks = {key: _Track(label, key) for key, label in zip(chosen, labels, strict=True)}
        by_label = {track.label: track for track in self._tracks.values()}
        #: the timeline: (offset, track, seq, frame)
        self._timeline: list[tuple[float, _Track, int | None, str]] = []
        for frame in capture.frames:
            track = by_label.get(frame.stream) or next(iter(self._tracks.values()))
            seq = _seq(frame.frame)
            track.frames.append((seq, frame.frame))
            self._timeline.append((frame.offset, track, seq, frame.frame))
        for track in self._tracks.values():
            seqs = [s for s, _ in track.frames if s is not None]
            track.span = (max(seqs) - min(seqs) + 1) if seqs else 0
        self._clock = clock
        self._server: Server | None = None
        self._player: asyncio.Task[None] | None = None
        self._resume = asyncio.Event()
        self._resume.set()
        #: set (and replaced) when pause, play or the speed change
        self._changed = asyncio.Event()
        self._handlers: set[asyncio.Task[None]] = set()
        self._caught_up = asyncio.Event()
        #: each connection's sender: its track and the next position it sends
        self._cursors: dict[asyncio.Task[None], tuple[_Track, int]] = {}
        self.speed = self.config.speed
        self._played = 0.0
        self._mark = clock()
        #: frames published so far (all streams, all rounds)
        self.published = 0
        self.rounds = 0
        #: set when every frame is published (without ``loop``)
        self.finished = asyncio.Event()
        self.connections = 0
        self.active_connections = 0
        self.rejected = 0
        self.heartbeat_replies = 0
        self.frames_sent = 0

    @property
    def keys(self) -> dict[str, str]:
        """key -> the label of the stream served under it."""
        return {key: track.label for key, track in self._tracks.items()}

    @property
    def total(self) -> int:
        """Frames in one round of the capture."""
        return len(self._timeline)

    # -- control (the window's play/pause/speed) ----------------------------

    @property
    def paused(self) -> bool:
        return not self._resume.is_set()

    @property
    def played(self) -> float:
        """Seconds of the capture played in this round (at the speeds chosen)."""
        if self.paused or self.speed is None:
            return self._played
        return self._played + (self._clock() - self._mark) * self.speed

    def _settle(self) -> None:
        self._played = self.played
        self._mark = self._clock()

    def pause(self) -> None:
        self._settle()
        self._resume.clear()
        self._controls_changed()

    def play(self) -> None:
        self._mark = self._clock()
        self._resume.set()
        self._controls_changed()

    def set_speed(self, speed: float | None) -> None:
        """1, 10, ... or ``None`` (as fast as the client reads); applies from now."""
        self._settle()
        self.speed = speed
        self._controls_changed()

    def _controls_changed(self) -> None:
        """Wake the player: the next frame's time is to be worked out again."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    # -- playback -----------------------------------------------------------

    async def _play(self) -> None:
        keep = max(self.config.replay_size, max((len(t.frames) for t in self._tracks.values()), default=0))
        timeline = self._timeline
        while True:
            shift = {track: self.rounds * track.span for track in self._tracks.values()}
            self._played = 0.0
            self._mark = self._clock()
            index = 0
            while index < len(timeline):
                if not self._resume.is_set():
                    await self._resume.wait()
                speed = self.speed
                if speed is None:
                    stop = min(len(timeline), index + _SEND_CHUNK * 4)
                    self._played = timeline[stop - 1][0]
                else:
                    played = self.played
                    stop = index
                    while stop < len(timeline) and timeline[stop][0] <= played:
                        stop += 1
                    if stop == index:
                        wait = (timeline[index][0] - played) / speed
                        with contextlib.suppress(TimeoutError):
                            async with asyncio.timeout(min(max(wait, 0.001), 0.25)):
                                await self._changed.wait()
                        continue
                    stop = min(stop, index + _SEND_CHUNK * 4)
                self._publish(timeline[index:stop], shift, keep)
                index = stop
                await asyncio.sleep(0)
            self.rounds += 1
            if not self.config.loop:
                self.finished.set()
                return
            if self.speed is None:
                # As fast as the reader: the next round once every connection has
                # sent this one (and someone is connected).
                while not self._all_caught_up():
                    self._caught_up.clear()
                    await self._caught_up.wait()

    def _all_caught_up(self) -> bool:
        return self.active_connections > 0 and not self._handlers_behind()

    def _handlers_behind(self) -> bool:
        return any(cursor < track.end for track, cursor in self._cursors.values())

    def _publish(
        self, items: list[tuple[float, _Track, int | None, str]], shift: dict[_Track, int], keep: int
    ) -> None:
        grouped: dict[_Track, list[tuple[int | None, str]]] = {}
        for _offset, track, seq, frame in items:
            extra = shift[track]
            if extra and seq is not None:
                seq += extra
                frame = _renumber(frame, seq)
            grouped.setdefault(track, []).append((seq, frame))
        for track, published in grouped.items():
            track.publish(published, keep)
        self.published += len(items)

    # -- serving ------------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        window = _window(request.path)
        if isinstance(window, str):
            self.rejected += 1
            return connection.respond(http.HTTPStatus.BAD_REQUEST, f"{window}\n")
        if window.key not in self._tracks:
            self.rejected += 1
            log.info("refused a connection for unknown key %s", mask_key(window.key))
            return connection.respond(http.HTTPStatus.UNAUTHORIZED, "Unknown or missing stream key.\n")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        window = _window(ws.request.path if ws.request is not None else "")
        assert not isinstance(window, str)  # checked in _process_request
        track = self._tracks[window.key]
        self.connections += 1
        self.active_connections += 1
        if self._player is None:
            self._player = asyncio.create_task(self._play(), name="replay")
            await asyncio.sleep(0)  # at max speed, everything is published before the first send
        if window.seq_start is None:
            cursor: int | None = track.base if self.connections == 1 else track.end
        else:
            cursor = track.position_of(window.seq_start)
            if cursor is None and window.seq_end is not None and self.finished.is_set():
                cursor = None  # a window this capture never reaches
            elif cursor is None:
                cursor = track.end  # not published yet: from what comes next
        sender = asyncio.create_task(self._send(ws, track, cursor, window.seq_end))
        self._handlers.add(sender)
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
            self._handlers.discard(sender)
            self._cursors.pop(sender, None)
            self.active_connections -= 1
            self._caught_up.set()

    async def _send(self, ws: ServerConnection, track: _Track, cursor: int | None, end: int | None) -> None:
        if cursor is None:
            await ws.close()
            return
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        next_beat = loop.time() + self.config.heartbeat
        while True:
            cursor = max(cursor, track.base)  # older frames left the buffer
            self._cursors[task] = (track, cursor)
            if cursor < track.end:
                start = cursor - track.base
                items = track.log[start : start + _SEND_CHUNK]
                done = False
                if end is not None:
                    kept = []
                    for seq, frame in items:
                        if seq is not None and seq > end:
                            done = True
                            break
                        kept.append((seq, frame))
                        if seq == end:
                            done = True
                            break
                    sent_count = len(kept)
                    items = kept
                else:
                    sent_count = len(items)
                if items:
                    await _send_frames(ws, [frame for _seq, frame in items])
                    self.frames_sent += len(items)
                cursor += sent_count
                if done:
                    await ws.close()
                    return
                if loop.time() >= next_beat:
                    await ws.send(HEARTBEAT_FRAME)
                    next_beat = loop.time() + self.config.heartbeat
                continue
            self._cursors[task] = (track, cursor)
            self._caught_up.set()
            if end is not None and self.finished.is_set():
                await ws.close()  # the window asked for is past the end of the capture
                return
            now = loop.time()
            if now >= next_beat:
                await ws.send(HEARTBEAT_FRAME)
                next_beat = now + self.config.heartbeat
                continue
            changed = track.changed
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(next_beat - now):
                    await changed.wait()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if self._server is not None:
            raise RuntimeError("the replay server is already running")
        try:
            self._server = await serve(
                self._handle,
                host,
                port,
                process_request=self._process_request,
                compression=None,
                max_size=2**20,
                ping_interval=None,
                close_timeout=2,
                write_limit=2**20,
                logger=RedactingLogger(logging.getLogger("websockets.server"), {}),
            )
        except OSError as exc:
            raise ListenError(f"the replay cannot listen on {host}:{port}: {exc.strerror or exc}") from exc

    @property
    def url(self) -> str:
        """``ws://HOST:PORT/stream``, without the key."""
        if self._server is None:
            raise RuntimeError("the replay server is not running")
        host, port = list(self._server.sockets)[0].getsockname()[:2]
        if ":" in host:
            host = f"[{host}]"
        return f"ws://{host}:{port}/stream"

    async def stop(self) -> None:
        if self._player is not None:
            self._player.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._player
            self._player = None
        if self._server is not None:
            server, self._server = self._server, None
            server.close()
            await server.wait_closed()

    async def __aenter__(self) -> ReplayServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


async def run_replay(
    path: str,
    config: ReplayConfig,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    keys: Sequence[str] = (),
    ready: Callable[[ReplayServer, list[str]], object] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Read ``path`` and serve it until ``stop`` is set; ``ready(server,
    problems)`` once listening. Raises OSError if the file cannot be read."""
    capture = await asyncio.to_thread(read_capture, path)
    server = ReplayServer(capture, config, keys=keys)
    await server.start(host, port)
    try:
        if ready is not None:
            ready(server, describe_problems(capture.problems))
        if stop is None:
            await asyncio.Future()
        else:
            await stop.wait()
    finally:
        await server.stop()


# -- the command line ----------------------------------------------------------


def replay_command(args: Any, err: TextIO) -> int:
    """``simulate --replay FILE``: serve until Ctrl+C. Exit 0, or 2 for a bad
    command line or a file that cannot be read."""
    try:
        config = ReplayConfig(speed=parse_speed(args.speed), loop=args.loop, heartbeat=args.heartbeat)
        keys = list(parse_keys_option(args.keys)) if args.keys else []
    except (ValueError, SimulatorConfigError) as exc:
        err.write(f"ayla-monitor simulate: {exc}\n")
        return 2

    def ready(server: ReplayServer, problems: list[str]) -> None:
        capture = server.capture
        streams = len(server.keys)
        err.write(
            f"Replaying {server.total:,} frames of {streams} stream{'s' if streams != 1 else ''} from "
            f"{args.replay} at speed {args.speed}{' in a loop' if args.loop else ''}\n"
        )
        if capture.header is not None and capture.header.redaction.applied:
            err.write(f"  redacted: {capture.header.redaction.describe()}\n")
        for line in problems:
            err.write(f"  skipped {line}\n")
        err.write(f"Simulated DSS listening on {server.url}\n")
        for key, label in server.keys.items():
            # Replay keys are local test keys, printed in full so that they can be used.
            err.write(f"  stream key {key} ({label})\n")
        err.write(f"Record it with: ayla-monitor record --url {server.url} --stream-key {next(iter(server.keys))}\n")
        err.flush()

    async def serve() -> None:
        import signal

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        await run_replay(args.replay, config, args.host, args.port, keys=keys, ready=ready, stop=stop)

    try:
        asyncio.run(serve())
    except OSError as exc:
        err.write(f"ayla-monitor simulate: cannot read the capture {args.replay}: {exc.strerror or exc}\n")
        return 2
    except ListenError as exc:
        err.write(f"ayla-monitor simulate: {exc}\n")
        return 2
    return 0
