"""Pieces the stream and settings dialogs share: plain-text labels, the
palette-aware ok/error colours, and the "problem sentence + OK/Cancel" footer."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QSizePolicy

__all__ = ["ok_color", "error_color", "plain_label", "problem_footer"]


def _dark() -> bool:
    return QGuiApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128


def ok_color() -> str:
    """Green for "it worked", readable on the current palette."""
    return "#81c784" if _dark() else "#2e7d32"


def error_color() -> str:
    """Red for a problem, readable on the current palette."""
    return "#ef9a9a" if _dark() else "#c62828"


def plain_label(text: str = "", *, selectable: bool = False) -> QLabel:
    """A wrapping label that never interprets its text as rich text."""
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
    if selectable:
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def problem_footer(dialog: QDialog) -> tuple[QLabel, QDialogButtonBox, QHBoxLayout]:
    """The red one-line reason why OK is disabled, beside OK and Cancel."""
    problem = plain_label()
    problem.setObjectName("problem")
    problem.setStyleSheet(f"color: {error_color()};")
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    row = QHBoxLayout()
    row.addWidget(problem, 1)
    row.addWidget(buttons)
    return problem, buttons, row
