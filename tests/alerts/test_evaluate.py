"""The evaluator on hand-built events, a real FleetInsight and given times:
raise after the hold, clear, one alert per rule and subject, repeat."""

from __future__ import annotations

import json
from typing import Any

from ayla_monitor.alerts.evaluate import AlertChange, AlertEvaluator, StreamFacts
from ayla_monitor.alerts.rules import Condition, Rule, Scope, parse_rules
from ayla_monitor.dss.events import Datapoint
from ayla_monitor.dss.frames import encode_frame, parse_frame, parse_frame_lean
from ayla_monitor.fleet.insight import FleetInsight
from tests.fleet.support import T0, ack, conn, dp, iso


def reading(dsn: str, at: float, value: Any, prop: str = "temperature", *, model: str = "freezer-2",
            tags: tuple[str, ...] = ()) -> Datapoint:
    event = dp(dsn, at, prop, model=model, tags=tags)
    event.base_type, event.value, event.raw_value = "decimal", value, value
    return event


WARM = Rule("freezer too warm", Condition.VALUE, property="temperature", above=-15.0, hold_s=300.0,
            scope=Scope(oem_model="freezer*"), repeat_s=600.0)


def kinds(changes: list[AlertChange]) -> list[tuple[str, str, str]]:
    return [(c.kind, c.rule, c.subject) for c in changes]


def test_a_value_raises_after_its_hold_and_clears_when_it_stops() -> None:
    ev = AlertEvaluator([WARM], now=T0)
    ev.add(reading("F1", T0, -12.5))
    assert ev.evaluate(None, T0 + 1) == []
    assert ev.evaluate(None, T0 + 299) == []  # held 299 s of 300
    ev.add(reading("F1", T0 + 200, -11.0))  # still above: the hold goes on from T0
    (raised,) = ev.evaluate(None, T0 + 300)
    assert raised.kind == "raised" and raised.subject == "F1" and raised.dsn == "F1" and raised.stream is None
    assert raised.detail == "F1: temperature -11 above -15 for 5 min"
    assert raised.at == raised.raised_at == T0 + 300 and raised.condition == "value"
    assert ev.open() == [raised]
    ev.add(reading("F1", T0 + 400, -10.0))
    assert ev.evaluate(None, T0 + 401) == []  # one alert per rule and subject
    ev.add(reading("F1", T0 + 500, -16.0))
    (cleared,) = ev.evaluate(None, T0 + 501)
    assert cleared.kind == "cleared" and cleared.raised_at == T0 + 300 and cleared.at == T0 + 501
    assert cleared.detail == "F1: temperature back to -16 (raised 3 min 21 s ago)"
    assert ev.open() == []


def test_a_condition_that_stops_before_its_hold_raises_nothing() -> None:
    ev = AlertEvaluator([WARM], now=T0)
    ev.add(reading("F1", T0, -12.5))
    ev.add(reading("F1", T0 + 100, -20.0))
    ev.add(reading("F1", T0 + 200, -12.0))  # true again: the hold starts over
    assert ev.evaluate(None, T0 + 350) == []
    assert kinds(ev.evaluate(None, T0 + 500)) == [("raised", "freezer too warm", "F1")]


def test_scope_and_property_pick_the_devices() -> None:
    ev = AlertEvaluator([WARM], now=T0)
    ev.add(reading("L1", T0, 50.0, model="ledevb"))  # out of scope
    ev.add(reading("F1", T0, 50.0, prop="humidity"))  # another property
    ev.add(reading("F2", T0, 50.0))
    ev.add(reading("F3", T0, "warm"))  # not a number: never above
    assert kinds(ev.evaluate(None, T0 + 300)) == [("raised", "freezer too warm", "F2")]


def test_a_subject_that_re_raises_within_repeat_is_held_back_until_then() -> None:
    rule = Rule("on", Condition.VALUE, property="temperature", above=0.0, repeat_s=600.0)
    ev = AlertEvaluator([rule], now=T0)
    ev.add(reading("F1", T0, 1.0))
    assert kinds(ev.evaluate(None, T0)) == [("raised", "on", "F1")]
    raises = 1
    for i in range(1, 20):  # flapping every 10 s for 190 s
        ev.add(reading("F1", T0 + i * 10, float(i % 2 == 0)))
        for change in ev.evaluate(None, T0 + i * 10):
            raises += change.kind == "raised"
    assert raises == 1  # the clears went out, the re-raises waited
    ev.add(reading("F1", T0 + 300, 1.0))
    assert ev.evaluate(None, T0 + 300) == []
    assert ev.evaluate(None, T0 + 599) == []
    assert kinds(ev.evaluate(None, T0 + 600)) == [("raised", "on", "F1")]


