"""The connection doctor in the window: "Test step by step…" in the stream dialog.

Shows each step of :func:`ayla_monitor.core.doctor.diagnose` as it ends, with
its time, and the whole report (keys masked) ready for a support ticket
(**Copy**). The network work runs through the dialog's
:class:`~ayla_monitor.ui.queries.QueryRunner`; closing the dialog cancels it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import shiboken6
from PySide6.QtGui import QBrush, QColor, QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QPlainTextEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ayla_monitor import __version__
from ayla_monitor.dss.diagnosis import STEP_TITLES, Diagnosis, Outcome, Step, StepResult
from ayla_monitor.dss.keys import redact
from ayla_monitor.dss.subscription import StreamDefinition
from ayla_monitor.ui.dialog_parts import error_color, ok_color, plain_label

__all__ = ["DoctorDialog", "DiagnoseFunction"]

log = logging.getLogger(__name__)

#: what the dialog runs: ``core.doctor.diagnose`` (tests may pass their own).
DiagnoseFunction = Callable[[StreamDefinition, Callable[[StepResult], object]], Awaitable[Diagnosis]]


async def _default_diagnose(definition: StreamDefinition, report: Callable[[StepResult], object]) -> Diagnosis:
    from ayla_monitor.core.doctor import diagnose  # websockets only when a test is asked for

    return await diagnose(definition, report=report)


class DoctorDialog(QDialog):
    """Runs the doctor on ``definition`` when shown; :meth:`run` again on demand."""

    def __init__(
        self, definition: StreamDefinition, parent: QWidget | None = None, *, diagnose: DiagnoseFunction | None = None
    ) -> None:
        super().__init__(parent)
        from ayla_monitor.ui.queries import QueryRunner

        self._queries = QueryRunner(self)
        self._definition = definition
        self._diagnose = diagnose or _default_diagnose
        self._diagnosis: Diagnosis | None = None
        self.setWindowTitle(f"Test connection: {definition.name}")
        self.setMinimumSize(760, 460)
        layout = QVBoxLayout(self)
        self.where = plain_label(f"{definition.display_url}", selectable=True)
        layout.addWidget(self.where)
        self.steps = QTreeWidget()
        self.steps.setObjectName("doctor_steps")
        self.steps.setColumnCount(4)
        self.steps.setHeaderLabels(["Step", "Result", "Time", "What it says"])
        self.steps.setRootIsDecorated(False)
        self.steps.setWordWrap(True)
        self.steps.setUniformRowHeights(False)
        header = self.steps.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self._items: dict[Step, QTreeWidgetItem] = {}
        for step in Step:
            item = QTreeWidgetItem([STEP_TITLES[step], "", "", ""])
            self._items[step] = item
            self.steps.addTopLevelItem(item)
        layout.addWidget(self.steps, 2)
        self.verdict = plain_label()
        self.verdict.setObjectName("doctor_verdict")
        self.verdict.setWordWrap(True)
        layout.addWidget(self.verdict)
        self.report = QPlainTextEdit()
        self.report.setObjectName("doctor_report")
        self.report.setReadOnly(True)
        self.report.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.report.setPlaceholderText("The report to paste into a support ticket appears here.")
        layout.addWidget(self.report, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton("&Copy report")
        self.copy_button.setEnabled(False)
        self.copy_button.clicked.connect(self.copy_report)
        self.again_button = QPushButton("Test &again")
        self.again_button.clicked.connect(self.run)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.again_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    @property
    def diagnosis(self) -> Diagnosis | None:
        return self._diagnosis

    def run(self) -> None:
        """Start (again): the steps fill in as they end."""
        self._diagnosis = None
        self.copy_button.setEnabled(False)
        self.again_button.setEnabled(False)
        self.report.clear()
        for item in self._items.values():
            for column in (1, 2, 3):
                item.setText(column, "")
        self.verdict.setStyleSheet("")
        self.verdict.setText("Testing… (waiting up to 35 s for the first heartbeat)")
        self._queries.call_async(
            self, lambda: self._diagnose(self._definition, self._step_done), self._finished, self._failed
        )

    def _step_done(self, result: StepResult) -> None:
        if not shiboken6.isValid(self):
            return
        item = self._items[result.step]
        item.setText(1, result.outcome.value)
        item.setText(2, f"{result.seconds * 1000:,.0f} ms" if result.seconds is not None else "")
        text = redact(result.summary)
        if result.details:
            text += "\n" + "\n".join(redact(d) for d in result.details)
        item.setText(3, text)
        item.setToolTip(3, text)  # a long sentence is cut in the column; the report below has it whole
        color = {Outcome.PASSED: ok_color(), Outcome.FAILED: error_color()}.get(result.outcome)
        if color is not None:
            item.setForeground(1, QBrush(QColor(color)))

    def _finished(self, diagnosis: Diagnosis) -> None:
        self._diagnosis = diagnosis
        text = redact(diagnosis.text(__version__))
        self.report.setPlainText(text)
        self.verdict.setText(redact(diagnosis.verdict()))
        self.verdict.setStyleSheet(f"color: {ok_color() if diagnosis.ok else error_color()};")
        self.copy_button.setEnabled(True)
        self.again_button.setEnabled(True)

    def _failed(self, exc: BaseException) -> None:
        log.error("The connection doctor failed", exc_info=exc)
        self.verdict.setText(f"The test failed unexpectedly: {redact(str(exc)) or type(exc).__name__}")
        self.verdict.setStyleSheet(f"color: {error_color()};")
        self.again_button.setEnabled(True)

    def copy_report(self) -> None:
        """The report to the clipboard, as plain text."""
        QGuiApplication.clipboard().setText(self.report.toPlainText())

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if self._diagnosis is None and not self.verdict.text():
            self.run()
