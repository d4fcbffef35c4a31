"""``record --count N`` stores exactly N events, and a recorder told to stop
(``--exit-after``, Ctrl+C) stores everything it received, even when it stops
while the database writer is full and the streams wait for room (issue 11:
once in six MariaDB runs, ``--count 100000`` stopped with 99,829 stored).

The writer's queue is made small so that backpressure is the common case,
not a race: with 60 frames of room and batches of up to 200, nearly every
batch waits. The real simulator, the real recorder, SQLite and MariaDB."""

from __future__ import annotations

import asyncio
import io

import pytest

from ayla_monitor.dss.endpoints import ReplayWindow
from ayla_monitor.dss.subscription import StreamDefinition
from ayla_monitor.headless.record import record
from ayla_monitor.simulator.server import Simulator, SimulatorConfig
from ayla_monitor.store.database import Store

KEYS = ("0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210")
#: generous: the machine may be busy; the tests finish far sooner.
TIMEOUT = 180.0


def stored(url: str) -> int:
    with Store.open(url) as store:
        return store.count_events()


@pytest.mark.parametrize("count", [1, 2_345])
def test_count_stores_exactly_n_under_backpressure(db_url: str, count: int) -> None:
    async def main() -> int:
        config = SimulatorConfig(devices=50, rate=0, keys=dict.fromkeys(KEYS), replay_size=6_000, heartbeat=30)
        async with Simulator(config) as sim:
            sim.prefill(3_000)  # each of the two streams holds more than N
            definitions = [
                StreamDefinition.create(key, name=f"s{i}", url=sim.url, replay=ReplayWindow(1, None))
                for i, key in enumerate(KEYS)
            ]
            result = await record(definitions, db_url, count=count, out=io.StringIO(), handle_signals=False,
                                  max_pending=60)
        assert result.writer_error is None
        return sum(s.events for s in result.statuses)

    received = asyncio.run(asyncio.wait_for(main(), TIMEOUT))
    assert received == count
    assert stored(db_url) == count


def test_a_stop_stores_everything_received(db_url: str) -> None:
    async def main() -> int:
        config = SimulatorConfig(devices=50, rate=0, keys=dict.fromkeys(KEYS[:1]), replay_size=20_000, heartbeat=30)
        async with Simulator(config) as sim:
            sim.prefill(20_000)
            definition = StreamDefinition.create(KEYS[0], name="s", url=sim.url, replay=ReplayWindow(1, None))
            stop = asyncio.Event()

            async def stop_midway() -> None:
                # Stop once the recorder is well into the burst, writer full.
                while sim.events_sent < 2_000:
                    await asyncio.sleep(0.01)
                stop.set()

            stopper = asyncio.create_task(stop_midway())
            result = await record([definition], db_url, out=io.StringIO(), handle_signals=False, stop=stop,
                                  max_pending=60)
            await stopper
        assert result.writer_error is None
        return sum(s.events for s in result.statuses)

    received = asyncio.run(asyncio.wait_for(main(), TIMEOUT))
    assert 0 < received < 20_000  # stopped midway, not at the end
    assert stored(db_url) == received
