"""The window's own cost per event, without sockets or a database: CPU time
(``process_time``) per event for each part of the path from a batch to the
screen, and the longest single call of each (what the event loop's lag sees).

The main window (offscreen, 1400x900, log window full at 100,000 rows) is fed
fleet events from 200 devices the way the engine hands them over (batches of
512 frames through ``MainWindow.add_frames``); every ``--per-refresh`` events
the refresh runs (2,000 = 100 ms at 20k events/s) and Qt then processes its
pending events ("qt events": layout and paint). Less sensitive to a busy
machine than ``benchmarks/gui_load.py``; ``--profile FILE`` writes a cProfile.

    .venv/bin/python benchmarks/window_refresh.py --events 100000

With ``--big-every 9 --big-mb 1`` every 9th event holds a 1 MB value (issue
10): frames are then made as they are fed, in batches of at most 4 M
characters as the client hands them over, and the window's memory with the
log full is printed (current and peak RSS; no database, no sockets:
``benchmarks/gui_load.py`` measures those, with fewer events).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BATCH = 512  # frames per FramesReceived (ayla_monitor.dss.client.BATCH_FRAMES)


def make_frames(count: int, devices: int, big_every: int | None = None, big_mb: float = 1.0,
                first: int = 0, fleet: Any = None) -> list[Any]:
    from ayla_monitor.dss.frames import encode_frame, parse_frame
    from ayla_monitor.simulator.fleet import Fleet

    if fleet is None:
        fleet = Fleet(devices, seed=1, big_every=big_every, hostile_value_bytes=int(big_mb * 1_000_000))
    start = time.time() - (first + count) * 0.001
    frames = []
    for i in range(first, first + count):
        event = fleet.next_event(start + i * 0.001)
        event["seq"] = str(i + 1)
        frames.append(parse_frame(encode_frame(event), start + i * 0.001))
    return frames


def rss_mb() -> tuple[float, float]:
    """This process's resident memory now and at its peak, in MB."""
    import resource

    with open("/proc/self/statm") as statm:
        now = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    return now, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


class _Manual:
    """Stands in for the window's refresh throttle: remembers that a refresh is due."""

    def __init__(self) -> None:
        self.due = False

    def __call__(self) -> None:
        self.due = True

    def pending(self) -> bool:
        return self.due

    def cancel(self) -> None:
        self.due = False

    def flush(self) -> None:
        self.due = False


