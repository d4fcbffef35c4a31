"""The live insight's cost per event, against what the client already spends.

    .venv/bin/python benchmarks/insight.py [EVENTS] [--devices N]

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
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
import tracemalloc

from ayla_monitor.dss import wire
from ayla_monitor.dss.events import DssEvent
from ayla_monitor.dss.frames import parse_frame, parse_frame_lean
from ayla_monitor.fleet.insight import FleetInsight
from ayla_monitor.simulator.fleet import Fleet
from ayla_monitor.store.rows import build_rows

START = 1_767_225_600.0


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    count = int(args[0]) if args else 300_000
    devices = int(sys.argv[sys.argv.index("--devices") + 1]) if "--devices" in sys.argv else 2_000
    fleet = Fleet(devices, seed=1, scenarios=True)
    texts = [
        wire.sequenced_frame(wire.unsequenced_text(fleet.next_event(START + i / 50)), i + 1) for i in range(count)
    ]
    received = [START + i / 50 + 0.3 for i in range(count)]

    def parse() -> list[DssEvent]:
        out = []
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


if __name__ == "__main__":
    main()
