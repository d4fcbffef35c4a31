"""The rule editor on a real alerts.toml in tmp_path: form, preview, problems, saving."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from ayla_monitor.alerts.rules import Condition, DeviceFacts, load_rules, parse_rules
from ayla_monitor.ui.alerts.drafts import Draft, check_drafts
from ayla_monitor.ui.alerts.rule_editor import RuleEditor

FACTS = [
    DeviceFacts("AC000W000000001", "freezer-a", "oem1", (), {"temperature": "decimal", "name": "string"}),
    DeviceFacts("AC000W000000002", "freezer-b", "oem1", (), {"temperature": "decimal"}),
    DeviceFacts("AC000W000000003", "plug", "oem1", (), {"power": "integer"}),
]
GOOD = """\
[[rule]]
name = "freezer too warm"
when = "value"
property = "temperature"
above = -15.0
for = "5m"
oem_model = "freezer*"

[[rule]]
name = "offline 10 s"
when = "offline"
for = "10s"
"""


def editor(qtbot: Any, path: Path, **kw: Any) -> RuleEditor:
    dialog = RuleEditor(path, FACTS, **kw)
    qtbot.addWidget(dialog)
    return dialog


def type_into(edit: Any, text: str) -> None:
    edit.setText(text)
    edit.textEdited.emit(text)


def test_drafts_read_back_through_the_parser() -> None:
    rules = parse_rules(GOOD).rules
    checked = check_drafts([Draft.of(r) for r in rules], FACTS)
    assert checked.ok and tuple(checked.rules) == rules
    bad = Draft(name="warm", when="value", property="name", compare="above", value="warm")
    checked = check_drafts([*map(Draft.of, rules), bad], FACTS)
    assert checked.rules[2] is None and checked.errors[2] == ("'above' needs a number, got 'warm'",)
    fixed = Draft(name="warm", when="value", property="name", compare="above", value="3")
    checked = check_drafts([fixed], FACTS)
    assert checked.ok and checked.warnings[0] == ("'above' needs a number but 'name' is a string property",)


def test_editor_previews_matches_shows_problems_and_saves(qtbot: Any, tmp_path: Path) -> None:
    path = tmp_path / "alerts.toml"
    path.write_text(GOOD)
    dialog = editor(qtbot, path)
    assert [dialog.rule_list.item(i).text() for i in range(dialog.rule_list.count())] == [
        "freezer too warm", "offline 10 s"]
    assert dialog.preview_label.text() == "2 of 3 known devices that have sent 'temperature'"
    assert [dialog.preview_list.item(i).text() for i in range(2)] == ["AC000W000000001", "AC000W000000002"]
    type_into(dialog.scope_edits["oem_model"], "freezer-b")
    dialog.recheck()
    assert dialog.preview_label.text().startswith("1 of 3")
    # a glob that matches nothing and a bad threshold: said before saving
    type_into(dialog.scope_edits["oem_model"], "fridge*")
    type_into(dialog.value_edit, "warm")
    dialog.recheck()
    problems = [dialog.problem_list.item(i).text() for i in range(dialog.problem_list.count())]
    assert problems == ["freezer too warm: 'above' needs a number, got 'warm'"]
    assert not dialog.save_button.isEnabled()
    type_into(dialog.value_edit, "-12.5")
    dialog.recheck()
    problems = [dialog.problem_list.item(i).text() for i in range(dialog.problem_list.count())]
    assert problems == ["freezer too warm: oem_model 'fridge*' matches none of the 3 known devices"]
    assert dialog.save_button.isEnabled()  # a warning: the fleet may not have shown it yet
    dialog.add_rule()
    assert dialog.current() is not None and dialog.current().name == "new rule"
    dialog.when_combo.setCurrentIndex(dialog.when_combo.findData(Condition.STREAM_DOWN.value))
    dialog.when_combo.activated.emit(dialog.when_combo.currentIndex())
    assert not dialog.scope_edits["dsn"].isVisibleTo(dialog) and dialog.scope_edits["stream"].isVisibleTo(dialog)
    with qtbot.waitSignal(dialog.saved) as saved:
        assert dialog.save()
    ruleset = saved.args[0]
    assert [r.name for r in ruleset.rules] == ["freezer too warm", "offline 10 s", "new rule"]
    on_disk = load_rules(path)
    assert not on_disk.problems and on_disk.rules == ruleset.rules
    assert on_disk.rules[0].above == -12.5 and on_disk.rules[0].scope.oem_model == "fridge*"
    assert not list(tmp_path.glob(".alerts.toml.*"))  # no temporary file left


def test_a_malformed_file_is_shown_and_replaced_only_with_consent(qtbot: Any, tmp_path: Path) -> None:
    path = tmp_path / "alerts.toml"
    broken = GOOD + '\n[[rule]]\nname = "typo"\nwhen = "ofline"\n'
    path.write_text(broken)
    dialog = editor(qtbot, path)
    assert dialog.disk_box.isVisibleTo(dialog)
    assert f"{path}:16: rule 'typo': 'when' is one of" in dialog.disk_label.text()
    assert dialog.rule_list.count() == 2  # the good rules are there to edit
    assert not dialog.save_button.isEnabled() and not dialog.save()
    assert path.read_text() == broken
    dialog.replace_check.setChecked(True)
    assert dialog.save()
    assert (tmp_path / "alerts.toml.bak").read_text() == broken  # nothing is lost
    assert [r.name for r in load_rules(path).rules] == ["freezer too warm", "offline 10 s"]


def test_a_file_changed_on_disk_meanwhile_is_not_overwritten(qtbot: Any, tmp_path: Path) -> None:
    path = tmp_path / "alerts.toml"
    dialog = editor(qtbot, path)  # no file yet: no rules, no problem
    assert dialog.rule_list.count() == 0 and not dialog.disk_box.isVisibleTo(dialog)
    dialog.add_rule()
    path.write_text(GOOD)
    assert not dialog.save()
    assert "changed on disk" in dialog.status.text()
    assert path.read_text() == GOOD
