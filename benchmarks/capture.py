"""Capture benchmark: what ``record --capture`` costs the recorder
(benchmarks/replay.py measures the replay).

    .venv/bin/python benchmarks/capture.py [--events 200000] [--rounds 2]

The same run as benchmarks/ingest.py's SQLite row: a simulator (its own
process) holds N events; the recorder (its own process, into a fresh SQLite
file) takes them with ``seq_start=1&seq_end=N``, without a capture, with a
plain capture, a gzip capture and a gzip capture redacted with
``dsn,uuid,location``, interleaved for ``--rounds`` rounds (the machine's
speed drifts). Prints events/s, the cost against the run without, and the
recorder process's CPU seconds (its database writer process apart).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KEY = "be0c4" * 6 + "be"  # a local simulator key, not a secret
MODES = {"none": None, "plain": "c.jsonl", "gzip": "c.jsonl.gz", "gzip+redact": "r.jsonl.gz"}


def child_simulator(events: int) -> None:
    from ayla_monitor.simulator.server import Simulator, SimulatorConfig

    async def main() -> None:
        config = SimulatorConfig(devices=200, rate=0, keys={KEY: None}, replay_size=events, heartbeat=30)
        sim = Simulator(config)
        sim.prefill(events)
        async with sim:
            print(sim.url, flush=True)
            await asyncio.Future()

    asyncio.run(main())


def child_record(url: str, events: int, database: str, capture: str) -> None:
    import resource

    from ayla_monitor.capture.format import StreamInfo
    from ayla_monitor.capture.redact import parse_redaction
    from ayla_monitor.capture.writer import CaptureWriter
    from ayla_monitor.core.gc_tuning import tune_garbage_collector
    from ayla_monitor.dss.endpoints import ReplayWindow
    from ayla_monitor.dss.subscription import StreamDefinition
    from ayla_monitor.headless.record import record

    definition = StreamDefinition.create(KEY, name="bench", url=url, replay=ReplayWindow(1, events))
    writer = None
    if capture != "-":
        redaction = parse_redaction("dsn,uuid,location") if Path(capture).name.startswith("r.") else None
        info = StreamInfo("bench", definition.masked_key, None, definition.display_url)
        writer = CaptureWriter(capture, [info], redaction=redaction, secrets=[KEY])
    tune_garbage_collector()
    started = time.perf_counter()
    with open(os.devnull, "w") as quiet:
        result = asyncio.run(
            record(
                [definition],
                database,
                out=quiet,
                handle_signals=False,
                frame_observer=writer.observe if writer is not None else None,
            )
        )
    frames = writer.close().frames if writer is not None else 0
    seconds = time.perf_counter() - started
    own = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "events": sum(s.events for s in result.statuses),
                "seconds": seconds,
                "frames": frames,
                "cpu": own.ru_utime + own.ru_stime,
                "bytes": Path(capture).stat().st_size if writer is not None else 0,
            }
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    n = args.events
    print(f"capture benchmark: {n:,} events, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, "
          f"Python {sys.version.split()[0]}")
    sim = subprocess.Popen([sys.executable, __file__, "_simulator", str(n)], stdout=subprocess.PIPE, text=True)
    results: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
    with tempfile.TemporaryDirectory() as tmp:
        try:
            assert sim.stdout is not None
            url = sim.stdout.readline().strip()
            for _round in range(args.rounds):
                for mode, name in MODES.items():
                    Path(tmp, "bench.sqlite").unlink(missing_ok=True)
                    db = f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
                    capture = str(Path(tmp) / name) if name else "-"
                    out = subprocess.run(
                        [sys.executable, __file__, "_record", url, str(n), db, capture],
                        check=True, capture_output=True, text=True,
                    ).stdout
                    results[mode].append(json.loads(out.strip().splitlines()[-1]))
        finally:
            sim.terminate()
            sim.wait()
    base = statistics.median(r["events"] / r["seconds"] for r in results["none"])
    base_cpu = statistics.median(r["cpu"] for r in results["none"])
    print()
    print(f"{'recorder -> SQLite':20} {'events/s (each round)':>30} {'median':>8} {'cost':>6} "
          f"{'CPU s':>6} {'+CPU':>6} {'file MB':>8}")
    for mode, rows in results.items():
        rates = [r["events"] / r["seconds"] for r in rows]
        median = statistics.median(rates)
        cpu = statistics.median(r["cpu"] for r in rows)
        each = " / ".join(f"{rate:,.0f}" for rate in rates)
        print(f"{'capture ' + mode:20} {each:>30} {median:>8,.0f} {1 - median / base:>6.1%} "
              f"{cpu:>6.2f} {cpu / base_cpu - 1:>6.1%} {rows[-1]['bytes'] / 2**20:>8.1f}")
    print("(cost: the median rate's drop against no capture; CPU s: the recorder process, its writer apart)")
    incomplete = [mode for mode, rows in results.items() if any(int(r["events"]) != n for r in rows)]
    if incomplete:
        print(f"INCOMPLETE: {', '.join(incomplete)}")
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1].startswith("_"):
        role, rest = sys.argv[1], sys.argv[2:]
        if role == "_simulator":
            child_simulator(int(rest[0]))
        elif role == "_record":
            child_record(rest[0], int(rest[1]), rest[2], rest[3])
        sys.exit(0)
    sys.exit(main())
