"""The glue (evaluate, record, notify) on a real SQLite store, and the
--on-alert command runner with real shell commands."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest

from ayla_monitor.alerts.evaluate import AlertChange
from ayla_monitor.alerts.rules import Condition, Rule, RuleSet, Scope, facts_of, parse_rules
from ayla_monitor.core.alert_command import AlertCommand
from ayla_monitor.core.alerting import Alerting, RecordedChange
from ayla_monitor.fleet.device import DeviceState
from ayla_monitor.store.alerts import AlertRecord
from ayla_monitor.store.database import Store
from tests.fleet.support import T0, conn, dp

OFFLINE = Rule("offline", Condition.OFFLINE, hold_s=10.0, notify=("desktop",), scope=Scope(dsn="D*"))
QUIET = Rule("quiet", Condition.QUIET, notify=("exec",))
SILENT = Rule("silent", Condition.OFFLINE, scope=Scope(dsn="S*"), notify=())


def test_ticks_record_once_and_notify_by_channel(tmp_path: Path) -> None:
    desktop: list[AlertChange] = []
    exec_: list[AlertChange] = []
    with Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}") as store:
        alerting = Alerting(RuleSet((OFFLINE, QUIET, SILENT)), now=T0, store=store)
        alerting.add_notifier(lambda change, record: desktop.append(change), ("desktop",))
        alerting.add_notifier(lambda change, record: exec_.append(change), ("exec",))
        assert alerting.needs_typed_events  # quiet needs an insight: one is kept here
        alerting.add([conn("D1", T0, False), conn("S1", T0, False)], "s")
        changes = alerting.tick(T0 + 10)
        assert sorted((c.rule, c.subject) for c in changes) == [("offline", "D1"), ("silent", "S1")]
        recorded = alerting.record(changes)
        assert {r.record.subject for r in recorded} == {"D1", "S1"}
        assert alerting.record(changes) == []  # already recorded (as another recorder would find)
        alerting.notify(recorded)
        assert [c.subject for c in desktop] == ["D1"] and exec_ == []  # notify = []: recorded, not notified
        assert {a.subject for a in store.list_alerts(open_only=True)} == {"D1", "S1"}


def test_a_failing_notifier_is_logged_and_the_others_run(caplog: pytest.LogCaptureFixture) -> None:
    got: list[str] = []

    def broken(change: AlertChange, record: AlertRecord) -> None:
        raise RuntimeError("bug")

    alerting = Alerting(RuleSet((OFFLINE,)), now=T0)
    alerting.add_notifier(broken)
    alerting.add_notifier(lambda change, record: got.append(change.subject))
    alerting.add([conn("D1", T0, False)])
    with caplog.at_level(logging.ERROR):
        alerting.notify(alerting.record(alerting.tick(T0 + 10)))
    assert got == ["D1"] and "An alert notifier failed" in caplog.text


def test_rules_are_checked_against_the_stored_devices_and_tags_unknown_are_not_judged(tmp_path: Path) -> None:
    text = ('[[rule]]\nname = "t"\nwhen = "value"\nproperty = "humidity"\nabove = 1\n'
            '[[rule]]\nname = "site"\nwhen = "offline"\ntag = "site-*"\n')
    alerting = Alerting(parse_rules(text), now=T0)
    device = DeviceState("D1")
    device.apply(dp("D1", T0, "temperature"))
    (problem,) = alerting.problems(facts_of([device]))  # the database keeps no tags: 'site' is not judged
    assert str(problem) == "alerts.toml:1: rule 't': no device in its scope has a property 'humidity'"


def change(kind: str = "raised", subject: str = "D1") -> tuple[AlertChange, AlertRecord]:
    c = AlertChange(kind, "offline", "offline", subject, subject, None, T0, f"{subject}: offline for 10 s",
                    ("exec",), "alert", T0)
    return c, AlertRecord(7, "offline", "offline", subject, subject, None, T0, None, c.detail, None, None)


def test_the_command_gets_the_json_and_the_environment(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    env = tmp_path / "env.txt"

    async def main() -> None:
        command = AlertCommand(f'cat >> {out}; echo "$AYLA_ALERT_KIND $AYLA_ALERT_SUBJECT" >> {env}')
        runner = asyncio.create_task(command.run())
        command(*change("raised"))
        command(*change("cleared"))
        assert await command.drain(30)
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        assert command.ran == 2 and command.failed == 0

    asyncio.run(main())
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(a["kind"] for a in lines) == ["cleared", "raised"]
    assert all(a["id"] == 7 and a["rule"] == "offline" and a["subject"] == "D1" for a in lines)
    assert sorted(env.read_text().splitlines()) == ["cleared D1", "raised D1"]


def test_failing_slow_and_too_many_commands_are_logged_and_recording_goes_on(
        caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> tuple[AlertCommand, AlertCommand]:
        failing = AlertCommand("echo 'no route to pager' >&2; exit 3")
        slow = AlertCommand("sleep 60", max_running=1, max_queued=1, timeout=1.0)
        runners = [asyncio.create_task(c.run()) for c in (failing, slow)]
        failing(*change())
        slow(*change(subject="D0"))
        while slow.ran < 1:  # the first one runs
            await asyncio.sleep(0.01)
        for i in range(1, 4):  # one waits, two are dropped
            slow(*change(subject=f"D{i}"))
        assert await failing.drain(30)
        assert await slow.drain(60)
        for runner in runners:
            runner.cancel()
        await asyncio.gather(*runners, return_exceptions=True)
        return failing, slow

    with caplog.at_level(logging.WARNING):
        failing, slow = asyncio.run(main())
    assert failing.failed == 1 and "failed (exit code 3)" in caplog.text and "no route to pager" in caplog.text
    assert slow.ran == 2 and slow.failed == 2 and slow.dropped == 2
    assert "took longer than 1 s" in caplog.text and "commands are waiting already" in caplog.text


def test_recorded_change_carries_both() -> None:
    c, r = change()
    assert RecordedChange(c, r).record.id == 7


def test_a_new_run_adopts_the_alerts_left_open_and_records_their_clear(tmp_path: Path) -> None:
    with Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}") as store:
        first = Alerting(RuleSet((OFFLINE,)), now=T0, store=store)
        first.add([conn("D1", T0, False)])
        (raised,) = first.record(first.tick(T0 + 10))
        second = Alerting(RuleSet((OFFLINE,)), now=T0 + 100, store=store)  # the recorder restarted
        assert second.adopt(store.list_alerts(open_only=True)) == 1
        second.add([conn("D1", T0 + 100, False)])
        assert second.tick(T0 + 200) == []  # still offline: not raised again
        second.add([conn("D1", T0 + 300, True)])
        (cleared,) = second.record(second.tick(T0 + 301))
        assert cleared.record.id == raised.record.id and cleared.record.cleared_at == T0 + 301
        assert store.list_alerts(open_only=True) == []
