"""Device tiles: one card per DSN, painted by a delegate in a QListView.

:class:`DeviceTilesModel` keeps one :class:`DeviceTile` per DSN, built from
what the streams send (:meth:`DeviceTilesModel.apply`, or
:meth:`~DeviceTilesModel.fold` as batches arrive and
:meth:`~DeviceTilesModel.announce` at the window's refresh) and from what the
database remembers (:meth:`DeviceTilesModel.load_states`). New devices are
inserted with one ``beginInsertRows`` per refresh; changed tiles are announced
with ``dataChanged`` per run of rows. :class:`TileSortFilter` sorts (by DSN,
last activity or offline first) and filters; :class:`TileDelegate` paints
each card (its rounded background from a small cache of pixmaps), so two
thousand devices cost two thousand small objects, not two thousand widgets.
"""

from __future__ import annotations

import bisect
import enum
import functools
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QRectF,
    QSize,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    QUrl,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QDesktopServices,
    QFont,
    QFontMetrics,
    QGuiApplication,
    QHelpEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPalette,
    QPen,
    QPixmap,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMenu,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from ayla_monitor.dss.events import value_text
from ayla_monitor.fleet.device import TREND_POINTS, VALUE_KEPT, DeviceState, PropertyState
from ayla_monitor.ui.alerts.model import AlertMark
from ayla_monitor.ui.formatting import (
    format_ago,
    format_duration,
    format_value,
    is_openable_url,
    one_line,
    tooltip_text,
)
from ayla_monitor.ui.sparkline import paint_sparkline, pick_trend

__all__ = [
    "PropertyState",
    "VALUE_KEPT",
    "DeviceTile",
    "Role",
    "SortMode",
    "DeviceTilesModel",
    "TileSortFilter",
    "TileDelegate",
    "TilesView",
    "HIGHLIGHT_SECONDS",
]

log = logging.getLogger(__name__)

_ROOT = QModelIndex()  # the invisible root, as a default argument

#: How long a changed tile stays highlighted.
HIGHLIGHT_SECONDS = 1.5
#: Property lines a tile shows; the rest are counted and in the tooltip.
MAX_PROPERTIES = 4

TILE_WIDTH = 296
# Painting flags, combined once (an enum ``|`` costs microseconds, a card uses a dozen).
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_ELIDE_RIGHT = Qt.TextElideMode.ElideRight
#: Width of the sparkline, at most (it takes the right of the "Last heard" line).
SPARK_WIDTH = 110
TILE_HEIGHT = 168
#: the compact density's cards: the DSN, model and state, last heard and the trend
COMPACT_TILE_WIDTH = 236
COMPACT_TILE_HEIGHT = 76
#: how often a live order (last activity, offline first) is redone
RESORT_SECONDS = 3


#: characters of a text value a tile keeps: a tile shows a line of it and its
class DeviceTile(DeviceState):
    """A device's state (:class:`~ayla_monitor.fleet.device.DeviceState`)
    as a tile: plus when it last changed, for the highlight."""

    __slots__ = ("changed_at",)

    def __init__(self, dsn: str) -> None:
        super().__init__(dsn)
        #: monotonic time of the last change, for the highlight.
        self.changed_at = 0.0

    def merge_stored(self, stored: DeviceState) -> None:
        """Fill in what the database knows and the live events have not told
        yet (they are newer: what they said stays)."""
        for name in ("oem_id", "oem_model", "online", "online_since", "last_event_time", "last_received_at",
                     "lat", "long", "provider", "ip", "registered", "registration_type"):
            if getattr(self, name) is None:
                setattr(self, name, getattr(stored, name))
        for name, prop in stored.properties.items():
            if name not in self.properties:
                self.properties[name] = prop
                self.sorted_names = None
        for name, values in stored.trends.items():
            mine = self.trends.get(name)
            # the stored values are older than what live events pushed
            self.trends[name] = values if mine is None else (values + mine)[-2 * TREND_POINTS:]

    # -- views of it
    def status_text(self) -> str:
        return {True: "Online", False: "Offline"}.get(self.online, "Unknown")  # type: ignore[arg-type]

    def location_text(self) -> str | None:
        if self.lat is None and self.long is None and not self.provider:
            return None
        lat = "?" if self.lat is None else f"{self.lat:.4f}"
        lon = "?" if self.long is None else f"{self.long:.4f}"
        text = f"{lat}, {lon}"
        return f"{text} ({one_line(self.provider, 30)})" if self.provider else text

    def registration_text(self) -> str | None:
        if self.registered is None:
            return None
        text = "Registered" if self.registered else "Not registered"
        if self.registration_type:
            text += f" ({one_line(self.registration_type, 30)})"
        return text

    def filter_text(self) -> str:
        return " ".join(p for p in (self.dsn, self.oem_model, self.oem_id) if p)

    def describe(self, now: float) -> str:
        """Everything on the tile, untruncated (for the tooltip and copying)."""
        lines = [self.dsn]
        model = " · ".join(p for p in (self.oem_model, self.oem_id) if p)
        if model:
            lines.append(f"Model {model}")
        status = self.status_text()
        if self.online is not None and self.online_since is not None:
            status += f" for {format_duration(now - self.online_since)}"
        lines.append(status)
        lines.append(f"Last heard {format_ago(self.last_received_at, now)}"
                     + (f" (event time {self.last_event_time})" if self.last_event_time else ""))
        for name in self.property_names():
            prop = self.properties[name]
            full = value_text(prop.value)
            label = name if not prop.display_name or prop.display_name == name else f"{name} ({prop.display_name})"
            text = full if full is not None else "—"
            if len(text) > 600 or prop.length:
                text = text[:600] + f"… ({prop.length or len(text):,} characters)"
            lines.append(f"{label} [{prop.base_type or '?'}]: {text}")
        where = self.location_text()
        if where:
            lines.append(f"Location {where}")
        reg = self.registration_text()
        if reg:
            lines.append(reg)
        return "\n".join(lines)


