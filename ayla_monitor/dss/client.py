"""The asyncio skin around the DSS core: one WebSocket stream, kept alive.

:class:`StreamClient` connects with ``websockets``, hands every frame to
:func:`~ayla_monitor.dss.frames.parse_frame`, answers heartbeats, watches for
a dead link, reconnects with :class:`~ayla_monitor.dss.backoff.Backoff` and
resumes at ``last seq + 1``. What it receives goes to a :class:`StreamSink`
in batches; the sink may make it wait (backpressure), never drop.

The key travels only inside the URL handed to ``websockets``; every message
here names it masked.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import re
import socket
import ssl
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    ConnectionClosed,
    InvalidHandshake,
    InvalidProxy,
    InvalidProxyMessage,
    InvalidProxyStatus,
    InvalidStatus,
    InvalidURI,
)
from websockets.proxy import get_proxy
from websockets.uri import parse_uri

from ayla_monitor.dss.backoff import Backoff
from ayla_monitor.dss.endpoints import ReplayWindow
from ayla_monitor.dss.errors import FrameTooLarge, KeyRejected, LinkError, SettingsRejected, StreamError
from ayla_monitor.dss.events import Event, Heartbeat, LeanEvent, MalformedFrame, SeqGap
from ayla_monitor.dss.frames import HEARTBEAT_REPLY, parse_frame, parse_frame_lean
from ayla_monitor.dss.keys import RedactingLogger
from ayla_monitor.dss.link import StreamState
from ayla_monitor.dss.sequence import SeqRestart, SeqTracker
from ayla_monitor.dss.subscription import StreamDefinition

__all__ = [
    "ClientOptions",
    "StreamSink",
    "StreamClient",
    "ProbeResult",
    "probe",
    "fetch_range",
    "MAX_FRAME_BYTES",
    "Batch",
]

log = logging.getLogger(__name__)

#: Frames up to this size are accepted by default: long ``message`` values
#: reach 1 MB and more. A larger frame is refused at its header (before its
#: bytes are read), kept as a bad frame with its size, and its seq recorded
#: as a gap: see :class:`ClientOptions`.
MAX_FRAME_BYTES = 16 * 1024 * 1024
#: Hand a batch to the sink once it holds this many frames, or after BATCH_SECONDS.
BATCH_FRAMES = 512
BATCH_SECONDS = 0.05
#: ... or once its frames weigh this much (characters): 512 frames of 1 MB
#: values would hold half a gigabyte before the sink could push back.
BATCH_CHARS = 4 * 2**20
#: HTTP statuses at the handshake that mean "this key will never work here".
REJECTING_STATUSES = (401, 403, 404)


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """How to connect. TLS verification is always on; ``ca_file`` adds a CA
    bundle to the system trust store (for private deployments)."""

    dead_after: float = 75.0
    ca_file: str | None = None
    #: ``None``: use the system's proxy settings; ``""``: none; else a proxy URL.
    proxy: str | None = None
    open_timeout: float = 10.0
    #: websockets' receive queue, in frames: read ahead while frames are parsed.
    max_queue: int = 4096
    #: Pause after each batch during a burst. 0 lets other tasks run (enough
    #: headless); a window under qasync needs a real pause (1 ms) for Qt's own
    #: timers and paint events to get their turn (benchmarks/gui_load.py).
    pause_between_batches: float = 0.0
    #: the largest frame received (``--max-frame-mb``, Settings). websockets
    #: refuses a larger one from its header and closes with 1009.
    max_frame_bytes: int = MAX_FRAME_BYTES
    #: a gap fill stops when the server sent nothing of the range for this long.
    fill_idle: float = 10.0
    #: events as :class:`~ayla_monitor.dss.events.LeanEvent` (decoded once,
    #: not typed): for a recorder, which only stores them.
    lean: bool = False


#: What a client hands its sink: events and bad frames in arrival order, and
#: the gaps seen between them.
Batch = list[Event | LeanEvent | MalformedFrame | SeqGap]


class StreamSink(Protocol):
    """Where a :class:`StreamClient` reports. Called on the event loop."""

    def link_state(self, state: StreamState, detail: str = "", retry_at: float | None = None) -> None:
        """The link changed state (``retry_at``: epoch seconds of the next attempt)."""

    def heartbeat(self) -> None:
        """A heartbeat arrived (and was answered)."""

    async def frames(self, batch: Batch, epoch: int) -> None:
        """Events, bad frames and gaps of the sequence ``epoch``, in arrival
        order; may wait to slow the stream down."""

    def notice(self, text: str) -> None:
        """Something the user should know about the stream (a sequence
        restart, a frame refused for its size), in one sentence."""


def _ssl_context(options: ClientOptions) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if options.ca_file:
        context.load_verify_locations(cafile=options.ca_file)
    return context


def describe_failure(exc: BaseException, definition: StreamDefinition) -> StreamError:
    """Turn whatever ``websockets`` or the network raised into one sentence
    that says whose fault it is (and never holds the key)."""
    host = urlsplit(definition.base_url).hostname or definition.base_url
    try:
        port = urlsplit(definition.base_url).port
    except ValueError:  # a port out of range: the URL is checked before, this is only for the message
        port = None
    key = definition.masked_key
    match exc:
        case StreamError():
            return exc
        case InvalidStatus():
            status = exc.response.status_code
            if status in REJECTING_STATUSES:
                return KeyRejected(
                    f"{host} rejected stream key {key} (HTTP {status}): check the key, and that it "
                    "belongs to this region, deployment and client type",
                    status,
                )
            if status == 400:
                return KeyRejected(
                    f"{host} refused the request (HTTP 400): check the URL and the replay window", status
                )
            return LinkError(f"{host} answered HTTP {status} instead of opening the stream")
        case ssl.SSLCertVerificationError():
            return LinkError(
                f"TLS failure: the certificate of {host} could not be verified ({exc.verify_message})"
            )
        case ssl.SSLError():
            # The reason is empty for some failures (an EOF during the handshake).
            reason = exc.reason or type(exc).__name__
            where = f"{host}:{port}" if port else host
            if reason in _NOT_TLS_REASONS or isinstance(exc, ssl.SSLEOFError):
                return LinkError(
                    f"TLS failure: {where} does not speak TLS ({reason}); "
                    "for a server without TLS the URL starts with ws://, not wss://"
                )
            return LinkError(f"TLS failure talking to {where} ({reason})")
        case socket.gaierror():
            return LinkError(f"cannot find host {host}: check the region and deployment, or the URL")
        case ConnectionRefusedError():
            where = f"{host}:{port}" if port else host
            return LinkError(f"{where} refused the connection (nothing listening there?)")
        case TimeoutError():
            return LinkError(f"no answer from {host} within the time limit")
        case ConnectionClosed():
            received = exc.rcvd
            if received is None:
                return LinkError(f"the connection to {host} dropped")
            reason = f": {received.reason}" if received.reason else ""
            return LinkError(f"{host} closed the stream (code {received.code}{reason})")
        case InvalidURI() if urlsplit(exc.uri).hostname != urlsplit(definition.base_url).hostname or (
            not exc.uri.startswith(("ws:", "wss:"))
        ):
            return SettingsRejected(
                f"{host} redirected the stream to {_shown_url(exc.uri)}, which is not a WebSocket "
                "(ws:// or wss://) URL: check the stream URL"
            )
        case InvalidURI():
            return KeyRejected(f"the stream URL for {host} is not valid")
        case InvalidProxy():
            return SettingsRejected(f"the proxy {_shown_url(exc.proxy)} cannot be used ({exc.msg})")
        case ImportError() if "socks" in str(exc).lower():
            return SettingsRejected(f"a SOCKS proxy needs the python-socks package ({exc})")
        case InvalidHandshake():
            return LinkError(f"{host} did not speak WebSocket ({exc})")
        case OSError():
            return LinkError(f"network error reaching {host}: {exc.strerror or exc}")
    return LinkError(f"unexpected failure on the stream to {host}: {type(exc).__name__}")


#: OpenSSL's reasons when the other end answered, but not in TLS.
_NOT_TLS_REASONS = frozenset(
    {"WRONG_VERSION_NUMBER", "HTTP_REQUEST", "UNEXPECTED_EOF_WHILE_READING", "RECORD_LAYER_FAILURE"}
)
#: What websockets can go through: an HTTP CONNECT proxy, or SOCKS with python-socks.
_PROXY_SCHEMES = ("http", "https", "socks5", "socks5h", "socks4", "socks4a")


def _shown_url(url: str) -> str:
    """A URL for a message: no user, password or query (a key may be in it)."""
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"


def _proxy_in_effect(url: str, options: ClientOptions) -> str | None:
    """The proxy the connection goes through: ``options.proxy``, or the
    system's (environment) settings for ``url``, as websockets picks it."""
    if options.proxy is not None:
        return options.proxy or None
    return get_proxy(parse_uri(url))


