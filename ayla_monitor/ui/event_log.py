"""The event log: a bounded window of recent events as a table, its filters,
follow and pause, and a details pane with the selected event's JSON.

:class:`EventLogModel` is a thin table model over a list of :class:`LogRow`
capped at ``capacity`` rows (older events stay in the database). A batch is
inserted with one ``beginInsertRows``, and what falls out of the window is
removed with one ``beginRemoveRows``. :class:`EventLogFilter` is the proxy
that filters; its criteria apply to rows arriving later as well. A burst
reaches the table :data:`APPEND_CHUNK` rows per turn of the event loop.
"""

from __future__ import annotations

import bisect
import enum
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFocusEvent, QFontDatabase, QFontMetrics, QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ayla_monitor.dss.events import (
    EVENT_TYPES,
    Connectivity,
    Datapoint,
    DatapointAck,
    Location,
    MalformedFrame,
    Registration,
    value_text,
)
from ayla_monitor.dss.filter import EventFilter
from ayla_monitor.store.records import COLUMNS
from ayla_monitor.ui.event_details import EventDetails, details_text, pretty_json
from ayla_monitor.ui.formatting import (
    format_count,
    format_event_time,
    format_received,
    format_value,
    one_line,
    tooltip_text,
)
from ayla_monitor.ui.throttle import Throttle

__all__ = [
    "MALFORMED",
    "RAW_PREVIEW",
    "VALUE_PREVIEW",

    "DEFAULT_CAPACITY",
    "APPEND_CHUNK",
    "FILTER_CHUNK",
    "LogRow",
    "Column",
    "COLUMN_NAMES",
    "cell_text",
    "Role",
    "EventLogModel",
    "row_matcher",
    "EventLogFilter",
    "EventLogView",
    "LogTable",
    "row_from_frame",
    "row_from_stored",
]

log = logging.getLogger(__name__)

_ROOT = QModelIndex()  # the invisible root, as a default argument

#: The type shown for frames that are not DSS events.
MALFORMED = "bad frame"
DEFAULT_CAPACITY = 100_000
#: Rows the table takes in one go; more (a burst, a resume after a long pause)
#: follow on the next turns of the event loop, so that the loop is never held
#: long (with a filter, each row is tested: about a microsecond).
APPEND_CHUNK = 5_000

