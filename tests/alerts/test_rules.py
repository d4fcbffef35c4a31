"""Reading, checking and writing alert rules: pure, no files but tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from ayla_monitor.alerts.rules import (
    DESCRIPTIONS,
    Condition,
    DeviceFacts,
    Rule,
    RuleProblem,
    Scope,
    check_rules,
    facts_of,
    format_duration,
    format_rules,
    load_rules,
    matching,
    parse_duration,
    parse_rules,
    rule_from_table,
)
from ayla_monitor.fleet.device import DeviceState
from ayla_monitor.fleet.insight import FleetInsight
from tests.fleet.support import T0, conn, dp

GOOD = """\
[defaults]
repeat = "15m"

[[rule]]
name = "freezer too warm"
when = "value"
property = "temperature"
above = -15.0
for = "5m"
oem_model = "freezer*"
notify = ["desktop"]

[[rule]]
name = "offline"
when = "offline"
for = 10
notify = ["desktop", "exec"]
severity = "warning"

[[rule]]
name = "stream down"
when = "stream_down"
stream = "prod-*"
for = "1m"
repeat = "1h"
"""


def test_a_good_file_reads_into_rules_with_their_lines() -> None:
    ruleset = parse_rules(GOOD)
    assert ruleset.problems == ()
    warm, offline, down = ruleset.rules
    assert warm == Rule("freezer too warm", Condition.VALUE, property="temperature", above=-15.0, hold_s=300.0,
                        scope=Scope(oem_model="freezer*"), notify=("desktop",), repeat_s=900.0)
    assert warm.line == 4
    assert offline.when is Condition.OFFLINE and offline.hold_s == 10.0 and offline.severity == "warning"
    assert offline.notify == ("desktop", "exec") and offline.line == 13
    assert down.scope == Scope(stream="prod-*") and down.repeat_s == 3600.0 and down.on_stream


@pytest.mark.parametrize(("text", "seconds"), [
    ("5m", 300.0), ("90s", 90.0), ("1h30m", 5400.0), ("2d", 172800.0), ("45", 45.0), (12, 12.0), (0.5, 0.5),
    ("1.5h", 5400.0), ("warm", None), ("-5", None), (-1, None), (True, None), ("", None), ("5 x", None),
])
def test_durations(text: object, seconds: float | None) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("seconds", [0.0, 1.0, 59.0, 60.0, 90.0, 3600.0, 5400.0, 86400.0 + 61, 2.5])
def test_a_formatted_duration_reads_back(seconds: float) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


def test_a_bad_rule_is_a_problem_with_its_line_and_the_others_still_load() -> None:
    text = GOOD + """
