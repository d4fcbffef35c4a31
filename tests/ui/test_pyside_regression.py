"""PySide6 6.12.0 on Python 3.11 aborts a qasync application after a few
thousand callbacks (``Fatal Python error: none_dealloc``: ``QTimer.singleShot``
drops a reference to None). The pinned version must survive this run."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import asyncio, os, sys
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ["QT_API"] = "pyside6"
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    import qasync

    N = 20_000
    app = QApplication([])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    counts = {"timer": 0, "soon": 0}

    async def main():
        done = asyncio.Event()
        def tick():
            counts["timer"] += 1
        def soon():
            counts["soon"] += 1
            if counts["soon"] == N:
                done.set()
        for _ in range(N):
            QTimer.singleShot(0, tick)
            loop.call_soon(soon)
        await done.wait()
        while counts["timer"] < N:
            await asyncio.sleep(0.01)

    with loop:
        loop.run_until_complete(asyncio.wait_for(main(), 60))
    print(counts["timer"], counts["soon"])
    """
)


def test_qasync_survives_many_callbacks() -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["20000", "20000"]