def _check_proxy(proxy: str) -> None:
    """Refuse, before connecting, a proxy that can never work (a final
    failure, not retried): an unknown scheme, or SOCKS without python-socks."""
    scheme = urlsplit(proxy).scheme.lower()
    shown = _shown_url(proxy)
    if scheme not in _PROXY_SCHEMES:
        raise SettingsRejected(
            f"the proxy {shown} uses {scheme or 'no'} scheme; use http://, https:// or socks5://"
        )
    if scheme.startswith("socks") and importlib.util.find_spec("python_socks") is None:
        raise SettingsRejected(
            f"the proxy {shown} is a SOCKS proxy, which needs the python-socks package "
            "(pip install python-socks); or use an http:// proxy"
        )


class _ThroughProxy(connect):
    """``connect`` through a proxy: a failure to reach the proxy, or its
    refusal, names the proxy, not the DSS host."""

    shown_proxy = ""

    async def __aenter__(self) -> ClientConnection:
        proxy = self.shown_proxy
        try:
            return await super().__aenter__()
        except socket.gaierror as exc:
            raise LinkError(f"cannot find the proxy host of {proxy}: check the proxy setting") from exc
        except ConnectionRefusedError as exc:
            raise LinkError(f"the proxy {proxy} refused the connection (nothing listening there?)") from exc
        except InvalidProxyStatus as exc:
            status = exc.response.status_code
            target = self.ws_uri.host
            raise LinkError(f"the proxy {proxy} refused to connect to {target} (HTTP {status})") from exc
        except InvalidProxyMessage as exc:
            raise LinkError(f"the proxy {proxy} did not answer as an HTTP proxy ({exc})") from exc