[[rule]]
name = "freezer too cold"
when = "value"
property = "temperature"
above = "warm"
"""
    ruleset = parse_rules(text)
    assert [r.name for r in ruleset.rules] == ["freezer too warm", "offline", "stream down"]
    (problem,) = ruleset.problems
    assert problem == RuleProblem("alerts.toml", 31, "freezer too cold", "'above' needs a number, got 'warm'")
    assert str(problem) == "alerts.toml:31: rule 'freezer too cold': 'above' needs a number, got 'warm'"


def test_a_toml_syntax_error_is_one_problem_with_its_line_and_no_rules() -> None:
    ruleset = parse_rules('[[rule]]\nname = "x"\nwhen = \n', "my.toml")
    assert ruleset.rules == ()
    (problem,) = ruleset.problems
    assert problem.path == "my.toml" and problem.line == 3 and problem.rule is None
    assert str(problem).startswith("my.toml:3: not valid TOML: ")
    assert "line" not in problem.message  # the line is said once, in front


@pytest.mark.parametrize(("body", "message"), [
    ('when = "value"\nproperty = "t"\nabove = 1\ncolour = "red"', "unknown key 'colour'"),
    ('when = "sometimes"', "'when' is one of offline, quiet"),
    ('when = "value"\nabove = 1', "a value rule needs a 'property'"),
    ('when = "value"\nproperty = "t"', "needs 'above', 'below', 'equals' or 'changes = true'"),
    ('when = "value"\nproperty = "t"\nequals = 1\nchanges = true', "give one of"),
    ('when = "value"\nproperty = "t"\nabove = 1\nbelow = 5', "must be less than 'above'"),
    ('when = "rate"', "a rate rule needs 'above' or 'below'"),
    ('when = "offline"\nabove = 3', "'above' is for value and rate rules"),
    ('when = "offline"\nproperty = "t"', "'property' is for value and ack_failed rules"),
    ('when = "offline"\nfor = "soon"', "'for' needs a duration"),
    ('when = "offline"\nnotify = ["pager"]', "'notify' knows desktop, exec, not 'pager'"),
    ('when = "offline"\nseverity = "dire"', "'severity' is one of warning, alert"),
    ('when = "offline"\nstream = "a"', "'stream' scopes gap and stream_down rules only"),
    ('when = "gap"\noem_model = "a*"', "a gap rule is about streams"),
    ('when = "offline"\ndsn = 5', "'dsn' needs a name or a glob"),
])
def test_each_bad_field_is_named(body: str, message: str) -> None:
    ruleset = parse_rules(f'[[rule]]\nname = "r"\n{body}\n')
    assert ruleset.rules == ()
    assert any(message in p.message and p.rule == "r" for p in ruleset.problems), ruleset.problems


def test_unknown_top_level_keys_nameless_and_duplicate_rules_are_problems() -> None:
    text = 'colour = 1\n[[rule]]\nwhen = "offline"\n[[rule]]\nname = "a"\nwhen = "offline"\n' \
           '[[rule]]\nname = "a"\nwhen = "quiet"\n'
    ruleset = parse_rules(text)
    assert [r.name for r in ruleset.rules] == ["a"]
    messages = [str(p) for p in ruleset.problems]
    assert any("unknown key 'colour'" in m for m in messages)
    assert any(m.startswith("alerts.toml:2: needs a 'name'") for m in messages)
    assert any(m.startswith("alerts.toml:8: rule 'a': another rule is already named 'a'") for m in messages)


def test_a_missing_file_has_no_rules_and_no_problem(tmp_path: Path) -> None:
    assert load_rules(tmp_path / "alerts.toml").rules == ()
    assert load_rules(tmp_path / "alerts.toml").problems == ()
    (tmp_path / "bad.toml").write_bytes(b"\xff\xfe")
    (problem,) = load_rules(tmp_path / "bad.toml").problems
    assert "cannot be read" in problem.message


def test_formatted_rules_read_back_equal() -> None:
    rules = list(parse_rules(GOOD).rules) + [
        Rule("quote \" and \\ and \x7f é", Condition.VALUE, property="mode", equals="on\n", hold_s=2.5,
             scope=Scope(dsn="AC*", tag="site-[12]"), notify=(), repeat_s=0.0),
        Rule("flag", Condition.VALUE, property="Blue_LED", equals=True),
        Rule("band", Condition.VALUE, property="t", above=5.0, below=-5.0, severity="warning"),
        Rule("moves", Condition.VALUE, property="t", changes=True, hold_s=60),
        Rule("busy", Condition.RATE, above=120.0, scope=Scope(oem_id="0dfc*")),
        Rule("acks", Condition.ACK_FAILED, property="Blue_LED"),
    ]
    text = format_rules(rules)
    again = parse_rules(text)
    assert again.problems == ()
    assert list(again.rules) == rules


FACTS = [
    DeviceFacts("F1", "freezer-2", "0dfc", ("site-a",), {"temperature": "decimal", "mode": "string"}),
    DeviceFacts("F2", "freezer-3", "0dfc", ("site-b",), {"temperature": "decimal"}),
    DeviceFacts("L1", "ledevb", "0dfc", (), {"Blue_LED": "boolean", "mode": "string"}),
]


def test_matching_lists_the_devices_a_rule_covers_now() -> None:
    warm = parse_rules(GOOD).rules[0]
    assert matching(warm, FACTS) == ["F1", "F2"]
    assert matching(Rule("m", Condition.VALUE, property="mode", equals="x"), FACTS) == ["F1", "L1"]
    assert matching(Rule("t", Condition.OFFLINE, scope=Scope(tag="site-*")), FACTS) == ["F1", "F2"]
    assert matching(Rule("s", Condition.GAP), FACTS) == []


def test_check_rules_says_what_cannot_work_against_the_fleet() -> None:
    rules = [
        Rule("no such model", Condition.OFFLINE, scope=Scope(oem_model="fridge*"), line=3),
        Rule("no such property", Condition.VALUE, property="humidity", above=1.0, line=9),
        Rule("outside scope", Condition.VALUE, property="Blue_LED", equals=1.0, scope=Scope(oem_model="freezer*")),
        Rule("on text", Condition.VALUE, property="mode", above=3.0),
        Rule("fine", Condition.VALUE, property="temperature", below=-30.0),
        Rule("text equals is fine", Condition.VALUE, property="mode", equals="eco"),
        Rule("bool is numeric", Condition.VALUE, property="Blue_LED", above=0.0),
        Rule("streams are not checked", Condition.GAP, scope=Scope(stream="x")),
    ]
    problems = check_rules(rules, FACTS, "a.toml")
    said = {p.rule: str(p) for p in problems}
    assert set(said) == {"no such model", "no such property", "outside scope", "on text"}
    assert said["no such model"] == "a.toml:3: rule 'no such model': oem_model 'fridge*' matches none of the 3 known devices"
    assert said["no such property"].startswith("a.toml:9: rule 'no such property': no device in its scope")
    assert "1 devices outside its scope have" in said["outside scope"]
    assert "'above' needs a number but 'mode' is a string property" in said["on text"]
    assert check_rules(rules, []) == []  # nothing known yet: nothing said


def test_facts_come_from_the_device_model_and_the_insight() -> None:
    insight = FleetInsight()
    insight.add(conn("A", T0, True, tags=("site-a",), model="m1"))
    insight.add(conn("B", T0, True, model="m2"))
    device = DeviceState("A")
    device.apply(dp("A", T0, "Blue_LED", tags=("site-a",), model="m1"))
    facts = facts_of([device], insight)
    assert facts == [
        DeviceFacts("A", "m1", "0dfc7900", ("site-a",), {"Blue_LED": "boolean"}),
        DeviceFacts("B", "m2", "0dfc7900", (), {}),
    ]


def test_one_rule_from_a_table_of_raw_values() -> None:
    rule, problems = rule_from_table({"name": "hot", "when": "value", "property": "t", "above": 30, "for": "1m"})
    assert problems == [] and rule == Rule("hot", Condition.VALUE, property="t", above=30.0, hold_s=60.0)
    rule, problems = rule_from_table({"name": "hot", "when": "value", "property": "t", "above": "x"}, "f.toml", 7)
    assert rule is None and [str(p) for p in problems] == ["f.toml:7: rule 'hot': 'above' needs a number, got 'x'"]
    assert set(DESCRIPTIONS) == set(Condition)


def test_the_documented_example_reads_without_problems() -> None:
    ruleset = load_rules(Path(__file__).resolve().parents[2] / "docs" / "alerts.toml")
    assert ruleset.problems == () and len(ruleset.rules) == 11
    assert {r.when for r in ruleset.rules} == set(Condition)
