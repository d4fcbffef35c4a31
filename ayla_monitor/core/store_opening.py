"""Opening a :class:`Store` from a coroutine that may be cancelled meanwhile.

``await asyncio.to_thread(Store.open, url)`` loses the store if the awaiting
task is cancelled while the thread connects (the window closed during its
start, a recorder stopped): the thread still opens it, nobody gets it, and its
connection stays open until the garbage collector finds it (Python 3.13 then
reports it as a ResourceWarning). :func:`open_store` closes such a store.
"""

from __future__ import annotations

import asyncio
import threading

from ayla_monitor.store.database import Store

__all__ = ["open_store"]


async def open_store(url: str) -> Store:
    """:meth:`Store.open` on a worker thread; if the caller is cancelled
    before it gets the store, the store is closed instead."""
    lock = threading.Lock()
    wanted = True
    handed: list[Store] = []

    def work() -> Store:
        store = Store.open(url)
        with lock:
            if wanted:
                handed.append(store)
                return store
        store.close()  # the caller was cancelled while it connected
        return store

    try:
        return await asyncio.to_thread(work)
    except asyncio.CancelledError:
        with lock:
            wanted = False
            orphans = list(handed)
        # opened, but the caller was cancelled before it could take it: closed
        # off the loop (a SQLite close may checkpoint its WAL)
        for store in orphans:
            threading.Thread(target=store.close, name="ayla-store-close").start()
        raise
