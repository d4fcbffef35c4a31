"""The simulator over real loopback sockets, read by a tiny websockets client."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import Counter
from collections.abc import Sequence

import pytest
from websockets.exceptions import ConnectionClosedError, InvalidStatus
from websockets.protocol import State

from ayla_monitor.dss import wire
from ayla_monitor.dss.events import (
    BASE_TYPES,
    EVENT_TYPES,
    Connectivity,
    Datapoint,
    Event,
    Heartbeat,
    MalformedFrame,
    UnknownEvent,
)
from ayla_monitor.dss.frames import HEARTBEAT_FRAME, parse_frame
from ayla_monitor.simulator import (
    DEMO_KEY,
    ListenError,
    Simulator,
    SimulatorConfig,
    run_simulator,
)
from tests.simulator.support import dial, events, eventually, frames, only_events, run, until_closed

K_POINTS = "1" * 32
K_CONN = "2" * 32
K_ALL = "3" * 32
T0 = 1_700_000_000.0


def seqs(evs: Sequence[Event | MalformedFrame | Heartbeat]) -> list[int | None]:
    assert all(not isinstance(e, (MalformedFrame, Heartbeat)) for e in evs)
    return [e.seq for e in evs if not isinstance(e, (MalformedFrame, Heartbeat))]


def test_replayed_stream_parses_and_covers_every_type() -> None:
    async def main() -> None:
        async with Simulator(SimulatorConfig(rate=0, devices=20, seed=1)) as sim:
            sim.prefill(600)
            assert sim.last_seq(DEMO_KEY) == 600
            async with dial(sim.url, DEMO_KEY, seq_start=1, seq_end=600) as ws:
                got = await until_closed(ws)
            assert ws.close_code == 1000
        evs = only_events(got)
        assert not any(isinstance(e, UnknownEvent) for e in evs)
        assert seqs(evs) == list(range(1, 601))
        assert {e.event_type for e in evs} == set(EVENT_TYPES)
        assert {e.base_type for e in evs if isinstance(e, Datapoint)} == set(BASE_TYPES)
        assert all(e.note is None for e in evs)  # length prefixes agree, values fit their types
        assert all(e.time and e.time.endswith("Z") for e in evs)

    run(main())


def test_typed_subscriptions_get_only_their_type_with_their_own_seqs() -> None:
    keys = {K_POINTS: "datapoint", K_CONN: "connectivity", K_ALL: None}

    async def main() -> None:
        async with Simulator(SimulatorConfig(rate=0, keys=keys, seed=2)) as sim:
            sim.prefill(500)
            got: dict[str, list[Event]] = {}
            for key in keys:
                last = sim.last_seq(key)
                assert last > 0
                async with dial(sim.url, key, seq_start=1, seq_end=last) as ws:
                    got[key] = only_events(await until_closed(ws))
        assert len(got[K_ALL]) == 500
        all_types = Counter(e.event_type for e in got[K_ALL])
        for key, kind in ((K_POINTS, "datapoint"), (K_CONN, "connectivity")):
            assert {e.event_type for e in got[key]} == {kind}
            assert seqs(got[key]) == list(range(1, len(got[key]) + 1))
            assert len(got[key]) == all_types[kind]
        # the same fleet events, fanned out: same payloads in the same order
        points = [e.datapoint_id for e in got[K_ALL] if type(e) is Datapoint]
        assert [e.datapoint_id for e in got[K_POINTS] if isinstance(e, Datapoint)] == points
        assert points

    run(main())


def test_replay_window_and_buffer_limit() -> None:
    async def main() -> None:
        async with Simulator(SimulatorConfig(rate=0, replay_size=50, seed=3)) as sim:
            sim.prefill(200)
            async with dial(sim.url, DEMO_KEY, seq_start=160, seq_end=170) as ws:
                window = await until_closed(ws)
            assert ws.close_code == 1000
            async with dial(sim.url, DEMO_KEY, seq_start=1, seq_end=155) as ws:
                older = await until_closed(ws)  # older than the buffer: from the oldest kept
        assert seqs(only_events(window)) == list(range(160, 171))
        assert seqs(only_events(older)) == list(range(151, 156))

    run(main())


def test_live_after_replay_and_reconnect_misses_nothing() -> None:
    async def main() -> None:
        async with Simulator(SimulatorConfig(rate=400, seed=4, wait_for_client=False)) as sim:
            await eventually(lambda: sim.last_seq(DEMO_KEY) > 150, "some history")
            # without seq_start: live from now
            async with dial(sim.url, DEMO_KEY) as ws:
                mark = sim.last_seq(DEMO_KEY)
                live = await events(ws, 5)
            assert all((e.seq or 0) > mark - 5 for e in live)  # nothing from the early history
            # replay then live, no gaps, across a reconnect
            async with dial(sim.url, DEMO_KEY, seq_start=1) as ws:
                first = await events(ws, sim.last_seq(DEMO_KEY) + 20)
            last = first[-1].seq or 0
            await eventually(lambda: sim.last_seq(DEMO_KEY) > last + 30, "events while away")
            async with dial(sim.url, DEMO_KEY, seq_start=last + 1) as ws:
                second = await events(ws, 40)
            assert seqs(first + second) == list(range(1, len(first) + len(second) + 1))
            assert sim.connections == 3
            await eventually(lambda: sim.active_connections == 0, "disconnections")

    run(main())


@pytest.mark.parametrize(
    ("key", "query", "status", "config_status"),
    [
        ("0" * 32, {}, 401, 401),
        ("0" * 32, {}, 403, 403),
        ("", {}, 401, 401),
        (DEMO_KEY, {"seq_end": 5}, 400, 401),
    ],
)
def test_handshake_refusals(
    caplog: pytest.LogCaptureFixture, key: str, query: dict[str, int], status: int, config_status: int
) -> None:
    caplog.set_level(logging.DEBUG)

    async def main() -> None:
        async with Simulator(SimulatorConfig(rate=0, reject_status=config_status)) as sim:
            with pytest.raises(InvalidStatus) as info:
                async with dial(sim.url, key, **query):
                    pass
            assert info.value.response.status_code == status
            assert sim.rejected == 1 and sim.connections == 0

    run(main())
    server_lines = [r.getMessage() for r in caplog.records if not r.name.startswith("websockets.client")]
    assert any("GET /stream?stream_key=" in line for line in server_lines)  # the DEBUG log was on
    if key:
        assert not any(key in line for line in server_lines)  # websockets' lines are redacted too


def test_heartbeats_arrive_and_replies_are_counted() -> None:
    async def main() -> None:
        async with Simulator(SimulatorConfig(rate=0, heartbeat=0.3)) as sim:
            async with dial(sim.url, DEMO_KEY) as ws:
                loop = asyncio.get_running_loop()
                started = loop.time()
                got = [await ws.recv() for _ in range(3)]
                elapsed = loop.time() - started
                assert got == [HEARTBEAT_FRAME] * 3  # exactly 1|Z
                # three intervals from the connection's start (0.9 s), less however
                # late this client was to note its start: no upper bound (busy machines)
                assert elapsed >= 0.3
                await ws.send("hello")  # other text is ignored
                for _ in range(3):
                    await ws.send("Z")
                await eventually(lambda: sim.heartbeat_replies == 3, "three replies")
                assert sim.heartbeats_sent >= 3

    run(main())


def test_drop_after_closes_without_a_close_frame() -> None:
    async def main() -> None:
        async with Simulator(SimulatorConfig(rate=0, drop_after=10)) as sim:
            sim.prefill(50)
            async with dial(sim.url, DEMO_KEY, seq_start=1) as ws:
                got = await events(ws, 10)
                with pytest.raises(ConnectionClosedError) as info:
                    await ws.recv()
            assert info.value.rcvd is None  # abrupt: no close frame
            assert seqs(got) == list(range(1, 11))
            # the next connection starts counting again
            async with dial(sim.url, DEMO_KEY, seq_start=11) as ws:
                assert seqs(await events(ws, 10)) == list(range(11, 21))

    run(main())


def test_stall_after_goes_silent_with_the_socket_open() -> None:
    async def main() -> None:
        async with Simulator(SimulatorConfig(rate=0, stall_after=5, heartbeat=0.02)) as sim:
            sim.prefill(50)
            async with dial(sim.url, DEMO_KEY, seq_start=1) as ws:
                assert seqs(await events(ws, 5)) == [1, 2, 3, 4, 5]
                await eventually(lambda: len(sim._stalled) == 1, "the stall")
                pong = await ws.ping()
                silent = asyncio.create_task(ws.recv())
                sim.prefill(10)  # new events: a live link would send them at once
                # Evidence that time passed and the simulator kept serving: another
                # connection gets 4 events (under stall_after) and three heartbeats
                # (> 2 intervals).
                async with dial(sim.url, DEMO_KEY, seq_start=57) as other:
                    got = await frames(other, 7)
                    assert sum(1 for f in got if isinstance(f, Heartbeat)) == 3
                    await (await other.ping())  # a round trip: the loop has read every socket since
                assert not silent.done()  # nothing: no frame, no heartbeat
                assert ws.state is State.OPEN
                assert not pong.done()  # not even a pong: a dead link
                await eventually(lambda: sim.active_connections == 1, "the other connection's end")
                await sim.stop()  # drops the dead link at once
                with pytest.raises(ConnectionClosedError):
                    await silent
            assert sim.events_sent == 5 + 4

    run(main())


def test_malformed_every_interleaves_garbage_without_using_seqs() -> None:
    async def main() -> None:
        async with Simulator(SimulatorConfig(rate=0, malformed_every=3)) as sim:
            sim.prefill(30)
            async with dial(sim.url, DEMO_KEY, seq_start=1, seq_end=30) as ws:
                got = [f for f in await until_closed(ws) if not isinstance(f, Heartbeat)]
            assert sim.malformed_sent == 10  # every garbage frame is counted
        kinds = ["bad" if isinstance(f, MalformedFrame) else "ok" for f in got]
        assert kinds == ["ok", "ok", "ok", "bad"] * 10
        assert seqs([f for f in got if not isinstance(f, MalformedFrame)]) == list(range(1, 31))
        bad = [f.raw for f in got if isinstance(f, MalformedFrame)]
        rotation = wire.MALFORMED_FRAMES
        assert bad == [rotation[i % len(rotation)] for i in range(10)]
        assert len({f.reason for f in got if isinstance(f, MalformedFrame)}) >= 4

    run(main())


def test_hostile_stream_survives_the_wire() -> None:
    async def main() -> None:
        async with Simulator(SimulatorConfig(rate=0, hostile=True, seed=5)) as sim:
            sim.prefill(800)
            async with dial(sim.url, DEMO_KEY, seq_start=1, seq_end=800) as ws:
                got = await until_closed(ws)
        assert len(got) == 800
        assert not any(isinstance(f, MalformedFrame) for f in got)
        assert any(isinstance(f, UnknownEvent) for f in got)
        assert any("🔥" in f.raw for f in got if not isinstance(f, Heartbeat))

    run(main())


def test_same_seed_and_clock_serve_the_same_frames() -> None:
    def buffer(seed: int) -> list[tuple[int, str]]:
        sim = Simulator(SimulatorConfig(rate=10, seed=seed), clock=lambda: T0)
        sim.prefill(300)
        return list(sim._subs[DEMO_KEY].buffer)

    a, b, c = buffer(1), buffer(1), buffer(2)
    assert a == b != c
    assert only_events([parse_frame(frame, 0.0) for _, frame in a])


def test_publish_injects_an_exact_event() -> None:
    async def main() -> None:
        async with Simulator(SimulatorConfig(rate=0)) as sim:
            async with dial(sim.url, DEMO_KEY) as ws:
                await sim.wait_for_connections(1)
                sim.publish({"seq": "999", "metadata": {"event_type": "nonesuch"}, "x": "|Z"})
                (event,) = await events(ws, 1)
        assert isinstance(event, UnknownEvent)
        assert event.seq == 1
        assert event.raw == '{"seq":"1","metadata":{"event_type":"nonesuch"},"x":"|Z"}'

    run(main())


def test_run_simulator_serves_until_stopped() -> None:
    async def main() -> None:
        stop = asyncio.Event()
        urls: list[str] = []
        config = SimulatorConfig(rate=0, prefill=25)
        task = asyncio.create_task(run_simulator(config, ready=urls.append, stop=stop))
        await eventually(lambda: bool(urls), "ready")
        assert urls[0].startswith("ws://127.0.0.1:") and urls[0].endswith("/stream")
        async with dial(urls[0], DEMO_KEY, seq_start=1, seq_end=25) as ws:
            assert len(await until_closed(ws)) == 25
        stop.set()
        await task
        with pytest.raises(OSError):
            async with dial(urls[0], DEMO_KEY):
                pass

    run(main())


def test_busy_port_is_one_clear_error() -> None:
    async def main() -> None:
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            with pytest.raises(ListenError, match=f"cannot listen on 127.0.0.1:{port}"):
                await Simulator(SimulatorConfig(rate=0)).start(port=port)

    run(main())


class HeldTicks:
    """A ``pause`` for the simulator's generation that never ends: no round
    of live generation runs unless the test says so; counts the waits."""

    def __init__(self) -> None:
        self.waits = 0

    async def __call__(self, seconds: float) -> None:
        self.waits += 1
        await asyncio.Future()


def test_first_live_client_sees_the_fleet_come_online() -> None:
    async def main() -> None:
        config = SimulatorConfig(rate=50, devices=3, tick=0.01, seed=6)
        ticks = HeldTicks()
        async with Simulator(config, pause=ticks) as sim:
            # without a client nothing happens: generation has not even started
            assert not sim.generating and ticks.waits == 0
            assert sim.last_seq(DEMO_KEY) == 0
            intro = sum(1 + len(d.model.properties) for d in sim.fleet.devices)
            async with dial(sim.url, DEMO_KEY) as ws:
                got = await events(ws, intro)
                await eventually(lambda: ticks.waits == 1, "generation waiting for its first tick")
                assert sim.generating and sim.last_seq(DEMO_KEY) == intro  # the intro, at once
        assert seqs(got) == list(range(1, intro + 1))
        assert [e.dsn for e in got if e.event_type == "connectivity"] == [d.dsn for d in sim.fleet.devices]
        assert all(e.online for e in got if isinstance(e, Connectivity))
        assert {(e.dsn, e.property_name) for e in got if isinstance(e, Datapoint)} == {
            (d.dsn, p.name) for d in sim.fleet.devices for p in d.model.properties
        }

    run(main())


def test_run_simulator_listens_where_it_is_told() -> None:
    """`ayla-monitor simulate --port 8765` must serve on 8765, not on a free port."""

    async def main() -> None:
        with socket.socket() as probe_socket:
            probe_socket.bind(("127.0.0.1", 0))
            port = probe_socket.getsockname()[1]
        stop = asyncio.Event()
        urls: list[str] = []
        task = asyncio.create_task(run_simulator(SimulatorConfig(rate=0), "127.0.0.1", port, ready=urls.append, stop=stop))
        await eventually(lambda: bool(urls), "ready")
        assert urls == [f"ws://127.0.0.1:{port}/stream"]
        stop.set()
        await task

    run(main())
