"""The live insight's cost per event, against what the client already spends.

    .venv/bin/python benchmarks/insight.py [EVENTS] [--devices N] [--ingest N]

Makes EVENTS frames of the simulator's scenario fleet (default 300,000 of
2,000 devices, 50 events/s of simulated time), then times in CPU seconds
(``process_time``: on a shared machine wall time measures the neighbours),
each as the median of 5 passes, with the inputs frozen out of the garbage
collector (a recorder does not hold 300,000 events; walking them is not
the insight's cost): parsing the frames (``parse_frame``: what the client
does for every frame before anything else), and
``FleetInsight.add`` over the parsed events (a fresh insight each pass).
Then the recorder's way, in batches of 1,000 frames as it receives them:
parse, build the rows, and (when its alert rules need the insight) fold
them in; the lean recorder's parse and rows against typed events with
``FleetInsight.add``: the difference is what the insight costs it. Prints
µs per event and the insight's share of parse + insight, and the insight's memory (tracemalloc, one extra pass). The issue's budget
is the recorder's ingest rate with insight on at least 90 % of without:
the recorder's loop process runs 15-17 µs of CPU per event
(benchmarks/alerts.py without rules), so the insight has ~1.7 µs.

``--ingest N`` then measures that budget on the real thing, as
benchmarks/alerts.py's part 2 does: a simulator process holds N events of
DEVICES devices (scenarios on); a recorder process takes them into a fresh
SQLite file, alternately without alert rules and with one rule on the
insight that never fires (``rate`` above a billion a minute: the recorder
keeps and feeds a fleet insight, and looks at it every second, and records
nothing), five pairs. Prints each run's events/s and the recorder's loop
CPU per event (its writer is a process of its own), and the median over
the pairs of with / without, for the rate (the issue's target: 0.9) and for
the loop's CPU (what the rate would be where the loop alone bounded it).
"""

from __future__ import annotations

import gc
import json
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from ayla_monitor.dss import wire
from ayla_monitor.dss.events import DssEvent
from ayla_monitor.dss.frames import parse_frame, parse_frame_lean
from ayla_monitor.fleet.insight import FleetInsight
from ayla_monitor.simulator.fleet import Fleet
from ayla_monitor.store.rows import build_rows

START = 1_767_225_600.0


def _option(name: str) -> int | None:
    return int(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else None


def ingest(events: int, devices: int) -> None:
    """The recorder's rate with the insight on against without (see the module doc)."""
    from ayla_monitor.alerts.rules import Condition, Rule, format_rules

    print(f"\nrecorder ingest: {events:,} events of {devices:,} devices into SQLite, alternately without "
          "rules and with one insight rule that never fires")
    here = Path(__file__).parent
    sim = subprocess.Popen([sys.executable, str(here / "alerts.py"), "_simulator", str(events), str(devices)],
                           stdout=subprocess.PIPE, text=True)
    pairs: list[tuple[float, float]] = []
    try:
        assert sim.stdout is not None
        url = sim.stdout.readline().strip()
        with tempfile.TemporaryDirectory() as tmp:
            rules = Path(tmp) / "insight.toml"
            rules.write_text(format_rules([Rule("never busy", Condition.RATE, above=1e9)]))
            for i in range(5):
                pair = {}
                for kind in ("without", "with"):
                    db = f"sqlite:///{Path(tmp) / f'{kind}-{i}.sqlite'}"
                    out = subprocess.run([sys.executable, str(here / "alerts.py"), "_record", url, str(events), db,
                                          str(rules) if kind == "with" else "-"],
                                         check=True, capture_output=True, text=True).stdout
                    run = json.loads(out.strip().splitlines()[-1])
                    assert run["events"] == events, run
                    assert (run["alerts"] or "0 alerts raised").startswith("0 alerts raised"), run
                    pair[kind] = run
                    print(f"  {kind:8} {run['events'] / run['seconds']:>9,.0f} events/s  "
                          f"loop CPU {run['cpu'] / run['events'] * 1e6:5.1f} µs/event")
                pairs.append((pair["without"]["seconds"] / pair["with"]["seconds"],
                              pair["without"]["cpu"] / pair["with"]["cpu"]))
    finally:
        sim.terminate()
        sim.wait()
    rate = statistics.median(p[0] for p in pairs)
    cpu = statistics.median(p[1] for p in pairs)
    print(f"with the insight / without (median of {len(pairs)} pairs): rate {rate:.2f} "
          f"(pairs {', '.join(f'{p[0]:.2f}' for p in pairs)}; target 0.90), loop CPU per event {cpu:.2f}")


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 300_000
    devices = _option("--devices") or 2_000
    fleet = Fleet(devices, seed=1, scenarios=True)
    texts = [
        wire.sequenced_frame(wire.unsequenced_text(fleet.next_event(START + i / 50)), i + 1) for i in range(count)
    ]
    received = [START + i / 50 + 0.3 for i in range(count)]

    def parse() -> list[DssEvent]:
        out: list[DssEvent] = []
        for text, at in zip(texts, received, strict=True):
            frame = parse_frame(text, at)
            if isinstance(frame, DssEvent):
                out.append(frame)
        return out

    events = parse()
    gc.freeze()

    def insight() -> FleetInsight:
        fleet_insight = FleetInsight()
        add = fleet_insight.add
        for event in events:
            add(event, "bench")
        return fleet_insight

    def recorder(typed: bool) -> None:
        fleet_insight = FleetInsight()
        for start in range(0, count, 1000):
            batch = zip(texts[start:start + 1000], received[start:start + 1000], strict=True)
            if typed:
                frames: list[object] = [parse_frame(text, at) for text, at in batch]
                for frame in frames:
                    if isinstance(frame, DssEvent):
                        fleet_insight.add(frame, "bench")
            else:
                frames = [parse_frame_lean(text, at) for text, at in batch]
            build_rows(1, 0, frames, [], [], [])

    def timed(work: object) -> float:
        runs = []
        for _ in range(5):
            started = time.process_time()
            work()  # type: ignore[operator]
            runs.append(time.process_time() - started)
        return statistics.median(runs)

    parse_s = timed(parse)
    insight_s = timed(insight)
    lean_s = timed(lambda: recorder(False))
    typed_s = timed(lambda: recorder(True))
    tracemalloc.start()
    fleet_insight = insight()
    memory, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    per_parse = parse_s / count * 1e6
    per_insight = insight_s / len(events) * 1e6
    print(f"{count:,} events of {devices:,} devices (scenarios on); median of 5 passes")
    print(f"parse_frame:      {per_parse:.2f} µs/event")
    print(f"FleetInsight.add: {per_insight:.2f} µs/event "
          f"({per_insight / (per_parse + per_insight):.0%} of parse + insight)")
    print(f"insight memory:   {memory / 1e6:.1f} MB for {len(fleet_insight):,} devices "
          f"({fleet_insight.pending:,} datapoints waiting for an ack)")
    per_lean, per_typed = lean_s / count * 1e6, typed_s / count * 1e6
    print(f"recorder, batches of 1,000 (parse + rows): lean {per_lean:.2f} µs/event, typed + FleetInsight.add "
          f"{per_typed:.2f}: the insight costs it {per_typed - per_lean:.2f}")
    ingest_events = _option("--ingest")
    if ingest_events:
        ingest(ingest_events, devices)


if __name__ == "__main__":
    main()
