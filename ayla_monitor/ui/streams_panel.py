"""The streams panel: one row per stream, its state and counters, the selected
stream told in full below the table, and the actions on it (connect,
disconnect, retry now, fill gaps, edit, remove, replay from seq…).

:class:`StreamsModel` is a thin table over the latest
:class:`~ayla_monitor.core.status.StreamStatus` of each stream; the panel asks
for actions by signal and never touches the engine itself.
:class:`StreamsSummary` is the status bar's "2 live · 1 retrying" line.
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
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QTableView,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from ayla_monitor.core.status import StreamState, StreamStatus
from ayla_monitor.ui.dialog_parts import error_color, plain_label
from ayla_monitor.ui.formatting import format_ago, format_count, format_event_time, parse_iso, tooltip_text

__all__ = [
    "Column",
    "Role",
    "StreamsModel",
    "StreamsPanel",
    "StreamDetails",
    "StreamsSummary",
    "ReplayDialog",
    "STATE_COLORS",
    "state_text",
    "state_color",
    "details_lines",
]

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
#: disconnected by the user: neutral, not a failure.
_BY_USER = QColor("#9e9e9e")


def failed(status: StreamStatus) -> bool:
    """Stopped by a failure (not by the user)."""
    return status.state is StreamState.STOPPED and not status.by_user and bool(status.detail)


def state_text(status: StreamStatus, now: float) -> str:
    """The state and its reason in full: ``live · waiting for seq 4211``,
    ``reconnecting in 4 s (connection refused)``, ``disconnected by you``."""
    if status.state is StreamState.STOPPED and status.by_user:
        return "disconnected by you"
    text = status.describe(now)
    if status.state is StreamState.LIVE and status.waiting_for is not None:
        text += f" · waiting for seq {status.waiting_for}"
    return text


def state_color(status: StreamStatus) -> QColor:
    """Green live, amber connecting or retrying, red failed, grey stopped or disconnected."""
    if status.state is StreamState.STOPPED:
        return _FAILED if failed(status) else _BY_USER
    return STATE_COLORS[status.state]


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def gaps_text(status: StreamStatus) -> str:
    """``2 gaps, 37 seqs missing`` (empty when there is none)."""
    if not status.open_gaps:
        return ""
    return f"{_plural(status.open_gaps, 'gap')}, {_plural(status.missing, 'seq')} missing"


def details_lines(status: StreamStatus, now: float) -> list[str]:
    """Everything the panel knows about one stream, one sentence a line."""
    lines = [f"State: {state_text(status, now)}"]
    if status.state is StreamState.RECONNECTING and status.reconnects:
        lines[0] += f" (reconnected {_plural(status.reconnects, 'time')} so far)"
    heard = f"Last heard {format_ago(status.last_frame_at, now)}"
    if status.last_event_time:
        heard += f"; newest event {format_event_time(status.last_event_time)} UTC"
        moment = parse_iso(status.last_event_time)
        if moment is not None:
            heard += f" ({format_ago(moment, now)})"
    lines.append(heard)
    seq = "none yet" if status.last_seq is None else str(status.last_seq)
    lines.append(
        f"Last seq {seq} · {_plural(status.heartbeats, 'heartbeat')} · {_plural(status.malformed, 'bad frame')}"
    )
    if status.state is StreamState.LIVE and status.waiting_for is not None:
        lines.append(
            f"Waiting for seq {status.waiting_for}: connected, and the server has sent nothing newer yet."
        )
    stored = f"Stored {format_count(status.stored)} · {_plural(status.duplicates, 'duplicate')}"
    stored += f" · {_plural(status.conflicts, 'conflict')}"
    if status.pending:
        stored += f" · {format_count(status.pending)} being written"
    lines.append(stored)
    if status.open_gaps:
        lines.append(f"Open gaps: {gaps_text(status)}")
    if status.notice:
        lines.append(f"Latest notice: {status.notice}")
    return lines


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
            return state_color(status)
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
                return state_text(status, self._clock())
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
            return tooltip_text("\n".join(details_lines(status, self._clock())))
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
        self.problem_label.setStyleSheet(f"color: {error_color()};")  # readable light and dark
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


class StreamDetails(QFrame):
    """The selected stream told in full, below the table: state and reason
    wrapped (never cut), ages, seqs, counts, gaps and the latest notice, with
    "Retry now" and "Fill gaps" where they apply."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("stream-details")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = plain_label()
        self.title.setObjectName("stream-details-title")
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.dot = QLabel("●")
        self.dot.setObjectName("stream-details-dot")
        self.dot.setTextFormat(Qt.TextFormat.PlainText)
        self.dot.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.state_label = plain_label(selectable=True)
        self.state_label.setObjectName("stream-details-state")
        self.body = plain_label(selectable=True)
        self.body.setObjectName("stream-details-body")
        self.retry_button = QPushButton("&Retry now")
        self.retry_button.setObjectName("stream-retry")
        self.retry_button.setToolTip("Skip the wait and try to connect now")
        self.fill_button = QPushButton("&Fill gaps")
        self.fill_button.setObjectName("stream-fill-gaps")
        self.fill_button.setToolTip("Ask the server to send the missing seqs again")
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.dot, 0, Qt.AlignmentFlag.AlignTop)
        top.addWidget(self.state_label, 1)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.retry_button)
        buttons.addWidget(self.fill_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(3)
        layout.addWidget(self.title)
        layout.addLayout(top)
        layout.addWidget(self.body)
        layout.addLayout(buttons)
        self.show_status(None, 0.0)

    def show_status(self, status: StreamStatus | None, now: float) -> None:
        if status is None:
            self.title.setText("No stream selected")
            self.state_label.setText("")
            self.body.setText("")
            self.dot.hide()
            self.retry_button.hide()
            self.fill_button.hide()
            return
        lines = details_lines(status, now)
        self.title.setText(f"{status.name} ({status.subscription_type or 'any type'})")
        self.state_label.setText(lines[0])
        self.body.setText("\n".join(lines[1:]))
        self.dot.show()
        self.dot.setStyleSheet(f"color: {state_color(status).name()};")
        self.retry_button.setVisible(status.state is StreamState.RECONNECTING)
        self.fill_button.setVisible(status.open_gaps > 0)
        self.fill_button.setText(f"&Fill gaps ({gaps_text(status)})" if status.open_gaps else "&Fill gaps")


class StreamsSummary(QWidget):
    """The status bar's summary of the streams, each kind in its state's colour:
    ``Streams: ● 2 live · ● 1 retrying · ● 1 failed · ● 1 disconnected``
    (plain-text labels, like everything else in the window)."""

    KINDS = ("live", "connecting", "retrying", "failed", "disconnected")
    COLOURS = {
        "live": STATE_COLORS[StreamState.LIVE],
        "connecting": STATE_COLORS[StreamState.CONNECTING],
        "retrying": STATE_COLORS[StreamState.RECONNECTING],
        "failed": _FAILED,
        "disconnected": _BY_USER,
    }

    def __init__(self, model: StreamsModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("streams-summary")
        self._model = model
        self.counts: dict[str, int] = {}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        self.title = QLabel("No streams")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.title)
        self.labels: dict[str, QLabel] = {}
        for kind in self.KINDS:
            label = QLabel()
            label.setObjectName(f"streams-{kind}")
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setStyleSheet(f"color: {self.COLOURS[kind].name()}; font-weight: bold;")
            label.hide()
            layout.addWidget(label)
            self.labels[kind] = label
        for signal in (model.dataChanged, model.rowsInserted, model.rowsRemoved, model.modelReset):
            signal.connect(self.refresh)
        self.refresh()

    def refresh(self, *_: object) -> None:
        counts = dict.fromkeys(self.KINDS, 0)
        for status in self._model.statuses():
            if status.state is StreamState.LIVE:
                counts["live"] += 1
            elif status.state is StreamState.CONNECTING:
                counts["connecting"] += 1
            elif status.state is StreamState.RECONNECTING:
                counts["retrying"] += 1
            elif failed(status):
                counts["failed"] += 1
            else:
                counts["disconnected"] += 1
        self.counts = counts
        for kind, label in self.labels.items():
            label.setText(f"● {counts[kind]:,} {kind}")
            label.setVisible(counts[kind] > 0)
        self.title.setText("Streams:" if any(counts.values()) else "No streams")
        self.setToolTip(self.text())

    def text(self) -> str:
        """What the summary says, as one line of plain text."""
        plain = ", ".join(f"{n} {kind}" for kind, n in self.counts.items() if n)
        return f"Streams: {plain}" if plain else "No streams"


class StreamsPanel(QWidget):
    """The streams table with its toolbar and context menu."""

    add_requested = Signal()
    connect_requested = Signal(int)
    disconnect_requested = Signal(int)
    edit_requested = Signal(int)
    remove_requested = Signal(int)
    #: a stream waiting to reconnect should try now.
    retry_requested = Signal(int)
    #: ask the server for the seqs of the stream's open gaps.
    fill_gaps_requested = Signal(int)
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
        self._clock = clock
        self.replay_dialog: ReplayDialog | None = None
        self.context_menu: QMenu | None = None  # the last one shown

        self.view = QTableView()
        self.view.setObjectName("streams")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(True)
        # state and reason are shown in full: the state cell wraps and rows grow
        self.view.setWordWrap(True)
        self.view.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
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
        self.disconnect_action.setToolTip("Stop the selected stream (it stays stopped until you connect it)")
        self.disconnect_action.triggered.connect(lambda: self._emit(self.disconnect_requested))
        self.retry_action = QAction("Retry now", self)
        self.retry_action.setToolTip("Skip the wait and try to connect the selected stream now")
        self.retry_action.triggered.connect(lambda: self._emit(self.retry_requested))
        self.fill_gaps_action = QAction("Fill gaps", self)
        self.fill_gaps_action.setToolTip("Ask the server to send the missing seqs again")
        self.fill_gaps_action.triggered.connect(lambda: self._emit(self.fill_gaps_requested))
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

        self.details = StreamDetails(self)
        self.details.retry_button.clicked.connect(self.retry_action.trigger)
        self.details.fill_button.clicked.connect(self.fill_gaps_action.trigger)
        #: for the main window's status bar.
        self.summary = StreamsSummary(self.model)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.details)

        self.view.selectionModel().selectionChanged.connect(self._update_actions)
        self.model.dataChanged.connect(self._update_actions)
        self.model.rowsInserted.connect(self._select_new_row_if_none)
        self.model.rowsRemoved.connect(self._update_actions)
        self._update_actions()

        self._refresh_timer = QTimer(self)
        self._refresh_timer.setObjectName("streams_refresh")
        self._refresh_timer.setInterval(refresh_ms)
        self._refresh_timer.timeout.connect(self.model.tick)
        self._refresh_timer.timeout.connect(self._show_details)
        if refresh_ms > 0:
            self._refresh_timer.start()

    def stream_actions(self) -> list[QAction]:
        """The actions on the selected stream, for the toolbar, the context menu
        and a main-window menu."""
        return [
            self.connect_action,
            self.disconnect_action,
            self.retry_action,
            self.fill_gaps_action,
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
        # Disconnect works in every state but stopped (connecting and retrying too)
        self.disconnect_action.setEnabled(status is not None and status.state is not StreamState.STOPPED)
        self.retry_action.setEnabled(status is not None and status.state is StreamState.RECONNECTING)
        self.fill_gaps_action.setEnabled(status is not None and status.open_gaps > 0)
        self._show_details()

    def _show_details(self) -> None:
        stream_id = self.selected_stream_id()
        status = None if stream_id is None else self.model.status(stream_id)
        self.details.show_status(status, self._clock())

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