def _too_large(reason: str, after: int | None, limit: int) -> str:
    """The sentence for a frame websockets refused for its size (1009)."""
    match = re.search(r"with (\d+) bytes", reason)
    size = int(match.group(1)) if match else None
    what = f"a frame of {size / 2**20:.1f} MB ({size:,} bytes)" if size else "a frame"
    where = f" after seq {after:,}" if after is not None else ""
    return (
        f"{what}{where} is over the {limit / 2**20:g} MB limit and was not read; "
        "raise the limit with --max-frame-mb or in Settings to receive it"
    )


def _connect(definition: StreamDefinition, url: str, options: ClientOptions) -> connect:
    proxy = _proxy_in_effect(url, options)
    if proxy is not None:
        _check_proxy(proxy)
    kwargs: dict[str, object] = {
        "compression": None,  # measured: deflate costs 25-55 % more client CPU per message
        "max_size": options.max_frame_bytes,
        "max_queue": options.max_queue,
        "open_timeout": options.open_timeout,
        "ping_interval": None,  # DSS heartbeats and our dead-link watchdog do this job
        "close_timeout": 2,
        "user_agent_header": "ayla-monitor",
        "proxy": True if options.proxy is None else (options.proxy or None),
        # websockets logs the request line, key included, at DEBUG
        "logger": RedactingLogger(logging.getLogger("websockets.client"), {}),
    }
    if url.startswith("wss:"):
        kwargs["ssl"] = _ssl_context(options)
    if proxy is None:
        return connect(url, **kwargs)  # type: ignore[arg-type]
    through = _ThroughProxy(url, **kwargs)  # type: ignore[arg-type]
    through.shown_proxy = _shown_url(proxy)
    return through