class Role(enum.IntEnum):
    TILE = Qt.ItemDataRole.UserRole + 1
    DSN = Qt.ItemDataRole.UserRole + 2
    FILTER = Qt.ItemDataRole.UserRole + 5
    ONLINE = Qt.ItemDataRole.UserRole + 6
    #: the device's open-alert badge (an AlertMark) or None
    ALERT = Qt.ItemDataRole.UserRole + 7


class SortMode(enum.Enum):
    DSN = "DSN"
    ACTIVITY = "Last activity"
    OFFLINE_FIRST = "Offline first"

    @property
    def live(self) -> bool:
        """Whether the order follows live values (and so is redone from time
        to time, not at every change: see :meth:`DeviceTilesModel.resort`)."""
        return self is not SortMode.DSN


_ONLINE_RANK = {False: 0, None: 1, True: 2}


def _dsn_of(tile: DeviceTile) -> str:
    return tile.dsn


_SORT_KEYS: dict[SortMode, Callable[[DeviceTile], Any]] = {
    SortMode.DSN: lambda t: t.dsn,
    SortMode.ACTIVITY: lambda t: (-(t.last_received_at or 0.0), t.dsn),
    SortMode.OFFLINE_FIRST: lambda t: (_ONLINE_RANK[t.online], t.dsn),
}

_CHANGED_ROLES = [Qt.ItemDataRole.DisplayRole, Role.TILE, Role.ONLINE]
#: More changed tiles than this are announced as one range.
_RUNS_AT_MOST = 64


