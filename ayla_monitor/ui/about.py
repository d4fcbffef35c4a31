"""The About box: name, version, what it is, and where the data goes."""

from __future__ import annotations

import platform

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ayla_monitor import APP_NAME, __version__
from ayla_monitor.ui.resources import app_icon

__all__ = ["AboutDialog", "about_text"]


def about_text(database: str | None) -> str:
    lines = [
        "Watches and records the Ayla Networks Datastream Service (DSS):",
        "device connectivity, property values, acknowledgements, locations and registrations.",
        "",
        f"Database: {database or 'not open'}",
        f"Python {platform.python_version()} · PySide6 {pyside_version}",
        "",
        "Stream keys are kept in the system keyring, never in the database or logs.",
    ]
    return "\n".join(lines)


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, *, database: str | None = None) -> None:
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
        body = QLabel(about_text(database), self)
        body.setObjectName("about-body")
        body.setTextFormat(Qt.TextFormat.PlainText)
        body.setWordWrap(True)
        body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        text = QVBoxLayout()
        text.addWidget(title)
        text.addWidget(body)
        text.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(icon)
        row.addSpacing(12)
        row.addLayout(text, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(buttons)
        self.setMinimumWidth(460)