@dataclass(slots=True)
class _Link:
    """Per-connection counters the watchdog reads."""

    last_frame: float
    batch: Batch = field(default_factory=list)
    batch_started: float = 0.0
    batch_chars: int = 0
    #: the sink is making us wait: silence is ours, not the server's.
    delivering: bool = False
    dead: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class StreamClient:
    """Keeps one stream connected until it is stopped, its key is rejected,
    or its replay window is complete.

    ``last_seq`` is the highest seq received in the current sequence
    ``epoch`` (start it at the last stored seq): every (re)connection asks
    for ``seq_start = last_seq + 1``, so nothing is missed and nothing
    arrives twice. Jumps in the seqs are handed to the sink as
    :class:`~ayla_monitor.dss.events.SeqGap`; a server whose sequence
    started again moves the client to the next epoch
    (:mod:`ayla_monitor.dss.sequence`).
    """

    def __init__(
        self,
        definition: StreamDefinition,
        sink: StreamSink,
        *,
        options: ClientOptions | None = None,
        last_seq: int | None = None,
        epoch: int = 0,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.definition = definition
        self.sink = sink
        self.options = options or ClientOptions()
        self.seqs = SeqTracker(last_seq, epoch)
        self.backoff = backoff or Backoff()
        self._clock = clock
        self._sleep = sleep
        self._ws: ClientConnection | None = None
        self._wake = asyncio.Event()
        #: the seq this connection asked to start at, until a first event arrives.
        self.waiting_for: int | None = None

    @property
    def last_seq(self) -> int | None:
        return self.seqs.last

    @property
    def epoch(self) -> int:
        return self.seqs.epoch

    def retry_now(self) -> None:
        """Cut a wait between two connection attempts short."""
        self._wake.set()

    # -- the window the next connection asks for ---------------------------

    def _replay(self) -> ReplayWindow:
        wanted = self.definition.replay
        if self.last_seq is None:
            return wanted
        start = self.last_seq + 1
        if wanted.seq_start is not None and wanted.seq_start > start:
            start = wanted.seq_start
        return ReplayWindow(start, wanted.seq_end)

    def _window_done(self) -> bool:
        end = self.definition.replay.seq_end
        return end is not None and self.last_seq is not None and self.last_seq >= end

    # -- the loop ----------------------------------------------------------

    async def run(self) -> str:
        """Run until the stream stops for good; returns why, in one sentence.
        Cancelling the task is the way to stop it from outside."""
        sink = self.sink
        while True:
            if self._window_done():
                reason = f"replay window complete at seq {self.last_seq}"
                sink.link_state(StreamState.STOPPED, reason)
                return reason
            sink.link_state(StreamState.CONNECTING)
            try:
                await self._connect_once()
                failure: StreamError = LinkError("the server ended the stream")
            except asyncio.CancelledError:
                sink.link_state(StreamState.STOPPED, "disconnected")
                raise
            except Exception as exc:  # every failure is reported, none escapes
                failure = describe_failure(exc, self.definition)
                if isinstance(failure, LinkError) and failure.args[0].startswith("unexpected"):
                    log.exception("stream %s: %s", self.definition.name, failure)
            self.backoff.disconnected(self._clock())
            if isinstance(failure, KeyRejected):
                sink.link_state(StreamState.STOPPED, str(failure))
                return str(failure)
            if self._window_done():
                continue
            delay = self.backoff.next_delay()
            log.info("stream %s: %s; retrying in %.1f s", self.definition.name, failure, delay)
            sink.link_state(StreamState.RECONNECTING, str(failure), self._clock() + delay)
            try:
                await self._pause(delay)
            except asyncio.CancelledError:
                # Disconnect while waiting to reconnect: say so, or the
                # stream would show "reconnecting in 0 s" for good.
                sink.link_state(StreamState.STOPPED, "disconnected")
                raise

    async def _pause(self, delay: float) -> None:
        """Wait ``delay`` before the next attempt, or until :meth:`retry_now`."""
        self._wake.clear()
        sleeper = asyncio.ensure_future(self._sleep(delay))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait((sleeper, waker), return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waker.cancel()

    async def _connect_once(self) -> None:
        window = self._replay()
        resuming = self.last_seq is not None and window.seq_start == self.last_seq + 1
        self.seqs.connecting(window.seq_start if resuming else None)
        self.waiting_for = window.seq_start
        url = self.definition.url(window)
        async with _connect(self.definition, url, self.options) as ws:
            self._ws = ws
            try:
                self.backoff.connected(self._clock())
                self.sink.link_state(StreamState.LIVE)
                await self._read(ws)
            finally:
                self._ws = None

    async def _read(self, ws: ClientConnection) -> None:
        link = _Link(last_frame=time.monotonic())
        watchdog = asyncio.create_task(self._watch(ws, link), name="dss-watchdog")
        try:
            await self._receive(ws, link)
        except ConnectionClosed as exc:
            if link.dead:
                raise LinkError(f"dead link: no frame for {self.options.dead_after:g} s") from None
            if exc.sent is not None and exc.sent.code == 1009:
                raise self._refused_for_size(exc.sent.reason, link) from None
            raise
        finally:
            watchdog.cancel()
            if link.batch:
                batch, link.batch = link.batch, []
                await self._deliver(batch, link)

    def _refused_for_size(self, reason: str, link: _Link) -> FrameTooLarge:
        """The server sent a frame over the size limit (websockets closed the
        connection with 1009 before reading it): keep a bad frame with its
        size, record its seq (the one after the last) as a gap, and resume
        after it, so that one huge frame cannot stall the stream."""
        if self.seqs.last is None and self.definition.replay.seq_start is not None:
            self.seqs.last = self.definition.replay.seq_start - 1
        sentence = _too_large(reason, self.seqs.last, self.options.max_frame_bytes)
        now = self._clock()
        gap = self.seqs.skip(now, sentence)
        if gap is not None:
            sentence += f" (seq {gap.first:,} is recorded as a gap)"
        bad = MalformedFrame("", sentence, now)
        link.batch.append(bad)
        if gap is not None:
            link.batch.append(gap)
        log.warning("stream %s: %s", self.definition.name, sentence)
        self.sink.notice(sentence)
        return FrameTooLarge(sentence)

    async def _receive(self, ws: ClientConnection, link: _Link) -> None:
        wall = self._clock
        mono = time.monotonic
        sink = self.sink
        seqs = self.seqs
        debug = log.isEnabledFor(logging.DEBUG)
        pause = self.options.pause_between_batches
        parse = parse_frame_lean if self.options.lean else parse_frame
        async for message in ws:
            now = mono()
            link.last_frame = now
            if isinstance(message, bytes):
                message = message.decode("utf-8", "replace")
            received_at = wall()
            frame = parse(message, received_at)
            cls = frame.__class__
            if cls is Heartbeat:
                await ws.send(HEARTBEAT_REPLY)
                sink.heartbeat()
                continue
            if debug:
                log.debug("stream %s: %s", self.definition.name, cls.__name__)
            batch = link.batch
            if not batch:
                link.batch_started = now
                link.batch_chars = 0
            link.batch_chars += len(message)
            if cls is not MalformedFrame:
                self.waiting_for = None
                seq = frame.seq  # type: ignore[union-attr]
                last = seqs.last
                if last is not None and seq == last + 1 and seqs.resuming is None:
                    seqs.last = seq  # the common path, inline
                else:
                    found = seqs.observe(seq, received_at)  # type: ignore[arg-type]
                    if found is not None:
                        for item in found:
                            if isinstance(item, SeqRestart):
                                if batch:  # the old epoch's frames go first, as such
                                    link.batch = []
                                    await self._deliver(batch, link, item.epoch - 1)
                                    batch = link.batch
                                    link.batch_started = now
                                sentence = item.sentence()
                                log.warning("stream %s: %s", self.definition.name, sentence)
                                sink.notice(sentence[:1].upper() + sentence[1:])
                            else:
                                batch.append(item)
            batch.append(frame)  # type: ignore[arg-type]
            if (
                len(batch) >= BATCH_FRAMES
                or link.batch_chars >= BATCH_CHARS
                or now - link.batch_started >= BATCH_SECONDS
            ):
                link.batch = []
                await self._deliver(batch, link)
                # websockets hands over queued frames without suspending: give
                # the rest of the loop (other streams, the window) its turn.
                await asyncio.sleep(pause)

    async def _deliver(self, batch: Batch, link: _Link, epoch: int | None = None) -> None:
        # One batch at a time, in order, even when the sink makes us wait.
        async with link.lock:
            link.delivering = True
            try:
                await self.sink.frames(batch, self.seqs.epoch if epoch is None else epoch)
            finally:
                link.delivering = False
                link.last_frame = time.monotonic()

    async def _watch(self, ws: ClientConnection, link: _Link) -> None:
        """Flush a batch that waits too long, and drop a link that went silent."""
        dead_after = self.options.dead_after
        tick = min(BATCH_SECONDS * 2, dead_after / 4)
        while True:
            await asyncio.sleep(tick)
            now = time.monotonic()
            if link.batch and now - link.batch_started >= BATCH_SECONDS:
                batch, link.batch = link.batch, []
                await self._deliver(batch, link)
            if not link.delivering and now - link.last_frame > dead_after:
                log.info("stream %s: no frame for %g s", self.definition.name, dead_after)
                link.dead = True
                ws.transport.abort()
                return


@dataclass(frozen=True, slots=True)
class ProbeResult:
    ok: bool
    message: str


async def probe(
    definition: StreamDefinition, options: ClientOptions | None = None, timeout: float = 10.0
) -> ProbeResult:
    """Connect once and report, in one sentence, the first heartbeat or event,
    the rejection, or the network error. Nothing is stored."""
    options = options or ClientOptions(open_timeout=timeout)
    started = time.monotonic()
    try:
        async with asyncio.timeout(timeout):
            async with _connect(definition, definition.url(), options) as ws:
                message = await ws.recv()
                if isinstance(message, bytes):
                    message = message.decode("utf-8", "replace")
                frame = parse_frame(message, time.time())
                elapsed = time.monotonic() - started
                match frame:
                    case Heartbeat():
                        await ws.send(HEARTBEAT_REPLY)
                        return ProbeResult(True, f"Connected: first heartbeat after {elapsed:.1f} s")
                    case MalformedFrame():
                        return ProbeResult(
                            True, f"Connected, but the first frame was not DSS ({frame.reason})"
                        )
                    case _:
                        what = frame.event_type or "unknown"
                        return ProbeResult(
                            True, f"Connected: first event ({what}, seq {frame.seq}) after {elapsed:.1f} s"
                        )
    except TimeoutError:
        host = urlsplit(definition.base_url).hostname
        return ProbeResult(
            False,
            f"No heartbeat or event from {host} within {timeout:g} s "
            "(the stream may be quiet: DSS sends a heartbeat every 30 s)",
        )
    except Exception as exc:
        failure = describe_failure(exc, definition)
        return ProbeResult(False, str(failure)[:1].upper() + str(failure)[1:])


async def fetch_range(
    definition: StreamDefinition,
    first: int,
    last: int,
    options: ClientOptions | None = None,
    *,
    clock: Callable[[], float] = time.time,
) -> AsyncGenerator[list[Event], None]:
    """Ask the server for seqs ``first``..``last`` (``seq_start``/``seq_end``)
    on a connection of its own, and yield the events of that range in
    batches, as they arrive. Stops once ``last`` (or a later seq) arrived,
    the server closed the connection, or nothing of the range came for
    ``options.fill_idle`` seconds (the server no longer has it). Frames
    outside the range, and bad frames, are not this request's to keep: the
    live connection receives them. Raises what connecting raised (see
    :func:`describe_failure`), and :class:`FrameTooLarge` after the events
    before a frame over the size limit."""
    options = options or ClientOptions()
    url = definition.url(ReplayWindow(first, last))
    too_large = ""
    async with _connect(definition, url, options) as ws:
        batch: list[Event] = []
        while True:
            try:
                async with asyncio.timeout(options.fill_idle):
                    message = await ws.recv()
            except TimeoutError:
                break
            except ConnectionClosed as exc:
                if exc.sent is not None and exc.sent.code == 1009:
                    last_seq = batch[-1].seq if batch else None
                    too_large = _too_large(exc.sent.reason, last_seq, options.max_frame_bytes)
                break
            if isinstance(message, bytes):
                message = message.decode("utf-8", "replace")
            frame = (parse_frame_lean if options.lean else parse_frame)(message, clock())
            if frame.__class__ is Heartbeat:
                await ws.send(HEARTBEAT_REPLY)
                continue
            seq = getattr(frame, "seq", None)
            if seq is None or seq < first:
                continue
            if seq <= last:
                batch.append(frame)  # type: ignore[arg-type]
                if len(batch) >= BATCH_FRAMES:
                    yield batch
                    batch = []
            if seq >= last:
                break
        if batch:
            yield batch
    if too_large:  # after the events before it: the caller knows which seq it was
        raise FrameTooLarge(too_large)
