"""The query runner: answers reach living widgets only, on the UI thread;
closing or deleting a widget, or closing the runner, cancels its requests."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication, QWidget

from ayla_monitor.ui.queries import QueryRunner
from tests.ui.conftest import wait_until


def test_an_answer_comes_back_on_the_ui_thread(qtbot: Any) -> None:
    widget = QWidget()
    qtbot.addWidget(widget)
    runner = QueryRunner(widget)
    seen: list[tuple[int, bool]] = []
    worker: list[str] = []

    def work() -> int:
        worker.append(threading.current_thread().name)
        return 42

    runner.call(widget, work, lambda value: seen.append(
        (value, QThread.currentThread() is QApplication.instance().thread())))
    qtbot.waitUntil(lambda: bool(seen), timeout=20000)
    assert seen == [(42, True)]
    assert worker[0].startswith("ayla-query") and runner.pending() == 0


def test_a_failure_reaches_failed(qtbot: Any) -> None:
    widget = QWidget()
    qtbot.addWidget(widget)
    runner = QueryRunner(widget)
    errors: list[BaseException] = []

    def work() -> int:
        raise OSError("disk gone")

    runner.call(widget, work, lambda _: None, errors.append)
    qtbot.waitUntil(lambda: bool(errors), timeout=20000)
    assert isinstance(errors[0], OSError) and str(errors[0]) == "disk gone"


def test_a_closed_widget_gets_nothing(qtbot: Any) -> None:
    owner = QWidget()
    qtbot.addWidget(owner)
    runner = QueryRunner(owner)
    widget = QWidget()
    qtbot.addWidget(widget)
    widget.show()
    gate = threading.Event()
    seen: list[int] = []
    runner.call(widget, lambda: gate.wait(30) and 1, seen.append)
    assert runner.pending(widget) == 1
    widget.close()
    qtbot.waitUntil(lambda: runner.pending(widget) == 0, timeout=20000)
    gate.set()
    qtbot.waitUntil(lambda: runner.dropped == 1, timeout=20000)
    assert seen == []


def test_a_widget_that_refuses_to_close_keeps_its_requests(qtbot: Any) -> None:
    class Stubborn(QWidget):
        def closeEvent(self, event: Any) -> None:  # noqa: N802
            event.ignore()

    owner = QWidget()
    qtbot.addWidget(owner)
    runner = QueryRunner(owner)
    widget = Stubborn()
    qtbot.addWidget(widget)
    widget.show()
    gate = threading.Event()
    seen: list[int] = []
    runner.call(widget, lambda: gate.wait(30) and 7, seen.append)
    widget.close()
    QApplication.processEvents()
    gate.set()
    qtbot.waitUntil(lambda: seen == [7], timeout=20000)
    widget.hide()


def test_a_deleted_widget_gets_nothing(qtbot: Any) -> None:
    owner = QWidget()
    qtbot.addWidget(owner)
    runner = QueryRunner(owner)
    widget = QWidget()
    gate = threading.Event()
    seen: list[int] = []
    runner.call(widget, lambda: gate.wait(30) and 1, seen.append)
    gone: list[bool] = []
    widget.destroyed.connect(lambda *_: gone.append(True))
    widget.deleteLater()
    qtbot.waitUntil(lambda: bool(gone), timeout=20000)
    assert runner.pending() == 0
    gate.set()
    qtbot.waitUntil(lambda: runner.dropped == 1, timeout=20000)
    assert seen == []


def test_a_coroutine_runs_on_the_loop_and_closing_the_runner_cancels_it(
        qtbot: Any, run: Callable[..., Any]) -> None:
    owner = QWidget()
    qtbot.addWidget(owner)
    runner = QueryRunner(owner)
    widget = QWidget()
    qtbot.addWidget(widget)
    seen: list[str] = []
    started = asyncio.Event()
    cancelled: list[bool] = []

    async def probe() -> str:
        return "ok"

    async def forever() -> str:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        return "never"

    async def scenario() -> None:
        runner.call_async(widget, probe, seen.append)
        await wait_until(lambda: seen == ["ok"], what="the answer")
        runner.call_async(widget, forever, seen.append)
        await started.wait()
        runner.close()
        await wait_until(lambda: bool(cancelled), what="the cancellation")
        ticket = runner.call(widget, lambda: 1, lambda _: seen.append("late"))
        assert ticket.cancelled.is_set()

    run(scenario())
    assert seen == ["ok"] and runner.pending() == 0


def test_garbage_is_collected_on_the_gui_thread_only(qtbot: Any, qapp: QApplication) -> None:
    """The cause of issue 10's crashes: a cycle holding Qt objects freed by a
    worker thread. With the collector, a worker's garbage waits for the GUI thread."""
    import gc
    import weakref

    from ayla_monitor.ui.collector import install

    collector = install(qapp)
    assert not gc.isenabled()
    freed_in: list[str] = []

    class Node:
        pass

    def make_garbage() -> None:
        node = Node()
        node.me = node  # type: ignore[attr-defined]  # a cycle: only the collector frees it
        weakref.finalize(node, lambda: freed_in.append(threading.current_thread().name))
        del node
        junk = [[i] for i in range(200_000)]  # far past the gen-0 threshold
        del junk

    worker = threading.Thread(target=make_garbage, name="worker")
    worker.start()
    worker.join(30)
    assert freed_in == []  # the worker never collected
    qtbot.waitUntil(lambda: bool(freed_in), timeout=20000)
    assert freed_in == [threading.main_thread().name] and collector.collections >= 1
