"""The details pane of the log and of History: one event as received, with
a bounded cost whatever the event holds.

Laying out text is what froze the window (issue 10: a 1,000,000-character
value took Qt more than 2.5 minutes): ``QPlainTextEdit`` lays out a
paragraph whole, and its cost grows faster than the paragraph (measured
here, offscreen: one line of 30,000 characters 149 ms, of 64,000 2 s, of
200,000 11 s), while it only lays out the paragraphs in view (the same
1,000,000 characters as lines of 1,000: 16-29 ms to show, 8-11 ms to
scroll to the end). So the pane shows the text cut into lines of at most
:data:`LINE_CHARS` (wrapping makes the cut invisible), a row's preview
first, and **Show all** reads the whole event from the database on a worker
thread (:class:`~ayla_monitor.ui.queries.QueryRunner`), formats it there,
and shows at most :data:`SHOW_ALL_CHARS`; **Save event…** writes the whole
event to a file, also off the UI thread.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ayla_monitor.ui.formatting import format_count
from ayla_monitor.ui.queries import QueryRunner

if TYPE_CHECKING:
    from ayla_monitor.ui.event_log import LogRow

__all__ = ["EventDetails", "details_text", "pretty_json", "whole_event_reader", "LINE_CHARS", "SHOW_ALL_CHARS", "break_lines", "bounded_text", "WholeEvent"]

log = logging.getLogger(__name__)

#: Longest line the pane lays out (see the module docstring for the figures).
LINE_CHARS = 1_000
#: Most characters "Show all" lays out: 1,000,000 in lines of 1,000 took
#: 16-29 ms; past it, "Save event…" has the rest.
SHOW_ALL_CHARS = 2_000_000

#: Reads the whole event of a row (blocking: runs on a worker thread): its
#: details text, or ``None`` when the database does not have it (yet).
WholeEvent = Callable[["LogRow"], "str | None"]


def pretty_json(raw: str) -> str:
    """``raw`` indented, or as it is when it is not JSON."""
    try:
        return json.dumps(json.loads(raw), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):
        return raw


def details_text(raw: str, *, malformed: bool, reason: str = "", note: str | None = None,
                 pretty: bool = True) -> str:
    """An event as the details pane and "Save event…" show it."""
    if malformed:
        return f"Bad frame: {reason}\n\nRaw text as received:\n{raw}"
    head = f"Note: {note}\n\n" if note else ""
    return head + (pretty_json(raw) if pretty else raw)


def break_lines(text: str, width: int = LINE_CHARS) -> str:
    """``text`` with every line longer than ``width`` cut into lines of ``width``."""
    if len(text) <= width:
        return text
    lines = text.split("\n")
    if all(len(line) <= width for line in lines):
        return text
    out: list[str] = []
    for line in lines:
        if len(line) <= width:
            out.append(line)
        else:
            out.extend(line[i:i + width] for i in range(0, len(line), width))
    return "\n".join(out)


def bounded_text(text: str, limit: int = SHOW_ALL_CHARS) -> tuple[str, int]:
    """What the pane lays out of ``text``: at most ``limit`` characters, lines
    cut; and how many characters were left out."""
    rest = max(0, len(text) - limit)
    return break_lines(text[:limit] if rest else text), rest


class EventDetails(QWidget):
    """Title, preview/whole state, Show all, Save event…, Copy, and the text."""

    #: Show all or Save event… finished (tests wait on it): the state's text.
    finished = Signal(str)

    def __init__(self, name: str, parent: QWidget | None = None, *, placeholder: str = "") -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.runner: QueryRunner | None = None
        #: reads a row's whole event; ``None``: only what the row holds is known.
        self.whole_event: WholeEvent | None = None
        self.row: LogRow | None = None
        #: the text shown, as it is (without the line cuts): what Copy copies.
        self.text = ""
        self.showing_all = False
        self.loading = False
        self.saved_to: Path | None = None

        title = QLabel("Details", self)
        bold = title.font()
        bold.setBold(True)
        title.setFont(bold)
        title.setTextFormat(Qt.TextFormat.PlainText)
        self.state_label = QLabel(self)
        self.state_label.setObjectName(f"{name}-state")
        self.state_label.setTextFormat(Qt.TextFormat.PlainText)
        self.state_label.setWordWrap(True)
        self.show_all_button = self._button(f"{name}-show-all", "Show all",
                                            "Read the whole event from the database")
        self.save_button = self._button(f"{name}-save", "Save event…", "Write the whole event to a file")
        self.copy_button = self._button(f"{name}-copy", "Copy JSON", "Copy the text shown")
        self.show_all_button.clicked.connect(self.show_all)
        self.save_button.clicked.connect(self._save_clicked)
        self.copy_button.clicked.connect(self.copy)

        self.view = QPlainTextEdit(self)
        self.view.setObjectName(f"{name}-text")
        self.view.setReadOnly(True)
        self.view.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.view.setPlaceholderText(placeholder)
        self.view.document().setUndoRedoEnabled(False)

        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(title)
        head.addStretch(1)
        head.addWidget(self.show_all_button)
        head.addWidget(self.save_button)
        head.addWidget(self.copy_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(head)
        layout.addWidget(self.state_label)
        layout.addWidget(self.view, 1)
        self.show_row(None)

    def _button(self, name: str, text: str, tip: str) -> QToolButton:
        button = QToolButton(self)
        button.setObjectName(name)
        button.setText(text)
        button.setToolTip(tip)
        return button

    # -- what is shown -------------------------------------------------------------

    def show_row(self, row: LogRow | None) -> None:
        """Show ``row``'s preview (what the row holds: bounded)."""
        if self.runner is not None:
            self.runner.cancel(self)  # an answer for the previous row is no longer wanted
        self.row = row
        self.showing_all = False
        self.loading = False
        if row is None:
            self._set_text("", 0)
            self.state_label.setVisible(False)
        else:
            self._set_text(row.details(), 0)
            if row.truncated:
                self._state(f"Preview: the first {format_count(len(row.raw))} of "
                            f"{format_count(row.raw_length or 0)} characters as received.")
            else:
                self.state_label.setVisible(False)
        self._update_buttons()

    def _set_text(self, text: str, rest: int) -> None:
        self.text = text
        shown, _ = bounded_text(text, SHOW_ALL_CHARS)
        self.view.setPlainText(shown)

    def _state(self, text: str) -> None:
        self.state_label.setText(text)
        self.state_label.setVisible(True)

    def _update_buttons(self) -> None:
        row = self.row
        can_read = row is not None and row.truncated and self.whole_event is not None and self.runner is not None
        self.show_all_button.setEnabled(bool(can_read) and not self.showing_all and not self.loading)
        self.show_all_button.setVisible(row is None or row.truncated)
        self.save_button.setEnabled(row is not None and (not row.truncated or bool(can_read)))
        self.copy_button.setEnabled(row is not None)

    # -- Show all --------------------------------------------------------------------

    def show_all(self) -> None:
        """Read the whole event off the UI thread; show it (bounded) when it comes."""
        row, read, runner = self.row, self.whole_event, self.runner
        if row is None or not row.truncated or read is None or runner is None or self.loading:
            return
        self.loading = True
        self._state("Reading the whole event…")
        self._update_buttons()

        def work() -> tuple[str, str, int] | None:
            text = read(row)
            if text is None:
                return None
            shown, rest = bounded_text(text, SHOW_ALL_CHARS)
            return text, shown, rest

        runner.call(self, work, lambda answer: self._whole_arrived(row, answer),
                    lambda exc: self._failed(row, f"The event cannot be read: {exc}"))

    def _whole_arrived(self, row: LogRow, answer: tuple[str, str, int] | None) -> None:
        if row is not self.row:
            return
        self.loading = False
        if answer is None:
            self._state("The whole event is not in the database (yet): try again in a moment.")
            self._update_buttons()
            self.finished.emit(self.state_label.text())
            return
        text, shown, rest = answer
        self.text = text
        self.view.setPlainText(shown)
        self.showing_all = True
        if rest:
            self._state(f"The first {format_count(SHOW_ALL_CHARS)} of {format_count(len(text))} characters; "
                        "Save event… writes all of it.")
        else:
            self._state(f"The whole event: {format_count(len(text))} characters.")
        self._update_buttons()
        self.finished.emit(self.state_label.text())

    def _failed(self, row: LogRow, message: str) -> None:
        if row is not self.row:
            return
        self.loading = False
        self._state(message)
        self._update_buttons()
        self.finished.emit(message)

    # -- Save event… -----------------------------------------------------------------

    def _save_clicked(self) -> None:
        row = self.row
        if row is None:
            return
        suggested = f"event-{row.dsn or 'frame'}-{row.seq if row.seq is not None else int(row.received_at)}.json"
        path, _ = QFileDialog.getSaveFileName(self, "Save event", str(Path.home() / suggested),
                                              "JSON (*.json);;All files (*)")
        if path:
            self.save_to(Path(path))

    def save_to(self, path: Path) -> None:
        """Write the whole event (read off the UI thread when the row holds a preview)."""
        row, read, runner = self.row, self.whole_event, self.runner
        if row is None:
            return
        whole = self.text if (self.showing_all or not row.truncated) else None

        def work() -> int:
            text = whole
            if text is None:
                text = read(row) if read is not None else None
                if text is None:
                    raise LookupError("the whole event is not in the database (yet)")
            part = path.with_name(path.name + ".part")
            part.write_text(text, encoding="utf-8")
            part.replace(path)
            return len(text)

        def done(count: int) -> None:
            self.saved_to = path
            self._state(f"Saved {format_count(count)} characters to {path}.")
            self.finished.emit(self.state_label.text())

        self._state(f"Saving to {path.name}…")
        if runner is None:  # no worker: only what is in memory, which is small
            if whole is None:
                self._failed(row, "Saving failed: the whole event cannot be read here.")
                return
            try:
                done(work())
            except OSError as exc:
                self._failed(row, f"Saving failed: {exc}")
            return
        runner.call(self, work, done, lambda exc: self._failed(row, f"Saving failed: {exc}"))

    def copy(self) -> None:
        if self.row is not None:
            QGuiApplication.clipboard().setText(self.text if self.showing_all else self.row.pretty_json())

    def set_source(self, runner: QueryRunner | None, whole_event: WholeEvent | None) -> None:
        self.runner = runner
        self.whole_event = whole_event
        self._update_buttons()

    def placeholder(self) -> str:
        return self.view.placeholderText()


def whole_event_reader(store: Any) -> WholeEvent:
    """Reads a row's whole event from ``store`` (a :class:`~ayla_monitor.store.database.Store`)."""
    from ayla_monitor.store.history import read_event, read_malformed

    def read(row: LogRow) -> str | None:
        if row.malformed:
            bad = read_malformed(store, row.stream_id, row.received_at)
            return None if bad is None else details_text(bad.raw, malformed=True, reason=bad.reason)
        if row.event_id is not None:
            event = read_event(store, event_id=row.event_id)
        elif row.stream_id is not None and row.seq is not None:
            event = read_event(store, stream_id=row.stream_id, seq=row.seq, epoch=row.epoch)
        else:
            return None
        if event is None:
            return None
        return details_text(event.raw or "", malformed=False, note=event.note)

    return read
