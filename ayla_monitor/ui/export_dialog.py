"""Exporting stored events from the window: CSV or JSON Lines, with a
progress bar and Cancel.

The rows stream from the database a chunk at a time on a worker thread
(:func:`export_to_file`, through ``ayla_monitor.store.export`` as the
``export`` command does), so an export of millions of events holds one chunk
in memory and the window keeps running; the file is written under a
temporary name and only renamed when complete, so a cancelled or failed
export leaves nothing half-written behind. Stream keys are never stored, so
no export can contain one.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
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

from ayla_monitor.dss.filter import EventFilter, iso_of
from ayla_monitor.store.database import Store
from ayla_monitor.store.errors import StoreError
from ayla_monitor.store.export import CHUNK, ExportCancelled, export_events, export_malformed
from ayla_monitor.store.history import count_history
from ayla_monitor.ui.formatting import format_count, one_line
from ayla_monitor.ui.queries import QueryRunner

__all__ = ["ExportDialog", "ExportCancelled", "export_to_file", "FORMATS", "describe_query", "query_from_criteria",
           "suggested_name"]

log = logging.getLogger(__name__)

#: format -> (label, file suffix).
FORMATS = {"csv": ("CSV (spreadsheets)", ".csv"), "jsonl": ("JSON Lines (one event per line)", ".jsonl")}


def export_to_file(
    store: Store,
    query: EventFilter,
    fmt: str,
    path: Path,
    *,
    progress: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
    every: int = CHUNK,
) -> int:
    """Write every event ``query`` finds to ``path``, in event-time order as
    History shows them (blocking: call it from a thread); returns how many.
    Events are read ``every`` at a time, and ``progress(count)`` is called
    after each read; setting ``cancel`` stops it with
    :class:`ExportCancelled`, and no file is left behind then (nor after an
    error)."""
    part = path.with_name(path.name + ".part")
    try:
        with open(part, "wb") as out:
            if query.malformed:
                written = export_malformed(store, query, fmt, out, progress=progress, cancel=cancel, chunk=every)
            else:
                written = export_events(store, query, fmt, out, by_time=True, progress=progress, cancel=cancel,
                                        chunk=every)
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    if progress is not None:
        progress(written)
    return written


def describe_query(query: EventFilter) -> str:
    """The query in words, for the dialog."""
    parts = []
    if query.malformed:
        parts.append("bad frames")
    if query.dsns:
        parts.append(f"device {one_line(' or '.join(query.dsns), 40)}")
    if query.event_types:
        parts.append(" or ".join(query.event_types) + " events")
    if query.property_names or query.property_like:
        parts.append(f"property {one_line(_property(query), 40)}")
    if query.text:
        parts.append(f"containing {one_line(query.text, 40)!r}")
    if query.since is not None:
        parts.append(f"from {iso_of(query.since)}")
    if query.until is not None:
        parts.append(f"until {iso_of(query.until)}")
    return ", ".join(parts) if parts else "all stored events"


def _name_part(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._")[:40]


def _property(query: EventFilter) -> str:
    return " or ".join(query.property_names) if query.property_names else query.property_like or ""


def suggested_name(query: EventFilter, fmt: str = "csv") -> str:
    """A file name that says what is in the file: device, type, time range."""
    parts = ["ayla-bad-frames" if query.malformed else "ayla-events"]
    if query.dsns:
        parts.append(_name_part("+".join(query.dsns)))
    if query.event_types:
        parts.append(_name_part("+".join(query.event_types)))
    if query.property_names or query.property_like:
        parts.append(_name_part(_property(query)))
    if query.since is not None:
        parts.append("from-" + iso_of(query.since)[:16].replace("T", "_").replace(":", ""))
    if query.until is not None:
        parts.append("to-" + iso_of(query.until)[:16].replace("T", "_").replace(":", ""))
    if len(parts) == 1:
        parts.append("all")
    return "-".join(p for p in parts if p) + FORMATS[fmt][1]


def query_from_criteria(criteria: EventFilter) -> EventFilter:
    """The live log's filter as an export of the database: the same filter,
    oldest first."""
    return dataclasses.replace(criteria, descending=False)


class ExportDialog(QDialog):
    """Choose a format and a file, watch the progress, cancel if it takes too long."""

    #: the export ended: (events written, path) or (-1, error or "cancelled").
    finished_export = Signal(int, str)

    def __init__(self, store: Store, query: EventFilter, parent: QWidget | None = None, *,
                 directory: Path | None = None, runner: QueryRunner | None = None) -> None:
        super().__init__(parent)
        #: runs the count and the export off the UI thread; answers only while this is open.
        self.runner = runner if runner is not None else QueryRunner(self)
        #: the path the user agreed to replace (asked once per path).
        self._replace_ok: Path | None = None
        self.setWindowTitle("Export events")
        self.setObjectName("export-dialog")
        self.setMinimumWidth(560)
        self.store = store
        self.query = query
        self.written = 0
        self.total: int | None = None
        self.result_path: Path | None = None
        self.error: str | None = None
        self.running = False
        self._cancel = threading.Event()
        self._progress_count = 0
        base = directory or Path.home()

        what = QLabel(f"Export {describe_query(query)}.", self)
        what.setTextFormat(Qt.TextFormat.PlainText)
        what.setWordWrap(True)
        self.format_box = QComboBox(self)
        self.format_box.setObjectName("export-format")
        for key, (label, _suffix) in FORMATS.items():
            self.format_box.addItem(label, key)
        self.path_edit = QLineEdit(str(base / suggested_name(query, "csv")), self)
        self.path_edit.setObjectName("export-path")
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Format", self.format_box)
        form.addRow("File", path_row)
        self.progress = QProgressBar(self)
        self.progress.setObjectName("export-progress")
        self.progress.setRange(0, 0)
        self.progress.setVisible(False)
        self.status = QLabel(self)
        self.status.setObjectName("export-status")
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        note = QLabel("Stream keys are never stored, so an export never contains one.", self)
        note.setTextFormat(Qt.TextFormat.PlainText)
        note.setEnabled(False)
        self.buttons = QDialogButtonBox(self)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.open_button = self.buttons.addButton("Open file", QDialogButtonBox.ButtonRole.ActionRole)
        self.open_button.setVisible(False)
        self.export_button.clicked.connect(lambda: self.start())
        self.cancel_button.clicked.connect(self._cancel_clicked)
        self.open_button.clicked.connect(self._open_file)
        self.format_box.currentIndexChanged.connect(self._format_changed)
        self.path_edit.textChanged.connect(self._path_changed)

        layout = QVBoxLayout(self)
        layout.addWidget(what)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(note)
        layout.addWidget(self.buttons)

        self.timer = QTimer(self)
        self.timer.setObjectName("export-progress-timer")
        self.timer.setInterval(100)
        self.timer.timeout.connect(self._show_progress)

    @property
    def fmt(self) -> str:
        return str(self.format_box.currentData())

    def _format_changed(self) -> None:
        path = Path(self.path_edit.text().strip() or "ayla-events")
        self.path_edit.setText(str(path.with_suffix(FORMATS[self.fmt][1])))

    def _path_changed(self) -> None:
        if self._replace_ok is not None and not self.running:
            self._replace_ok = None
            self.export_button.setText("Export")
            self.status.setText("")

    def _browse(self) -> None:
        label, suffix = FORMATS[self.fmt]
        path, _ = QFileDialog.getSaveFileName(self, "Export events", self.path_edit.text(),
                                              f"{label} (*{suffix})")
        if path:
            self.path_edit.setText(path)

    def start(self) -> None:
        """Count, then write on a worker thread while the bar moves. A file
        that exists is only replaced after a second click on "Replace"."""
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
        if path.exists() and self._replace_ok != path:
            self._replace_ok = path
            self.status.setText(f"{path.name} exists already. Click Replace to overwrite it, "
                                "or choose another file.")
            self.export_button.setText("Replace")
            return
        self.running = True
        self._cancel.clear()
        self.result_path = None
        self.error = None
        self._progress_count = 0
        self.export_button.setEnabled(False)
        self.open_button.setVisible(False)
        self.format_box.setEnabled(False)
        self.path_edit.setEnabled(False)
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.status.setText("Counting events…")
        self.timer.start()
        store, query, fmt = self.store, self.query, self.fmt
        cancel = self._cancel

        def counted(total: int) -> None:
            self.total = total
            if total:
                self.progress.setRange(0, total)
            self.status.setText(f"Writing {format_count(total or 0)} events to {path.name}…")
            self.runner.call(self, lambda: export_to_file(store, query, fmt, path, progress=self._set_count,
                                                          cancel=cancel),
                             lambda written: self._written(written, path), self._export_failed)

        self.runner.call(self, lambda: count_history(store, query), counted, self._export_failed)

    def _written(self, written: int, path: Path) -> None:
        self.written = written
        self.result_path = path
        self.progress.setRange(0, max(1, written))
        self.progress.setValue(max(1, written))
        self.status.setText(f"Wrote {format_count(written)} events to {path}.")
        self.open_button.setVisible(True)
        self._ended()
        self.finished_export.emit(written, str(path))

    def _export_failed(self, exc: BaseException) -> None:
        if isinstance(exc, ExportCancelled):
            self.status.setText("Cancelled; no file was written.")
            self.error = "cancelled"
        elif isinstance(exc, (StoreError, OSError)):
            self.error = str(exc)
            self.status.setText(f"The export failed: {exc}")
        else:
            log.error("The export failed", exc_info=exc)
            self.error = str(exc) or type(exc).__name__
            self.status.setText(f"The export failed unexpectedly: {self.error}")
        self._ended()
        self.finished_export.emit(-1, self.error)

    def _ended(self) -> None:
        self.running = False
        self._replace_ok = None
        self.timer.stop()
        self.export_button.setText("Export")
        self.export_button.setEnabled(True)
        self.format_box.setEnabled(True)
        self.path_edit.setEnabled(True)
        self.cancel_button.setText("Close")

    def _set_count(self, count: int) -> None:
        # Called on the worker thread: only store the number; the timer shows it.
        self._progress_count = count

    def _show_progress(self) -> None:
        count = self._progress_count
        if self.total:
            self.progress.setValue(min(count, self.total))
            self.status.setText(f"Wrote {format_count(count)} of {format_count(self.total)} events…")

    def cancel(self) -> None:
        """Stop a running export (its partial file is removed)."""
        self._cancel.set()

    def _cancel_clicked(self) -> None:
        if self.running:
            self.cancel()
            self.status.setText("Cancelling…")
        else:
            self.reject()

    def _open_file(self) -> None:
        if self.result_path is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.result_path)))

    def reject(self) -> None:
        if self.running:
            self.cancel()
            return
        super().reject()

    def done(self, result: int) -> None:
        self._cancel.set()  # a writer thread still running stops and removes its partial file
        self.runner.cancel(self)
        super().done(result)
