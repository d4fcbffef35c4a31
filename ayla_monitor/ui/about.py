"""The Help menu's dialogs: About (name, version, what it is, where the data
and the secrets really are) and the keyboard shortcuts."""

from __future__ import annotations

import platform
from collections.abc import Iterable
from typing import Protocol

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ayla_monitor import APP_NAME, __version__
from ayla_monitor.ui.resources import app_icon

__all__ = ["AboutDialog", "about_text", "keys_text", "ShortcutsDialog", "shortcut_rows", "EXTRA_SHORTCUTS"]


class _Keys(Protocol):
    @property
    def location(self) -> str: ...


def keys_text(keystore: _Keys | None) -> str:
    """Where stream keys and database passwords are, as it is (keyring or the 0600 file)."""
    if keystore is None:
        return "Stream keys and database passwords are never kept in the database, the settings or the logs."
    return (
        f"Remembered stream keys and database passwords are kept in {keystore.location}; "
        "never in the database, the settings or the logs."
    )


def about_text(database: str | None, keystore: _Keys | None = None) -> str:
    lines = [
        "Watches and records the Ayla Networks Datastream Service (DSS):",
        "device connectivity, property values, acknowledgements, locations and registrations.",
        "",
        f"Database: {database or 'not open'}",
        f"Python {platform.python_version()} · PySide6 {pyside_version}",
        "",
        keys_text(keystore),
    ]
    return "\n".join(lines)


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, *, database: str | None = None,
                 keystore: _Keys | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"About {APP_NAME}")
        icon = QLabel(self)
        icon.setPixmap(app_icon().pixmap(96, 96))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        title = QLabel(f"{APP_NAME} {__version__}", self)
        title.setTextFormat(Qt.TextFormat.PlainText)
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.5 if font.pointSizeF() > 0 else 16)
        font.setBold(True)
        title.setFont(font)
        self.body = QLabel(about_text(database, keystore), self)
        self.body.setObjectName("about-body")
        self.body.setTextFormat(Qt.TextFormat.PlainText)
        self.body.setWordWrap(True)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        text = QVBoxLayout()
        text.addWidget(title)
        text.addWidget(self.body)
        text.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(icon)
        row.addSpacing(12)
        row.addLayout(text, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(buttons)
        self.setMinimumWidth(460)


#: keys that work without a menu action (what they do, the keys).
EXTRA_SHORTCUTS = (
    ("Device tiles: open the device view", "Enter"),
    ("Device tiles: show only this device's events", "Space"),
    ("Move between tiles, rows and fields", "Arrow keys, Tab, Shift+Tab"),
    ("Close a dialog or window", "Esc"),
)


def shortcut_rows(actions: Iterable[QAction]) -> list[tuple[str, str]]:
    """(what, keys) for each action with a shortcut, in menu order, then the
    keys that have no menu entry."""
    rows: list[tuple[str, str]] = []
    seen: set[str] = set()
    for action in actions:
        keys = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts() if not k.isEmpty()]
        what = action.text().replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…").strip()
        if keys and what and what not in seen:
            seen.add(what)
            rows.append((what, ", ".join(keys)))
    rows.extend(EXTRA_SHORTCUTS)
    return rows


class ShortcutsDialog(QDialog):
    """Help → Keyboard shortcuts: every key the window answers to."""

    def __init__(self, actions: Iterable[QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        rows = shortcut_rows(actions)
        self.table = QTableWidget(len(rows), 2, self)
        self.table.setObjectName("shortcuts")
        self.table.setHorizontalHeaderLabels(["Action", "Keys"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        for row, (what, keys) in enumerate(rows):
            self.table.setItem(row, 0, QTableWidgetItem(what))
            self.table.setItem(row, 1, QTableWidgetItem(keys))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(520, 520)