class Meter:
    """Accumulated process time of wrapped callables, and the longest call."""

    def __init__(self) -> None:
        self.total: dict[str, float] = {}
        self.longest: dict[str, float] = {}

    def wrap(self, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        self.total.setdefault(name, 0.0)
        self.longest.setdefault(name, 0.0)

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.process_time()
            try:
                return func(*args, **kwargs)
            finally:
                spent = time.process_time() - t0
                self.total[name] += spent
                self.longest[name] = max(self.longest[name], spent)

        return timed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000, help="events timed (after the log is full)")
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--log-window", type=int, default=100_000)
    parser.add_argument("--per-refresh", type=int, default=2_000)
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the timed part")
    parser.add_argument("--big-every", type=int, metavar="N", help="every Nth event holds a --big-mb value")
    parser.add_argument("--big-mb", type=float, default=1.0, metavar="MB")
    args = parser.parse_args()

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from ayla_monitor.core.gc_tuning import tune_garbage_collector
    from ayla_monitor.ui.app import prepare_application
    from ayla_monitor.ui.main_window import MainWindow
    from ayla_monitor.ui.settings import AppSettings
    from ayla_monitor.ui.throttle import Throttle


    app = prepare_application()
    settings = AppSettings.load(QSettings(str(Path(tempfile.mkdtemp()) / "s.ini"), QSettings.Format.IniFormat))
    settings.log_window = args.log_window
    window = MainWindow(settings)
    window.resize(1400, 900)
    window.set_stream_name(1, "bench")
    window.set_stream_count(1)
    window.show()
    app.processEvents()
    Throttle.enabled = True
    window.refresh.cancel()
    real_refresh = window.refresh
    window.refresh = _Manual()  # type: ignore[assignment]  # the benchmark decides when the refresh runs

    warm = args.log_window
    if args.big_every:
        return big_values(window, app, args, warm)
    t0 = time.perf_counter()
    frames = make_frames(warm + args.events, args.devices)
    print(f"{len(frames):,} frames made in {time.perf_counter() - t0:.1f} s")
    tune_garbage_collector()

    def feed(chunk: list[Any], meter: Meter | None) -> None:
        add = window.add_frames
        flush = window._flush
        if meter is not None:
            add = meter.wrap("add_frames", add)
            flush = meter.wrap("refresh", flush)
        since = 0
        for start in range(0, len(chunk), BATCH):
            batch = chunk[start:start + BATCH]
            add(1, batch)
            since += len(batch)
            if since >= args.per_refresh:
                since = 0
                flush()
                t = time.process_time()
                app.processEvents()
                if meter is not None:
                    spent = time.process_time() - t
                    meter.total["qt events"] = meter.total.get("qt events", 0.0) + spent
                    meter.longest["qt events"] = max(meter.longest.get("qt events", 0.0), spent)
        flush()
        app.processEvents()
        # what is still held for later refresh ticks (chunked refresh) reaches the models now
        while window.refresh.pending():
            window.refresh.cancel()
            flush()
            app.processEvents()

    feed(frames[:warm], None)
    meter = Meter()
    parts = {"  log rows in": (window.log_view, "add_rows"), "  tiles fold": (window.tiles, "fold"),
             "  tiles show": (window.tiles, "announce"), "  tiles apply": (window.tiles, "apply")}
    originals = {name: getattr(obj, attr) for name, (obj, attr) in parts.items() if hasattr(obj, attr)}
    for name, func in originals.items():
        obj, attr = parts[name]
        setattr(obj, attr, meter.wrap(name, func))
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    t0 = time.process_time()
    w0 = time.perf_counter()
    feed(frames[warm:], meter)
    cpu = time.process_time() - t0
    wall = time.perf_counter() - w0
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    for name, func in originals.items():
        obj, attr = parts[name]
        setattr(obj, attr, func)

    n = args.events
    print(f"{n:,} events, refresh every {args.per_refresh:,}, log {window.log_view.model.rowCount():,} rows, "
          f"{window.tiles.model.rowCount()} tiles")
    for name in ("add_frames", "refresh", *parts, "qt events"):
        if meter.total.get(name):
            print(f"  {name:<12} {meter.total[name] / n * 1e6:6.2f} µs/event   longest call "
                  f"{meter.longest[name] * 1e3:6.1f} ms")
    print(f"  {'all':<12} {cpu / n * 1e6:6.2f} µs/event   ({cpu:.2f} s CPU, {wall:.2f} s wall)")
    window.refresh = real_refresh  # type: ignore[assignment]
    window.close()
    QApplication.processEvents()
    return 0


def big_values(window: Any, app: Any, args: Any, warm: int) -> int:
    """Fill the log (and ``--events`` more) with every Nth value big; memory."""
    from ayla_monitor.core.gc_tuning import tune_garbage_collector
    from ayla_monitor.simulator.fleet import Fleet

    tune_garbage_collector()
    fleet = Fleet(args.devices, seed=1, big_every=args.big_every, hostile_value_bytes=int(args.big_mb * 1e6))
    chunk = max(1, min(BATCH, int(4 * args.big_every / max(args.big_mb, 0.001))))  # ~4 M characters
    total = warm + args.events
    longest = 0.0
    t0 = time.perf_counter()
    for first in range(0, total, chunk):
        frames = make_frames(min(chunk, total - first), args.devices, first=first, fleet=fleet)
        t = time.perf_counter()
        window.add_frames(1, frames)
        window._flush()
        app.processEvents()
        while window.refresh.pending():
            window.refresh.cancel()
            window._flush()
            app.processEvents()
        longest = max(longest, time.perf_counter() - t)
        del frames
    now, peak = rss_mb()
    rows = window.log_view.model.rowCount()
    print(f"{total:,} events, every {args.big_every}th {args.big_mb:g} MB, in {time.perf_counter() - t0:.0f} s; "
          f"log {rows:,} rows (window {args.log_window:,}), {window.tiles.model.rowCount()} tiles")
    print(f"  longest batch into the window: {longest * 1e3:.0f} ms")
    print(f"  memory: {now:.0f} MB now, peak {peak:.0f} MB (the window's process, no writer)")
    window.close()
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
