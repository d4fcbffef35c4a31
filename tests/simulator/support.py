"""A tiny DSS client for the simulator's tests: real sockets, no mocks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from websockets.asyncio.client import ClientConnection, connect

from ayla_monitor.dss.events import Event, Frame, Heartbeat, MalformedFrame
from ayla_monitor.dss.frames import parse_frame

T = TypeVar("T")

#: Upper bound for one test's real I/O; tests finish far sooner (generous:
#: the machine may be busy).
TIMEOUT = 60.0


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run one test coroutine on a fresh loop, bounded by :data:`TIMEOUT`."""

    async def bounded() -> T:
        return await asyncio.wait_for(coro, TIMEOUT)

    return asyncio.run(bounded())


def stream_url(base: str, key: str, **query: int) -> str:
    extra = "".join(f"&{name}={value}" for name, value in query.items())
    return f"{base}?stream_key={key}{extra}"


def dial(base: str, key: str, **query: int) -> Any:
    """``async with dial(sim.url, KEY, seq_start=1) as ws``."""
    return connect(
        stream_url(base, key, **query), compression=None, max_size=None, max_queue=None, open_timeout=5
    )


async def frames(ws: ClientConnection, count: int, *, answer: bool = True) -> list[Frame]:
    """The next ``count`` frames, parsed (heartbeats answered, and counted)."""
    out: list[Frame] = []
    while len(out) < count:
        message = await ws.recv()
        assert isinstance(message, str)
        frame = parse_frame(message, 0.0)
        if isinstance(frame, Heartbeat) and answer:
            await ws.send("Z")
        out.append(frame)
    return out


async def events(ws: ClientConnection, count: int) -> list[Event]:
    """The next ``count`` events; heartbeats answered and skipped, malformed frames refused."""
    out: list[Event] = []
    while len(out) < count:
        message = await ws.recv()
        assert isinstance(message, str)
        frame = parse_frame(message, 0.0)
        if isinstance(frame, Heartbeat):
            await ws.send("Z")
            continue
        assert not isinstance(frame, MalformedFrame), frame
        out.append(frame)
    return out


def only_events(frames: list[Frame]) -> list[Event]:
    """``frames`` without heartbeats, asserting that none is malformed."""
    out: list[Event] = []
    for frame in frames:
        assert not isinstance(frame, MalformedFrame), frame
        if not isinstance(frame, Heartbeat):
            out.append(frame)
    return out


async def until_closed(ws: ClientConnection) -> list[Frame]:
    """Every frame until the server closes the connection (normally)."""
    out: list[Frame] = []
    async for message in ws:
        assert isinstance(message, str)
        out.append(parse_frame(message, 0.0))
    return out


async def eventually(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Wait (for real I/O on the loop) until ``check()`` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.005)