def test_a_re_raise_held_back_is_dropped_if_the_condition_ended_meanwhile() -> None:
    rule = Rule("on", Condition.VALUE, property="temperature", above=0.0, repeat_s=600.0)
    ev = AlertEvaluator([rule], now=T0)
    ev.add(reading("F1", T0, 1.0))
    ev.evaluate(None, T0)
    ev.add(reading("F1", T0 + 10, -1.0))
    assert kinds(ev.evaluate(None, T0 + 10)) == [("cleared", "on", "F1")]
    ev.add(reading("F1", T0 + 20, 1.0))
    ev.add(reading("F1", T0 + 30, -1.0))
    assert ev.evaluate(None, T0 + 700) == []
    assert ev.open() == []


def test_offline_for_ten_seconds() -> None:
    rule = parse_rules('[[rule]]\nname = "offline"\nwhen = "offline"\nfor = "10s"\n').rules[0]
    ev = AlertEvaluator([rule], now=T0)
    ev.add(conn("D1", T0, True))
    ev.add(conn("D1", T0 + 5, False))
    assert ev.evaluate(None, T0 + 14) == []
    (raised,) = ev.evaluate(None, T0 + 15)
    assert raised.detail == "D1: offline for 10 s" and raised.notify == ("desktop",)
    ev.add(conn("D1", T0 + 40, True))
    (cleared,) = ev.evaluate(None, T0 + 41)
    assert cleared.kind == "cleared" and cleared.detail == "D1: online again (raised 26 s ago)"


def test_lean_events_are_read_like_typed_ones() -> None:
    rules = [WARM, Rule("off", Condition.OFFLINE, scope=Scope(tag="site-a")),
             Rule("acks", Condition.ACK_FAILED)]
    events = [reading("F1", T0, -1.0, tags=("site-a",)), conn("F1", T0, False, tags=("site-a",)),
              conn("F2", T0, False), ack("F1", T0, T0 + 1, status=500)]
    for make in (parse_frame, parse_frame_lean):
        ev = AlertEvaluator(rules, now=T0)
        for event in events:
            payload = _payload(event)
            ev.add(make(encode_frame(payload), T0))
        assert sorted(kinds(ev.evaluate(None, T0 + 300))) == [
            ("raised", "acks", "F1"), ("raised", "freezer too warm", "F1"), ("raised", "off", "F1")], make


def _payload(event: Any) -> dict[str, Any]:
    meta = {"oem_id": event.oem_id, "oem_model": event.oem_model, "dsn": event.dsn,
            "resource_tags": list(event.resource_tags), "event_type": event.event_type}
    if event.event_type == "connectivity":
        return {"seq": "1", "metadata": meta, "connection": {"event_time": event.time, "status": event.status}}
    meta.update(property_name=event.property_name, display_name=event.property_name, base_type=event.base_type)
    body = {"id": "dp1", "created_at": event.created_at, "value": event.value}
    if event.event_type == "datapointack":
        body.update(ack_status=event.ack_status, ack_message=event.ack_message, acked_at=event.acked_at)
    return {"seq": "2", "metadata": meta, "datapoint": body}


def test_ack_failed_holds_until_an_ack_succeeds() -> None:
    rule = Rule("led acks", Condition.ACK_FAILED, property="Blue_LED")
    ev = AlertEvaluator([rule], now=T0)
    ev.add(ack("D1", T0, T0 + 1, "Other", status=500))
    assert ev.evaluate(None, T0 + 2) == []
    ev.add(ack("D1", T0, T0 + 1, status=404))
    (raised,) = ev.evaluate(None, T0 + 2)
    assert raised.detail == "D1: the ack of Blue_LED failed (status 404, message 0)"
    ev.add(ack("D1", T0 + 5, T0 + 6, status=200))
    assert kinds(ev.evaluate(None, T0 + 7)) == [("cleared", "led acks", "D1")]


def test_value_equals_and_changes() -> None:
    rules = [Rule("led on", Condition.VALUE, property="Blue_LED", equals=True),
             Rule("mode moved", Condition.VALUE, property="mode", changes=True, hold_s=30.0, repeat_s=0.0)]
    ev = AlertEvaluator(rules, now=T0)
    ev.add(dp("D1", T0, "Blue_LED"))  # value 1
    mode = dp("D1", T0, "mode")
    mode.base_type, mode.value = "string", "eco"
    ev.add(mode)
    assert kinds(ev.evaluate(None, T0)) == [("raised", "led on", "D1")]  # the first value is no change
    mode2 = dp("D1", T0 + 10, "mode", received=T0 + 10)
    mode2.base_type, mode2.value = "string", "boost"
    ev.add(mode2)
    (moved,) = ev.evaluate(None, T0 + 10)
    assert moved.detail == "D1: mode changed from eco to boost"
    assert ev.evaluate(None, T0 + 39) == []
    assert kinds(ev.evaluate(None, T0 + 40)) == [("cleared", "mode moved", "D1")]


