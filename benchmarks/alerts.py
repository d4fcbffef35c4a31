"""Alert rules' cost: 100 rules over 10,000 devices, per event and per tick,
and the recorder's ingest rate with them against without (issue 13).

    .venv/bin/python benchmarks/alerts.py [--events 200000] [--devices 10000] [--skip-ingest]

Three rule sets of 100 rules each (see :func:`rules`):

- ``events``: rules read from the events alone (value thresholds, changes,
  equals, offline, ack_failed) and the streams (gap, stream_down);
- ``mixed``: the same with 20 of them swapped for rules that read the
  fleet insight (quiet, flapping, ack_missing, rate), which makes the
  recorder build typed events and keep a FleetInsight;
- ``storm``: ``events`` with every threshold set to fire often (thousands
  of alerts raised and recorded).

Part 1 (one process, CPU seconds by ``time.process_time``, median of 3):
the recorder's parse (``parse_frame_lean``) per event, then
``AlertEvaluator.add`` per event over those lean events, and one
``evaluate`` tick with every device known; for ``mixed``, also the typed
parse and ``FleetInsight.add`` that it needs.

Part 2 (the real thing, like benchmarks/ingest.py): a simulator process
holds EVENTS events of DEVICES devices in its replay buffer; the recorder
(its own process) takes them into a fresh SQLite file without rules, then
with each rule set. Prints events/s and the recorder's loop CPU per event
(the writer is a process of its own), and the ratio without / with: the
loop is what bounds the ingest rate, and its CPU is steadier than wall
time on a shared machine (issue 13's target: at least 0.80).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ayla_monitor.alerts.evaluate import AlertEvaluator, StreamFacts
from ayla_monitor.alerts.rules import Condition, Rule, RuleSet, Scope, format_rules, parse_rules
from ayla_monitor.dss import wire
from ayla_monitor.dss.events import DssEvent, LeanEvent
from ayla_monitor.dss.frames import parse_frame, parse_frame_lean
from ayla_monitor.fleet.insight import FleetInsight
from ayla_monitor.simulator.fleet import MODELS, Fleet

START = 1_767_225_600.0
KEY = "a1e475" * 5 + "be"  # a local simulator key, not a secret


def rules(kind: str) -> list[Rule]:
    """100 rules over the simulator's models and properties, scoped by model,
    model glob, DSN glob or tag, as a fleet's rules would be: most of them
    never fire on a healthy fleet (a threshold beyond what the property
    reaches), a few do now and then. (``storm`` makes every threshold fire
    often instead: what recording thousands of alerts costs.)"""
    out: list[Rule] = []
    numeric = [(m.oem_model, p.name, p.low, p.high) for m in MODELS for p in m.properties
               if p.base_type in ("integer", "decimal", "float")]
    texts = [(m.oem_model, p.name) for m in MODELS for p in m.properties if p.base_type == "string"]
    for i in range(64):
        model, prop, low, high = numeric[i % len(numeric)]
        span = high - low
        scope = (Scope(oem_model=model), Scope(oem_model=model[:3] + "*"), Scope(dsn=f"AC000W{i % 10}*"),
                 Scope(tag="site-a"))[i % 4]
        rare = kind == "storm" or i % 16 == 0  # these fire now and then
        if i % 2 == 0:
            out.append(Rule(f"{prop} high {i}", Condition.VALUE, property=prop, hold_s=60.0, scope=scope,
                            above=low + span * 0.9 if rare else high + span))
        else:
            out.append(Rule(f"{prop} out of band {i}", Condition.VALUE, property=prop, scope=scope,
                            above=high - span * 0.05 if rare else high + span,
                            below=low + span * 0.05 if rare else low - span))
    for j in range(8):
        model, prop = texts[j % len(texts)]
        out.append(Rule(f"{prop} is error {j}", Condition.VALUE, property=prop, equals="error",
                        scope=Scope(oem_model=model)))
    few = None if kind == "storm" else "AC000W12*"  # (the simulator's texts change all the time)
    out.append(Rule("firmware changed", Condition.VALUE, property="firmware", changes=True, scope=Scope(dsn=few)))
    out.append(Rule("version changed", Condition.VALUE, property="version", changes=True, scope=Scope(dsn=few)))
    for j in range(12):
        out.append(Rule(f"offline {j}", Condition.OFFLINE, hold_s=60.0 * (j + 1),
                        scope=Scope(oem_model=MODELS[j % len(MODELS)].oem_model)))
    for j in range(10):
        out.append(Rule(f"ack failed {j}", Condition.ACK_FAILED,
                        scope=Scope(oem_model=MODELS[j % len(MODELS)].oem_model, dsn=few)))
    out.append(Rule("gaps", Condition.GAP))
    out.append(Rule("stream down", Condition.STREAM_DOWN, hold_s=30.0))
    out.append(Rule("blue on", Condition.VALUE, property="Blue_LED", equals=True, scope=Scope(dsn=few)))
    out.append(Rule("watts", Condition.VALUE, property="watts", above=1990.0))
    if kind == "mixed":
        insight_rules = []
        for j in range(20):
            model = MODELS[j % len(MODELS)].oem_model
            insight_rules.append([
                Rule(f"quiet {j}", Condition.QUIET, scope=Scope(oem_model=model)),
                Rule(f"flapping {j}", Condition.FLAPPING, scope=Scope(oem_model=model)),
                Rule(f"ack missing {j}", Condition.ACK_MISSING, scope=Scope(oem_model=model)),
                Rule(f"busy {j}", Condition.RATE, above=30.0, scope=Scope(oem_model=model)),
            ][j % 4])
        out = out[:80] + insight_rules
    assert len(out) == 100 and len({r.name for r in out}) == 100, len(out)
    return out


def _cpu(work: object, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        started = time.process_time()
        work()  # type: ignore[operator]
        times.append(time.process_time() - started)
    return statistics.median(times)


def micro(count: int, devices: int) -> None:
    fleet = Fleet(devices, seed=1, scenarios=True)
    texts = [wire.sequenced_frame(wire.unsequenced_text(fleet.next_event(START + i / 200)), i + 1)
             for i in range(count)]
    received = [START + i / 200 + 0.3 for i in range(count)]
    lean = [f for f in (parse_frame_lean(t, r) for t, r in zip(texts, received, strict=True))
            if f.__class__ is LeanEvent]
    typed = [f for f in (parse_frame(t, r) for t, r in zip(texts, received, strict=True)) if isinstance(f, DssEvent)]
    end = received[-1]
    streams = [StreamFacts("bench", True)]
    parse_lean_s = _cpu(lambda: [parse_frame_lean(t, r) for t, r in zip(texts, received, strict=True)])
    parse_typed_s = _cpu(lambda: [parse_frame(t, r) for t, r in zip(texts, received, strict=True)])
    print(f"{len(lean):,} events of {devices:,} devices; CPU, median of 3")
    print(f"  recorder's parse (lean):  {parse_lean_s / count * 1e6:6.2f} µs/event")
    print(f"  typed parse:              {parse_typed_s / count * 1e6:6.2f} µs/event")
    for kind in ("events", "mixed", "storm"):
        ruleset = rules(kind)
        evaluator = AlertEvaluator(ruleset, now=START)
        insight: FleetInsight | None = None
        events: list[object] = typed if evaluator.needs_insight else lean  # type: ignore[assignment]

        def feed(evaluator: AlertEvaluator = evaluator, events: list[object] = events) -> None:
            add = evaluator.add
            for event in events:
                add(event, "bench")

        started = time.process_time()
        feed()  # every device new: scopes matched, rules found
        cold_s = time.process_time() - started
        add_s = _cpu(feed)  # the same events again: a recorder's steady state
        insight_s = 0.0
        if evaluator.needs_insight:
            def fold() -> None:
                nonlocal insight
                insight = FleetInsight()
                insight.add_many(typed, "bench")  # type: ignore[arg-type]
            insight_s = _cpu(fold)
        ticks = []
        raised = 0
        for k in range(5):
            started = time.process_time()
            raised += len(evaluator.evaluate(insight, end + k, streams))
            ticks.append(time.process_time() - started)
        per_add = add_s / len(events) * 1e6
        print(f"  {kind:6} rules: AlertEvaluator.add {per_add:5.2f} µs/event "
              f"(first pass, every device new: {cold_s / len(events) * 1e6:.2f})"
              + (f", FleetInsight.add {insight_s / len(typed) * 1e6:5.2f} µs/event" if insight_s else "")
              + f"; a tick: first {ticks[0] * 1e3:.1f} ms ({raised:,} raises), "
              f"then median {statistics.median(ticks[1:]) * 1e3:.1f} ms")


# -- part 2: the recorder, in processes ------------------------------------------


def _usage() -> dict[str, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return {"cpu": own.ru_utime + own.ru_stime, "peak_mb": own.ru_maxrss / 1024}


def child_record(url: str, events: int, database: str, rules_file: str) -> None:
    from ayla_monitor.alerts.rules import load_rules
    from ayla_monitor.core.gc_tuning import tune_garbage_collector
    from ayla_monitor.dss.endpoints import ReplayWindow
    from ayla_monitor.dss.subscription import StreamDefinition
    from ayla_monitor.headless.record import record

    definition = StreamDefinition.create(KEY, name="bench", url=url, replay=ReplayWindow(1, events))
    ruleset = load_rules(rules_file) if rules_file != "-" else None
    tune_garbage_collector()
    started = time.perf_counter()
    with open(os.devnull, "w") as quiet:
        result = asyncio.run(record([definition], database, out=quiet, handle_signals=False, alerts=ruleset,
                                    status_interval=None))
    seconds = time.perf_counter() - started
    print(json.dumps({"events": sum(s.events for s in result.statuses), "seconds": seconds,
                      "alerts": result.alerts, **_usage()}))


def ingest(events: int, devices: int) -> None:
    print(f"\nrecorder ingest: {events:,} events of {devices:,} devices into SQLite, {os.cpu_count()} CPUs")
    sim = subprocess.Popen([sys.executable, __file__, "_simulator", str(events), str(devices)],
                           stdout=subprocess.PIPE, text=True)
    rows = []
    try:
        assert sim.stdout is not None
        url = sim.stdout.readline().strip()
        with tempfile.TemporaryDirectory() as tmp:
            files = {"none": "-"}
            for kind in ("events", "mixed", "storm"):
                path = Path(tmp) / f"{kind}.toml"
                path.write_text(format_rules(rules(kind)))
                assert not parse_rules(path.read_text()).problems
                files[kind] = str(path)
            for kind in ("none", "events", "mixed", "none", "events", "mixed", "storm"):
                path_text = files[kind]
                db = f"sqlite:///{Path(tmp) / f'{kind}-{len(rows)}.sqlite'}"
                out = subprocess.run([sys.executable, __file__, "_record", url, str(events), db, path_text],
                                     check=True, capture_output=True, text=True).stdout
                rows.append((kind, json.loads(out.strip().splitlines()[-1])))
    finally:
        sim.terminate()
        sim.wait()
    base = [r for k, r in rows if k == "none"]
    base_rate = statistics.median(r["events"] / r["seconds"] for r in base)
    base_cpu = statistics.median(r["cpu"] / r["events"] for r in base)
    print(f"{'rules':8} {'events':>8} {'seconds':>7} {'events/s':>9} {'vs none':>7} {'CPU µs/event':>12}  alerts")
    for kind, r in rows:
        rate = r["events"] / r["seconds"]
        per = r["cpu"] / r["events"]
        print(f"{kind:8} {int(r['events']):>8,} {r['seconds']:>7.2f} {rate:>9,.0f} {rate / base_rate:>7.2f} "
              f"{per * 1e6:>12.1f}  {r['alerts'] or '-'}")
    for kind in ("events", "mixed", "storm"):
        runs = [r for k, r in rows if k == kind]
        cpu = statistics.median(r["cpu"] / r["events"] for r in runs)
        rate = statistics.median(r["events"] / r["seconds"] for r in runs)
        print(f"{kind}: the recorder's loop CPU per event, without / with rules (median of {len(runs)}): "
              f"{base_cpu / cpu:.2f} (what bounds its ingest rate; target 0.80); "
              f"wall-clock rate {rate / base_rate:.2f} of without")


def latency(episodes: int) -> None:
    """From the event that makes a condition true (plus its hold) to the
    command: the simulator's flapping device, rule "offline for 2 s", the
    command writes its own clock; the offline event's receipt is read from
    the database."""
    from ayla_monitor.dss.subscription import StreamDefinition
    from ayla_monitor.headless.record import record
    from ayla_monitor.simulator.server import Simulator, SimulatorConfig
    from ayla_monitor.store.database import Store

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        times = folder / "times.txt"
        ruleset = parse_rules('[[rule]]\nname = "off"\nwhen = "offline"\nfor = "2s"\nrepeat = 0\n')
        db = f"sqlite:///{folder / 'latency.sqlite'}"

        async def main() -> str:
            from ayla_monitor.core.alert_command import AlertCommand

            config = SimulatorConfig(keys={KEY: None}, rate=20, devices=20, scenarios=True)
            async with Simulator(config) as sim:
                flapping = sim.fleet.roles["flapping"].dsn
                stop = asyncio.Event()
                command = AlertCommand(f"python3 -c 'import sys, time, json; a = json.load(sys.stdin); "
                                       f"print(a[\"kind\"], a[\"subject\"], time.time())' >> {times}")

                async def watch() -> None:
                    while not times.exists() or times.read_text().count(f"raised {flapping}") < episodes:
                        await asyncio.sleep(0.2)
                    stop.set()

                with open(os.devnull, "w") as quiet:
                    await asyncio.gather(watch(), record(
                        [StreamDefinition.create(KEY, name="lat", url=sim.url)], db, out=quiet, stop=stop,
                        handle_signals=False, alerts=RuleSet(ruleset.rules), on_alert=command, status_interval=None))
            return flapping

        flapping = asyncio.run(main())
        ran = [float(line.split()[2]) for line in times.read_text().splitlines() if line.startswith(f"raised {flapping}")]
        with Store.open(db) as store:
            from ayla_monitor.dss.filter import EventFilter

            offline = [e.received_at or 0.0 for e in store.iter_events(EventFilter(event_types=("connectivity",)))
                       if e.dsn == flapping and e.value == "Offline"]
        delays = []
        for at in ran:
            due = max(t for t in offline if t + 2.0 <= at) + 2.0
            delays.append(at - due)
        print(f"\nevent + hold -> command (rule offline for 2 s, {len(delays)} raises of the flapping device): "
              f"median {statistics.median(delays) * 1000:.0f} ms, max {max(delays) * 1000:.0f} ms "
              "(the command's own start included)")


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "_simulator":
        from ingest import child_simulator  # benchmarks/ingest.py, beside this file

        child_simulator(int(sys.argv[2]), int(sys.argv[3]), scenarios=True, key=KEY)
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "_record":
        child_record(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--latency", type=int, default=5, metavar="N",
                        help="raises of the flapping device to time (0: skip)")
    args = parser.parse_args()
    micro(args.events, args.devices)
    if not args.skip_ingest:
        ingest(args.events, args.devices)
    if args.latency:
        latency(args.latency)
    return 0


if __name__ == "__main__":
    sys.exit(main())
