"""An owner stopped while its database opens leaves no connection behind.

A real SQLite file kept busy by another connection (an exclusive lock) holds
``Store.open`` in its worker thread; the owner is cancelled there, the lock
is released, the open completes, and the connection it made must be closed
without the garbage collector's help (disabled meanwhile, so that a leak
stays visible on every Python version, not only as 3.13's ResourceWarning).
"""

from __future__ import annotations

import asyncio
import gc
import os
import sqlite3
from collections.abc import Callable, Coroutine, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from ayla_monitor.core.store_opening import open_store
from ayla_monitor.core.watch import DatabaseWatch
from tests.ui.conftest import wait_until


def open_files(path: Path) -> int:
    """This process's descriptors open on ``path``."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}") == str(path)
        except OSError:  # closed meanwhile (listdir's own descriptor)
            pass
    return count


@pytest.fixture
def no_collector() -> Iterator[None]:
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def open_a_store(url: str) -> None:
    store = await open_store(url)
    store.close()


async def open_a_watch(url: str) -> None:
    async with DatabaseWatch(url):
        await asyncio.Event().wait()


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts open files in /proc")
@pytest.mark.parametrize("owner", [open_a_store, open_a_watch], ids=["open_store", "DatabaseWatch"])
def test_an_owner_cancelled_while_its_store_opens_leaves_no_connection_open(
    tmp_path: Path, no_collector: None, owner: Callable[[str], Coroutine[Any, Any, None]]
) -> None:
    db = tmp_path / "events.sqlite"

    async def scenario() -> None:
        with closing(sqlite3.connect(db, isolation_level=None)) as blocker:
            blocker.execute("BEGIN EXCLUSIVE")
            blocker.execute("CREATE TABLE busy (x)")
            task = asyncio.create_task(owner(f"sqlite:///{db}"))
            # the worker thread's connection is open and waits for the lock
            await wait_until(lambda: open_files(db) == 2, what="the store to start opening")
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            blocker.execute("ROLLBACK")
        await wait_until(lambda: open_files(db) == 0, what="the opened store to be closed")

    asyncio.run(asyncio.wait_for(scenario(), 60))