class DeviceTilesModel(QAbstractListModel):
    """One row per DSN, kept in :attr:`sort_mode` order by the model itself.

    Sorting here, in Python, with a key per tile costs milliseconds for
    10,000 tiles; a :class:`QSortFilterProxyModel` sorting by a role called
    :meth:`data` twice per comparison (300k calls, 3.6 s at 10,000 devices).
    A DSN never changes, so that order is exact at all times (new devices
    are put in their place at once, and a row is found by bisection: no
    index of 10,000 rows to redo for each device that arrives). The live orders (last activity,
    offline first) are redone by :meth:`resort`: when chosen, when devices
    arrive, and when the view asks (every few seconds, and never while the
    pointer is over the tiles), so that a tile does not move away from
    the user's eye or click at every event.
    """

    def __init__(self, parent: Any = None, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(parent)
        self._tiles: list[DeviceTile] = []
        #: DSN -> tile, of the tiles shown (what a batch is folded into)
        self._by_dsn: dict[str, DeviceTile] = {}
        #: DSN -> row in a live order (new tiles go at its end); empty in DSN
        #: order, where :meth:`row_of` bisects: inserting moves no index there
        self._rows: dict[str, int] = {}
        #: folded in and not announced yet: DSNs of changed tiles, tiles of new devices.
        self._changed: set[str] = set()
        self._new: dict[str, DeviceTile] = {}
        self.sort_mode = SortMode.DSN
        #: tiles shown online and offline (see :meth:`summary`)
        self._online = self._offline = 0
        self.clock = clock
        #: the property the sparklines show where a tile has it (else its busiest number).
        self.trend_property: str | None = None
        #: DSN -> its open-alert badge (issue 13; set by the window's alerts)
        self.alert_marks: dict[str, AlertMark] = {}

    def tiles(self) -> Sequence[DeviceTile]:
        return self._tiles

    def tile(self, dsn: str) -> DeviceTile | None:
        tile = self._by_dsn.get(dsn)
        return self._new.get(dsn) if tile is None else tile

    def row_of(self, dsn: str) -> int:
        if self.sort_mode is not SortMode.DSN:
            return self._rows.get(dsn, -1)
        tiles = self._tiles
        row = bisect.bisect_left(tiles, dsn, key=_dsn_of)
        return row if row < len(tiles) and tiles[row].dsn == dsn else -1

    def summary(self) -> tuple[int, int, int]:
        """``(devices, online, offline)``, counted as tiles change (not by a
        walk over 10,000 tiles at every refresh)."""
        return len(self._tiles), self._online, self._offline

    def _recount(self) -> None:
        self._online = sum(1 for tile in self._tiles if tile.online is True)
        self._offline = sum(1 for tile in self._tiles if tile.online is False)

    def fold(self, events: Iterable[Any]) -> None:
        """Take events in without telling the views yet (:meth:`announce` does):
        the window folds each batch as it arrives and announces the changes at
        its refresh, so that the refresh stays short."""
        new, changed, shown = self._new, self._changed, self._by_dsn
        for event in events:
            dsn = getattr(event, "dsn", None)
            if not dsn:
                continue  # malformed frames and device-less events have no tile
            tile = shown.get(dsn)
            if tile is not None:
                changed.add(dsn)
                was = tile.online
                tile.apply(event)
                if tile.online is not was:
                    self._count(was, -1)
                    self._count(tile.online, 1)
                continue
            found = new.get(dsn)
            if found is None:
                found = new[dsn] = DeviceTile(dsn)
            found.apply(event)

    def announce(self) -> int:
        """Show what :meth:`fold` took in: changed tiles are highlighted from
        now, new ones inserted (one insertion); how many changed or appeared."""
        changed, new = self._changed, self._new
        if not changed and not new:
            return 0
        self._changed, self._new = set(), {}
        stamp = time.monotonic()
        shown = self._by_dsn
        for dsn in changed:
            shown[dsn].changed_at = stamp
        for tile in new.values():
            tile.changed_at = stamp
        if len(changed) > _RUNS_AT_MOST:
            self._announce_all()
        else:
            self._announce({self.row_of(dsn) for dsn in changed})
        self._insert(new.values())
        return len(changed) + len(new)

    def apply(self, events: Iterable[Any]) -> int:
        """Fold a batch of events in and show it; returns how many tiles changed or appeared."""
        self.fold(events)
        return self.announce()

    def load_states(self, states: Iterable[DeviceState]) -> None:
        """Tiles for what the database remembers (no highlight: nothing just
        changed). ``states`` may be tiles already (``Store.device_states(DeviceTile)``
        builds them off the GUI thread); a device shown already keeps what the
        live events told (it is newer) and takes the rest."""
        self.announce()
        new: dict[str, DeviceTile] = {}
        changed: set[int] = set()
        for state in states:
            dsn = state.dsn
            if not dsn:
                continue
            tile = self._by_dsn.get(dsn)
            if tile is not None:
                tile.merge_stored(state)
                changed.add(self.row_of(dsn))
            elif isinstance(state, DeviceTile):
                new[dsn] = state
            else:
                tile = new[dsn] = DeviceTile(dsn)
                tile.merge_stored(state)
        self._recount()  # a merge may have told an online state
        self._announce(changed)
        self._insert(new.values())

    def set_trend_property(self, name: str | None) -> None:
        """Show ``name``'s trend on every tile that has it."""
        self.trend_property = name
        if self._tiles:
            self.dataChanged.emit(self.index(0), self.index(len(self._tiles) - 1), [Role.TILE])

    def set_alert_marks(self, marks: dict[str, AlertMark]) -> None:
        """The badges of the devices with an open alert; repaints the tiles that changed."""
        old, self.alert_marks = self.alert_marks, marks
        for dsn in {d for d in old.keys() | marks.keys() if old.get(d) != marks.get(d)}:
            row = self.row_of(dsn)
            if row >= 0:
                self.dataChanged.emit(self.index(row), self.index(row), [Role.ALERT])

    def clear(self) -> None:
        self.beginResetModel()
        self._tiles = []
        self._by_dsn = {}
        self._rows = {}
        self._changed, self._new = set(), {}
        self._online = self._offline = 0
        self.endResetModel()

    def set_sort_mode(self, mode: SortMode) -> None:
        self.sort_mode = mode
        self.resort()

    def resort(self) -> bool:
        """Put the tiles in :attr:`sort_mode` order (one layout change, the
        views' selection and current tile kept); whether any moved."""
        order = sorted(self._tiles, key=_SORT_KEYS[self.sort_mode])
        live = self.sort_mode.live
        if all(a is b for a, b in zip(order, self._tiles, strict=True)):
            if live and len(self._rows) != len(order):  # from DSN order, which keeps no rows
                self._rows = {tile.dsn: row for row, tile in enumerate(order)}
            elif not live:
                self._rows = {}
            return False
        self.layoutAboutToBeChanged.emit()
        before = self.persistentIndexList()
        moved = [self._tiles[index.row()].dsn for index in before]
        rows = {tile.dsn: row for row, tile in enumerate(order)}
        self._tiles = order
        self._rows = rows if live else {}
        self.changePersistentIndexList(before, [self.index(rows[dsn]) for dsn in moved])
        self.layoutChanged.emit()
        return True

    def _insert(self, tiles: Iterable[DeviceTile]) -> None:
        """New tiles: in their place by DSN (one insertion each, found by
        bisection: a full re-sort of 10,000 tiles for a few new ones cost
        more than the rest of a refresh); at the end in a live order, until
        its next :meth:`resort`."""
        new = sorted(tiles, key=_SORT_KEYS[self.sort_mode])
        if not new:
            return
        shown = self._by_dsn
        for tile in new:
            self._count(tile.online, 1)
            shown[tile.dsn] = tile
        first = len(self._tiles)
        if self.sort_mode is not SortMode.DSN:
            for offset, tile in enumerate(new):
                self._rows[tile.dsn] = first + offset
        elif first:
            tiles = self._tiles
            for tile in new:
                row = bisect.bisect_left(tiles, tile.dsn, key=_dsn_of)
                self.beginInsertRows(_ROOT, row, row)
                tiles.insert(row, tile)
                self.endInsertRows()
            return
        self.beginInsertRows(_ROOT, first, first + len(new) - 1)
        self._tiles.extend(new)
        self.endInsertRows()

    def _count(self, online: bool | None, step: int) -> None:
        if online is True:
            self._online += step
        elif online is False:
            self._offline += step

    def _announce_all(self) -> None:
        """Hundreds of tiles changed (a big fleet at thousands of events a
        second): one range over them all, which the view repaints at once,
        instead of one signal per run of rows through the proxy and the view
        (and no look-up of their rows)."""
        if self._tiles:
            self.dataChanged.emit(self.index(0), self.index(len(self._tiles) - 1), _CHANGED_ROLES)

    def _announce(self, rows: set[int]) -> None:
        rows.discard(-1)
        if not rows:
            return
        if len(rows) > _RUNS_AT_MOST:
            self._announce_all()
            return
        ordered = sorted(rows)
        start = prev = ordered[0]
        for row in ordered[1:]:
            if row != prev + 1:
                self.dataChanged.emit(self.index(start), self.index(prev), _CHANGED_ROLES)
                start = row
            prev = row
        self.dataChanged.emit(self.index(start), self.index(prev), _CHANGED_ROLES)

    # -- Qt model API
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._tiles)

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._tiles):
            return None
        tile = self._tiles[index.row()]
        if role == Role.TILE:
            return tile
        if role in (Qt.ItemDataRole.DisplayRole, Role.DSN):
            return tile.dsn
        if role == Role.FILTER:
            return tile.filter_text()
        if role == Role.ONLINE:
            return tile.online
        if role == Role.ALERT:
            return self.alert_marks.get(tile.dsn)
        if role == Qt.ItemDataRole.ToolTipRole:
            mark = self.alert_marks.get(tile.dsn)
            return tooltip_text((f"{mark.tooltip()}\n" if mark else "") + tile.describe(self.clock()))
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{tile.dsn}, {tile.status_text()}"
        return None


