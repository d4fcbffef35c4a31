"""The bridge turns engine updates into Qt signals, in order."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from ayla_monitor.core.status import FramesReceived, StatusChanged, StreamState, StreamStatus, WriterHealth
from ayla_monitor.ui.bridge import EngineBridge

from .conftest import sample


def status(state: StreamState = StreamState.LIVE) -> StreamStatus:
    return StreamStatus(stream_id=3, name="s", display_url="ws://127.0.0.1/stream", subscription_type=None, state=state)


def test_each_update_becomes_its_signal(qtbot: Any) -> None:
    bridge = EngineBridge()
    frames = [sample("datapoint"), sample("connectivity")]
    with qtbot.waitSignal(bridge.frames_received) as got:
        bridge.deliver(FramesReceived(3, frames))
    assert got.args[0] == 3 and got.args[1] is frames
    with qtbot.waitSignal(bridge.status_changed) as got:
        bridge.deliver(StatusChanged(status()))
    assert got.args[0].state is StreamState.LIVE
    with qtbot.waitSignal(bridge.writer_health) as got:
        bridge.deliver(WriterHealth(10, 2, None))
    assert got.args[0] == WriterHealth(10, 2, None)
    assert bridge.batches == 1


def test_run_forwards_until_the_updates_end(qtbot: Any, run: Callable[..., Any]) -> None:
    bridge = EngineBridge()
    seen: list[Any] = []
    closed: list[bool] = []
    bridge.frames_received.connect(lambda sid, frames: seen.append(("frames", sid, len(frames))))
    bridge.status_changed.connect(lambda st: seen.append(("status", st.state)))
    bridge.writer_health.connect(lambda h: seen.append(("health", h.stored)))

    async def updates() -> AsyncIterator[Any]:
        try:
            yield StatusChanged(status(StreamState.CONNECTING))
            yield FramesReceived(3, [sample("datapoint")] * 4)
            yield WriterHealth(4, 0, None)
            yield StatusChanged(status(StreamState.STOPPED))
        finally:
            closed.append(True)

    run(bridge.run(updates()))
    assert seen == [("status", StreamState.CONNECTING), ("frames", 3, 4), ("health", 4),
                    ("status", StreamState.STOPPED)]
    assert closed == [True]
