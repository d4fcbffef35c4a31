"""Sparklines: the recent trend of one numeric property, drawn inside a tile.

Cheap enough for a fleet of thousands: each device keeps at most
:data:`POINTS` recent values per numeric property in a compact
``array('d')`` (8 bytes a value; :class:`~ayla_monitor.fleet.device.DeviceState`
keeps them), and a sparkline is one ``drawPolyline``
of those points, painted only for the tiles on screen.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPolygonF

from ayla_monitor.fleet.device import TREND_POINTS

__all__ = ["POINTS", "pick_trend", "sparkline_polygon", "paint_sparkline"]

#: Values kept per property (the device model keeps them) and drawn.
POINTS = TREND_POINTS


def recent(values: Sequence[float]) -> Sequence[float]:
    return values[-POINTS:] if len(values) > POINTS else values


def pick_trend(trends: Mapping[str, Sequence[float]], preferred: str | None) -> str | None:
    """The property a tile's sparkline shows: the user's choice when the tile
    has it, else the numeric property that moved most often (ties by name)."""
    if preferred and len(trends.get(preferred, ())) >= 1:
        return preferred
    best: str | None = None
    best_count = 1  # a single value is not a trend
    for name in sorted(trends, key=str.casefold):
        count = min(len(trends[name]), POINTS)
        if count > best_count:
            best, best_count = name, count
    return best


def sparkline_polygon(values: Sequence[float], rect: QRectF) -> QPolygonF:
    """The points of ``values`` scaled into ``rect`` (flat in the middle when constant)."""
    values = [v for v in recent(values) if math.isfinite(v)]
    if len(values) < 2:
        return QPolygonF()
    low, high = min(values), max(values)
    span = high - low
    step = rect.width() / (len(values) - 1)
    left, bottom, height = rect.left(), rect.bottom(), rect.height()
    # one comprehension and one QPolygonF: half the time of appending point by point
    if span == 0:
        middle = bottom - 0.5 * height
        return QPolygonF([QPointF(left + i * step, middle) for i in range(len(values))])
    scale = height / span
    return QPolygonF([QPointF(left + i * step, bottom - (value - low) * scale)
                      for i, value in enumerate(values)])


def paint_sparkline(painter: QPainter, rect: QRectF, values: Sequence[float], color: QColor) -> bool:
    """Draw the trend in ``rect``; ``False`` when there is nothing to draw."""
    polygon = sparkline_polygon(values, rect)
    if polygon.isEmpty():
        return False
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    pen = QPen(color, 1.4)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    painter.setPen(pen)
    painter.drawPolyline(polygon)
    painter.setBrush(color)
    painter.setPen(Qt.PenStyle.NoPen)
    last = polygon.last()
    painter.drawEllipse(last, 2.0, 2.0)
    painter.restore()
    return True
