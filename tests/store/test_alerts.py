"""Alerts in the database, on SQLite and MariaDB: raise, clear, list,
acknowledge, and two stores on one database recording a change once."""

from __future__ import annotations

import peewee
import pytest

from ayla_monitor.alerts.evaluate import AlertChange
from ayla_monitor.store.database import Store

T0 = 1_767_225_600.0


def raised(rule: str = "offline", subject: str = "AC000W1", at: float = T0, *, stream: bool = False) -> AlertChange:
    return AlertChange("raised", rule, "stream_down" if stream else "offline", subject,
                       None if stream else subject, subject if stream else None, at, f"{subject}: offline for 10 s",
                       ("desktop",), "warning", at)


def cleared(change: AlertChange, at: float) -> AlertChange:
    return AlertChange("cleared", change.rule, change.condition, change.subject, change.dsn, change.stream, at,
                       f"{change.subject}: online again", change.notify, change.severity, change.raised_at)


def test_an_alert_is_raised_cleared_and_listed_open_first(db_url: str) -> None:
    with Store.open(db_url) as store:
        first = store.record_change(raised("offline", "A", T0))
        assert first is not None and first.open and first.rule == "offline" and first.dsn == "A"
        assert first.raised_at == T0 and first.severity == "warning" and first.stream is None
        store.record_change(raised("offline", "B", T0 + 10))
        done = store.record_change(cleared(raised("offline", "A", T0), T0 + 20))
        assert done is not None and done.id == first.id and done.cleared_at == T0 + 20
        assert done.clear_detail == "A: online again" and not done.open
        store.record_change(raised("offline", "C", T0 + 5))
        listed = store.list_alerts()
        assert [(a.subject, a.open) for a in listed] == [("B", True), ("C", True), ("A", False)]
        assert [a.subject for a in store.list_alerts(open_only=True)] == ["B", "C"]
        assert [a.subject for a in store.list_alerts(limit=1)] == ["B"]
        # The same rule and subject raise again once cleared: a new alert.
        again = store.record_change(raised("offline", "A", T0 + 30))
        assert again is not None and again.id != first.id
        assert [a.subject for a in store.list_alerts(search="a: OFF")] == ["A", "A"]


def test_a_change_recorded_twice_is_recorded_once(db_url: str) -> None:
    with Store.open(db_url) as one, Store.open(db_url) as two:
        change = raised("gap", "prod-dp", stream=True)
        assert one.record_change(change) is not None
        assert two.record_change(change) is None  # the other recorder raised it
        clear = cleared(change, T0 + 60)
        assert two.record_change(clear) is not None
        assert one.record_change(clear) is None
        assert one.record_change(cleared(raised("never"), T0)) is None  # nothing open to clear
        (only,) = one.list_alerts()
        assert only.stream == "prod-dp" and only.dsn is None and only.cleared_at == T0 + 60


def test_acknowledge_says_who_and_when(db_url: str) -> None:
    with Store.open(db_url) as store:
        record = store.record_change(raised())
        assert record is not None
        assert store.acknowledge(record.id, "ana", T0 + 5)
        (seen,) = store.list_alerts()
        assert (seen.acknowledged_by, seen.acknowledged_at) == ("ana", T0 + 5)
        assert not store.acknowledge(record.id + 1000, "ana")


def test_a_stream_key_in_a_stream_name_or_detail_is_masked(db_url: str) -> None:
    key = "0123456789abcdef0123456789abcdef"
    change = raised("down", f"wss://h/stream?stream_key={key}", stream=True)
    with Store.open(db_url) as store:
        store.record_change(change)
        (alert,) = store.list_alerts()
    assert key not in repr(alert)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_an_existing_schema_3_database_gets_the_table(db_url: str) -> None:
    with Store.open(db_url) as store:
        store.record_change(raised())
    database = peewee.SqliteDatabase(db_url.removeprefix("sqlite:///"))
    database.execute_sql("DROP TABLE alerts")
    database.execute_sql("DELETE FROM schema_version WHERE version = 4")
    database.close()
    with Store.open(db_url) as store:
        assert store.list_alerts() == []
        assert store.record_change(raised()) is not None


def test_changes_recorded_in_one_go_are_each_recorded_once(db_url: str) -> None:
    change = raised("offline", "A")
    with Store.open(db_url) as store:
        first, again, clear = store.record_changes([change, change, cleared(change, T0 + 9)])
        assert first is not None and again is None and clear is not None and clear.id == first.id
        assert [a.cleared_at for a in store.list_alerts()] == [T0 + 9]
