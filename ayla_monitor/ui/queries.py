"""The one owner of the window's I/O: widgets ask, :class:`QueryRunner` runs.

A widget never awaits a query or a network call: it hands a blocking
callable (:meth:`QueryRunner.call`) or a coroutine factory
(:meth:`QueryRunner.call_async`) to the runner together with what to do with
the answer, and returns. The runner runs the callable on a worker thread of
its own (plain Python threads, not the loop's executor), keeps the tasks per
requesting widget, and delivers the answer on the UI thread, through a
queued Qt signal, only to a widget that is still open: closing a widget
(its ``Close`` event, once it really is hidden) or destroying it cancels
what it asked for, and :meth:`QueryRunner.close` (the main window's close)
cancels everything. A callable already running on a thread cannot be
stopped; its answer is dropped. Long work that can stop early (an export)
polls :attr:`Ticket.cancelled`.

Why this exists (issue 10): widgets awaited ``asyncio.to_thread`` inside
their slots, and a History window closed (``WA_DeleteOnClose``) during its
query resumed its coroutine on a deleted C++ object.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QWidget

__all__ = ["QueryRunner", "Ticket"]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Worker threads: History's page and count, a device view's load and an
#: export can run side by side; more would only queue on the store's lock.
WORKERS = 4


@dataclass(eq=False)
class Ticket:
    """One request: who asked, and what to call with the answer."""

    id: int
    owner: QObject
    done: Callable[[Any], None]
    failed: Callable[[BaseException], None] | None
    #: set when the request is cancelled; long callables may poll it.
    cancelled: threading.Event = field(default_factory=threading.Event)
    future: concurrent.futures.Future[Any] | None = None
    task: asyncio.Task[Any] | None = None
    #: called when the request is cancelled (:meth:`QueryRunner.ask`'s future).
    on_cancel: Callable[[], Any] | None = None

    @property
    def active(self) -> bool:
        return not self.cancelled.is_set()


class QueryRunner(QObject):
    """Runs blocking calls and coroutines for widgets; answers only living ones."""

    #: (ticket id) a worker finished: handled on the UI thread (queued).
    _finished = Signal(int)

    def __init__(self, parent: QObject | None = None, *, workers: int = WORKERS) -> None:
        super().__init__(parent)
        self.setObjectName("query-runner")
        self._pool = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="ayla-query")
        self._ids = itertools.count(1)
        self._tickets: dict[int, Ticket] = {}
        #: id(owner) -> ids of its tickets
        self._by_owner: dict[int, set[int]] = {}
        self._watched: set[int] = set()
        self._results: dict[int, tuple[bool, Any]] = {}
        self._results_lock = threading.Lock()
        self._closed = False
        #: answers dropped because their widget was gone (tests read it).
        self.dropped = 0
        self._finished.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    # -- asking ------------------------------------------------------------------

    def call(self, owner: QObject, work: Callable[[], T], done: Callable[[T], None],
             failed: Callable[[BaseException], None] | None = None) -> Ticket:
        """Run ``work()`` on a worker thread; then ``done(result)`` (or
        ``failed(exception)``) on the UI thread, if ``owner`` is still open."""
        if self._closed:  # the window is closing: nothing more is asked
            ticket = Ticket(next(self._ids), owner, done, failed)
            ticket.cancelled.set()
            return ticket
        ticket = self._ticket(owner, done, failed)
        ticket_id = ticket.id

        def run() -> None:
            if ticket.cancelled.is_set():
                return
            try:
                outcome: tuple[bool, Any] = (True, work())
            except BaseException as exc:  # noqa: BLE001 - handed to the owner's failed()
                outcome = (False, exc)
            with self._results_lock:
                self._results[ticket_id] = outcome
            if shiboken6.isValid(self):
                self._finished.emit(ticket_id)

        ticket.future = self._pool.submit(run)
        return ticket

    def call_async(self, owner: QObject, start: Callable[[], Awaitable[T]], done: Callable[[T], None],
                   failed: Callable[[BaseException], None] | None = None) -> Ticket:
        """Run the coroutine ``start()`` as a task on the running loop (network
        calls: the connection test); answer as :meth:`call` does."""
        if self._closed:  # the window is closing: nothing more is asked
            ticket = Ticket(next(self._ids), owner, done, failed)
            ticket.cancelled.set()
            return ticket
        ticket = self._ticket(owner, done, failed)

        async def run() -> Any:
            return await start()

        task = asyncio.ensure_future(run())
        ticket.task = task

        def finished(task: asyncio.Task[Any]) -> None:
            if task.cancelled():
                outcome: tuple[bool, Any] = (False, asyncio.CancelledError())
            elif task.exception() is not None:
                outcome = (False, task.exception())
            else:
                outcome = (True, task.result())
            with self._results_lock:
                self._results[ticket.id] = outcome
            self._deliver(ticket.id)

        task.add_done_callback(finished)
        return ticket

    def ask(self, owner: QObject, work: Callable[[], T]) -> asyncio.Future[T]:
        """:meth:`call` as a future on the running loop, for a coroutine that
        needs the answer to go on (a dialog's test button). A closed or
        deleted ``owner`` never gets it: the future is cancelled instead, so
        the waiting coroutine ends with ``CancelledError``."""
        return self._future(owner, lambda done, failed: self.call(owner, work, done, failed))

    def ask_async(self, owner: QObject, start: Callable[[], Awaitable[T]]) -> asyncio.Future[T]:
        """:meth:`call_async` as a future (see :meth:`ask`)."""
        return self._future(owner, lambda done, failed: self.call_async(owner, start, done, failed))

    def _future(self, owner: QObject, submit: Callable[..., Ticket]) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def done(value: Any) -> None:
            if not future.done():
                future.set_result(value)

        def failed(exc: BaseException) -> None:
            if not future.done():
                future.set_exception(exc)

        ticket = submit(done, failed)
        if ticket.cancelled.is_set():
            future.cancel()
        else:
            ticket.on_cancel = future.cancel
        return future

    def _ticket(self, owner: QObject, done: Callable[[Any], None],
                failed: Callable[[BaseException], None] | None) -> Ticket:
        ticket = Ticket(next(self._ids), owner, done, failed)
        self._tickets[ticket.id] = ticket
        key = id(owner)
        self._by_owner.setdefault(key, set()).add(ticket.id)
        if key not in self._watched:
            self._watched.add(key)
            owner.destroyed.connect(lambda *_: self._owner_gone(key) if shiboken6.isValid(self) else None)
            if isinstance(owner, QWidget):
                owner.installEventFilter(self)
        return ticket

    # -- cancelling ----------------------------------------------------------------

    def pending(self, owner: QObject | None = None) -> int:
        """Requests not answered yet (of ``owner``, or of everyone)."""
        if owner is None:
            return len(self._tickets)
        return len(self._by_owner.get(id(owner), ()))

    def cancel(self, owner: QObject) -> int:
        """Cancel what ``owner`` asked for; returns how many requests."""
        return self._cancel_ids(self._by_owner.pop(id(owner), set()))

    def close(self) -> None:
        """Cancel everything; later requests are cancelled at once."""
        self._closed = True
        self._cancel_ids(set(self._tickets))
        self._by_owner.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)

    @property
    def closed(self) -> bool:
        return self._closed

    def _cancel_ids(self, ids: set[int]) -> int:
        for ticket_id in ids:
            ticket = self._tickets.pop(ticket_id, None)
            if ticket is None:
                continue
            ticket.cancelled.set()
            if ticket.on_cancel is not None:
                ticket.on_cancel()
            if ticket.future is not None:
                ticket.future.cancel()
            if ticket.task is not None and not ticket.task.done():
                ticket.task.cancel()
            with self._results_lock:
                self._results.pop(ticket_id, None)
        return len(ids)

    def _owner_gone(self, key: int) -> None:
        self._watched.discard(key)
        dropped = self._cancel_ids(self._by_owner.pop(key, set()))
        if dropped:
            log.debug("Dropped %d requests of a destroyed widget", dropped)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Close:
            # The widget may refuse to close: look once it has decided.
            QTimer.singleShot(0, self, lambda w=watched: self._closed_check(w))
        return False

    def _closed_check(self, widget: QObject) -> None:
        if shiboken6.isValid(widget) and isinstance(widget, QWidget) and widget.isVisible():
            return
        if shiboken6.isValid(widget):
            self.cancel(widget)
        # a widget deleted meanwhile was handled by destroyed

    # -- answering -------------------------------------------------------------------

    def _deliver(self, ticket_id: int) -> None:
        with self._results_lock:
            outcome = self._results.pop(ticket_id, None)
        ticket = self._tickets.pop(ticket_id, None)
        if ticket is None or outcome is None:
            self.dropped += 1 if outcome is not None else 0
            return
        ids = self._by_owner.get(id(ticket.owner))
        if ids is not None:
            ids.discard(ticket_id)
        if ticket.cancelled.is_set() or not shiboken6.isValid(ticket.owner):
            self.dropped += 1
            if ticket.on_cancel is not None:
                ticket.on_cancel()
            return
        ok, value = outcome
        try:
            if ok:
                ticket.done(value)
            elif isinstance(value, asyncio.CancelledError):
                return
            elif ticket.failed is not None:
                ticket.failed(value)
            else:
                log.error("A request of %s failed", type(ticket.owner).__name__, exc_info=value)
        except Exception:
            log.exception("Handling the answer of a request of %s failed", type(ticket.owner).__name__)
