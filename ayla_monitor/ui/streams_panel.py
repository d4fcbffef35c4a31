"""The streams panel: one row per stream, its state and counters, and the
actions on it (connect, disconnect, edit, remove, replay from seq…).

:class:`StreamsModel` is a thin table over the latest
:class:`~ayla_monitor.core.status.StreamStatus` of each stream; the panel asks
for actions by signal and never touches the engine itself.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QColor, QRegularExpressionValidator
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QTableView,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from ayla_monitor.core.status import StreamState, StreamStatus
from ayla_monitor.ui.formatting import format_count, format_event_time, tooltip_text

__all__ = ["Column", "Role", "StreamsModel", "StreamsPanel", "ReplayDialog", "STATE_COLORS"]

_Index = QModelIndex | QPersistentModelIndex


class Column(enum.IntEnum):
    NAME = 0
    TYPE = 1
    STATE = 2
    EVENTS = 3
    HEARTBEATS = 4
    LAST_SEQ = 5
    LAST_EVENT = 6
    BAD_FRAMES = 7


HEADERS = {
    Column.NAME: "Name",
    Column.TYPE: "Subscription",
    Column.STATE: "State",
    Column.EVENTS: "Events",
    Column.HEARTBEATS: "Heartbeats",
    Column.LAST_SEQ: "Last seq",
    Column.LAST_EVENT: "Last event (UTC)",
    Column.BAD_FRAMES: "Bad frames",
}

HEADER_TIPS = {
    Column.LAST_EVENT: "The event time of the newest event, as the stream sent it",
    Column.BAD_FRAMES: "Frames that were not valid DSS frames (kept in the event log)",
}


#: Hidden at first so that the panel fits a narrow dock; the header's context
#: menu shows them again, and the name's tooltip tells them all.
COMPACT_HIDDEN = (Column.TYPE, Column.HEARTBEATS, Column.LAST_SEQ, Column.LAST_EVENT, Column.BAD_FRAMES)


class Role(enum.IntEnum):
    STATUS = Qt.ItemDataRole.UserRole + 1  # the StreamStatus of the row
    STREAM_ID = Qt.ItemDataRole.UserRole + 2
    STATE = Qt.ItemDataRole.UserRole + 3  # its StreamState


#: state -> colour of the state cell's dot (readable on light and dark).
STATE_COLORS = {
    StreamState.CONNECTING: QColor("#f9a825"),
    StreamState.LIVE: QColor("#43a047"),
    StreamState.RECONNECTING: QColor("#fb8c00"),
    StreamState.STOPPED: QColor("#9e9e9e"),
}
_FAILED = QColor("#e53935")  # stopped with a reason (key rejected, …)

_NUMERIC = {Column.EVENTS, Column.HEARTBEATS, Column.LAST_SEQ, Column.BAD_FRAMES}


class StreamsModel(QAbstractTableModel):
    """One row per stream, in the order streams were added. ``clock`` gives
    epoch seconds for the countdown in "reconnecting in N s"."""

    def __init__(self, parent: QWidget | None = None, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(parent)
        self._rows: list[StreamStatus] = []
        self._clock = clock

    # -- updates -------------------------------------------------------------------

    def update_status(self, status: StreamStatus) -> None:
        """Add the stream's row, or refresh it."""
        row = self.row_of(status.stream_id)
        if row is None:
            end = len(self._rows)
            self.beginInsertRows(QModelIndex(), end, end)
            self._rows.append(status)
            self.endInsertRows()
        else:
            self._rows[row] = status
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(Column) - 1))

    def remove(self, stream_id: int) -> None:
        row = self.row_of(stream_id)
        if row is not None:
            self.beginRemoveRows(QModelIndex(), row, row)
            del self._rows[row]
            self.endRemoveRows()

    def tick(self) -> None:
        """Repaint the state cells that count down (called every second)."""
        for row, status in enumerate(self._rows):
            if status.state is StreamState.RECONNECTING:
                index = self.index(row, Column.STATE)
                self.dataChanged.emit(index, index, [Qt.ItemDataRole.DisplayRole])

    # -- lookups ----------------------------------------------------------------------

    def row_of(self, stream_id: int) -> int | None:
        return next((i for i, s in enumerate(self._rows) if s.stream_id == stream_id), None)

    def status(self, stream_id: int) -> StreamStatus | None:
        row = self.row_of(stream_id)
        return None if row is None else self._rows[row]

    def statuses(self) -> list[StreamStatus]:
        return list(self._rows)

    # -- Qt model ----------------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(Column):
            return None
        column = Column(section)
        if role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[column]
        if role == Qt.ItemDataRole.ToolTipRole and column in HEADER_TIPS:
            return HEADER_TIPS[column]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows) or index.column() >= len(Column):
            return None
        status = self._rows[index.row()]
        column = Column(index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(status, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(status, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in _NUMERIC:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.DecorationRole and column == Column.STATE:
            failed = status.state is StreamState.STOPPED and bool(status.detail)
            return _FAILED if failed else STATE_COLORS[status.state]
        if role == Qt.ItemDataRole.ForegroundRole and column == Column.BAD_FRAMES and status.malformed:
            return _FAILED
        if role == Role.STATUS:
            return status
        if role == Role.STREAM_ID:
            return status.stream_id
        if role == Role.STATE:
            return status.state
        return None

    def _display(self, status: StreamStatus, column: Column) -> str:
        match column:
            case Column.NAME:
                return status.name
            case Column.TYPE:
                return status.subscription_type or "any"
            case Column.STATE:
                return status.describe(self._clock())
            case Column.EVENTS:
                return format_count(status.events)
            case Column.HEARTBEATS:
                return format_count(status.heartbeats)
            case Column.LAST_SEQ:
                return "" if status.last_seq is None else str(status.last_seq)
            case Column.LAST_EVENT:
                return format_event_time(status.last_event_time)
            case Column.BAD_FRAMES:
                return format_count(status.malformed)

    def _tooltip(self, status: StreamStatus, column: Column) -> str | None:
        if column == Column.NAME:
            lines = [status.name, status.display_url, f"subscription: {status.subscription_type or 'any'}"]
            lines += [f"{HEADERS[c].lower()}: {self._display(status, c) or '—'}" for c in Column if c > Column.TYPE]
            return tooltip_text("\n".join(lines))
        if column == Column.STATE:
            text = status.describe(self._clock())
            if status.reconnects:
                text += f"\nreconnected {status.reconnects} times"
            return tooltip_text(text)
        if column == Column.LAST_EVENT and status.last_event_time:
            return tooltip_text(status.last_event_time)
        return None


class ReplayDialog(QDialog):
    """Asks for the first (and optionally last) seq to replay."""

    def __init__(self, stream_name: str, last_seq: int | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Replay from seq")
        digits = QRegularExpressionValidator(r"\d{1,18}", self)
        intro = QLabel(
            f"Reconnect {stream_name} and ask the server to replay its buffer from this seq."
            + (f" The newest seq received is {last_seq}." if last_seq is not None else "")
        )
        intro.setTextFormat(Qt.TextFormat.PlainText)
        intro.setWordWrap(True)
        self.first_edit = QLineEdit("" if last_seq is None else str(last_seq))
        self.first_edit.setValidator(digits)
        self.first_edit.setPlaceholderText("first seq")
        self.last_edit = QLineEdit()
        self.last_edit.setValidator(digits)
        self.last_edit.setPlaceholderText("optional: stop after this seq")
        self.problem_label = QLabel()
        self.problem_label.setTextFormat(Qt.TextFormat.PlainText)
        self.problem_label.setStyleSheet("color: #c62828;")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("&First seq:", self.first_edit)
        form.addRow("&Last seq:", self.last_edit)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.problem_label)
        layout.addWidget(self.buttons)
        self.first_edit.textChanged.connect(self._revalidate)
        self.last_edit.textChanged.connect(self._revalidate)
        self._revalidate()

    def seq_range(self) -> tuple[int, int] | None:
        """(first, last or -1), or None while the input is not usable."""
        first, last = self.first_edit.text().strip(), self.last_edit.text().strip()
        if not first:
            return None
        start, end = int(first), int(last) if last else -1
        if end != -1 and end < start:
            return None
        return start, end

    def _revalidate(self) -> None:
        first, last = self.first_edit.text().strip(), self.last_edit.text().strip()
        problem = ""
        if not first:
            problem = "Enter the first seq to replay from."
        elif last and int(last) < int(first):
            problem = f"The last seq {last} comes before the first seq {first}."
        self.problem_label.setText(problem)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not problem)


class StreamsPanel(QWidget):
    """The streams table with its toolbar and context menu."""

    add_requested = Signal()
    connect_requested = Signal(int)
    disconnect_requested = Signal(int)
    edit_requested = Signal(int)
    remove_requested = Signal(int)
    #: (stream_id, seq_start, seq_end or -1); 64-bit so large seqs survive.
    replay_requested = Signal(int, "qlonglong", "qlonglong")  # type: ignore[arg-type]

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        clock: Callable[[], float] = time.time,
        refresh_ms: int = 1000,
    ) -> None:
        super().__init__(parent)
        self.model = StreamsModel(self, clock=clock)
        self.replay_dialog: ReplayDialog | None = None
        self.context_menu: QMenu | None = None  # the last one shown

        self.view = QTableView()
        self.view.setObjectName("streams")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        self.view.verticalHeader().hide()
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(Column.STATE, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)
        for column, width in ((Column.NAME, 130), (Column.EVENTS, 70), (Column.TYPE, 100), (Column.LAST_EVENT, 150)):
            self.view.setColumnWidth(column, width)
        for column in COMPACT_HIDDEN:
            self.view.setColumnHidden(column, True)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._header_menu)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.view.doubleClicked.connect(lambda _index: self._emit(self.edit_requested))

        self.add_action = QAction("Add stream…", self)
        self.add_action.triggered.connect(self.add_requested)
        self.connect_action = QAction("Connect", self)
        self.connect_action.setToolTip("Connect the selected stream")
        self.connect_action.triggered.connect(lambda: self._emit(self.connect_requested))
        self.disconnect_action = QAction("Disconnect", self)
        self.disconnect_action.setToolTip("Stop the selected stream")
        self.disconnect_action.triggered.connect(lambda: self._emit(self.disconnect_requested))
        self.edit_action = QAction("Edit…", self)
        self.edit_action.triggered.connect(lambda: self._emit(self.edit_requested))
        self.remove_action = QAction("Remove", self)
        self.remove_action.setToolTip("Stop the selected stream and forget it")
        self.remove_action.triggered.connect(lambda: self._emit(self.remove_requested))
        self.replay_action = QAction("Replay from seq…", self)
        self.replay_action.setToolTip("Reconnect asking the server to replay from a seq")
        self.replay_action.triggered.connect(self.ask_replay)

        self.toolbar = QToolBar("Streams")
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.toolbar.addAction(self.add_action)
        self.toolbar.addSeparator()
        for action in self.stream_actions():
            self.toolbar.addAction(action)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.view)

        self.view.selectionModel().selectionChanged.connect(self._update_actions)
        self.model.dataChanged.connect(self._update_actions)
        self.model.rowsInserted.connect(self._select_new_row_if_none)
        self.model.rowsRemoved.connect(self._update_actions)
        self._update_actions()

        self._refresh_timer = QTimer(self)
        self._refresh_timer.setObjectName("streams_refresh")
        self._refresh_timer.setInterval(refresh_ms)
        self._refresh_timer.timeout.connect(self.model.tick)
        if refresh_ms > 0:
            self._refresh_timer.start()

    def stream_actions(self) -> list[QAction]:
        """The actions on the selected stream, for the toolbar, the context menu
        and a main-window menu."""
        return [
            self.connect_action,
            self.disconnect_action,
            self.edit_action,
            self.replay_action,
            self.remove_action,
        ]

    # -- selection -------------------------------------------------------------------

    def selected_stream_id(self) -> int | None:
        rows = self.view.selectionModel().selectedRows()
        if not rows:
            return None
        value = self.model.data(rows[0], Role.STREAM_ID)
        return int(value) if value is not None else None

    def select_stream(self, stream_id: int) -> None:
        row = self.model.row_of(stream_id)
        if row is not None:
            self.view.selectRow(row)

    def _select_new_row_if_none(self) -> None:
        if self.selected_stream_id() is None and self.model.rowCount():
            self.view.selectRow(self.model.rowCount() - 1)
        self._update_actions()

    def _update_actions(self, *_: object) -> None:
        stream_id = self.selected_stream_id()
        status = None if stream_id is None else self.model.status(stream_id)
        for action in (self.edit_action, self.remove_action, self.replay_action):
            action.setEnabled(status is not None)
        self.connect_action.setEnabled(status is not None and status.state is StreamState.STOPPED)
        self.disconnect_action.setEnabled(status is not None and status.state is not StreamState.STOPPED)

    # -- actions ---------------------------------------------------------------------

    def _emit(self, signal: Any) -> None:
        stream_id = self.selected_stream_id()
        if stream_id is not None:
            signal.emit(stream_id)

    def _header_menu(self, pos: QPoint) -> None:
        """Show or hide columns (the name column always stays)."""
        menu = QMenu(self)
        for column in Column:
            if column == Column.NAME:
                continue
            action = menu.addAction(HEADERS[column])
            action.setCheckable(True)
            action.setChecked(not self.view.isColumnHidden(column))
            action.toggled.connect(lambda shown, c=column: self.view.setColumnHidden(c, not shown))
        menu.popup(self.view.horizontalHeader().mapToGlobal(pos))

    def _context_menu(self, pos: QPoint) -> None:
        index = self.view.indexAt(pos)
        if index.isValid():
            self.view.selectRow(index.row())
        menu = QMenu(self)
        for action in self.stream_actions():
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(self.add_action)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.context_menu = menu
        menu.popup(self.view.viewport().mapToGlobal(pos))

    def ask_replay(self) -> None:
        """Open the "Replay from seq" dialog for the selected stream (not
        blocking); OK emits :attr:`replay_requested`."""
        stream_id = self.selected_stream_id()
        status = None if stream_id is None else self.model.status(stream_id)
        if status is None:
            return
        dialog = ReplayDialog(status.name, status.last_seq, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def finished(result: int) -> None:
            seq_range = dialog.seq_range()
            if result == QDialog.DialogCode.Accepted and seq_range is not None:
                self.replay_requested.emit(status.stream_id, *seq_range)
            self.replay_dialog = None

        dialog.finished.connect(finished)
        self.replay_dialog = dialog
        dialog.open()