_PAD = (Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
_RIGHT = (Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


#: Characters of a frame's raw JSON a log row keeps (the rest is read from
#: the database when asked for): 100,000 rows of 1 MB values took 776 MB
#: for 3,500 events before (issue 10); now a big row costs about 3 KB.
RAW_PREVIEW = 2_000
#: Characters of a value (or reason, or note) a log row keeps.
VALUE_PREVIEW = 1_000


class LogRow:
    """One line of the log, from a live frame or a stored event.

    ``summary`` is the value column's full text (the value, a status, a
    position, or a bad frame's reason); ``base_type`` and ``value`` let the
    cell format it. Built with ``summary=None`` it is the value's text,
    made when first read: most rows scroll out of the window unread, and
    making it for every datapoint was half the cost of a row.

    A row holds bounded memory: a frame longer than :data:`RAW_PREVIEW`
    keeps a preview of its raw JSON (and of its value) and the length it had
    (:attr:`raw_length`); the whole event is read from the database by
    ``event_id`` (a stored row) or ``(stream_id, epoch, seq)`` (a live one).
    """

    __slots__ = ("received_at", "time", "stream_id", "seq", "event_type", "dsn", "property_name",
                 "base_type", "value", "_summary", "raw", "note", "malformed", "epoch", "event_id",
                 "raw_length")

    def __init__(self, received_at: float, time: str | None, stream_id: int | None,
                 seq: int | None, event_type: str, dsn: str | None, property_name: str | None,
                 base_type: str | None, value: Any, summary: str | None, raw: str, note: str | None,
                 malformed: bool = False, epoch: int = 0, event_id: int | None = None,
                 raw_length: int | None = None) -> None:
        self.received_at = received_at
        self.time = time
        self.stream_id = stream_id
        self.seq = seq
        self.event_type = event_type
        self.dsn = dsn
        self.property_name = property_name
        self.base_type = base_type
        self.value = value
        self._summary = summary
        self.raw = raw
        self.note = note
        self.malformed = malformed
        self.epoch = epoch
        self.event_id = event_id
        #: the raw JSON's length as received when ``raw`` is a preview, else ``None``.
        self.raw_length = raw_length
        if raw_length is not None or len(raw) > RAW_PREVIEW:
            self._bound()

    def _bound(self) -> None:
        """Keep previews of a long frame (the rare path: most frames are short)."""
        raw = self.raw
        if len(raw) > RAW_PREVIEW:
            if self.raw_length is None:
                self.raw_length = len(raw)
            self.raw = raw[:RAW_PREVIEW]
        value = self.value
        if value is not None and value.__class__ not in (int, float, bool):
            text = value if isinstance(value, str) else (_text(value) or "")
            if len(text) > VALUE_PREVIEW or not isinstance(value, str):
                self.value = text[:VALUE_PREVIEW]
        if self._summary is not None and len(self._summary) > VALUE_PREVIEW:
            self._summary = self._summary[:VALUE_PREVIEW]
        if self.note is not None and len(self.note) > VALUE_PREVIEW:
            self.note = self.note[:VALUE_PREVIEW]

    @property
    def truncated(self) -> bool:
        """Whether this row holds a preview only (read the rest from the database)."""
        return self.raw_length is not None

    @property
    def summary(self) -> str:
        text = self._summary
        if text is None:
            text = self._summary = _text(self.value) or ""
        return text

    @summary.setter
    def summary(self, text: str) -> None:
        self._summary = text

    @property
    def value_display(self) -> str:
        if self.base_type is not None and self.property_name is not None:
            text = format_value(self.base_type, self.value)
            if self.event_type == "datapointack" and self.summary:
                text = f"{text}  ({one_line(self.summary, 80)})"
            return text
        return one_line(self.summary)

    def details(self) -> str:
        """What the details pane shows: the pretty JSON, after a bad frame's
        reason or a note (a preview's raw text as it is: it is cut)."""
        return details_text(self.raw, malformed=self.malformed, reason=self.summary, note=self.note,
                            pretty=not self.truncated)

    def pretty_json(self) -> str:
        if self.malformed or self.truncated:
            return self.raw
        return pretty_json(self.raw)

    def __repr__(self) -> str:
        return f"LogRow({self.event_type!r}, dsn={self.dsn!r}, seq={self.seq!r})"


def _text(value: Any) -> str | None:
    """:func:`value_text`, with its common cases first (it writes JSON for every number)."""
    cls = value.__class__
    if cls is str:
        return value  # type: ignore[no-any-return]
    if cls is int:
        return str(value)
    return value_text(value)


def _summary(frame: Any) -> str:
    match frame:
        case Connectivity():
            return frame.status or ""
        case DatapointAck():
            status = "" if frame.ack_status is None else f"ack {frame.ack_status}"
            message = _text(frame.ack_message) or ""
            return " ".join(p for p in (status, message) if p)
        case Datapoint():
            return _text(frame.value) or ""
        case Location():
            lat = "?" if frame.lat is None else f"{frame.lat:g}"
            lon = "?" if frame.long is None else f"{frame.long:g}"
            where = f"{lat}, {lon}"
            return f"{where} ({frame.provider})" if frame.provider else where
        case Registration():
            state = {True: "registered", False: "unregistered", None: "registration"}[frame.registered]
            return f"{state} ({frame.registration_type})" if frame.registration_type else state
    return frame.note or ""


def row_from_frame(stream_id: int | None, frame: Any, epoch: int = 0) -> LogRow:
    """A log row for an event or a malformed frame as the engine delivered it
    (``epoch``: the stream's epoch, which with ``seq`` finds the stored event)."""
    if frame.__class__ is Datapoint:  # most of a stream: the short way
        return LogRow(frame.received_at, frame.time, stream_id, frame.seq, frame.event_type or "?", frame.dsn,
                      frame.property_name, frame.base_type, frame.value, None, frame.raw, frame.note, False, epoch)
    if isinstance(frame, MalformedFrame):
        return LogRow(received_at=frame.received_at, time=None, stream_id=stream_id, seq=None,
                      event_type=MALFORMED, dsn=None, property_name=None, base_type=None,
                      value=None, summary=frame.reason, raw=frame.raw, note=None, malformed=True)
    if isinstance(frame, Datapoint):
        prop, base, value = frame.property_name, frame.base_type, frame.value
    else:
        prop = base = value = None
    return LogRow(frame.received_at, frame.time, stream_id, frame.seq, frame.event_type or "?", frame.dsn,
                  prop, base, value, _summary(frame), frame.raw, frame.note, False, epoch)


def row_from_stored(event: Any, raw_length: int | None = None) -> LogRow:
    """A log row for a :class:`~ayla_monitor.store.records.StoredEvent` (duck-typed);
    ``raw_length``: the stored raw's length, when ``event`` holds a preview of it."""
    event_type = getattr(event, "event_type", None) or "?"
    malformed = event_type in ("malformed", MALFORMED)
    value = getattr(event, "value", None)
    prop = getattr(event, "property_name", None)
    summary = value if isinstance(value, str) else ("" if value is None else str(value))
    if malformed:
        summary = getattr(event, "note", None) or "malformed frame"
    elif prop is None and event.raw and (raw_length is None or raw_length <= len(event.raw)):
        try:
            from ayla_monitor.dss.frames import parse_event

            obj = json.loads(event.raw)
            if isinstance(obj, dict):
                summary = _summary(parse_event(obj, event.raw, event.received_at))
        except (ValueError, RecursionError):
            pass
    return LogRow(received_at=getattr(event, "received_at", 0.0) or 0.0,
                  time=getattr(event, "time", None), stream_id=getattr(event, "stream_id", None),
                  seq=getattr(event, "seq", None), event_type=MALFORMED if malformed else event_type,
                  dsn=getattr(event, "dsn", None), property_name=prop,
                  base_type=getattr(event, "base_type", None), value=value, summary=summary,
                  raw=getattr(event, "raw", "") or "", note=getattr(event, "note", None),
                  malformed=malformed, epoch=getattr(event, "epoch", 0) or 0,
                  event_id=getattr(event, "id", None),
                  raw_length=raw_length if raw_length is not None and raw_length > len(event.raw or "") else None)


class Column(enum.IntEnum):
    RECEIVED = 0
    TIME = 1
    STREAM = 2
    SEQ = 3
    TYPE = 4
    DSN = 5
    PROPERTY = 6
    VALUE = 7


#: The stored event's column each of the log's columns shows: names and
#: headers are defined once, in ``ayla_monitor.store.records`` (History and
#: the export use the same).
COLUMN_NAMES = {
    Column.RECEIVED: "received_at",
    Column.TIME: "time",
    Column.STREAM: "stream",
    Column.SEQ: "seq",
    Column.TYPE: "event_type",
    Column.DSN: "dsn",
    Column.PROPERTY: "property_name",
    Column.VALUE: "value",
}
_HEADERS = {column: COLUMNS[name].header for column, name in COLUMN_NAMES.items()}
_NAMES = tuple(COLUMN_NAMES[Column(c)] for c in range(len(Column)))


def cell_text(row: LogRow, name: str, stream_name: Callable[[int | None], str]) -> str:
    """What a table shows for ``row`` in the column of the stored event's
    column ``name`` (the log's cells and History's)."""
    if name == "value":
        return row.value_display
    if name == "received_at":
        return format_received(row.received_at)
    if name == "time":
        return format_event_time(row.time)
    if name == "dsn":
        return one_line(row.dsn or "", 80)
    if name == "property_name":
        return one_line(row.property_name or "", 80)
    if name == "event_type":
        return one_line(row.event_type, 40)
    if name == "stream":
        return one_line(stream_name(row.stream_id), 60)
    if name == "seq":
        return "" if row.seq is None else str(row.seq)
    return ""


_DEFAULT_WIDTHS = {
    Column.RECEIVED: 92, Column.TIME: 136, Column.STREAM: 104, Column.SEQ: 56,
    Column.TYPE: 92, Column.DSN: 132, Column.PROPERTY: 110,
}


class Role(enum.IntEnum):
    ROW = Qt.ItemDataRole.UserRole + 1
    DSN = Qt.ItemDataRole.UserRole + 2


# Roles as plain ints: data() runs for every role of every visible cell at each repaint.
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole)
_FONT = int(Qt.ItemDataRole.FontRole)
_ROW = int(Role.ROW)
_DSN = int(Role.DSN)
_PAD_INT = int(_PAD)
_RIGHT_INT = int(_RIGHT)
_SEQ = int(Column.SEQ)
_VALUE = int(Column.VALUE)
_MONO_COLUMNS = (int(Column.RECEIVED), _SEQ)
#: The roles the log answers (a view asks for seven per cell and repaint; the rest are None at once).
_ROLES = frozenset({_DISPLAY, _TOOLTIP, _FOREGROUND, _ALIGNMENT, _FONT, _ROW, _DSN})
_COLUMNS = len(Column)


class EventLogModel(QAbstractTableModel):
    """Recent events, oldest first, at most :attr:`capacity` of them."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[LogRow] = []
        #: how many rows have left the window at the front since the last reset
        #: (row ``r`` is the ``first_id + r``-th row since then).
        self._first_id = 0
        self._capacity = max(1, capacity)
        self._stream_names: dict[int, str] = {}
        self._bad = QColor(200, 60, 60)
        self._noted = QColor(176, 122, 0)
        self._mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)

    # -- data in
    @property
    def capacity(self) -> int:
        return self._capacity

    def set_capacity(self, capacity: int) -> None:
        """Change the window; rows beyond it are dropped (oldest first)."""
        self._capacity = max(1, capacity)
        self._trim(0)

    def row_at(self, row: int) -> LogRow:
        return self._rows[row]

    def rows(self) -> Sequence[LogRow]:
        return self._rows

    @property
    def first_id(self) -> int:
        """The running number of row 0 (rows are numbered from the last reset)."""
        return self._first_id

    def set_stream_name(self, stream_id: int, name: str) -> None:
        self._stream_names[stream_id] = name
        if self._rows:
            self.dataChanged.emit(self.index(0, Column.STREAM),
                                  self.index(len(self._rows) - 1, Column.STREAM),
                                  [Qt.ItemDataRole.DisplayRole])

    def stream_name(self, stream_id: int | None) -> str:
        if stream_id is None:
            return ""
        return self._stream_names.get(stream_id, f"#{stream_id}")

    def append(self, rows: Iterable[LogRow]) -> None:
        """Add a batch at the end: one removal for what falls out, one insertion."""
        new = list(rows)
        if not new:
            return
        skipped = len(new) - self._capacity
        if skipped > 0:
            new = new[skipped:]
        self._trim(len(new))
        if skipped > 0:
            self._first_id += skipped  # never shown, still counted
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
        self._rows.extend(new)
        self.endInsertRows()

    def clear(self) -> None:
        if not self._rows:
            return
        self.beginResetModel()
        self._rows = []
        self._first_id = 0
        self.endResetModel()

    def _trim(self, incoming: int) -> None:
        excess = len(self._rows) + incoming - self._capacity
        if excess <= 0:
            return
        excess = min(excess, len(self._rows))
        self.beginRemoveRows(QModelIndex(), 0, excess - 1)
        del self._rows[:excess]
        self._first_id += excess
        self.endRemoveRows()

    # -- Qt model API
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else _COLUMNS

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(Column):
            if role == Qt.ItemDataRole.DisplayRole:
                return _HEADERS[Column(section)]
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return int(_RIGHT if section == Column.SEQ else _PAD)
        return None

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return _FLAGS

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role not in _ROLES or not index.isValid():
            return None
        row = index.row()
        if row >= len(self._rows):
            return None
        return self.cell(self._rows[row], index.column(), role)

    def cell(self, item: LogRow, col: int, role: int) -> Any:
        """What ``data()`` answers for ``item`` in column ``col`` (shared with the filter)."""
        if role == _DISPLAY:
            return self._display(item, col)
        if role == _FOREGROUND:
            if item.malformed:
                return self._bad
            if item.note and col == _VALUE:
                return self._noted
            return None
        if role == _ALIGNMENT:
            return _RIGHT_INT if col == _SEQ else _PAD_INT
        if role == _FONT:
            return self._mono if col in _MONO_COLUMNS else None
        if role == _TOOLTIP:
            if col == _VALUE:
                full = item.summary if item.malformed else (
                    value_text(item.value) if item.property_name is not None else item.summary)
                text = full or ""
                if item.malformed:
                    text = f"{text}\n\n{item.raw}"
                elif item.note:
                    text = f"{text}\n\nNote: {item.note}"
                return tooltip_text(text) if text else None
            shown = self._display(item, col)
            return tooltip_text(shown) if shown and len(shown) > 24 else None
        if role == _ROW:
            return item
        if role == _DSN:
            return item.dsn
        return None

    def _display(self, item: LogRow, col: int) -> str:
        return cell_text(item, _NAMES[col], self.stream_name) if 0 <= col < _COLUMNS else ""


_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren


def _haystack(row: LogRow) -> tuple[str | None, ...]:
    """Where the log's text filter looks: the DSN, property, what the value
    column says, the type and the JSON as received (its preview)."""
    return (row.dsn, row.property_name, row.summary, row.event_type, row.raw)


def row_matcher(criteria: EventFilter) -> Callable[[LogRow], bool]:
    """``criteria`` as a test of one log row (needles prepared once)."""
    return criteria.matcher(_haystack)


#: Rows tested per turn of the event loop when the filter changes: a row
#: costs 1.3-2 µs to test (issue 10: 100,000 rows held the loop 136-221 ms
#: per keystroke; in chunks of 20,000 the longest turn was 47-91 ms on the
#: loaded VM), so a filter over a full log is found in ten turns and then
#: shown at once.
FILTER_CHUNK = 10_000


@dataclass
class _Scan:
    """A filter being found, a chunk per turn: its criteria, the running
    numbers accepted so far, and the next running number to test."""

    criteria: EventFilter
    accepts: Callable[[LogRow], bool]
    ids: list[int]
    next: int


class EventLogFilter(QAbstractTableModel):
    """The rows of an :class:`EventLogModel` that an :class:`EventFilter` accepts,
    in arrival order; what the log's table shows.

    A proxy written for this source rather than a ``QSortFilterProxyModel``,
    which called Python for every arriving row (``filterAcceptsRow``) and
    three times more for every painted cell (``mapToSource`` asks the source
    for its row and column counts): 1 µs a row in, and a quarter of the
    table's repaint (``benchmarks/window_refresh.py``). Here, without
    criteria, rows pass straight through, so a batch costs one insertion
    whatever its size. With criteria, the filter keeps the running numbers
    (:attr:`EventLogModel.first_id` + row) of the accepted rows: rows leaving
    the window at the front cost one removal, arriving rows are tested once,
    and changing the criteria keeps the selection on the same event.
    """

    #: the criteria given to :meth:`set_criteria` are shown now.
    criteria_applied = Signal()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._source: EventLogModel | None = None
        self._criteria = EventFilter()
        self._accepts: Callable[[LogRow], bool] | None = None
        #: running numbers of the rows shown, ``None`` while every row is shown.
        self._ids: list[int] | None = None
        #: rows shown while every row is shown (follows the source between its signals).
        self._count = 0
        #: rows about to leave at the front (between the source's two removal signals).
        self._leaving = 0
        #: new criteria being tested over a large log, :data:`FILTER_CHUNK` rows a turn.
        self._scan_state: _Scan | None = None
        self._scan = Throttle(self._scan_more, 0, self, name="log-filter")

    # -- the source
    def sourceModel(self) -> EventLogModel | None:
        return self._source

    def setSourceModel(self, model: EventLogModel | None) -> None:
        self.beginResetModel()
        old = self._source
        if old is not None:
            for signal, slot in self._wiring(old):
                signal.disconnect(slot)
        self._source = model
        if model is not None:
            for signal, slot in self._wiring(model):
                signal.connect(slot)
        self._rebuild()
        self.endResetModel()

    def _wiring(self, model: EventLogModel) -> list[tuple[Any, Callable[..., None]]]:
        return [
            (model.rowsAboutToBeInserted, self._source_inserting),
            (model.rowsInserted, self._source_inserted),
            (model.rowsAboutToBeRemoved, self._source_removing),
            (model.rowsRemoved, self._source_removed),
            (model.modelAboutToBeReset, self.beginResetModel),
            (model.modelReset, self._source_reset),
            (model.dataChanged, self._source_changed),
        ]

    def _rebuild(self) -> None:
        source = self._source
        rows = source.rows() if source is not None else ()
        accepts = self._accepts
        if accepts is None:
            self._ids = None
            self._count = len(rows)
        else:
            first = source.first_id if source is not None else 0
            self._ids = [first + r for r, row in enumerate(rows) if accepts(row)]
            self._count = 0

    def _source_inserting(self, parent: QModelIndex, first: int, last: int) -> None:
        if self._ids is None:
            self.beginInsertRows(_ROOT, first, last)

    def _source_inserted(self, parent: QModelIndex, first: int, last: int) -> None:
        ids, source, accepts = self._ids, self._source, self._accepts
        if ids is None:
            self._count += last - first + 1
            self.endInsertRows()
            return
        assert source is not None and accepts is not None
        if last != source.rowCount() - 1:  # not at the end: EventLogModel never does this
            self.beginResetModel()
            self._rebuild()
            self.endResetModel()
            return
        rows, base = source.rows(), source.first_id
        new = [base + r for r in range(first, last + 1) if accepts(rows[r])]
        if new:
            self.beginInsertRows(_ROOT, len(ids), len(ids) + len(new) - 1)
            ids.extend(new)
            self.endInsertRows()

    def _source_removing(self, parent: QModelIndex, first: int, last: int) -> None:
        ids, source = self._ids, self._source
        if ids is None:
            self.beginRemoveRows(_ROOT, first, last)
            return
        assert source is not None
        if first != 0:  # not at the front: EventLogModel never does this
            self.beginResetModel()
            self._leaving = -1
            return
        self._leaving = bisect.bisect_left(ids, source.first_id + last + 1)
        if self._leaving:
            self.beginRemoveRows(_ROOT, 0, self._leaving - 1)

    def _source_removed(self, parent: QModelIndex, first: int, last: int) -> None:
        ids = self._ids
        if ids is None:
            self._count -= last - first + 1
            self.endRemoveRows()
            return
        leaving, self._leaving = self._leaving, 0
        if leaving < 0:
            self._rebuild()
            self.endResetModel()
        elif leaving:
            del ids[:leaving]
            self.endRemoveRows()

    def _source_reset(self) -> None:
        self._rebuild()
        self.endResetModel()
        scan, self._scan_state = self._scan_state, None
        if scan is not None:  # start again over what the source holds now
            self.set_criteria(scan.criteria)

    def _source_changed(self, top_left: QModelIndex, bottom_right: QModelIndex, roles: Sequence[int] = ()) -> None:
        shown = self.rowCount()
        if not shown:
            return
        if self._ids is None:
            top, bottom = top_left.row(), min(bottom_right.row(), shown - 1)
        else:
            top, bottom = 0, shown - 1
        if top <= bottom:
            self.dataChanged.emit(self.index(top, top_left.column()), self.index(bottom, bottom_right.column()),
                                  list(roles))

    # -- criteria
    @property
    def criteria(self) -> EventFilter:
        return self._criteria

    @property
    def filtering(self) -> bool:
        """Whether new criteria are still being tested (see :data:`FILTER_CHUNK`)."""
        return self._scan_state is not None

    def set_criteria(self, criteria: EventFilter) -> None:
        """Show the rows ``criteria`` accepts (now and as they arrive); the
        selection stays on its event when that is still shown. Over more than
        :data:`FILTER_CHUNK` rows the rows are tested a chunk per turn of the
        loop and shown when all are (:attr:`criteria_applied`)."""
        scan = self._scan_state
        if criteria == (scan.criteria if scan is not None else self._criteria):
            return
        self._scan_state = None
        self._scan.cancel()
        source = self._source
        if criteria == self._criteria:
            self.criteria_applied.emit()
            return
        accepts = None if criteria.empty else row_matcher(criteria)
        if accepts is None or source is None or source.rowCount() <= FILTER_CHUNK:
            self._apply(criteria, accepts, None)
            return
        self._scan_state = _Scan(criteria, accepts, [], source.first_id)
        self._scan_more()

    def _scan_more(self) -> None:
        while (scan := self._scan_state) is not None and (source := self._source) is not None:
            first, rows, accepts = source.first_id, source.rows(), scan.accepts
            start = max(scan.next, first) - first
            end = min(len(rows), start + FILTER_CHUNK)
            scan.ids.extend([first + r for r in range(start, end) if accepts(rows[r])])
            scan.next = first + end
            if end >= len(rows):
                self._scan_state = None
                ids = scan.ids[bisect.bisect_left(scan.ids, first):]
                self._apply(scan.criteria, accepts, ids)
                return
            if self._scan.again():
                return

    def _apply(self, criteria: EventFilter, accepts: Callable[[LogRow], bool] | None,
               ids: list[int] | None) -> None:
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        kept = [(self._id_of(index.row()), index.column()) for index in persistent]
        self._criteria = criteria
        self._accepts = accepts
        if ids is None or accepts is None:
            self._rebuild()
        else:
            self._ids, self._count = ids, 0
        self.changePersistentIndexList(persistent, [self._index_of(i, column) for i, column in kept])
        self.layoutChanged.emit()
        self.criteria_applied.emit()

    def _id_of(self, row: int) -> int | None:
        if row < 0 or row >= self.rowCount():
            return None
        if self._ids is not None:
            return self._ids[row]
        return (self._source.first_id if self._source is not None else 0) + row

    def _index_of(self, row_id: int | None, column: int) -> QModelIndex:
        if row_id is None or self._source is None:
            return QModelIndex()
        ids = self._ids
        if ids is None:
            row = row_id - self._source.first_id
            return self.index(row, column) if 0 <= row < self._count else QModelIndex()
        pos = bisect.bisect_left(ids, row_id)
        return self.index(pos, column) if pos < len(ids) and ids[pos] == row_id else QModelIndex()

    def mapFromSource(self, index: QModelIndex | QPersistentModelIndex) -> QModelIndex:
        if not index.isValid() or self._source is None:
            return QModelIndex()
        return self._index_of(self._source.first_id + index.row(), index.column())

    def mapToSource(self, index: QModelIndex | QPersistentModelIndex) -> QModelIndex:
        row_id = self._id_of(index.row()) if index.isValid() else None
        if row_id is None or self._source is None:
            return QModelIndex()
        return self._source.index(row_id - self._source.first_id, index.column())

    # -- Qt model API
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        if parent.isValid():
            return 0
        ids = self._ids
        return self._count if ids is None else len(ids)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() or self._source is None else _COLUMNS

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        return None if self._source is None else self._source.headerData(section, orientation, role)

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return _FLAGS

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        source = self._source
        if role not in _ROLES or source is None or not index.isValid():
            return None
        row = index.row()
        ids = self._ids
        if ids is not None:
            if row >= len(ids):
                return None
            row = ids[row] - source._first_id
        rows = source._rows
        if not 0 <= row < len(rows):
            return None
        return source.cell(rows[row], index.column(), role)


class LogTable(QTableView):
    """The log's table: Enter opens the row's device, End goes back to the
    newest event, and Tab into it keeps the rows where they are."""

    #: Enter or Return on a row (its proxy index).
    entered = Signal(QModelIndex)
    #: End: back to the newest event (following again).
    end_pressed = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        key = event.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentIndex().isValid():
            self.activated.emit(self.currentIndex())
            event.accept()
            return
        if key == Qt.Key.Key_End and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.end_pressed.emit()
            event.accept()
            return
        super().keyPressEvent(event)

    def focusInEvent(self, event: QFocusEvent) -> None:  # noqa: N802
        # Qt makes row 0 current on focus (and scrolls there): make the row at
        # the top of the view current instead, selecting nothing.
        model = self.model()
        if not self.currentIndex().isValid() and model is not None and model.rowCount() > 0:
            index = self.indexAt(QPoint(1, 1))
            if not index.isValid():
                index = model.index(model.rowCount() - 1, 0)
            self.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.NoUpdate)
        super().focusInEvent(event)


_FOCUS_STYLE = ("QTableView#log-table { border: 1px solid palette(mid); }"
                "QTableView#log-table:focus { border: 2px solid palette(highlight); }")


class EventLogView(QWidget):
    """The log with its filter bar, follow/pause and details pane."""

    #: emitted when the DSN filter changes (``""`` when cleared), so tiles can follow.
    dsn_filter_changed = Signal(str)
    paused_changed = Signal(bool)
    #: Enter (or a double click) on a row: open its device.
    device_requested = Signal(str)

    def __init__(self, capacity: int = DEFAULT_CAPACITY, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = EventLogModel(capacity, self)
        self.proxy = EventLogFilter(self)
        self.proxy.setSourceModel(self.model)
        self._paused = False
        self._waiting: list[LogRow] = []
        #: rows on their way into the table, a chunk per turn of the loop.
        self._backlog: list[LogRow] = []
        self._more = Throttle(self._drain, 0, self, name="log-more")
        self._total = 0
        #: Follow is on but a selected row holds the view still; rows arrived since.
        self._held = False
        self._held_new = 0

        # filter bar
        self.type_box = QComboBox(self)
        self.type_box.setObjectName("log-type")
        self.type_box.addItem("All types", None)
        for name in (*EVENT_TYPES, MALFORMED):
            self.type_box.addItem(name, name)
        self.stream_box = QComboBox(self)
        self.stream_box.setObjectName("log-stream")
        self.stream_box.addItem("All streams", None)
        self.stream_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.dsn_edit = self._line_edit("log-dsn", "DSN", 150)
        self.property_edit = self._line_edit("log-property", "Property", 130)
        self.text_edit = self._line_edit("log-text", "Search events…", 200)
        self.follow_box = QCheckBox("Follow", self)
        self.follow_box.setObjectName("log-follow")
        self.follow_box.setChecked(True)
        self.follow_box.setToolTip("Keep the newest event in view")
        self.pause_button = QPushButton("Pause", self)
        self.pause_button.setObjectName("log-pause")
        self.pause_button.setCheckable(True)
        self.pause_button.setToolTip("Stop adding events to the view; they keep being collected")
        self.count_label = QLabel(self)
        self.count_label.setObjectName("log-count")
        self.count_label.setTextFormat(Qt.TextFormat.PlainText)
        self.count_label.setMinimumWidth(120)
        self.resume_button = QPushButton(self)
        self.resume_button.setObjectName("log-resume")
        self.resume_button.setFlat(True)
        self.resume_button.setToolTip("A selected event holds the log still; click (or press End) to follow again")
        self.resume_button.setVisible(False)
        self.resume_button.clicked.connect(self.resume_following)


        title = QLabel("Events", self)
        title.setTextFormat(Qt.TextFormat.PlainText)
        bold = title.font()
        bold.setBold(True)
        title.setFont(bold)

        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.setSpacing(6)
        bar.addWidget(title)
        bar.addSpacing(6)
        bar.addWidget(self.type_box)
        bar.addWidget(self.stream_box)
        bar.addWidget(self.dsn_edit)
        bar.addWidget(self.property_edit)
        bar.addWidget(self.text_edit, 1)
        bar.addWidget(self.resume_button)
        bar.addWidget(self.follow_box)
        bar.addWidget(self.pause_button)
        bar.addWidget(self.count_label)

        # table
        self.table = LogTable(self)
        self.table.setObjectName("log-table")
        self.table.setStyleSheet(_FOCUS_STYLE)
        self.table.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.setSortingEnabled(False)
        self.table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        vheader = self.table.verticalHeader()
        vheader.setVisible(False)
        vheader.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vheader.setDefaultSectionSize(self.fontMetrics().height() + 6)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setHighlightSections(False)
        header.setDefaultAlignment(_PAD)
        for col, width in _DEFAULT_WIDTHS.items():
            self.table.setColumnWidth(col, width)
        mono = QFontMetrics(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.table.setColumnWidth(Column.RECEIVED, mono.horizontalAdvance("00:00:00.000") + 18)

        # details (bounded: see ui/event_details.py)
        self.details_pane = EventDetails("log-details", self, placeholder="Select an event to read its full JSON.")
        self.details = self.details_pane.view
        self.copy_button = self.details_pane.copy_button
        details_box = self.details_pane

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("log-splitter")
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(details_box)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([1000, 300])
        self.splitter.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(bar)
        layout.addWidget(self.splitter, 1)

        self.type_box.currentIndexChanged.connect(self._apply_filters)
        self.stream_box.currentIndexChanged.connect(self._apply_filters)
        for edit in (self.dsn_edit, self.property_edit, self.text_edit):
            edit.textChanged.connect(self._apply_filters)
        self.dsn_edit.textChanged.connect(lambda text: self.dsn_filter_changed.emit(text.strip()))
        self.pause_button.toggled.connect(self.set_paused)
        self.follow_box.toggled.connect(self._follow_toggled)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        # activated: Enter, or a double click (a single one where the platform
        # says so). Not entered: that is the mouse passing over a row.
        self.table.activated.connect(self._open_device)
        self.table.end_pressed.connect(self.resume_following)
        self.proxy.rowsInserted.connect(self._rows_inserted)
        self.proxy.criteria_applied.connect(self._filters_applied)
        self.proxy.modelReset.connect(self._update_count)
        self.proxy.rowsAboutToBeRemoved.connect(self._rows_leaving)
        self.proxy.rowsRemoved.connect(self._update_count)
        self._update_count()

    def _line_edit(self, name: str, placeholder: str, width: int) -> QLineEdit:
        edit = QLineEdit(self)
        edit.setObjectName(name)
        edit.setPlaceholderText(placeholder)
        edit.setClearButtonEnabled(True)
        edit.setMinimumWidth(width // 2)
        edit.setMaximumWidth(width * 2)
        return edit

    # -- rows in
    def add_rows(self, rows: Sequence[LogRow]) -> None:
        """A batch from the streams; held back while paused."""
        if not rows:
            return
        self._total += len(rows)
        if self._paused:
            self._waiting.extend(rows)
            cap = self.model.capacity
            if len(self._waiting) > cap:
                del self._waiting[: len(self._waiting) - cap]
            self._update_count()
            return
        self._queue(rows)

    def _queue(self, rows: Sequence[LogRow]) -> None:
        backlog = self._backlog
        backlog.extend(rows)
        excess = len(backlog) - self.model.capacity
        if excess > 0:  # older than what the window keeps
            del backlog[:excess]
        self._drain()

    def _drain(self) -> None:
        backlog = self._backlog
        while backlog:
            chunk = backlog[:APPEND_CHUNK]
            del backlog[:APPEND_CHUNK]
            self.model.append(chunk)
            if backlog and self._more.again():
                return

    @property
    def backlog(self) -> int:
        """Rows received, not paused, and not in the table yet."""
        return len(self._backlog)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @property
    def paused(self) -> bool:
        return self._paused

    def set_paused(self, paused: bool) -> None:
        if paused == self._paused:
            return
        self._paused = paused
        if self.pause_button.isChecked() != paused:
            self.pause_button.setChecked(paused)
        if not paused and self._waiting:
            waiting, self._waiting = self._waiting, []
            self._queue(waiting)
        self.pause_button.setText("Resume" if paused else "Pause")
        self._update_count()
        self.paused_changed.emit(paused)

    def toggle_pause(self) -> None:
        self.set_paused(not self._paused)

    def set_capacity(self, capacity: int) -> None:
        self.model.set_capacity(capacity)
        self._update_count()

    # -- streams
    def set_stream(self, stream_id: int, name: str) -> None:
        """Name a stream in the stream column and the stream filter."""
        self.model.set_stream_name(stream_id, name)
        index = self.stream_box.findData(stream_id)
        label = one_line(name, 40)
        if index < 0:
            self.stream_box.addItem(label, stream_id)
        else:
            self.stream_box.setItemText(index, label)

    def remove_stream(self, stream_id: int) -> None:
        index = self.stream_box.findData(stream_id)
        if index > 0:
            if self.stream_box.currentIndex() == index:
                self.stream_box.setCurrentIndex(0)
            self.stream_box.removeItem(index)

    # -- filters
    def set_dsn_filter(self, dsn: str | None) -> None:
        self.dsn_edit.setText(dsn or "")

    def focus_filter(self) -> None:
        self.text_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.text_edit.selectAll()

    def clear_filters(self) -> None:
        widgets = (self.type_box, self.stream_box, self.dsn_edit, self.property_edit, self.text_edit)
        for widget in widgets:
            widget.blockSignals(True)
        self.type_box.setCurrentIndex(0)
        self.stream_box.setCurrentIndex(0)
        for edit in (self.dsn_edit, self.property_edit, self.text_edit):
            edit.clear()
        for widget in widgets:
            widget.blockSignals(False)
        self._apply_filters()
        self.dsn_filter_changed.emit("")

    def criteria(self) -> EventFilter:
        """What the filter bar asks for (the type box's "bad frame" is :attr:`EventFilter.malformed`)."""
        kind = self.type_box.currentData()
        stream = self.stream_box.currentData()
        dsn = self.dsn_edit.text().strip()
        return EventFilter(
            event_types=(kind,) if kind and kind != MALFORMED else None,
            malformed=kind == MALFORMED,
            stream_ids=(stream,) if stream is not None else None,
            dsns=(dsn,) if dsn else None,
            property_like=self.property_edit.text().strip() or None,
            text=self.text_edit.text().strip() or None,
        )

    def _apply_filters(self) -> None:
        self.proxy.set_criteria(self.criteria())

    def _filters_applied(self) -> None:
        if not self.table.currentIndex().isValid():  # the selected event is filtered out
            self._current_changed(QModelIndex(), QModelIndex())
        self._update_count()
        if self.following:
            self.table.scrollToBottom()
        elif self.table.currentIndex().isValid():
            self.table.scrollTo(self.table.currentIndex())

    # -- follow, selection, details
    @property
    def following(self) -> bool:
        """Whether new rows scroll the view (Follow on and no selected row holding it)."""
        return self.follow_box.isChecked() and not self._held

    @property
    def held_new(self) -> int:
        """Rows that arrived while a selected row held the view (``None`` shown when not held)."""
        return self._held_new

    def _follow_toggled(self, on: bool) -> None:
        if on:
            self.resume_following()
        else:
            self._set_held(False)

    def _selection_changed(self, *args: Any) -> None:
        if self.follow_box.isChecked() and self.table.selectionModel().hasSelection():
            self._set_held(True)

    def _set_held(self, held: bool) -> None:
        if held == self._held:
            return
        self._held = held
        self._held_new = 0
        self.resume_button.setVisible(held)
        self._show_held()

    def _show_held(self) -> None:
        if self._held:
            self.resume_button.setText(f"following paused: {format_count(self._held_new)} new")

    def resume_following(self) -> None:
        """Follow the newest event again (the resume button, End)."""
        self._set_held(False)
        if self.follow_box.isChecked():
            self.table.scrollToBottom()

    def _open_device(self, index: QModelIndex) -> None:
        dsn = index.data(Role.DSN) if index.isValid() else None
        if dsn:
            self.device_requested.emit(dsn)

    def _rows_inserted(self, parent: QModelIndex | None = None, first: int = 0, last: int = -1) -> None:
        if self.following:
            self.table.scrollToBottom()
        elif self._held:
            self._held_new += max(0, last - first + 1)
            self._show_held()
        self._update_count()

    def _rows_leaving(self, parent: QModelIndex, first: int, last: int) -> None:
        # Rows leave at the front when the window is full: keep the rows in view
        # (and the selected one) where they are on the screen.
        if self.following or first != 0:
            return
        bar = self.table.verticalScrollBar()
        height = self.table.verticalHeader().defaultSectionSize()
        bar.setValue(max(0, bar.value() - (last - first + 1) * height))

    def _update_count(self, *args: Any) -> None:
        shown = self.proxy.rowCount()
        held = self.model.rowCount()
        text = f"{format_count(shown)} shown"
        if shown != held:
            text += f" of {format_count(held)}"
        if self._paused:
            text += f" · paused, {format_count(len(self._waiting))} waiting"
        self.count_label.setText(text)

    def selected_row(self) -> LogRow | None:
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        row = index.data(Role.ROW)
        return row if isinstance(row, LogRow) else None

    def select_source_row(self, source_row: int) -> None:
        index = self.proxy.mapFromSource(self.model.index(source_row, 0))
        if index.isValid():
            self.table.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)

    def _current_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        row = current.data(Role.ROW) if current.isValid() else None
        self.details_pane.show_row(row if isinstance(row, LogRow) else None)

    def copy_selected(self) -> None:
        self.details_pane.copy()