def test_insight_conditions_flapping_quiet_rate_and_missing_acks() -> None:
    rules = [Rule("flap", Condition.FLAPPING), Rule("quiet", Condition.QUIET),
             Rule("busy", Condition.RATE, above=30.0), Rule("unacked", Condition.ACK_MISSING),
             Rule("unacked too", Condition.ACK_MISSING, scope=Scope(dsn="A"))]
    insight = FleetInsight()
    ev = AlertEvaluator(rules, now=T0)
    for i in range(8):  # F flaps every 2 minutes
        insight.add(conn("F", T0 + i * 120, i % 2 == 0))
    for i in range(10):  # Q beats every 10 s, then stops
        insight.add(dp("Q", T0 + i * 10))
    for i in range(40):  # B sends 40 in one minute
        insight.add(dp("B", T0 + 900 + i))
    insight.add(ack("A", T0 + 900, T0 + 901, dp_id="1"))
    insight.add(dp("A", T0 + 902, dp_id="2"))  # never acked
    insight.add(dp("B", T0 + 1000))
    got = ev.evaluate(insight, T0 + 1000)
    assert sorted(kinds(got)) == [("raised", "busy", "B"), ("raised", "flap", "F"), ("raised", "quiet", "Q"),
                                  ("raised", "unacked", "A"), ("raised", "unacked too", "A")]
    details = {c.rule: c.detail for c in got}
    assert details["quiet"].startswith("Q: quiet: silent for")
    assert details["flap"] == "F: flapping: 7 online/offline changes in the last hour"
    insight.add(ack("A", T0 + 1001, T0 + 1002, dp_id="3"))
    insight.add(dp("Q", T0 + 1001))
    assert sorted(kinds(ev.evaluate(insight, T0 + 1002))) == [
        ("cleared", "quiet", "Q"), ("cleared", "unacked", "A"), ("cleared", "unacked too", "A")]


def test_stream_rules_take_the_streams_as_given() -> None:
    rules = [Rule("down", Condition.STREAM_DOWN, hold_s=30.0, scope=Scope(stream="prod*")),
             Rule("gaps", Condition.GAP)]
    ev = AlertEvaluator(rules, now=T0)
    streams = [StreamFacts("prod-dp", False), StreamFacts("test", False, open_gaps=2, missing=40)]
    (gap,) = ev.evaluate(None, T0, streams)
    assert gap.subject == "test" and gap.stream == "test" and gap.dsn is None
    assert gap.detail == "stream test: 2 open gaps (40 seqs missing)"
    (down,) = ev.evaluate(None, T0 + 30, streams)
    assert down.detail == "stream prod-dp: down for 30 s"
    assert sorted(kinds(ev.evaluate(None, T0 + 31, [StreamFacts("prod-dp", True)]))) == [
        ("cleared", "down", "prod-dp"), ("cleared", "gaps", "test")]  # a stream gone is not down


def test_changed_rules_clear_their_alerts_and_the_others_stay() -> None:
    keep = Rule("off", Condition.OFFLINE)
    ev = AlertEvaluator([WARM, keep], now=T0)
    ev.add(reading("F1", T0, 0.0))
    ev.add(conn("F1", T0, False))
    assert len(ev.evaluate(None, T0 + 300)) == 2
    cleared = ev.set_rules([keep, Rule("new", Condition.QUIET)], T0 + 301)
    assert kinds(cleared) == [("cleared", "freezer too warm", "F1")]
    assert "the rule was changed or removed" in cleared[0].detail
    assert kinds(ev.open()) == [("raised", "off", "F1")]


def test_the_json_for_commands_has_every_field() -> None:
    change = AlertChange("raised", "r", "offline", "D1", "D1", None, T0, "D1: offline for 10 s",
                         ("exec",), "warning", T0)
    assert json.loads(change.to_json()) == {
        "kind": "raised", "rule": "r", "condition": "offline", "severity": "warning", "subject": "D1",
        "dsn": "D1", "stream": None, "at": T0, "at_iso": iso(T0), "raised_at": T0, "raised_at_iso": iso(T0),
        "detail": "D1: offline for 10 s", "notify": ["exec"],
    }
    assert "\n" not in change.to_json()


def test_an_alert_left_open_is_adopted_and_clears_when_its_condition_is_seen_to_stop() -> None:
    ev = AlertEvaluator([WARM, Rule("off", Condition.OFFLINE)], now=T0)
    assert ev.adopt("freezer too warm", "F1", "F1", None, T0 - 50, "F1: temperature -3 above -15 for 5 min")
    assert ev.adopt("off", "F2", "F2", None, T0 - 50, "F2: offline for 0 s")
    assert not ev.adopt("gone rule", "F3", "F3", None, T0 - 50, "")
    assert kinds(ev.open()) == [("raised", "freezer too warm", "F1"), ("raised", "off", "F2")]
    ev.add(reading("F1", T0, -2.0))  # still above: stays open, not raised again
    ev.add(conn("F2", T0, False))
    assert ev.evaluate(None, T0 + 400) == []
    ev.add(reading("F1", T0 + 401, -20.0))
    ev.add(conn("F2", T0 + 401, True))
    cleared = ev.evaluate(None, T0 + 402)
    assert sorted(kinds(cleared)) == [("cleared", "freezer too warm", "F1"), ("cleared", "off", "F2")]
    assert all(c.raised_at == T0 - 50 for c in cleared)
