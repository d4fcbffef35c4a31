"""The rule editor: the user's ``alerts.toml`` as a list of rules and a form
per rule, with a live preview of the devices a rule covers now and, before
saving, every problem (the parser's, and the ones against the fleet as known).

Saving writes :func:`~ayla_monitor.alerts.rules.format_rules`'s text
atomically; the window then reloads its rules (:attr:`RuleEditor.saved`).
A file on disk that cannot be read whole is shown with its file, line and
reason, and is only replaced once the user ticks the box that says so (the
old text is kept beside it as ``alerts.toml.bak``). A file changed on disk
while the editor was open is not overwritten.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from fnmatch import fnmatchcase
from pathlib import Path

from PySide6.QtCore import QStringListModel, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from ayla_monitor.alerts.rules import (
    DEFAULT_REPEAT_S,
    DESCRIPTIONS,
    SEVERITIES,
    STREAM_CONDITIONS,
    Condition,
    DeviceFacts,
    RuleSet,
    format_duration,
    format_rules,
    matching,
    parse_rules,
)
from ayla_monitor.ui.alerts.drafts import (
    COMPARISONS,
    DEVICE_SCOPE,
    Checked,
    Draft,
    check_drafts,
    takes_property,
    takes_threshold,
    write_atomically,
)
from ayla_monitor.ui.dialog_parts import error_color, plain_label
from ayla_monitor.ui.formatting import one_line

__all__ = ["RuleEditor", "PREVIEW_LIMIT"]

log = logging.getLogger(__name__)

#: the most DSNs the preview lists (the count is always whole)
PREVIEW_LIMIT = 500
_STREAM_WHEN = {c.value for c in STREAM_CONDITIONS}


class RuleEditor(QDialog):
    """Alerts → Edit rules… (see the module doc)."""

    #: the rules written (a RuleSet of the new file)
    saved = Signal(object)

    def __init__(self, path: Path, facts: Sequence[DeviceFacts], *, streams: Sequence[str] = (),
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("rule-editor")
        self.setWindowTitle("Alert rules")
        self.path = path
        self.facts = list(facts)
        self.streams = list(streams)
        self.drafts: list[Draft] = []
        self.checked: Checked | None = None
        self._loading = False
        self._disk_text: str | None = None
        self.read_error: str | None = None
        self.disk_problems: list[str] = []
        self._build()
        self._load()
        self.resize(1040, 820)

    # -- building
    def _build(self) -> None:
        self.file_label = plain_label(f"Rules file: {self.path}", selectable=True)
        self.file_label.setObjectName("rules-file")
        self.disk_box = QFrame(self)
        self.disk_box.setObjectName("disk-problems")
        self.disk_box.setFrameShape(QFrame.Shape.StyledPanel)
        self.disk_label = plain_label(selectable=True)
        self.disk_label.setStyleSheet(f"color: {error_color()};")
        self.replace_check = QCheckBox("Replace this file when saving (its text is kept as "
                                       f"{self.path.name}.bak; what could not be read is not in the new file)")
        self.replace_check.setObjectName("replace-file")
        box = QVBoxLayout(self.disk_box)
        box.addWidget(self.disk_label)
        box.addWidget(self.replace_check)
        self.disk_box.hide()

        # the list of rules
        self.rule_list = QListWidget(self)
        self.rule_list.setObjectName("rule-list")
        self.rule_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.add_button = QPushButton("&Add", self)
        self.duplicate_button = QPushButton("D&uplicate", self)
        self.remove_button = QPushButton("Re&move", self)
        buttons = QHBoxLayout()
        for button in (self.add_button, self.duplicate_button, self.remove_button):
            buttons.addWidget(button)
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.rule_list, 1)
        left_layout.addLayout(buttons)

        # the form
        self.name_edit = QLineEdit(self)
        self.name_edit.setObjectName("rule-name")
        self.when_combo = QComboBox(self)
        self.when_combo.setObjectName("rule-when")
        for condition in Condition:
            self.when_combo.addItem(f"{condition.value}: {DESCRIPTIONS[condition]}", condition.value)
        self.property_edit = QLineEdit(self)
        self.property_edit.setObjectName("rule-property")
        self.property_edit.setPlaceholderText("a property name, e.g. temperature")
        names = sorted({name for f in self.facts for name in f.properties})
        completer = QCompleter(QStringListModel(names, self), self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.property_edit.setCompleter(completer)
        self.compare_combo = QComboBox(self)
        self.compare_combo.setObjectName("rule-compare")
        for key, text in COMPARISONS.items():
            self.compare_combo.addItem(text, key)
        self.value_edit = QLineEdit(self)
        self.value_edit.setObjectName("rule-value")
        self.high_edit = QLineEdit(self)
        self.high_edit.setObjectName("rule-high")
        self.high_edit.setPlaceholderText("the band's top")
        threshold = QHBoxLayout()
        threshold.setContentsMargins(0, 0, 0, 0)
        threshold.addWidget(self.compare_combo)
        threshold.addWidget(self.value_edit, 1)
        threshold.addWidget(self.high_edit, 1)
        self.threshold_row = QWidget(self)
        self.threshold_row.setLayout(threshold)
        self.hold_edit = QLineEdit(self)
        self.hold_edit.setObjectName("rule-hold")
        self.hold_edit.setPlaceholderText("how long it must hold: 10s, 5m, 1h (empty: at once)")
        self.scope_edits: dict[str, QLineEdit] = {}
        for key in (*DEVICE_SCOPE, "stream"):
            edit = QLineEdit(self)
            edit.setObjectName(f"rule-{key}")
            edit.setPlaceholderText("any (a name or a glob such as AC000W*)")
            self.scope_edits[key] = edit
        self.desktop_check = QCheckBox("&Desktop notification", self)
        self.exec_check = QCheckBox("Run the recorder's --on-alert &command", self)
        notify = QHBoxLayout()
        notify.setContentsMargins(0, 0, 0, 0)
        notify.addWidget(self.desktop_check)
        notify.addWidget(self.exec_check)
        notify.addStretch(1)
        notify_row = QWidget(self)
        notify_row.setLayout(notify)
        self.severity_combo = QComboBox(self)
        self.severity_combo.setObjectName("rule-severity")
        for severity in SEVERITIES:
            self.severity_combo.addItem(severity, severity)
        self.repeat_edit = QLineEdit(self)
        self.repeat_edit.setObjectName("rule-repeat")
        self.repeat_edit.setPlaceholderText(f"default: at most once per {format_duration(DEFAULT_REPEAT_S)}")
        self.form = QFormLayout()
        self.form.addRow("&Name", self.name_edit)
        self.form.addRow("&When", self.when_combo)
        self.form.addRow("&Property", self.property_edit)
        self.form.addRow("&Threshold", self.threshold_row)
        self.form.addRow("&For", self.hold_edit)
        for key, label in (("dsn", "DSN"), ("oem_model", "OEM model"), ("oem_id", "OEM id"), ("tag", "Tag"),
                           ("stream", "Stream")):
            self.form.addRow(label, self.scope_edits[key])
        self.form.addRow("Notify", notify_row)
        self.form.addRow("Se&verity", self.severity_combo)
        self.form.addRow("&Repeat", self.repeat_edit)
        self.form_box = QGroupBox("Rule", self)
        self.form_box.setLayout(self.form)
        self.form_box.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)  # never squeezed

        self.preview_label = plain_label()
        self.preview_label.setObjectName("preview-count")
        self.preview_list = QListWidget(self)
        self.preview_list.setObjectName("preview-list")
        preview_box = QGroupBox("Matches now", self)
        preview_layout = QVBoxLayout(preview_box)
        preview_layout.addWidget(self.preview_label)
        preview_layout.addWidget(self.preview_list, 1)

        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.form_box)
        right_layout.addWidget(preview_box, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([260, 740])

        self.problem_list = QListWidget(self)
        self.problem_list.setObjectName("rule-problems")
        self.problem_list.setMaximumHeight(110)
        self.status = plain_label()
        self.status.setObjectName("editor-status")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel,
                                        self)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        footer = QHBoxLayout()
        footer.addWidget(self.status, 1)
        footer.addWidget(self.buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(self.file_label)
        layout.addWidget(self.disk_box)
        layout.addWidget(splitter, 1)
        layout.addWidget(QLabel("Problems", self))
        layout.addWidget(self.problem_list)
        layout.addLayout(footer)

        self._recheck_timer = QTimer(self)
        self._recheck_timer.setObjectName("rule-recheck")
        self._recheck_timer.setSingleShot(True)
        self._recheck_timer.setInterval(150)
        self._recheck_timer.timeout.connect(self.recheck)
        self.rule_list.currentRowChanged.connect(self._show_draft)
        self.add_button.clicked.connect(self.add_rule)
        self.duplicate_button.clicked.connect(self.duplicate_rule)
        self.remove_button.clicked.connect(self.remove_rule)
        self.replace_check.toggled.connect(lambda _: self._update_save())
        for edit in (self.name_edit, self.property_edit, self.value_edit, self.high_edit, self.hold_edit,
                     self.repeat_edit, *self.scope_edits.values()):
            edit.textEdited.connect(self._edited)
        for combo in (self.when_combo, self.compare_combo, self.severity_combo):
            combo.activated.connect(self._edited)
        for check in (self.desktop_check, self.exec_check):
            check.clicked.connect(self._edited)

    # -- the file
    def _load(self) -> None:
        try:
            text = self.path.read_text(encoding="utf-8") if self.path.exists() else ""
        except (OSError, UnicodeDecodeError) as exc:
            self.read_error = f"{self.path} cannot be read: {getattr(exc, 'strerror', None) or exc}"
            self.disk_label.setText(self.read_error + ". Fix or move it; the editor will not replace it.")
            self.replace_check.hide()
            self.disk_box.show()
            text = None
        self._disk_text = text
        if text is not None:
            ruleset = parse_rules(text, str(self.path))
            self.disk_problems = [str(p) for p in ruleset.problems]
            if self.disk_problems:
                shown = "\n".join(one_line(p, 800) for p in self.disk_problems[:12])
                more = len(self.disk_problems) - 12
                self.disk_label.setText(
                    f"The file on disk cannot be read whole; the rules below are the ones that could be:\n{shown}"
                    + (f"\n… and {more} more" if more > 0 else ""))
                self.disk_box.show()
            self.drafts = [Draft.of(rule) for rule in ruleset.rules]
        for draft in self.drafts:
            self.rule_list.addItem(QListWidgetItem(draft.name))
        if self.drafts:
            self.rule_list.setCurrentRow(0)
        self.recheck()

    # -- the list
    def add_rule(self) -> None:
        taken = {d.name for d in self.drafts}
        name = next(f"new rule {n}" if n > 1 else "new rule" for n in range(1, 10_000)
                    if (f"new rule {n}" if n > 1 else "new rule") not in taken)
        self._append(Draft(name=name, hold="10s"))

    def duplicate_rule(self) -> None:
        row = self.rule_list.currentRow()
        if 0 <= row < len(self.drafts):
            old = self.drafts[row]
            self._append(Draft(**{**old.__dict__, "name": f"{old.name} (copy)", "scope": dict(old.scope)}))

    def _append(self, draft: Draft) -> None:
        self.drafts.append(draft)
        self.rule_list.addItem(QListWidgetItem(draft.name))
        self.rule_list.setCurrentRow(len(self.drafts) - 1)
        self.name_edit.setFocus()
        self.name_edit.selectAll()
        self.recheck()

    def remove_rule(self) -> None:
        row = self.rule_list.currentRow()
        if 0 <= row < len(self.drafts):
            del self.drafts[row]
            self.rule_list.takeItem(row)
            self.recheck()

    def current(self) -> Draft | None:
        row = self.rule_list.currentRow()
        return self.drafts[row] if 0 <= row < len(self.drafts) else None

    # -- the form
    def _show_draft(self, row: int) -> None:
        draft = self.drafts[row] if 0 <= row < len(self.drafts) else None
        self.form_box.setEnabled(draft is not None)
        self._loading = True
        try:
            d = draft or Draft()
            self.name_edit.setText(d.name)
            self.when_combo.setCurrentIndex(max(0, self.when_combo.findData(d.when)))
            self.property_edit.setText(d.property)
            self.compare_combo.setCurrentIndex(max(0, self.compare_combo.findData(d.compare)))
            self.value_edit.setText(d.value)
            self.high_edit.setText(d.high)
            self.hold_edit.setText(d.hold)
            for key, edit in self.scope_edits.items():
                edit.setText(d.scope.get(key, ""))
            self.desktop_check.setChecked(d.desktop)
            self.exec_check.setChecked(d.exec)
            self.severity_combo.setCurrentIndex(max(0, self.severity_combo.findData(d.severity)))
            self.repeat_edit.setText(d.repeat)
        finally:
            self._loading = False
        self._fit_form(d)
        self._show_preview()

    def _fit_form(self, d: Draft) -> None:
        """Only the fields the condition takes."""
        on_stream = d.when in _STREAM_WHEN
        self.form.setRowVisible(self.property_edit, takes_property(d.when))
        self.form.setRowVisible(self.threshold_row, takes_threshold(d.when))
        for key in DEVICE_SCOPE:
            self.form.setRowVisible(self.scope_edits[key], not on_stream)
        self.form.setRowVisible(self.scope_edits["stream"], on_stream)
        rate = d.when == Condition.RATE.value
        for key in ("equals", "changes"):
            index = self.compare_combo.findData(key)
            view = self.compare_combo.view()
            if hasattr(view, "setRowHidden"):
                view.setRowHidden(index, rate)
        self.value_edit.setVisible(d.compare != "changes")
        self.high_edit.setVisible(d.compare == "outside")
        self.value_edit.setPlaceholderText(
            "the band's bottom" if d.compare == "outside"
            else "events per minute" if rate else "a number (equals: also text, true or false)")
        self.hold_edit.setPlaceholderText(
            "offline for how long: 10s, 5m, 1h" if d.when == Condition.OFFLINE.value
            else "how long it must hold: 10s, 5m, 1h (empty: at once)")

    def _edited(self, *_: object) -> None:
        if self._loading:
            return
        draft = self.current()
        if draft is None:
            return
        draft.name = self.name_edit.text()
        draft.when = str(self.when_combo.currentData())
        draft.property = self.property_edit.text()
        draft.compare = str(self.compare_combo.currentData())
        draft.value = self.value_edit.text()
        draft.high = self.high_edit.text()
        draft.hold = self.hold_edit.text()
        draft.scope = {key: edit.text() for key, edit in self.scope_edits.items() if edit.text().strip()}
        draft.desktop = self.desktop_check.isChecked()
        draft.exec = self.exec_check.isChecked()
        draft.severity = str(self.severity_combo.currentData())
        draft.repeat = self.repeat_edit.text()
        item = self.rule_list.item(self.rule_list.currentRow())
        if item is not None:
            item.setText(draft.name or "(no name)")
        self._fit_form(draft)
        self._recheck_timer.start()

    # -- checking
    def recheck(self) -> Checked:
        """Every rule through the parser and against the fleet; the list's marks,
        the problems, the preview and the Save button follow."""
        self._recheck_timer.stop()
        checked = check_drafts(self.drafts, self.facts, self.path.name)
        self.checked = checked
        style = self.style()
        bad_icon = style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical)
        warn_icon = style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        self.problem_list.clear()
        for i, draft in enumerate(self.drafts):
            item = self.rule_list.item(i)
            errors, warnings = checked.errors[i], checked.warnings[i]
            if item is not None:
                item.setIcon(bad_icon if errors else warn_icon if warnings else style.standardIcon(
                    QStyle.StandardPixmap.SP_DialogApplyButton))
                item.setToolTip("\n".join((*errors, *warnings)) or "No problem")
            label = draft.name.strip() or f"rule {i + 1}"
            for text, icon in [(e, bad_icon) for e in errors] + [(w, warn_icon) for w in warnings]:
                entry = QListWidgetItem(icon, f"{one_line(label, 80)}: {one_line(text, 300)}")
                entry.setData(Qt.ItemDataRole.UserRole, i)
                self.problem_list.addItem(entry)
        if not self.problem_list.count():
            self.problem_list.addItem("No problems.")
        self.problem_list.itemClicked.connect(self._go_to_problem, Qt.ConnectionType.UniqueConnection)
        self._show_preview()
        self._update_save()
        return checked

    def _go_to_problem(self, item: QListWidgetItem) -> None:
        row = item.data(Qt.ItemDataRole.UserRole)
        if isinstance(row, int):
            self.rule_list.setCurrentRow(row)

    def _show_preview(self) -> None:
        self.preview_list.clear()
        row = self.rule_list.currentRow()
        checked = self.checked
        if checked is None or not 0 <= row < len(checked.rules):
            self.preview_label.setText("No rule selected.")
            return
        rule = checked.rules[row]
        if rule is None:
            self.preview_label.setText("Fix this rule's problems to see what it matches.")
            return
        if rule.on_stream:
            names = [s for s in self.streams if rule.scope.stream is None or fnmatchcase(s, rule.scope.stream)]
            self.preview_label.setText(f"{len(names):,} of {len(self.streams):,} streams")
        else:
            names = matching(rule, self.facts)
            what = f" that have sent {rule.property!r}" if rule.property else ""
            self.preview_label.setText(f"{len(names):,} of {len(self.facts):,} known devices{what}")
        for name in names[:PREVIEW_LIMIT]:
            self.preview_list.addItem(name)
        if len(names) > PREVIEW_LIMIT:
            self.preview_list.addItem(f"… and {len(names) - PREVIEW_LIMIT:,} more")

    def _update_save(self) -> None:
        checked = self.checked
        reason = ""
        if self.read_error is not None:
            reason = "The file cannot be read, so it is not replaced."
        elif checked is not None and not checked.ok:
            reason = "Fix the rules marked in red to save."
        elif self.disk_problems and not self.replace_check.isChecked():
            reason = "Tick “Replace this file” above to save over the file on disk."
        self.status.setText(reason)
        self.status.setStyleSheet(f"color: {error_color()};" if reason else "")
        self.save_button.setEnabled(not reason)

    # -- saving
    def save(self) -> bool:
        """Write the rules (see the module doc); whether they were written."""
        checked = self.recheck()
        if not self.save_button.isEnabled():
            return False
        try:
            now = self.path.read_text(encoding="utf-8") if self.path.exists() else ""
        except (OSError, UnicodeDecodeError) as exc:
            self._refuse(f"{self.path} cannot be read now: {getattr(exc, 'strerror', None) or exc}")
            return False
        if now != self._disk_text:
            self._refuse(f"{self.path.name} was changed on disk since the editor opened it; "
                         "close the editor and open it again to edit the new text.")
            return False
        text = format_rules(checked.good_rules())
        try:
            if self.disk_problems and now:
                write_atomically(self.path.with_name(self.path.name + ".bak"), now)
            write_atomically(self.path, text)
        except OSError as exc:
            self._refuse(f"The rules cannot be written to {self.path}: {exc.strerror or exc}")
            return False
        log.info("Wrote %d alert rules to %s", len(checked.good_rules()), self.path)
        ruleset: RuleSet = parse_rules(text, str(self.path))
        self._disk_text = text
        self.saved.emit(ruleset)
        self.accept()
        return True

    def _refuse(self, text: str) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {error_color()};")
