"""A device's insight in its device view: its rhythm, flaps, acks and latency
in one line, and a chart of its latest ack latencies.

Fed by the window's :class:`~ayla_monitor.fleet.insight.FleetInsight` (the
one the fleet table reads), refreshed every
:data:`~ayla_monitor.ui.fleet_table.REFRESH_SECONDS`. The flap timeline is
the device view's online/offline band; this strip says how many and whether
that is flapping.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPalette, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QWidget

from ayla_monitor.fleet.insight import DeviceSummary, FleetInsight
from ayla_monitor.ui.fleet_table import REFRESH_SECONDS
from ayla_monitor.ui.formatting import format_duration

__all__ = ["DeviceInsightStrip", "AckLatencyChart", "insight_text", "device_figures"]


def _ms(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value / 1000:.1f} s" if value >= 1000 else f"{value:.0f} ms"


def insight_text(s: DeviceSummary | None) -> str:
    """One line of what the insight knows about the device."""
    if s is None:
        return "Insight: nothing heard from this device in the last hour."
    parts = []
    if s.typical_interval_s is not None:
        rhythm = f"Rhythm: an event every {format_duration(s.typical_interval_s)}"
        if s.quiet:
            rhythm += f", quiet for {format_duration(s.silent_s or 0.0)}"
        parts.append(rhythm)
    parts.append(f"{s.events_per_min:.1f} events/min")
    flaps = f"Flaps: {s.flaps_hour} in the last hour, {s.flaps_day} in 24 h"
    if s.flapping:
        flaps += " (flapping)"
    parts.append(flaps)
    if s.acks:
        parts.append(f"Acks: {s.acks:,}, p50 {_ms(s.ack_p50_ms)}, p95 {_ms(s.ack_p95_ms)}, "
                     f"{s.failed_acks:,} failed, {s.missing_acks:,} missing")
    elif s.missing_acks:
        parts.append(f"{s.missing_acks:,} acks missing")
    if s.latency_p50_ms is not None:
        parts.append(f"Latency p50 {_ms(s.latency_p50_ms)}, p95 {_ms(s.latency_p95_ms)}")
    if s.skew_s is not None and abs(s.skew_s) >= 1:
        parts.append(f"Clock {'behind' if s.skew_s < 0 else 'ahead'} by {format_duration(abs(s.skew_s))}")
    return " · ".join(parts)


def device_figures(insight: Callable[[], FleetInsight], dsn: str,
                   clock: Callable[[], float] = time.time) -> tuple[DeviceSummary | None, list[float]]:
    """The device's summary now and its latest ack latencies (ms, oldest first)."""
    fleet = insight()
    device = fleet.device(dsn)
    if device is None:
        return None, []
    latencies = device.ack_latency.values() if device.ack_latency is not None else []
    return fleet.summary(device, clock()), latencies


class AckLatencyChart(QWidget):
    """The latest ack latencies as bars (oldest left), a p95 line across."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ack-latency-chart")
        self.values: list[float] = []
        self.p95: float | None = None
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setToolTip("Ack latency (acked_at − created_at) of the device's latest acks; the line is p95")

    def sizeHint(self) -> QSize:
        return QSize(180, 34)

    def set_values(self, values: Sequence[float], p95: float | None) -> None:
        self.values = list(values)
        self.p95 = p95
        self.update()

    def paintEvent(self, event: Any) -> None:
        painter = QPainter(self)
        rect = QRectF(self.rect()).adjusted(1, 2, -1, -2)
        pal = self.palette()
        frame = QColor(pal.color(QPalette.ColorRole.Text))
        frame.setAlphaF(0.15)
        painter.setPen(QPen(frame, 1))
        painter.drawRect(rect)
        values = self.values
        if not values:
            painter.end()
            return
        top = max(max(values), self.p95 or 0.0, 1.0)
        width = rect.width() / len(values)
        bar = QColor(pal.color(QPalette.ColorRole.Highlight))
        for i, value in enumerate(values):
            height = max(1.0, rect.height() * max(0.0, value) / top)
            painter.fillRect(QRectF(rect.left() + i * width + 0.5, rect.bottom() - height, max(1.0, width - 1), height),
                             bar)
        if self.p95 is not None:
            y = rect.bottom() - rect.height() * self.p95 / top
            painter.setPen(QPen(QColor("#d9822b"), 1, Qt.PenStyle.DashLine))
            painter.drawLine(int(rect.left()), int(y), int(rect.right()), int(y))
        painter.end()


class DeviceInsightStrip(QWidget):
    """The line and the chart, refreshed from ``source()``."""

    def __init__(self, source: Callable[[], tuple[DeviceSummary | None, list[float]]],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("device-insight")
        self._source = source
        self.label = QLabel(self)
        self.label.setObjectName("device-insight-text")
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setWordWrap(True)
        self.chart_label = QLabel("Ack latency", self)
        self.chart_label.setTextFormat(Qt.TextFormat.PlainText)
        self.chart_label.setEnabled(False)
        self.chart = AckLatencyChart(self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.chart_label)
        layout.addWidget(self.chart)
        self.timer = QTimer(self)
        self.timer.setObjectName("device-insight-refresh")
        self.timer.setInterval(int(REFRESH_SECONDS * 1000))
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        self.refresh()

    def refresh(self) -> None:
        summary, latencies = self._source()
        self.label.setText(insight_text(summary))
        self.chart.set_values(latencies, summary.ack_p95_ms if summary is not None else None)
        self.chart.setVisible(bool(latencies))
        self.chart_label.setVisible(bool(latencies))
