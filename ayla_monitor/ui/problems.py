"""The Problems list: what is wrong right now, one row per device or stream
problem, each saying what and since when.

:func:`find_problems` is plain code over the fleet's summaries and the
streams' statuses: a device offline longer than the setting, quiet against
its own rhythm, flapping, with failed or missing acks (at least 2 and as
many as a fifth of its acks); a stream with open
gaps, or down (not live, and not disconnected by the user).
:class:`ProblemTracker` remembers when each problem was first seen, for the
problems whose start the figures do not carry (failed acks, a stream down).
:class:`ProblemsPanel` shows them in a dock and refreshes every
:data:`~ayla_monitor.ui.fleet_table.REFRESH_SECONDS`, never while the
pointer is over the list (a row must not move from under it).
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QVBoxLayout, QWidget

from ayla_monitor.core.status import StreamStatus
from ayla_monitor.dss.link import StreamState
from ayla_monitor.fleet.insight import DeviceSummary
from ayla_monitor.ui.fleet_table import REFRESH_SECONDS
from ayla_monitor.ui.formatting import format_ago, format_duration, one_line

__all__ = ["Kind", "Problem", "ProblemTracker", "ProblemsModel", "ProblemsPanel", "find_problems"]

_ROOT = QModelIndex()


class Kind(enum.Enum):
    """What is wrong, in the order the list shows them."""

    STREAM_DOWN = "stream down"
    GAPS = "open gaps"
    OFFLINE = "offline"
    FLAPPING = "flapping"
    QUIET = "quiet"
    FAILED_ACKS = "failed acks"
    MISSING_ACKS = "missing acks"


_RANK = {kind: i for i, kind in enumerate(Kind)}
#: a device is listed for failed (or missing) acks from this many, and this share
#: of its acks (a fleet where one ack in ten fails somewhere would otherwise list
#: every device; a recorder's restart leaves each device an ack or two missing)
FAILED_MIN = 2
FAILED_SHARE = 0.2


@dataclass(frozen=True, slots=True)
class Problem:
    kind: Kind
    #: the device's DSN, or ``None`` for a stream's problem
    dsn: str | None
    stream_id: int | None
    #: the device or stream, as shown
    subject: str
    #: since when (epoch seconds; ``None``: not known)
    since: float | None
    detail: str

    @property
    def key(self) -> tuple[Kind, str | None, int | None]:
        return (self.kind, self.dsn, self.stream_id)


def find_problems(summaries: Iterable[DeviceSummary], statuses: Iterable[StreamStatus], now: float, *,
                  offline_after_s: float = 600.0) -> list[Problem]:
    """Every problem of the devices and streams at ``now`` (see the module doc);
    ``since`` is left ``None`` where the figures do not carry it."""
    found: list[Problem] = []
    for st in statuses:
        name = st.name
        if st.state is not StreamState.LIVE and not st.by_user:
            detail = st.describe(now)
            found.append(Problem(Kind.STREAM_DOWN, None, st.stream_id, name, None, one_line(detail, 200)))
        if st.open_gaps:
            found.append(Problem(Kind.GAPS, None, st.stream_id, name, None,
                                 f"{st.open_gaps:,} gap{'s' * (st.open_gaps != 1)}, {st.missing:,} seqs missing"))
    for s in summaries:
        label = s.dsn
        if s.online is False and s.online_since is not None and now - s.online_since >= offline_after_s:
            found.append(Problem(Kind.OFFLINE, s.dsn, None, label, s.online_since,
                                 f"offline for {format_duration(now - s.online_since)}"))
        if s.flapping:
            found.append(Problem(Kind.FLAPPING, s.dsn, None, label, None,
                                 f"{s.flaps_hour} online/offline changes in the last hour"))
        if s.quiet:
            rhythm = format_duration(s.typical_interval_s) if s.typical_interval_s is not None else "?"
            found.append(Problem(Kind.QUIET, s.dsn, None, label, s.last_heard,
                                 f"silent for {format_duration(s.silent_s or 0.0)}, usually every {rhythm}"))
        if s.failed_acks >= FAILED_MIN and s.failed_acks >= FAILED_SHARE * s.acks:
            found.append(Problem(Kind.FAILED_ACKS, s.dsn, None, label, None,
                                 f"{s.failed_acks:,} of {s.acks:,} acks failed"))
        if s.missing_acks >= FAILED_MIN and s.missing_acks >= FAILED_SHARE * s.acks:
            found.append(Problem(Kind.MISSING_ACKS, s.dsn, None, label, None,
                                 f"{s.missing_acks:,} datapoints never acked"))
    found.sort(key=lambda p: (_RANK[p.kind], p.subject))
    return found


class ProblemTracker:
    """Gives each problem a ``since``: its own when known, else when it was first seen."""

    def __init__(self) -> None:
        self._first_seen: dict[tuple[Kind, str | None, int | None], float] = {}

    def track(self, problems: Sequence[Problem], now: float) -> list[Problem]:
        seen = self._first_seen
        current: dict[tuple[Kind, str | None, int | None], float] = {}
        out: list[Problem] = []
        for p in problems:
            first = seen.get(p.key, now)
            current[p.key] = first
            out.append(p if p.since is not None else Problem(p.kind, p.dsn, p.stream_id, p.subject, first, p.detail))
        self._first_seen = current  # a problem gone and back starts again
        return out


class ProblemsModel(QAbstractTableModel):
    """What, device or stream, since, details."""

    HEADERS = ("Problem", "Device or stream", "Since", "Details")
    PROBLEM_ROLE = Qt.ItemDataRole.UserRole + 1

    def __init__(self, parent: Any = None, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(parent)
        self.clock = clock
        self._rows: list[Problem] = []
        self._now = clock()

    def problems(self) -> list[Problem]:
        return self._rows

    def set_problems(self, problems: Sequence[Problem]) -> None:
        self._now = self.clock()
        if [p.key for p in problems] == [p.key for p in self._rows]:
            self._rows = list(problems)
            if self._rows:
                self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(self.HEADERS) - 1))
            return
        self.beginResetModel()
        self._rows = list(problems)
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole \
                and 0 <= section < len(self.HEADERS):
            return self.HEADERS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        p = self._rows[index.row()]
        if role == self.PROBLEM_ROLE:
            return p
        if role == Qt.ItemDataRole.ToolTipRole:  # the whole sentence, whatever the dock's width
            since = f" (since {format_ago(p.since, self._now)})" if p.since is not None else ""
            return f"{p.kind.value}: {p.subject}: {p.detail}{since}. Double-click to open it."
        if role == Qt.ItemDataRole.DisplayRole:
            column = index.column()
            if column == 0:
                return p.kind.value
            if column == 1:
                return one_line(p.subject, 120)
            if column == 2:
                return format_ago(p.since, self._now) if p.since is not None else ""
            return p.detail
        return None


class ProblemsPanel(QWidget):
    """The list in a dock; its title carries the count (:attr:`title_changed`)."""

    device_opened = Signal(str)
    stream_opened = Signal(int)
    #: "Problems (3)"
    title_changed = Signal(str)

    def __init__(self, source: Callable[[], tuple[Sequence[DeviceSummary], Sequence[StreamStatus]]],
                 parent: QWidget | None = None, *, clock: Callable[[], float] = time.time,
                 offline_after_s: float = 600.0, auto_refresh: bool = True) -> None:
        """``source()`` gives the summaries and the stream statuses at each refresh
        (``auto_refresh`` false: the owner calls :meth:`refresh`)."""
        super().__init__(parent)
        self.setObjectName("problems-panel")
        self._source = source
        self.clock = clock
        self.offline_after_s = offline_after_s
        self.tracker = ProblemTracker()
        self.model = ProblemsModel(self, clock=clock)
        self.table = QTableView(self)
        self.table.setObjectName("problems-table")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.setMouseTracking(True)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 6)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for column, width in enumerate((90, 140, 70)):
            self.table.setColumnWidth(column, width)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        self.table.doubleClicked.connect(self._open)
        self.refresh_timer = QTimer(self)
        self.refresh_timer.setObjectName("problems-refresh")
        self.refresh_timer.setInterval(int(REFRESH_SECONDS * 1000))
        self.refresh_timer.timeout.connect(self.refresh)
        if auto_refresh:
            self.refresh_timer.start()

    def refresh(self) -> bool:
        """New problems, unless the pointer is over the list; whether it changed the list."""
        if self.table.underMouse() or not self.isVisible():
            return False
        now = self.clock()
        summaries, statuses = self._source()
        problems = self.tracker.track(
            find_problems(summaries, statuses, now, offline_after_s=self.offline_after_s), now)
        self.model.set_problems(problems)
        self.title_changed.emit(f"Problems ({len(problems):,})" if problems else "Problems")
        return True

    def _open(self, index: QModelIndex) -> None:
        problem = index.data(ProblemsModel.PROBLEM_ROLE)
        if not isinstance(problem, Problem):
            return
        if problem.dsn is not None:
            self.device_opened.emit(problem.dsn)
        elif problem.stream_id is not None:
            self.stream_opened.emit(problem.stream_id)
