"""The stream client against the project's simulator, over real loopback sockets."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from ayla_monitor.dss.backoff import Backoff
from ayla_monitor.dss.client import ClientOptions, StreamClient, probe
from ayla_monitor.dss.endpoints import ReplayWindow
from ayla_monitor.dss.events import DssEvent, Event, MalformedFrame, SeqGap
from ayla_monitor.dss.link import StreamState
from ayla_monitor.dss.subscription import StreamDefinition
from ayla_monitor.dss.wire import MALFORMED_FRAMES
from ayla_monitor.simulator.server import Simulator, SimulatorConfig

KEY = "0123456789abcdef0123456789abcdef"
OTHER = "fedcba9876543210fedcba9876543210"


class Recorder:
    """A sink that keeps everything, and can stop the client when satisfied."""

    def __init__(self) -> None:
        self.states: list[tuple[StreamState, str]] = []
        self.heartbeats = 0
        self.received: list[Event | MalformedFrame] = []
        self.enough: Callable[[Recorder], bool] = lambda r: False
        self.satisfied = asyncio.Event()
        self.gaps: list[SeqGap] = []
        self.epochs: list[int] = []
        self.notices: list[str] = []

    def link_state(self, state: StreamState, detail: str = "", retry_at: float | None = None) -> None:
        self.states.append((state, detail))
        self._check()

    def heartbeat(self) -> None:
        self.heartbeats += 1
        self._check()

    async def frames(self, batch: list[Event | MalformedFrame | SeqGap], epoch: int) -> None:
        self.received.extend(f for f in batch if not isinstance(f, SeqGap))
        self.gaps.extend(f for f in batch if isinstance(f, SeqGap))
        self.epochs.append(epoch)
        self._check()

    def notice(self, text: str) -> None:
        self.notices.append(text)
        self._check()

    def _check(self) -> None:
        if self.enough(self):
            self.satisfied.set()

    @property
    def seqs(self) -> list[int]:
        return [f.seq for f in self.received if isinstance(f, DssEvent) and f.seq is not None]


def no_wait_backoff() -> Backoff:
    return Backoff(initial=0.0, cap=0.0)


async def run_until(client: StreamClient, sink: Recorder, timeout: float = 10.0) -> None:
    task = asyncio.create_task(client.run())
    try:
        async with asyncio.timeout(timeout):
            done = asyncio.create_task(sink.satisfied.wait())
            await asyncio.wait([task, done], return_when=asyncio.FIRST_COMPLETED)
            done.cancel()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(coro)  # type: ignore[arg-type]


def definition(url: str, key: str = KEY, replay: ReplayWindow | None = None) -> StreamDefinition:
    return StreamDefinition.create(key, name="test", url=url, replay=replay)


def test_heartbeats_are_answered() -> None:
    async def main() -> None:
        async with Simulator(SimulatorConfig(keys={KEY: None}, heartbeat=0.05, rate=0)) as sim:
            sink = Recorder()
            sink.enough = lambda r: r.heartbeats >= 4
            await run_until(StreamClient(definition(sim.url), sink), sink)
            assert sink.heartbeats >= 4
            for _ in range(50):
                if sim.heartbeat_replies >= 4:
                    break
                await asyncio.sleep(0.02)
            assert sim.heartbeat_replies >= 4
            assert (StreamState.LIVE, "") in sink.states

    run(main())


def test_reconnects_and_resumes_without_gap_or_duplicate() -> None:
    async def main() -> None:
        config = SimulatorConfig(keys={KEY: None}, rate=0, drop_after=37, heartbeat=5)
        async with Simulator(config) as sim:
            sim.prefill(400)
            total = sim.last_seq(KEY)
            sink = Recorder()
            sink.enough = lambda r: len(r.seqs) >= total
            client = StreamClient(
                definition(sim.url, replay=ReplayWindow(1)), sink, backoff=no_wait_backoff()
            )
            await run_until(client, sink)
            assert sink.seqs == list(range(1, total + 1))
            reconnects = [s for s in sink.states if s[0] is StreamState.RECONNECTING]
            assert len(reconnects) >= total // 37 - 1
            assert "dropped" in reconnects[0][1]
            assert sim.connections >= total // 37

    run(main())


def test_resume_point_comes_from_last_seq() -> None:
    async def main() -> None:
        async with Simulator(SimulatorConfig(keys={KEY: None}, rate=0)) as sim:
            sim.prefill(50)
            sink = Recorder()
            sink.enough = lambda r: len(r.seqs) >= 20
            client = StreamClient(definition(sim.url), sink, last_seq=30)
            await run_until(client, sink)
            assert sink.seqs == list(range(31, 51))

    run(main())


def test_replay_window_ends_the_stream() -> None:
    async def main() -> None:
        async with Simulator(SimulatorConfig(keys={KEY: None}, rate=0)) as sim:
            sim.prefill(100)
            sink = Recorder()
            client = StreamClient(definition(sim.url, replay=ReplayWindow(10, 25)), sink)
            reason = await asyncio.wait_for(client.run(), 10)
            assert sink.seqs == list(range(10, 26))
            assert "complete at seq 25" in reason
            assert sink.states[-1][0] is StreamState.STOPPED

    run(main())


def test_rejected_key_stops_without_retry() -> None:
    async def main() -> None:
        async with Simulator(SimulatorConfig(keys={KEY: None}, rate=0)) as sim:
            sink = Recorder()
            client = StreamClient(definition(sim.url, key=OTHER), sink, backoff=no_wait_backoff())
            reason = await asyncio.wait_for(client.run(), 10)
            assert "rejected stream key fedc…3210 (HTTP 401)" in reason
            assert OTHER not in reason
            assert [s for s, _ in sink.states].count(StreamState.CONNECTING) == 1
            assert sink.states[-1] == (StreamState.STOPPED, reason)
            assert sim.connections == 0

    run(main())


def test_dead_link_is_detected() -> None:
    async def main() -> None:
        config = SimulatorConfig(keys={KEY: None}, rate=0, stall_after=5, heartbeat=5)
        async with Simulator(config) as sim:
            sim.prefill(20)
            sink = Recorder()
            sink.enough = lambda r: any("dead link" in d for _, d in r.states)
            client = StreamClient(
                definition(sim.url, replay=ReplayWindow(1)),
                sink,
                options=ClientOptions(dead_after=0.3),
                backoff=Backoff(initial=5, cap=5),
            )
            await run_until(client, sink)
            dead = [d for s, d in sink.states if s is StreamState.RECONNECTING]
            assert dead and dead[0] == "dead link: no frame for 0.3 s"
            assert sink.seqs == [1, 2, 3, 4, 5]

    run(main())


def test_malformed_frames_are_delivered_not_dropped() -> None:
    async def main() -> None:
        config = SimulatorConfig(keys={KEY: None}, rate=0, malformed_every=10)
        async with Simulator(config) as sim:
            sim.prefill(100)
            sink = Recorder()
            sink.enough = lambda r: len(r.seqs) >= 100
            await run_until(StreamClient(definition(sim.url, replay=ReplayWindow(1)), sink), sink)
            bad = [f for f in sink.received if isinstance(f, MalformedFrame)]
            assert len(bad) >= 9
            assert all(b.reason for b in bad)
            assert {b.raw for b in bad} <= set(MALFORMED_FRAMES)
            assert sink.seqs == list(range(1, 101))

    run(main())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_server_is_retried_with_a_clear_reason() -> None:
    async def main() -> None:
        port = free_port()
        sink = Recorder()
        sink.enough = lambda r: sum(s is StreamState.RECONNECTING for s, _ in r.states) >= 2
        client = StreamClient(definition(f"ws://127.0.0.1:{port}/stream"), sink, backoff=no_wait_backoff())
        await run_until(client, sink)
        details = [d for s, d in sink.states if s is StreamState.RECONNECTING]
        assert details[0] == f"127.0.0.1:{port} refused the connection (nothing listening there?)"

    run(main())


def test_retry_now_skips_the_wait_and_disconnect_stops_it() -> None:
    """A stream waiting an hour to reconnect: retry_now() makes the next
    attempt at once; cancelling it while it waits reports STOPPED, never a
    stream stuck at 'reconnecting in 0 s'."""

    async def main() -> None:
        port = free_port()
        sink = Recorder()
        waits: list[float] = []
        hour = asyncio.Event()  # never set: the backoff sleep only ends by retry_now or cancel

        async def sleep(delay: float) -> None:
            waits.append(delay)
            await hour.wait()

        sink.enough = lambda r: sum(s is StreamState.RECONNECTING for s, _ in r.states) >= 1
        client = StreamClient(
            definition(f"ws://127.0.0.1:{port}/stream"), sink, backoff=Backoff(initial=3600, cap=3600), sleep=sleep
        )
        task = asyncio.create_task(client.run())
        await sink.satisfied.wait()
        sink.satisfied.clear()
        sink.enough = lambda r: sum(s is StreamState.RECONNECTING for s, _ in r.states) >= 2
        client.retry_now()
        await sink.satisfied.wait()  # a second attempt: the hour's wait never ended
        assert not hour.is_set() and waits[0] >= 1800
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert sink.states[-1] == (StreamState.STOPPED, "disconnected")

    run(main())


def test_probe_reports_in_one_sentence() -> None:
    async def main() -> None:
        async with Simulator(SimulatorConfig(keys={KEY: None}, heartbeat=0.05, rate=0)) as sim:
            ok = await probe(definition(sim.url))
            assert ok.ok and ok.message.startswith("Connected: first heartbeat after")
            bad = await probe(definition(sim.url, key=OTHER))
            assert not bad.ok
            assert "rejected stream key fedc…3210" in bad.message and OTHER not in bad.message
            url = sim.url
        gone = await probe(definition(url), timeout=2)
        assert not gone.ok and "refused the connection" in gone.message

    run(main())


@pytest.mark.parametrize("host", ["nonexistent.invalid"])
def test_unknown_host_is_named(host: str) -> None:
    async def main() -> None:
        result = await probe(definition(f"ws://{host}:9/stream"), timeout=5)
        assert not result.ok
        assert f"Cannot find host {host}" in result.message

    run(main())


def test_debug_logs_never_hold_the_key(caplog: pytest.LogCaptureFixture) -> None:
    """websockets quotes the request path (which carries the key) at DEBUG."""

    async def main() -> None:
        async with Simulator(SimulatorConfig(keys={KEY: None}, heartbeat=0.05, rate=0)) as sim:
            assert (await probe(definition(sim.url))).ok
            assert not (await probe(definition(sim.url, key=OTHER))).ok

    with caplog.at_level(logging.DEBUG):
        run(main())
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "GET /stream?stream_key=0123…cdef" in text  # the line is there, masked
    assert KEY not in text and OTHER not in text
