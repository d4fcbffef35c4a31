"""File -> Fleet report…: ``ayla-monitor report`` from the window.

The same code as the command (:func:`~ayla_monitor.headless.report.build_report`
and :func:`~ayla_monitor.headless.report.render`) runs on the window's
query runner, off the UI thread; the file is written under a temporary
name and renamed when complete, and then opened (the HTML in the browser)
if the user leaves "Open when done" on. Closing the dialog stops the report.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ayla_monitor.headless.report import ReportCancelled, build_report, render
from ayla_monitor.store.database import Store
from ayla_monitor.store.errors import StoreError
from ayla_monitor.ui.formatting import format_count
from ayla_monitor.ui.queries import QueryRunner

__all__ = ["ReportDialog", "FORMATS", "RANGES", "write_report"]

log = logging.getLogger(__name__)

#: format -> (label, file suffix)
FORMATS = {"html": ("HTML page with charts (to send)", ".html"), "json": ("JSON (for tools)", ".json"),
           "text": ("Plain text", ".txt")}
#: label -> seconds back from now (None: everything stored)
RANGES: dict[str, float | None] = {"Everything stored": None, "Last hour": 3600.0, "Last 24 hours": 86400.0,
                                   "Last 7 days": 7 * 86400.0}


def write_report(store: Store, path: Path, fmt: str, since: float | None, *,
                 progress: list[int] | None = None, cancel: threading.Event | None = None) -> int:
    """Build the report of events from ``since`` (epoch s, ``None``: all) and
    write it to ``path`` (blocking: call it from a thread); returns the events
    read. ``progress[0]`` follows the events read; ``cancel`` stops it with
    :class:`ReportCancelled`, leaving no file."""

    def seen(count: int) -> None:
        if progress is not None:
            progress[0] = count

    report = build_report(store, since, None, progress=seen,
                          cancelled=(cancel.is_set if cancel is not None else None))
    part = path.with_name(path.name + ".part")
    try:
        part.write_text(render(report, fmt) + "\n", encoding="utf-8")
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return report.events


class ReportDialog(QDialog):
    """Choose a range, a format and a file; the report runs with a moving bar."""

    #: the report ended: (events read, path) or (-1, the error or "cancelled")
    finished_report = Signal(int, str)

    def __init__(self, store: Store, parent: QWidget | None = None, *, directory: Path | None = None,
                 runner: QueryRunner | None = None) -> None:
        super().__init__(parent)
        self.runner = runner if runner is not None else QueryRunner(self)
        self.setWindowTitle("Fleet report")
        self.setObjectName("report-dialog")
        self.setMinimumWidth(560)
        self.store = store
        self.running = False
        self.result_path: Path | None = None
        self.events = 0
        self.error: str | None = None
        self._cancel = threading.Event()
        self._progress = [0]
        base = directory or Path.home()

        intro = QLabel("What is wrong with the fleet, from the database: flapping devices, devices gone quiet "
                       "against their own rhythm, failed and missing acks, latency, clock skew, rate spikes "
                       "and gaps. The HTML page is one file with its charts: send it as it is.", self)
        intro.setTextFormat(Qt.TextFormat.PlainText)
        intro.setWordWrap(True)
        self.range_box = QComboBox(self)
        self.range_box.setObjectName("report-range")
        for label in RANGES:
            self.range_box.addItem(label)
        self.format_box = QComboBox(self)
        self.format_box.setObjectName("report-format")
        for key, (label, _suffix) in FORMATS.items():
            self.format_box.addItem(label, key)
        self.path_edit = QLineEdit(str(base / f"ayla-fleet-report-{time.strftime('%Y-%m-%d')}.html"), self)
        self.path_edit.setObjectName("report-path")
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        self.open_when_done = QCheckBox("Open when done", self)
        self.open_when_done.setChecked(True)
        form = QFormLayout()
        form.addRow("Events", self.range_box)
        form.addRow("Format", self.format_box)
        form.addRow("File", row)
        form.addRow("", self.open_when_done)
        self.progress = QProgressBar(self)
        self.progress.setObjectName("report-progress")
        self.progress.setRange(0, 0)
        self.progress.setVisible(False)
        self.status = QLabel(self)
        self.status.setObjectName("report-status")
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        self.buttons = QDialogButtonBox(self)
        self.run_button = self.buttons.addButton("Make report", QDialogButtonBox.ButtonRole.AcceptRole)
        self.open_button = self.buttons.addButton("Open file", QDialogButtonBox.ButtonRole.ActionRole)
        self.open_button.setVisible(False)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.run_button.clicked.connect(lambda: self.start())
        self.open_button.clicked.connect(self._open_file)
        self.cancel_button.clicked.connect(self._cancel_clicked)
        self.format_box.currentIndexChanged.connect(self._format_changed)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.timer = QTimer(self)
        self.timer.setObjectName("report-progress-timer")
        self.timer.setInterval(200)
        self.timer.timeout.connect(self._show_progress)

    @property
    def fmt(self) -> str:
        return str(self.format_box.currentData())

    def _format_changed(self) -> None:
        path = Path(self.path_edit.text().strip() or "ayla-fleet-report")
        self.path_edit.setText(str(path.with_suffix(FORMATS[self.fmt][1])))

    def _browse(self) -> None:
        label, suffix = FORMATS[self.fmt]
        path, _ = QFileDialog.getSaveFileName(self, "Save the fleet report", self.path_edit.text(),
                                              f"{label} (*{suffix})")
        if path:
            self.path_edit.setText(path)

    def start(self) -> None:
        """Run the report on a worker thread."""
        if self.running:
            return
        text = self.path_edit.text().strip()
        if not text:
            self.status.setText("Choose a file to write.")
            return
        path = Path(text).expanduser()
        if not path.parent.is_dir():
            self.status.setText(f"The folder {path.parent} does not exist.")
            return
        back = RANGES[self.range_box.currentText()]
        since = None if back is None else time.time() - back
        self.running = True
        self.error = None
        self.result_path = None
        self._cancel.clear()
        self._progress[0] = 0
        for widget in (self.run_button, self.range_box, self.format_box, self.path_edit):
            widget.setEnabled(False)
        self.open_button.setVisible(False)
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.status.setText("Reading the stored events…")
        self.timer.start()
        store, fmt, cancel, progress = self.store, self.fmt, self._cancel, self._progress
        self.runner.call(self, lambda: write_report(store, path, fmt, since, progress=progress, cancel=cancel),
                         lambda events: self._written(events, path), self._failed)

    def _show_progress(self) -> None:
        self.status.setText(f"Read {format_count(self._progress[0])} events…")

    def _written(self, events: int, path: Path) -> None:
        self.events = events
        self.result_path = path
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.status.setText(f"Wrote the report of {format_count(events)} events to {path}.")
        self.open_button.setVisible(True)
        self._ended()
        if self.open_when_done.isChecked():
            self._open_file()
        self.finished_report.emit(events, str(path))

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, ReportCancelled):
            self.error = "cancelled"
            self.status.setText("Cancelled; no file was written.")
        elif isinstance(exc, (StoreError, OSError)):
            self.error = str(exc)
            self.status.setText(f"The report failed: {exc}")
        else:
            log.error("The fleet report failed", exc_info=exc)
            self.error = str(exc) or type(exc).__name__
            self.status.setText(f"The report failed unexpectedly: {self.error}")
        self.progress.setVisible(False)
        self._ended()
        self.finished_report.emit(-1, self.error)

    def _ended(self) -> None:
        self.running = False
        self.timer.stop()
        for widget in (self.run_button, self.range_box, self.format_box, self.path_edit):
            widget.setEnabled(True)
        self.cancel_button.setText("Close")

    def _open_file(self) -> None:
        if self.result_path is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.result_path)))

    def _cancel_clicked(self) -> None:
        if self.running:
            self._cancel.set()
            self.status.setText("Cancelling…")
        else:
            self.reject()

    def reject(self) -> None:
        if self.running:
            self._cancel.set()
            return
        super().reject()

    def done(self, result: int) -> None:
        self._cancel.set()  # a report still running stops and leaves no file
        self.runner.cancel(self)
        super().done(result)
