"""The engine against the simulator, storing into a real SQLite file."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from ayla_monitor.core.engine import Engine
from ayla_monitor.core.status import FramesReceived, StatusChanged, StreamState, WriterHealth
from ayla_monitor.dss.endpoints import ReplayWindow
from ayla_monitor.dss.filter import EventFilter
from ayla_monitor.dss.subscription import StreamDefinition
from ayla_monitor.simulator.server import Simulator, SimulatorConfig
from ayla_monitor.store.database import Store

KEY = "0123456789abcdef0123456789abcdef"
OTHER = "fedcba9876543210fedcba9876543210"


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 30))


def stored_seqs(url: str) -> list[int]:
    with Store.open(url) as store:
        return sorted(e.seq for e in store.iter_events(EventFilter()) if e.seq is not None)


async def wait_stored(engine: Engine, count: int) -> None:
    async for update in engine.subscribe():
        if isinstance(update, WriterHealth) and update.stored >= count:
            return


def test_records_a_replay_and_fans_out(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'e.sqlite'}"

    async def main() -> None:
        async with Simulator(SimulatorConfig(keys={KEY: None}, rate=0, devices=5)) as sim:
            sim.prefill(300)
            seen: list[int] = []
            async with Engine(url) as engine:
                updates = engine.subscribe()
                stream_id = await engine.add_stream(
                    StreamDefinition.create(KEY, name="sim", url=sim.url, replay=ReplayWindow(1, 300))
                )
                async for update in updates:
                    if isinstance(update, FramesReceived):
                        assert update.stream_id == stream_id
                        seen.extend(f.seq for f in update.frames)  # type: ignore[union-attr]
                    if isinstance(update, StatusChanged) and update.status.state is StreamState.STOPPED:
                        break
                status = engine.statuses()[0]
                assert status.events == 300 and status.last_seq == 300
                assert "complete at seq 300" in status.detail
            assert seen == list(range(1, 301))
        assert stored_seqs(url) == list(range(1, 301))
        with Store.open(url) as store:
            streams = store.streams()
            assert [s.name for s in streams] == ["sim"]
            assert KEY not in repr(streams)
            assert len(store.device_states()) == 5

    run(main())


def test_restart_resumes_after_the_last_stored_seq(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'e.sqlite'}"

    async def main() -> None:
        async with Simulator(SimulatorConfig(keys={KEY: None}, rate=0)) as sim:
            sim.prefill(200)
            definition = StreamDefinition.create(KEY, name="sim", url=sim.url, replay=ReplayWindow(1))
            async with Engine(url, max_events=120) as engine:
                await engine.add_stream(definition)
                await engine.done.wait()
            assert stored_seqs(url) == list(range(1, 121))
            # the next day: same stream, no replay window asked: resume at 121
            sim.prefill(50)
            async with Engine(url) as engine:
                await engine.add_stream(StreamDefinition.create(KEY, name="sim", url=sim.url))
                await wait_stored(engine, 130)
        assert stored_seqs(url) == list(range(1, 251))

    run(main())


def test_streams_run_side_by_side_with_their_own_state(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'e.sqlite'}"

    async def main() -> None:
        async with Simulator(SimulatorConfig(keys={KEY: "datapoint"}, rate=0)) as sim:
            sim.prefill(100)
            async with Engine(url) as engine:
                good = await engine.add_stream(
                    StreamDefinition.create(KEY, name="good", url=sim.url, replay=ReplayWindow(1))
                )
                bad = await engine.add_stream(StreamDefinition.create(OTHER, name="bad", url=sim.url))
                total = sim.last_seq(KEY)  # the datapoints among the 100 fleet events
                await wait_stored(engine, total)
                for _ in range(100):
                    states = {s.stream_id: s for s in engine.statuses()}
                    if states[bad].state is StreamState.STOPPED:
                        break
                    await asyncio.sleep(0.02)
                assert states[good].state is StreamState.LIVE
                assert states[bad].state is StreamState.STOPPED
                assert "rejected stream key fedc…3210" in states[bad].detail
                assert states[good].events == total > 0 and states[bad].events == 0

    run(main())


def test_backpressure_loses_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'e.sqlite'}"

    async def main() -> None:
        async with Simulator(SimulatorConfig(keys={KEY: None}, rate=0)) as sim:
            sim.prefill(5000)
            async with Engine(url, max_pending=600) as engine:
                await engine.add_stream(
                    StreamDefinition.create(KEY, name="sim", url=sim.url, replay=ReplayWindow(1, 5000))
                )
                await wait_stored(engine, 5000)
        assert stored_seqs(url) == list(range(1, 5001))

    run(main())