class TileSortFilter(QSortFilterProxyModel):
    """A case-insensitive filter on DSN, model and OEM over the tiles, which
    the model keeps in order itself (see :class:`DeviceTilesModel`): the
    proxy never sorts. It follows changes only while a filter is set
    (under load every tile changes ten times a second; with no filter there
    is nothing to re-check)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setDynamicSortFilter(False)
        self.setFilterRole(Role.FILTER)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self._filter_text = ""

    @property
    def sort_mode(self) -> SortMode:
        model = self.sourceModel()
        return model.sort_mode if isinstance(model, DeviceTilesModel) else SortMode.DSN

    def set_sort_mode(self, mode: SortMode) -> None:
        model = self.sourceModel()
        if isinstance(model, DeviceTilesModel):
            model.set_sort_mode(mode)

    def set_filter_text(self, text: str) -> None:
        self._filter_text = text.strip()
        self.setDynamicSortFilter(bool(self._filter_text))
        self.setFilterFixedString(self._filter_text)


class _Palette:
    """Restrained colours that read on light and dark palettes."""

    ONLINE = QColor(46, 160, 67)
    OFFLINE = QColor(207, 72, 72)
    UNKNOWN = QColor(128, 128, 128)


def _paint_card(painter: QPainter, rect: QRect, fill: QColor, flash: QColor | None, pen: QPen,
                stripe: QColor) -> None:
    """The card: rounded background and border (the highlight over it), the status stripe."""
    painter.setPen(pen)
    painter.setBrush(fill)
    if flash is not None:
        painter.drawRoundedRect(rect, 8, 8)
        painter.setBrush(flash)
    painter.drawRoundedRect(rect, 8, 8)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(stripe)
    painter.drawRoundedRect(QRect(rect.left() + 1, rect.top() + 10, 4, rect.height() - 20), 2, 2)


class _CardCache:
    """Cards and badges painted once per look and then copied: antialiased
    rounded rectangles were half of a tile's paint (0.5 of 1 ms; under load
    every visible tile repaints ten times a second).

    A card is the same all along its width except near the corners, so a
    narrow card is painted into a pixmap and drawn in three slices (left
    end, one column stretched, right end): the same picture as painting it
    (antialiased edge pixels differ by at most 3 levels in 255).
    Looks are keyed by height, colours (8-bit, as painted), pen and pixel
    ratio; the highlight's fading alpha makes at most ~50 looks per colour.
    """

    #: Columns kept at each end: the corner radius (8), the pen and a margin.
    EDGE = 12
    #: Room around the card for the pen's antialiased edge.
    PAD = 2
    LIMIT = 256

    def __init__(self) -> None:
        self._pixmaps: OrderedDict[tuple[Any, ...], QPixmap] = OrderedDict()

    def draw(self, painter: QPainter, rect: QRect, fill: QColor, flash: QColor | None, pen: QPen,
             stripe: QColor) -> None:
        """Paint the card in ``rect`` (changes the painter's render hints: call between save and restore)."""
        edge, pad = self.EDGE, self.PAD
        width, height = rect.width(), rect.height()
        device = painter.device()
        ratio = device.devicePixelRatioF() if device is not None else 1.0
        if width <= 2 * edge + 1 or height <= 20 or not ratio.is_integer():  # (slices need whole pixels)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            _paint_card(painter, rect, fill, flash, pen, stripe)
            return
        key = ("card", height, fill.rgba(), None if flash is None else flash.rgba(), pen.color().rgba(),
               pen.widthF(), stripe.rgba(), ratio)
        pixmap = self._pixmaps.get(key)
        if pixmap is None:
            pixmap = self._keep(key, self._render(height, fill, flash, pen, stripe, ratio))
        else:
            self._pixmaps.move_to_end(key)
        narrow = 2 * edge + 1
        left, top, full = rect.left(), rect.top() - pad, height + 2 * pad
        # a smooth (bilinear) stretch is slow and blends the column with its neighbours
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        # left end, stretched middle column, right end (source rectangles in device pixels)
        painter.drawPixmap(QRectF(left - pad, top, edge + pad, full), pixmap,
                           QRectF(0, 0, (edge + pad) * ratio, full * ratio))
        painter.drawPixmap(QRectF(left + edge, top, width - 2 * edge, full), pixmap,
                           QRectF((pad + edge) * ratio, 0, ratio, full * ratio))
        painter.drawPixmap(QRectF(left + width - edge, top, edge + pad, full), pixmap,
                           QRectF((pad + narrow - edge) * ratio, 0, (edge + pad) * ratio, full * ratio))

    def draw_pill(self, painter: QPainter, rect: QRect, fill: QColor, colour: QColor) -> None:
        """A badge's rounded outline (1 px ``colour``) filled with ``fill``, painted as
        ``painter.drawRoundedRect(rect, h / 2, h / 2)`` would (changes the render hints)."""
        device = painter.device()
        ratio = device.devicePixelRatioF() if device is not None else 1.0
        pad = self.PAD
        key = ("pill", rect.width(), rect.height(), fill.rgba(), colour.rgba(), ratio)
        pixmap = self._pixmaps.get(key)
        if pixmap is None:
            pixmap = QPixmap(round((rect.width() + 2 * pad) * ratio), round((rect.height() + 2 * pad) * ratio))
            pixmap.setDevicePixelRatio(ratio)
            pixmap.fill(Qt.GlobalColor.transparent)
            pill = QPainter(pixmap)
            pill.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            pill.setBrush(fill)
            pill.setPen(QPen(colour, 1))
            pill.drawRoundedRect(QRect(pad, pad, rect.width(), rect.height()), rect.height() / 2, rect.height() / 2)
            pill.end()
            self._keep(key, pixmap)
        else:
            self._pixmaps.move_to_end(key)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        painter.drawPixmap(rect.left() - pad, rect.top() - pad, pixmap)

    def _keep(self, key: tuple[Any, ...], pixmap: QPixmap) -> QPixmap:
        self._pixmaps[key] = pixmap
        if len(self._pixmaps) > self.LIMIT:
            self._pixmaps.popitem(last=False)
        return pixmap

    def _render(self, height: int, fill: QColor, flash: QColor | None, pen: QPen, stripe: QColor,
                ratio: float) -> QPixmap:
        pad, narrow = self.PAD, 2 * self.EDGE + 1
        pixmap = QPixmap(round((narrow + 2 * pad) * ratio), round((height + 2 * pad) * ratio))
        pixmap.setDevicePixelRatio(ratio)
        pixmap.fill(Qt.GlobalColor.transparent)
        card = QPainter(pixmap)
        card.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        _paint_card(card, QRect(pad, pad, narrow, height), fill, flash, pen, stripe)
        card.end()
        return pixmap


class TileDelegate(QStyledItemDelegate):
    """Paints one device card; opens a file property's link when clicked."""

    def __init__(self, parent: Any = None, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(parent)
        self.clock = clock
        self._cards = _CardCache()
        #: the card's fonts and their metrics, by the view's font.
        self._font_cache: dict[str, tuple[QFont, QFont, QFont, QFontMetrics, QFontMetrics, QFontMetrics]] = {}
        #: set by the view so that a row of tiles fills its width.
        self.tile_width = TILE_WIDTH
        #: compact cards (no property lines, no footer): set by the view
        self.compact = False

    @property
    def tile_height(self) -> int:
        return COMPACT_TILE_HEIGHT if self.compact else TILE_HEIGHT

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        return QSize(self.tile_width, self.tile_height)

    # -- geometry shared by painting and clicking
    @staticmethod
    def _fonts(base: QFont) -> tuple[QFont, QFont, QFont]:
        bold = QFont(base)
        bold.setBold(True)
        bold.setPointSizeF(base.pointSizeF() + 1 if base.pointSizeF() > 0 else 11)
        small = QFont(base)
        if base.pointSizeF() > 0:
            small.setPointSizeF(max(7.0, base.pointSizeF() - 1))
        return bold, QFont(base), small

    @staticmethod
    def _property_rects(rect: QRect, line: int, top: int) -> list[tuple[QRect, QRect]]:
        inner = rect.adjusted(12, 0, -12, 0)
        name_w = int(inner.width() * 0.42)
        rows = []
        for i in range(MAX_PROPERTIES):
            y = top + i * line
            rows.append((QRect(inner.left(), y, name_w - 6, line),
                         QRect(inner.left() + name_w, y, inner.width() - name_w, line)))
        return rows

    def _layout(self, option: QStyleOptionViewItem) -> dict[str, Any]:
        rect = option.rect.adjusted(4, 4, -4, -4)
        key = option.font.key()
        fonts = self._font_cache.get(key)
        if fonts is None:
            bold, normal, small = self._fonts(option.font)
            fonts = self._font_cache[key] = (bold, normal, small, QFontMetrics(bold), QFontMetrics(normal),
                                             QFontMetrics(small))
        bold, normal, small, fm_b, fm_n, fm_s = fonts
        inner = rect.adjusted(12, 10, -12, -8)
        y = inner.top()
        header = QRect(inner.left(), y, inner.width(), fm_b.height())
        y += fm_b.height() + 2
        subtitle = QRect(inner.left(), y, inner.width(), fm_s.height())
        y += fm_s.height() + 1
        heard = QRect(inner.left(), y, inner.width(), fm_s.height())
        y += fm_s.height() + 6
        sep_y = y - 3
        line = fm_n.height() + 1
        props = self._property_rects(rect, line, y)
        footer = QRect(inner.left(), inner.bottom() - fm_s.height() + 1, inner.width(), fm_s.height())
        return {"rect": rect, "bold": bold, "normal": normal, "small": small, "fm_b": fm_b,
                "fm_n": fm_n, "fm_s": fm_s, "header": header, "subtitle": subtitle, "heard": heard,
                "sep_y": sep_y, "props": props, "footer": footer, "line": line}

    # -- painting
    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        tile = index.data(Role.TILE)
        if not isinstance(tile, DeviceTile):
            return
        now = self.clock()
        pal = option.palette
        g = self._layout(option)
        rect: QRect = g["rect"]
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hovered = bool(option.state & QStyle.StateFlag.State_MouseOver)
        painter.save()

        base = pal.color(QPalette.ColorRole.Base)
        text = pal.color(QPalette.ColorRole.Text)
        muted = QColor(text)
        muted.setAlphaF(0.62)
        border = QColor(text)
        border.setAlphaF(0.16 if not hovered else 0.32)
        accent = pal.color(QPalette.ColorRole.Highlight)

        pen = QPen(accent, 2) if selected else QPen(border, 1)
        flash: QColor | None = None
        age = time.monotonic() - tile.changed_at
        if 0 <= age < HIGHLIGHT_SECONDS:
            flash = QColor(accent)
            flash.setAlphaF(0.18 * (1 - age / HIGHLIGHT_SECONDS))
        colour = {True: _Palette.ONLINE, False: _Palette.OFFLINE}.get(tile.online, _Palette.UNKNOWN)  # type: ignore[arg-type]
        self._cards.draw(painter, rect, base, flash, pen, colour)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        if option.state & QStyle.StateFlag.State_HasFocus:
            # the keyboard's place: a clear ring inside the card (selection alone is not focus)
            ring = QPen(accent, 2, Qt.PenStyle.DashLine)
            painter.setPen(ring)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(QRectF(rect).adjusted(3, 3, -3, -3), 6, 6)

        # header: DSN and badge
        header: QRect = g["header"]
        fm_s: QFontMetrics = g["fm_s"]
        badge_text = tile.status_text()
        badge_w = fm_s.horizontalAdvance(badge_text) + 16
        badge = QRect(header.right() - badge_w + 1, header.top() + (header.height() - fm_s.height() - 4) // 2,
                      badge_w, fm_s.height() + 4)
        badge_fill = QColor(colour)
        badge_fill.setAlphaF(0.16)
        self._cards.draw_pill(painter, badge, badge_fill, colour)
        painter.setFont(g["small"])
        painter.setPen(colour)
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, badge_text)

        mark = index.data(Role.ALERT)
        if isinstance(mark, AlertMark):  # an open alert: a dot left of the state (issue 13)
            size = fm_s.height() - 2
            badge_w += size + 6
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(mark.colour)
            painter.drawEllipse(QRectF(badge.left() - size - 6, badge.center().y() - size / 2 + 1, size, size))
        painter.setFont(g["bold"])
        painter.setPen(text)
        dsn_rect = QRect(header.left(), header.top(), header.width() - badge_w - 8, header.height())
        painter.drawText(dsn_rect, _LEFT,
                         g["fm_b"].elidedText(one_line(tile.dsn, 120), Qt.TextElideMode.ElideMiddle,
                                              dsn_rect.width()))

        # model · OEM, and how long online/offline
        painter.setFont(g["small"])
        sub: QRect = g["subtitle"]
        since = ""
        if tile.online is not None and tile.online_since is not None:
            since = f"for {format_duration(now - tile.online_since)}"
        since_w = fm_s.horizontalAdvance(since)
        painter.setPen(muted)
        if since:
            painter.drawText(sub, _RIGHT, since)
        model = " · ".join(one_line(p, 60) for p in (tile.oem_model, tile.oem_id) if p) or "unknown model"
        painter.drawText(QRect(sub.left(), sub.top(), sub.width() - since_w - 8, sub.height()),
                         _LEFT,
                         fm_s.elidedText(model, _ELIDE_RIGHT, sub.width() - since_w - 8))
        heard = f"Last heard {format_ago(tile.last_received_at, now)}"
        heard_rect: QRect = g["heard"]
        trend = pick_trend(tile.trends, self.trend_property(index))
        if trend is not None:
            spark_w = min(SPARK_WIDTH, heard_rect.width() // 2)
            label = fm_s.elidedText(one_line(trend, 40), _ELIDE_RIGHT, spark_w // 2)
            label_w = fm_s.horizontalAdvance(label) + 6
            spark = QRectF(heard_rect.right() - spark_w + label_w, heard_rect.top() + 2,
                           spark_w - label_w, heard_rect.height() - 3)
            painter.drawText(QRect(heard_rect.right() - spark_w, heard_rect.top(), label_w, heard_rect.height()),
                             _LEFT, label)
            paint_sparkline(painter, spark, tile.trends[trend], accent)
            heard_rect = heard_rect.adjusted(0, 0, -spark_w - 6, 0)
        painter.drawText(heard_rect, _LEFT,
                         fm_s.elidedText(heard, _ELIDE_RIGHT, heard_rect.width()))
        if self.compact:
            painter.restore()
            return

        sep = QColor(text)
        sep.setAlphaF(0.10)
        painter.setPen(QPen(sep, 1))
        painter.drawLine(rect.left() + 12, g["sep_y"], rect.right() - 12, g["sep_y"])

        # properties
        fm_n: QFontMetrics = g["fm_n"]
        names = tile.property_names()
        shown = names[:MAX_PROPERTIES]
        if len(names) > MAX_PROPERTIES:
            shown = names[: MAX_PROPERTIES - 1]
        link = pal.color(QPalette.ColorRole.Link)
        for (name_rect, value_rect), name in zip(g["props"], shown, strict=False):
            prop = tile.properties[name]
            painter.setFont(g["normal"])
            painter.setPen(muted)
            painter.drawText(name_rect, _LEFT,
                             fm_n.elidedText(one_line(name, 120), _ELIDE_RIGHT, name_rect.width()))
            value = format_value(prop.base_type, prop.value)
            if prop.base_type == "file" and isinstance(prop.value, str) and is_openable_url(prop.value):
                font = QFont(g["normal"])
                font.setUnderline(True)
                painter.setFont(font)
                painter.setPen(link)
            else:
                painter.setPen(text)
            painter.drawText(value_rect, _LEFT,
                             fm_n.elidedText(value, _ELIDE_RIGHT, value_rect.width()))
        if len(names) > len(shown):
            name_rect, _ = g["props"][len(shown)]
            painter.setFont(g["small"])
            painter.setPen(muted)
            painter.drawText(name_rect.adjusted(0, 0, 200, 0),
                             _LEFT,
                             f"+{len(names) - len(shown)} more (hover for all)")
        if not names:
            name_rect, _ = g["props"][0]
            painter.setFont(g["small"])
            painter.setPen(muted)
            painter.drawText(name_rect.adjusted(0, 0, 200, 0),
                             _LEFT, "No property values yet")

        # footer: location and registration
        parts = [p for p in (tile.location_text(), tile.registration_text()) if p]
        if parts:
            footer: QRect = g["footer"]
            painter.setFont(g["small"])
            painter.setPen(muted)
            painter.drawText(footer, _LEFT,
                             fm_s.elidedText("  ·  ".join(parts), _ELIDE_RIGHT, footer.width()))
        painter.restore()

    @staticmethod
    def trend_property(index: QModelIndex | QPersistentModelIndex) -> str | None:
        model = index.model()
        while isinstance(model, QSortFilterProxyModel):
            model = model.sourceModel()
        return getattr(model, "trend_property", None)

    # -- links and tooltips
    def file_url_at(self, option: QStyleOptionViewItem, tile: DeviceTile, pos: QPoint) -> str | None:
        """The http(s) URL of the file property painted under ``pos``, if any."""
        g = self._layout(option)
        names = tile.property_names()
        shown = names[: MAX_PROPERTIES - 1] if len(names) > MAX_PROPERTIES else names[:MAX_PROPERTIES]
        for (_, value_rect), name in zip(g["props"], shown, strict=False):
            prop = tile.properties[name]
            if (prop.base_type == "file" and isinstance(prop.value, str)
                    and is_openable_url(prop.value) and value_rect.contains(pos)):
                return prop.value
        return None

    def editorEvent(self, event: QEvent, model: Any, option: QStyleOptionViewItem,
                    index: QModelIndex | QPersistentModelIndex) -> bool:
        if event.type() == QEvent.Type.MouseButtonRelease and isinstance(event, QMouseEvent):
            tile = index.data(Role.TILE)
            if isinstance(tile, DeviceTile) and event.button() == Qt.MouseButton.LeftButton:
                url = self.file_url_at(option, tile, event.position().toPoint())
                if url is not None:
                    QDesktopServices.openUrl(QUrl(url))
                    return True
        return super().editorEvent(event, model, option, index)

    def helpEvent(self, event: QHelpEvent, view: QAbstractItemView, option: QStyleOptionViewItem,
                  index: QModelIndex | QPersistentModelIndex) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            tip = index.data(Qt.ItemDataRole.ToolTipRole)
            if tip:
                QToolTip.showText(event.globalPos(), tip, view)
                return True
        return super().helpEvent(event, view, option, index)


class TilesView(QWidget):
    """The tile grid with its summary line, filter box and sort choice."""

    #: a tile was clicked: filter the log to this DSN (``""`` clears).
    device_selected = Signal(str)
    #: a tile was double-clicked (or "Open device" chosen): show that device.
    device_opened = Signal(str)

    def __init__(self, parent: QWidget | None = None, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(parent)
        self.model = DeviceTilesModel(self, clock=clock)
        self.proxy = TileSortFilter(self)
        self.proxy.setSourceModel(self.model)

        title = QLabel("Devices", self)
        title.setTextFormat(Qt.TextFormat.PlainText)
        font = title.font()
        font.setBold(True)
        title.setFont(font)
        self.summary_label = QLabel(self)
        self.summary_label.setObjectName("tiles-summary")
        self.summary_label.setTextFormat(Qt.TextFormat.PlainText)
        self.filter_edit = QLineEdit(self)
        self.filter_edit.setObjectName("tiles-filter")
        self.filter_edit.setPlaceholderText("Filter devices (DSN, model, OEM)…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setMaximumWidth(320)
        self.sort_box = QComboBox(self)
        self.sort_box.setObjectName("tiles-sort")
        for mode in SortMode:
            self.sort_box.addItem(f"Sort: {mode.value}", mode)

        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.setSpacing(8)
        bar.addWidget(title)
        bar.addWidget(self.summary_label)
        bar.addStretch(1)
        bar.addWidget(self.filter_edit, 1)
        bar.addWidget(self.sort_box)

        self.list = QListView(self)
        self.list.setObjectName("tiles-list")
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setWrapping(True)
        self.list.setFlow(QListView.Flow.LeftToRight)
        self.list.setUniformItemSizes(True)
        self.list.setLayoutMode(QListView.LayoutMode.Batched)
        self.list.setBatchSize(500)
        self.list.setSpacing(2)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.list.verticalScrollBar().setSingleStep(TILE_HEIGHT + 2 * self.list.spacing())
        self._wheel_rest = 0
        self.list.setMouseTracking(True)
        self.list.setFrameShape(QListView.Shape.NoFrame)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.viewport().setAutoFillBackground(True)
        self.list.viewport().setBackgroundRole(QPalette.ColorRole.Window)
        self.delegate = TileDelegate(self.list, clock=clock)
        self.list.setItemDelegate(self.delegate)
        self.list.setModel(self.proxy)
        self.list.viewport().installEventFilter(self)
        self.list.installEventFilter(self)  # Enter opens the device; focus lands on a tile

        self.empty_label = QLabel("No devices yet. Tiles appear as events arrive.", self)
        self.empty_label.setObjectName("tiles-empty")
        self.empty_label.setTextFormat(Qt.TextFormat.PlainText)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setEnabled(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(bar)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.empty_label, 1)

        #: repaints "12 s ago", "for 3 min" and fading highlights.
        self.clock_timer = QTimer(self)
        self.clock_timer.setObjectName("tiles-clock")
        self.clock_timer.setInterval(1000)
        self.clock_timer.timeout.connect(self.list.viewport().update)
        self.clock_timer.start()
        #: the live orders (last activity, offline first) are redone this often.
        self.resort_timer = QTimer(self)
        self.resort_timer.setObjectName("tiles-resort")
        self.resort_timer.setInterval(RESORT_SECONDS * 1000)
        self.resort_timer.timeout.connect(self.resort_live)
        self.resort_timer.start()

        self.filter_edit.textChanged.connect(self.proxy.set_filter_text)
        self.filter_edit.textChanged.connect(self.refresh_summary)
        self.sort_box.currentIndexChanged.connect(
            lambda _: self.proxy.set_sort_mode(self.sort_box.currentData()))
        self.list.clicked.connect(self._clicked)
        self.list.doubleClicked.connect(self._double_clicked)
        self.list.customContextMenuRequested.connect(self._context_menu)
        self.model.rowsInserted.connect(self.refresh_summary)
        self.model.modelReset.connect(self.refresh_summary)
        self.refresh_summary()

    def set_compact(self, compact: bool) -> None:
        """Compact cards (more per screen) or the full ones."""
        if compact != self.delegate.compact:
            self.delegate.compact = compact
            self.delegate.tile_width = 0  # refit
            self._fit_columns()

    def eventFilter(self, watched: Any, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and watched is self.list.viewport():
            self._fit_columns()
        elif event.type() == QEvent.Type.Wheel and watched is self.list.viewport() and isinstance(event, QWheelEvent):
            return self._wheel(event)
        elif watched is self.list:
            if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
                if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.list.currentIndex().isValid():
                    self._double_clicked(self.list.currentIndex())  # Enter: the device view
                    return True
                if event.key() == Qt.Key.Key_Space and self.list.currentIndex().isValid():
                    self._clicked(self.list.currentIndex())  # Space: filter the log to it
                    return False  # (and let the view select it)
            elif event.type() == QEvent.Type.FocusIn:
                self._ensure_current()
        return super().eventFilter(watched, event)

    def _wheel(self, event: QWheelEvent) -> bool:
        """One row of tiles per wheel step (a notch is 120; a touchpad's
        smaller deltas add up to a row); other wheels go to the view."""
        delta = event.angleDelta().y()
        if not delta or event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier):
            return False
        self._wheel_rest += delta
        steps = int(self._wheel_rest / 120)
        if steps:
            self._wheel_rest -= steps * 120
            bar = self.list.verticalScrollBar()
            bar.setValue(bar.value() - steps * bar.singleStep())
        event.accept()
        return True

    def _ensure_current(self) -> None:
        """Focus on the tiles lands on a tile (so that it shows, and Enter has one to open)."""
        if not self.list.currentIndex().isValid() and self.proxy.rowCount():
            self.list.selectionModel().setCurrentIndex(
                self.proxy.index(0, 0), self.list.selectionModel().SelectionFlag.NoUpdate)

    def _fit_columns(self) -> None:
        """Stretch the tiles so that whole columns fill the width (no ragged gap)."""
        spacing = self.list.spacing()
        # Always leave room for the scroll bar: sizing by the viewport alone made
        # the bar appear and vanish in turn (a layout loop at 100% CPU).
        bar = self.list.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        available = self.list.contentsRect().width() - bar - 2 * spacing
        narrowest = COMPACT_TILE_WIDTH if self.delegate.compact else TILE_WIDTH
        columns = max(1, available // (narrowest + 2 * spacing))
        width = max(narrowest, available // columns - 2 * spacing)
        # the wheel, the arrows and the scroll bar's buttons move one row of tiles
        self.list.verticalScrollBar().setSingleStep(self.delegate.tile_height + 2 * spacing)
        if width != self.delegate.tile_width:
            self.delegate.tile_width = width
            self.delegate.sizeHintChanged.emit(self.proxy.index(0, 0))
            self.list.doItemsLayout()

    def apply(self, events: Iterable[Any]) -> None:
        if self.model.apply(events):
            self.refresh_summary()

    def fold(self, events: Iterable[Any]) -> None:
        """Take events in; shown at the next :meth:`announce` (see :meth:`DeviceTilesModel.fold`)."""
        self.model.fold(events)

    def announce(self) -> None:
        if self.model.announce():
            self.refresh_summary()

    def load_states(self, states: Iterable[DeviceState]) -> None:
        self.model.load_states(states)
        self.refresh_summary()

    def set_sort_mode(self, mode: SortMode) -> None:
        self.sort_box.setCurrentIndex(self.sort_box.findData(mode))

    def resort_live(self) -> bool:
        """Redo a live order, unless the pointer is over the tiles (a tile
        must not move away from under it); whether any tile moved."""
        if not self.model.sort_mode.live or self.list.underMouse():
            return False
        return self.model.resort()

    def refresh_summary(self, *args: Any) -> None:
        devices, online, offline = self.model.summary()
        text = f"{devices:,} devices · {online:,} online · {offline:,} offline"
        unknown = devices - online - offline
        if unknown:
            text += f" · {unknown:,} unknown"
        shown = self.proxy.rowCount()
        if shown != devices:
            text += f" ({shown:,} shown)"
        self.summary_label.setText(text)
        self.list.setVisible(devices > 0)
        self.empty_label.setVisible(devices == 0)

    def select_dsn(self, dsn: str | None) -> None:
        """Mark the tile of the device the log is filtered to (none for ``None``)."""
        selection = self.list.selectionModel()
        if not dsn:
            selection.clearSelection()
            return
        row = self.model.row_of(dsn)
        if row < 0:
            selection.clearSelection()
            return
        index = self.proxy.mapFromSource(self.model.index(row))
        if index.isValid() and not selection.isSelected(index):
            selection.select(index, selection.SelectionFlag.ClearAndSelect)
            self.list.scrollTo(index)

    def _clicked(self, index: QModelIndex) -> None:
        tile = index.data(Role.TILE)
        if isinstance(tile, DeviceTile):
            self.device_selected.emit(tile.dsn)

    def _double_clicked(self, index: QModelIndex) -> None:
        tile = index.data(Role.TILE)
        if isinstance(tile, DeviceTile):
            self.device_opened.emit(tile.dsn)

    def _context_menu(self, pos: QPoint) -> None:
        index = self.list.indexAt(pos)
        tile = index.data(Role.TILE) if index.isValid() else None
        if not isinstance(tile, DeviceTile):
            return
        menu = QMenu(self)
        menu.addAction("Open device (charts, history)…", lambda: self.device_opened.emit(tile.dsn))
        menu.addAction("Show this device's events", lambda: self.device_selected.emit(tile.dsn))
        menu.addAction("Show all events", lambda: self.device_selected.emit(""))
        numbers = [n for n in tile.property_names() if n in tile.trends]
        if numbers:
            trends = menu.addMenu("Sparkline shows")
            current = pick_trend(tile.trends, self.model.trend_property)
            for name in numbers:
                action = trends.addAction(one_line(name, 40), functools.partial(self.model.set_trend_property, name))
                action.setCheckable(True)
                action.setChecked(name == current)
            trends.addSeparator()
            trends.addAction("The busiest number of each device", lambda: self.model.set_trend_property(None))
        menu.addSeparator()
        menu.addAction("Copy DSN", lambda: QGuiApplication.clipboard().setText(tile.dsn))
        menu.addAction("Copy details",
                       lambda: QGuiApplication.clipboard().setText(tile.describe(self.model.clock())))
        for name in tile.property_names():
            prop = tile.properties[name]
            if prop.base_type == "file" and isinstance(prop.value, str) and is_openable_url(prop.value):
                url = prop.value
                menu.addAction(f"Open file {one_line(name, 40)}",
                               functools.partial(QDesktopServices.openUrl, QUrl(url)))
        menu.popup(self.list.viewport().mapToGlobal(pos))
