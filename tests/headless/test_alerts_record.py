"""The recorder with --alerts and --on-alert against the simulator's
flapping device: raises and clears in the command's file and the database;
two recorders into one MariaDB raise each alert once; ``alerts`` lists them."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import pytest

from ayla_monitor.alerts.rules import load_rules
from ayla_monitor.cli import main
from ayla_monitor.core.alert_command import AlertCommand
from ayla_monitor.dss.subscription import StreamDefinition
from ayla_monitor.headless.record import record, summary
from ayla_monitor.simulator.server import Simulator, SimulatorConfig
from ayla_monitor.store.database import Store

KEY = "a1e47a1e47a1e47a1e47a1e47a1e4701"
#: a second subscription to the same fleet (recorders in a team record their own streams)
OTHER = "a1e47a1e47a1e47a1e47a1e47a1e4702"

RULES = """\
[[rule]]
name = "offline"
when = "offline"
for = "2s"
notify = ["exec"]

[[rule]]
name = "broken"
when = "value"
property = "temperature"
above = "warm"

[[rule]]
name = "no such model"
when = "offline"
oem_model = "fridge*"
"""


def lines_of(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def raised_and_cleared(path: Path, dsn: str) -> bool:
    kinds = [(a["kind"], a["subject"]) for a in lines_of(path)]
    return ("raised", dsn) in kinds and ("cleared", dsn) in kinds


async def _record_until(url: str, sim: Simulator, rules: Path, outs: list[Path], done: object) -> list[str]:
    """Recorders (one per file in ``outs``) until ``done()``; their stderr."""
    stop = asyncio.Event()
    streams = [io.StringIO() for _ in outs]
    ruleset = load_rules(rules)

    async def one(key: str, out: Path, err: io.StringIO) -> None:
        command = AlertCommand(f"cat >> {out}", max_running=2)
        definition = StreamDefinition.create(key, name=f"all-{key[-1]}", url=sim.url)
        result = await record([definition], url, out=err, stop=stop, handle_signals=False, alerts=ruleset,
                              on_alert=command, status_interval=None, alerts_check_after=3.0)
        err.write("\n".join(summary(result)))

    async def watch() -> None:
        while not done(streams):  # type: ignore[operator]
            await asyncio.sleep(0.1)
        stop.set()

    await asyncio.gather(watch(), *(one(key, out, err) for key, out, err in zip((KEY, OTHER), outs, streams,
                                                                                  strict=False)))
    return [s.getvalue() for s in streams]


def test_a_recorder_runs_the_command_for_raises_and_clears(db_url: str, tmp_path: Path) -> None:
    rules = tmp_path / "alerts.toml"
    rules.write_text(RULES)
    out = tmp_path / "alerts.jsonl"

    async def main_() -> tuple[list[str], str]:
        config = SimulatorConfig(keys={KEY: None}, rate=20, devices=6, scenarios=True)
        async with Simulator(config) as sim:
            flapping = sim.fleet.roles["flapping"].dsn
            errs = await _record_until(db_url, sim, rules, [out], lambda errs: raised_and_cleared(out, flapping)
                                       and "'no such model'" in errs[0].getvalue())
        return errs, flapping

    (err,), flapping = asyncio.run(asyncio.wait_for(main_(), 180))
    # the bad rule said once at the start, with its line; the good ones ran
    assert err.count("Alert rules: ") == 2
    assert f"Alert rules: {rules}:11: rule 'broken': 'above' needs a number, got 'warm'" in err
    # once devices were known: the glob that matches none of them
    assert f"Alert rules: {rules}:13: rule 'no such model': oem_model 'fridge*' matches none" in err
    assert "Alerts: " in err and "raised" in err
    alerts = [a for a in lines_of(out) if a["subject"] == flapping]
    first = alerts[0]
    assert first["kind"] == "raised" and first["rule"] == "offline" and first["dsn"] == flapping
    assert first["condition"] == "offline" and first["stream"] is None and isinstance(first["id"], int)
    assert str(first["detail"]).startswith(f"{flapping}: offline for ")
    cleared = next(a for a in alerts if a["kind"] == "cleared")
    assert cleared["id"] == first["id"] and cleared["raised_at"] == first["at"]
    assert str(cleared["detail"]).startswith(f"{flapping}: online again")
    with Store.open(db_url) as store:
        stored = [a for a in store.list_alerts() if a.subject == flapping]
    assert any(a.id == first["id"] and a.cleared_at == cleared["at"] for a in stored)
    # ayla-monitor alerts lists them
    listing = tmp_path / "list.json"
    import contextlib

    with listing.open("w") as sink, contextlib.redirect_stdout(sink):
        assert main(["alerts", "--db", db_url, "--format", "json"]) == 0
    listed = json.loads(listing.read_text())
    assert any(a["id"] == first["id"] and a["subject"] == flapping and a["rule"] == "offline" for a in listed)


@pytest.mark.mysql
def test_two_recorders_into_one_mariadb_raise_each_alert_once(tmp_path: Path) -> None:
    from tests.store.conftest import drop_project_tables, mysql_url

    url = mysql_url()
    drop_project_tables(url)
    rules = tmp_path / "alerts.toml"
    # (repeat 0: every episode of the flapping device raises; the default would hold them back for 10 min)
    rules.write_text(RULES.split("[[rule]]\nname = \"broken\"")[0].replace('for = "2s"', 'for = "2s"\nrepeat = 0'))
    outs = [tmp_path / "one.jsonl", tmp_path / "two.jsonl"]

    def two_episodes(flapping: str) -> bool:
        # two raise-and-clear episodes of the flapping device, counted over both recorders' files
        kinds = [a["kind"] for out in outs for a in lines_of(out) if a["subject"] == flapping]
        return kinds.count("cleared") >= 2

    async def main_() -> str:
        config = SimulatorConfig(keys={KEY: None, OTHER: None}, rate=20, devices=6, scenarios=True)
        async with Simulator(config) as sim:
            flapping = sim.fleet.roles["flapping"].dsn
            await _record_until(url, sim, rules, outs, lambda _errs: two_episodes(flapping))
        return flapping

    try:
        flapping = asyncio.run(asyncio.wait_for(main_(), 240))
        with Store.open(url) as store:
            stored = [a for a in store.list_alerts() if a.subject == flapping]
    finally:
        drop_project_tables(url)
    commands = [a for out in outs for a in lines_of(out) if a["subject"] == flapping]
    raises = [a["id"] for a in commands if a["kind"] == "raised"]
    clears = [a["id"] for a in commands if a["kind"] == "cleared"]
    # each alert raised once (one row each, one command each), whichever recorder won
    assert len(stored) == len(set(raises)) == len(raises) >= 2
    assert sorted(a.id for a in stored) == sorted(raises)
    assert len(clears) == len(set(clears)) and set(clears) <= set(raises)
    assert {a.id for a in stored if a.cleared_at is not None} == set(clears)


@pytest.mark.parametrize(("extra", "said"), [
    (["--on-alert", "cat"], "--on-alert needs --alerts FILE"),
    (["--alerts", "missing.toml"], "the alerts file missing.toml does not exist"),
])
def test_record_refuses_alert_options_that_cannot_work(
        extra: list[str], said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code = main(["record", "--url", "ws://127.0.0.1:9/stream", "--stream-key", KEY, "--db",
                 str(tmp_path / "db.sqlite"), *extra])
    assert code == 2 and said in capsys.readouterr().err
    assert not (tmp_path / "db.sqlite").exists()  # refused before anything was opened


def test_alerts_lists_text_and_says_when_there_are_none(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ayla_monitor.alerts.evaluate import AlertChange

    db = str(tmp_path / "db.sqlite")
    with Store.open(f"sqlite:///{db}") as store:
        assert main(["alerts", "--db", db]) == 0
        assert capsys.readouterr().out == "No alerts.\n"
        record = store.record_change(AlertChange("raised", "hot", "value", "T1", "T1", None, 1_767_225_600.0,
                                                 "T1: temperature 31 above 28", ("desktop",), "warning",
                                                 1_767_225_600.0))
        assert record is not None
        store.acknowledge(record.id, "ana", 1_767_225_660.0)
    assert main(["alerts", "--db", db, "--open"]) == 0
    assert capsys.readouterr().out == (
        "OPEN    2026-01-01 00:00:00Z  [warning] hot: T1: temperature 31 above 28"
        "  (acknowledged by ana 2026-01-01 00:01:00Z)\n")
