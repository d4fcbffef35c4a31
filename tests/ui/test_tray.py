"""The tray icon's pixmap and the tray's fallback where the desktop has none."""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QSystemTrayIcon

from ayla_monitor.ui.alerts.tray import SEVERITY_COLOURS, AlertTray, Severity, tray_pixmap


def test_the_icon_carries_a_dot_of_the_worst_state(qapp: Any) -> None:
    size = 64
    spot = (int(size * 0.76), int(size * 0.76))  # inside the dot, in the lower right corner
    plain = tray_pixmap(Severity.NONE, size).toImage()
    assert plain.width() == size and not plain.isNull()
    for severity in (Severity.WARNING, Severity.ALERT):
        image = tray_pixmap(severity, size).toImage()
        colour = QColor(image.pixel(*spot))
        assert colour.name() == SEVERITY_COLOURS[severity].name()
        assert image.pixel(8, 8) == plain.pixel(8, 8)  # the app icon itself is untouched
    assert tray_pixmap(Severity.WARNING, size).toImage() != tray_pixmap(Severity.ALERT, size).toImage()


def test_without_a_tray_notifications_are_kept_for_the_panel(qapp: Any) -> None:
    assert not QSystemTrayIcon.isSystemTrayAvailable()  # offscreen: no tray host
    tray = AlertTray()
    assert not tray.available and tray.icon is None
    assert tray.notify("Alert: offline 10 s", "AC1 offline for 10 s") is False
    tray.set_state(Severity.ALERT, 1)
    assert tray.severity is Severity.ALERT
    assert tray.shown == [("Alert: offline 10 s", "AC1 offline for 10 s")]
    fired: list[str] = []
    tray.quit_requested.connect(lambda: fired.append("quit"))
    tray.show_requested.connect(lambda: fired.append("show"))
    tray.show_action.trigger()
    tray.quit_action.trigger()
    assert fired == ["show", "quit"]
    tray.close()
