"""The crash reporter: an exception nobody caught in a slot shows a dialog
naming the log file, the traceback lands in that file, and the app goes on."""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QMainWindow, QPushButton

from ayla_monitor.ui import crash


class Boom(QObject):
    fired = Signal()


@pytest.fixture
def window(qtbot) -> QMainWindow:
    window = QMainWindow()
    window.setCentralWidget(QPushButton("press"))
    qtbot.addWidget(window)
    window.show()
    return window


@pytest.fixture
def reporter(window: QMainWindow, tmp_path: Path) -> Iterator[crash.CrashReporter]:
    before = sys.excepthook
    reporter = crash.install(window, log_dir=tmp_path / "logs", environ={})
    try:
        yield reporter
    finally:
        if reporter.dialog is not None:
            reporter.dialog.close()
        reporter.uninstall()
    assert sys.excepthook is before


def test_an_exception_in_a_slot_shows_the_dialog_and_logs_the_traceback(
        qtbot, reporter: crash.CrashReporter, tmp_path: Path) -> None:
    def slot() -> None:
        raise ValueError("the slot broke")

    boom = Boom()
    boom.fired.connect(slot)
    boom.fired.emit()

    qtbot.waitUntil(lambda: reporter.dialog is not None and reporter.dialog.isVisible())
    dialog = reporter.dialog
    assert dialog is not None
    log_file = tmp_path / "logs" / crash.LOG_FILE_NAME
    assert reporter.log_file == log_file
    assert "ValueError" in dialog.text()
    assert str(log_file) in dialog.informativeText()
    text = log_file.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text
    assert 'raise ValueError("the slot broke")' in text
    assert "ValueError: the slot broke" in text


def test_the_app_keeps_running_and_more_errors_reuse_the_dialog(
        qtbot, reporter: crash.CrashReporter) -> None:
    def slot() -> None:
        raise RuntimeError("again")

    boom = Boom()
    boom.fired.connect(slot)
    boom.fired.emit()
    boom.fired.emit()
    first = reporter.dialog
    assert first is not None and first.isVisible()
    assert reporter.errors == 2
    assert "2 errors so far" in first.text()
    # the event loop still runs: a timer fires after the errors
    ran: list[bool] = []
    QTimer.singleShot(0, lambda: ran.append(True))
    qtbot.waitUntil(lambda: bool(ran))
    first.close()
    boom.fired.emit()
    assert reporter.dialog is not None and reporter.dialog.isVisible()
    assert reporter.errors == 1


def test_warnings_go_to_the_log_file_too(reporter: crash.CrashReporter) -> None:
    logging.getLogger("ayla_monitor.test").warning("disk almost full")
    reporter.handler.flush()
    assert "disk almost full" in reporter.log_file.read_text(encoding="utf-8")


def test_an_unwritable_log_folder_falls_back_to_the_temporary_folder(
        qtbot, window: QMainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setattr(crash.tempfile, "gettempdir", lambda: str(tmp_path / "tmp"))
    reporter = crash.install(window, log_dir=blocker / "logs", environ={})
    try:
        assert reporter.log_file == tmp_path / "tmp" / "ayla-monitor-logs" / crash.LOG_FILE_NAME
    finally:
        reporter.uninstall()


def test_startup_report_prints_when_the_first_window_is_exposed(qtbot, tmp_path: Path) -> None:
    out = io.StringIO()
    reporter = crash.install(None, log_dir=tmp_path, environ={})
    try:
        reporter.report_startup(out)
        window = QMainWindow()
        qtbot.addWidget(window)
        window.show()
        qtbot.waitUntil(lambda: crash.STARTUP_MARKER in out.getvalue())
        seconds = float(out.getvalue().split(crash.STARTUP_MARKER)[1].split()[0])
        assert 0 < seconds < 3600
        window.hide()
        window.show()
        assert out.getvalue().count(crash.STARTUP_MARKER) == 1
    finally:
        reporter.uninstall()


def test_the_default_log_folder_is_the_users_log_folder() -> None:
    assert crash.default_log_dir().parts[-2:] == ("ayla-monitor", "log")
