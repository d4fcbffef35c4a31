"""The tray icon: the worst open state at a glance, a notification per raise
(and a quieter one per clear), and a menu (Show window, Alerts, Quit).

Where the desktop has no tray (``QSystemTrayIcon.isSystemTrayAvailable()``
false: offscreen, some tiling window managers) :class:`AlertTray` keeps no
icon; the Alerts panel and the status bar carry every notification, and
:data:`NO_TRAY_REASON` is what the close-to-tray setting says instead.
"""

from __future__ import annotations

import enum

from PySide6.QtCore import QObject, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QColor, QIcon, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from ayla_monitor import APP_NAME
from ayla_monitor.ui.resources import app_icon

__all__ = ["Severity", "AlertTray", "tray_pixmap", "tray_icon", "NO_TRAY_REASON", "SEVERITY_COLOURS",
           "NOTIFY_MS"]

#: why closing to the tray is not offered (the setting's text says it)
NO_TRAY_REASON = "this desktop has no system tray"
#: how long a raise's notification stays up (a clear's: a third of it)
NOTIFY_MS = 10_000


class Severity(enum.IntEnum):
    """The worst open state: nothing open, only acknowledged alerts open
    (someone is on it: a warning), or an alert nobody has acknowledged."""

    NONE = 0
    WARNING = 1
    ALERT = 2


#: the mark's colour on the tray icon, the tiles and the table rows
SEVERITY_COLOURS = {Severity.WARNING: QColor("#e08a1e"), Severity.ALERT: QColor("#d63b3b")}


def tray_pixmap(severity: Severity, size: int = 64) -> QPixmap:
    """The app icon at ``size`` with a dot in the lower right corner in the
    severity's colour (none: the plain icon), ringed so it reads on any panel."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    try:
        app_icon().paint(painter, QRect(0, 0, size, size))
    finally:
        painter.end()
    colour = SEVERITY_COLOURS.get(severity)
    if colour is None:
        return pixmap
    painter = QPainter(pixmap)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        radius = size * 0.22
        centre = QPointF(size - radius - size * 0.02, size - radius - size * 0.02)
        painter.setPen(QPen(QColor("white"), max(1.0, size / 24)))
        painter.setBrush(colour)
        painter.drawEllipse(QRectF(centre.x() - radius, centre.y() - radius, 2 * radius, 2 * radius))
    finally:
        painter.end()
    return pixmap


def tray_icon(severity: Severity) -> QIcon:
    """:func:`tray_pixmap` at the sizes panels ask for."""
    icon = QIcon()
    for size in (16, 22, 24, 32, 48, 64):
        icon.addPixmap(tray_pixmap(severity, size))
    return icon


class AlertTray(QObject):
    """The tray icon and its menu, when the desktop has a tray."""

    show_requested = Signal()
    alerts_requested = Signal()
    quit_requested = Signal()

    def __init__(self, parent: QObject | None = None, *, available: bool | None = None) -> None:
        """``available``: whether to use the tray (default: whether the desktop has one)."""
        super().__init__(parent)
        self.setObjectName("alert-tray")
        self.available = QSystemTrayIcon.isSystemTrayAvailable() if available is None else available
        self.severity = Severity.NONE
        self._icons = {s: tray_icon(s) for s in Severity}
        self.menu = QMenu()
        self.menu.setObjectName("tray-menu")
        self.show_action = QAction("&Show window", self.menu)
        self.alerts_action = QAction("&Alerts", self.menu)
        self.quit_action = QAction("&Quit", self.menu)
        for action in (self.show_action, self.alerts_action):
            self.menu.addAction(action)
        self.menu.addSeparator()
        self.menu.addAction(self.quit_action)
        self.show_action.triggered.connect(self.show_requested)
        self.alerts_action.triggered.connect(self.alerts_requested)
        self.quit_action.triggered.connect(self.quit_requested)
        self.icon: QSystemTrayIcon | None = None
        if self.available:
            self.icon = QSystemTrayIcon(self._icons[Severity.NONE], self)
            self.icon.setObjectName("tray-icon")
            self.icon.setContextMenu(self.menu)
            self.icon.setToolTip(f"{APP_NAME}: no open alerts")
            self.icon.activated.connect(self._activated)
            self.icon.messageClicked.connect(self.alerts_requested)
            self.icon.show()
        #: the notifications shown (title, text), newest last; tests and the fallback read it
        self.shown: list[tuple[str, str]] = []

    def set_state(self, severity: Severity, open_count: int) -> None:
        """The icon for ``severity`` and a tooltip with the count."""
        self.severity = severity
        if self.icon is None:
            return
        self.icon.setIcon(self._icons[severity])
        if open_count:
            self.icon.setToolTip(f"{APP_NAME}: {open_count:,} open alert{'s' * (open_count != 1)}")
        else:
            self.icon.setToolTip(f"{APP_NAME}: no open alerts")

    def notify(self, title: str, text: str, *, quiet: bool = False) -> bool:
        """A desktop notification (``quiet``: a clear, shorter and without the
        warning sign); False when there is no tray to show it."""
        self.shown.append((title, text))
        del self.shown[:-50]
        if self.icon is None or not QSystemTrayIcon.supportsMessages():
            return False
        kind = QSystemTrayIcon.MessageIcon.Information if quiet else QSystemTrayIcon.MessageIcon.Warning
        self.icon.showMessage(title, text, kind, NOTIFY_MS // 3 if quiet else NOTIFY_MS)
        return True

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger, QSystemTrayIcon.ActivationReason.DoubleClick):
            self.show_requested.emit()

    def close(self) -> None:
        """Take the icon off the panel (the app is quitting)."""
        if self.icon is not None:
            self.icon.hide()
        self.menu.deleteLater()
