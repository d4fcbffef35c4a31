"""The main window under a burst: how fast it ingests, how late its loop runs, how much memory.

The simulator runs in a separate process (this file started with ``--serve``)
with ``N`` events prefilled in its replay buffer; the window (offscreen unless
``QT_QPA_PLATFORM`` says otherwise) connects with ``seq_start=1`` and receives
them as fast as the socket allows, storing them in a fresh SQLite file.

Printed: events/s stored, the event-loop lag (p50, p99, max) from a 10 ms
timer that measures its own lateness, the garbage collections (count, time,
longest pause per generation) and peak and final memory (RSS) of the window,
and the peak of its child processes other than the simulator (the database
writer process and multiprocessing's resource tracker). Then what each part
costs a turn of the loop, in the GUI thread's CPU time (``thread_time``: on
the shared machine wall time measures the neighbours): each view's refresh
(median, p99 and longest call), the garbage collections, and the thread's
CPU between two ticks of the lag timer (a turn, paint included). The window's
own CPU cost per event, without sockets or a database, is measured by
``benchmarks/window_refresh.py``.

    .venv/bin/python benchmarks/gui_load.py --events 500000 --log-window 100000

With ``--live-rate R`` the simulator generates the events live at R a
second instead (issue 12's fleet: ``--devices 10000 --live-rate 5000
--table``, the window showing the fleet table, ``--table``).

With ``--big-every 9 --big-mb 1`` every 9th event is a datapoint whose value
is 1 MB (issue 10: the window reached 776 MB after 3,500 such events). Those
are generated live at ``--rate`` events/s (a replay buffer of 1 MB frames
would not fit in memory), and every big event is 1 MB in the database too:
keep ``--events`` modest.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def serve(events: int, devices: int, big_every: int | None = None, big_mb: float = 1.0,
          rate: float = 2000.0, live: bool = False) -> None:
    """The child: a simulator with ``events`` prefilled (or, with big values,
    generated live at ``rate``), printing its URL."""
    from ayla_monitor.simulator.server import DEMO_KEY, Simulator, SimulatorConfig

    async def main() -> None:
        if big_every:
            sim = Simulator(SimulatorConfig(devices=devices, rate=rate, keys={DEMO_KEY: None},
                                            replay_size=max(1, min(events, 2 * big_every)), heartbeat=30))
            sim.fleet.big_every = big_every
            sim.fleet.hostile_value_bytes = int(big_mb * 1_000_000)
        elif live:
            sim = Simulator(SimulatorConfig(devices=devices, rate=rate, keys={DEMO_KEY: None},
                                            replay_size=1000, heartbeat=30))
        else:
            sim = Simulator(SimulatorConfig(devices=devices, rate=0, keys={DEMO_KEY: None},
                                            replay_size=max(1, events), heartbeat=30))
            sim.prefill(events)
        await sim.start("127.0.0.1", 0)
        print(sim.url, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the parent goes
        await sim.stop()

    asyncio.run(main())


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


class Turns:
    """The GUI thread's CPU time of each call of the methods wrapped (the
    wrappers are put on the classes before the window is made, so that the
    timers and signals it connects call them)."""

    def __init__(self) -> None:
        self.calls: dict[str, list[float]] = {}

    def wrap(self, name: str, cls: type, attr: str) -> None:
        func = getattr(cls, attr)
        calls = self.calls.setdefault(name, [])
        clock = time.thread_time

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = clock()
            try:
                return func(*args, **kwargs)
            finally:
                calls.append(clock() - t0)

        timed.__name__ = func.__name__
        setattr(cls, attr, timed)

    def report(self) -> list[str]:
        lines = []
        for name, calls in self.calls.items():
            if calls:
                lines.append(f"  {name:<34} {len(calls):5,} x  median {percentile(calls, 50) * 1e3:6.2f}  "
                             f"p99 {percentile(calls, 99) * 1e3:6.2f}  max {max(calls) * 1e3:6.2f} ms  "
                             f"(in all {sum(calls):6.2f} s)")
        return lines


def measure(args: argparse.Namespace) -> int:
    import psutil
    import qasync
    from PySide6.QtCore import QElapsedTimer, QSettings, QTimer

    from ayla_monitor.core.gc_tuning import tune_garbage_collector
    from ayla_monitor.dss.endpoints import ReplayWindow
    from ayla_monitor.dss.subscription import StreamDefinition
    from ayla_monitor.keystore import Keystore
    from ayla_monitor.simulator.server import DEMO_KEY
    from ayla_monitor.ui.app import Session, prepare_application, run_app
    from ayla_monitor.ui.event_log import EventLogView
    from ayla_monitor.ui.fleet_table import FleetTableView, RowCollector
    from ayla_monitor.ui.main_window import MainWindow
    from ayla_monitor.ui.problems import ProblemsPanel
    from ayla_monitor.ui.settings import AppSettings
    from ayla_monitor.ui.tiles import TilesView

    turns = Turns()
    turns.wrap("batch in (MainWindow.add_frames)", MainWindow, "add_frames")
    turns.wrap("refresh (MainWindow._flush)", MainWindow, "_flush")
    turns.wrap("  log rows (EventLogView.add_rows)", EventLogView, "add_rows")
    turns.wrap("  tiles (TilesView.announce)", TilesView, "announce")
    turns.wrap("fleet rows (RowCollector._step)", RowCollector, "_step")
    turns.wrap("fleet table (FleetTableView.refresh)", FleetTableView, "refresh")
    turns.wrap("problems (ProblemsPanel.refresh)", ProblemsPanel, "refresh")

    started = time.perf_counter()
    big = ["--big-every", str(args.big_every), "--big-mb", str(args.big_mb), "--rate", str(args.rate)] \
        if args.big_every else ["--live-rate", str(args.live_rate)] if args.live_rate else []
    live = bool(args.big_every or args.live_rate)
    child = subprocess.Popen([sys.executable, __file__, "--serve", "--events", str(args.events),
                              "--devices", str(args.devices), *big],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    url = child.stdout.readline().strip()
    print(f"simulator ready with {args.events:,} events in {time.perf_counter() - started:.1f} s at {url}")

    tmp = Path(tempfile.mkdtemp(prefix="gui-load-"))
    app = prepare_application()
    tune_garbage_collector()  # as run_gui does
    from ayla_monitor.ui.collector import install as collect_on_gui_thread

    collect_on_gui_thread(app)
    settings = AppSettings.load(QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat))
    settings.log_window = args.log_window
    keystore = Keystore(fallback_path=tmp / "keys.json", use_keyring=False)
    process = psutil.Process()
    lags: list[float] = []
    tick_cpu: list[float] = []
    polling = [0.0]  # this benchmark's own CPU reading the processes' memory (left out of the window's)
    def rss() -> tuple[int, int]:
        """The window's RSS, and its database writer's (every child but the simulator)."""
        helpers = 0
        for kid in process.children(recursive=True):
            if kid.pid != child.pid:
                try:
                    helpers += kid.memory_info().rss
                except psutil.Error:  # it just ended
                    pass
        return process.memory_info().rss, helpers

    peak = [process.memory_info().rss]
    peak_writer = [0]
    result: dict[str, float] = {}
    gc_pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
    gc_cpu: dict[int, list[float]] = {0: [], 1: [], 2: []}
    gc_started = [0.0, 0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            gc_started[:] = time.perf_counter(), time.thread_time()
        else:
            gc_pauses[info["generation"]].append(time.perf_counter() - gc_started[0])
            gc_cpu[info["generation"]].append(time.thread_time() - gc_started[1])

    def ready(session: Session) -> None:
        window = session.window
        clock = QElapsedTimer()
        interval = 10
        tick = QTimer(window)
        tick.setTimerType(tick.timerType().PreciseTimer)
        clock.start()
        last = [clock.elapsed(), time.thread_time() - polling[0]]

        def on_tick() -> None:
            now, cpu = clock.elapsed(), time.thread_time() - polling[0]
            lags.append(max(0, now - last[0] - interval))
            tick_cpu.append(cpu - last[1])
            last[:] = now, cpu

        tick.timeout.connect(on_tick)
        tick.start(interval)
        if args.table:
            window.set_devices_view("table")

        async def run() -> None:
            replay = ReplayWindow() if live else ReplayWindow(seq_start=1)
            definition = StreamDefinition(name="load", base_url=url, key=DEMO_KEY, replay=replay)
            t0 = time.perf_counter()
            cpu0 = time.thread_time()
            await session.add_definition(definition)
            stored = 0
            while stored < args.events and time.perf_counter() - t0 < args.timeout:
                await asyncio.sleep(0.2)
                health = session.engine.health if session.engine else None
                stored = health.stored if health else 0
                polled = time.thread_time()
                own, writer = rss()
                polling[0] += time.thread_time() - polled
                peak[0] = max(peak[0], own)
                peak_writer[0] = max(peak_writer[0], writer)
                if args.verbose:
                    print(f"  {time.perf_counter() - t0:5.1f} s: stored {stored:,}, log rows "
                          f"{window.log_view.model.rowCount():,}, window {own / 2**20:,.0f} MB", flush=True)
            result["seconds"] = time.perf_counter() - t0
            result["gui_cpu"] = time.thread_time() - cpu0 - polling[0]
            result["stored"] = stored
            result["received"] = window._received
            if args.big_every:
                await select_big_rows(window)
            result["log_rows"] = window.log_view.model.rowCount()
            result["tiles"] = window.tiles.model.rowCount()
            tick.stop()
            window.close()

        async def select_big_rows(window: Any) -> None:
            """Select the newest big rows one by one: each must come back at once."""
            view = window.log_view
            model = view.model
            big = [r for r in range(model.rowCount() - 1, -1, -1) if model.row_at(r).truncated][:20]
            times = []
            for source_row in big:
                t = time.perf_counter()
                view.select_source_row(source_row)
                view.details.viewport().repaint()  # lay out and paint now, as the next frame would
                times.append(time.perf_counter() - t)
            result["selects"] = len(times)
            result["select_max_ms"] = max(times, default=0) * 1000

        task = asyncio.ensure_future(run())
        window.destroyed.connect(task.cancel)

    gc.callbacks.append(on_gc)
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    code = qasync.run(run_app(database=str(tmp / "load.sqlite"), demo=False, exit_after=args.timeout + 30,
                              settings=settings, keystore=keystore, on_ready=ready))
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    gc.callbacks.remove(on_gc)
    final = process.memory_info().rss
    child.stdin.close()  # type: ignore[union-attr]
    child.wait(10)
    shutil.rmtree(tmp, ignore_errors=True)  # big values make a big database
    seconds = result.get("seconds", float("nan"))
    stored = result.get("stored", 0)
    print(f"exit code {code}; stored {stored:,.0f} of {args.events:,} events in {seconds:.1f} s "
          f"= {stored / seconds:,.0f} events/s")
    print(f"log rows {result.get('log_rows', 0):,.0f} (window {args.log_window:,}); tiles {result.get('tiles', 0):,.0f}")
    print(f"loop lag ms: p50 {percentile(lags, 50):.1f}  p99 {percentile(lags, 99):.1f}  max {max(lags, default=0):.1f}"
          f"  ({len(lags):,} ticks)")
    print("garbage collections: " + "; ".join(
        f"gen{g} {len(p)} x, {sum(p) * 1e3:,.0f} ms, longest {max(p, default=0) * 1e3:.1f} ms"
        for g, p in gc_pauses.items()))
    received = result.get("received", 0)
    print(f"the GUI thread's CPU: {result.get('gui_cpu', 0):.1f} s, {result.get('gui_cpu', 0) / max(received, 1) * 1e6:.0f} µs "
          f"an event received ({received:,.0f}; {polling[0]:.1f} s reading memory left out); a tick (10 ms) took p50 {percentile(tick_cpu, 50) * 1e3:.1f}  "
          f"p99 {percentile(tick_cpu, 99) * 1e3:.1f}  max {max(tick_cpu, default=0) * 1e3:.1f} ms of it")
    print("garbage collections, CPU: " + "; ".join(
        f"gen{g} {sum(p) * 1e3:,.0f} ms, longest {max(p, default=0) * 1e3:.1f} ms" for g, p in gc_cpu.items()))
    print("a call's CPU on the GUI thread:")
    for line in turns.report():
        print(line)
    if args.big_every:
        print(f"big values: every {args.big_every}th event {args.big_mb:g} MB; selecting {result.get('selects', 0):.0f} "
              f"big rows: longest {result.get('select_max_ms', 0):.1f} ms")
    print(f"memory: peak {peak[0] / 2**20:,.0f} MB, at the end {final / 2**20:,.0f} MB; "
          f"the database writer process: peak {peak_writer[0] / 2**20:,.0f} MB")
    return code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--log-window", type=int, default=100_000)
    parser.add_argument("--timeout", type=float, default=180.0)
    parser.add_argument("--big-every", type=int, default=None, metavar="N",
                        help="every N-th event carries a big value (generated live)")
    parser.add_argument("--big-mb", type=float, default=1.0, help="the big values' size in MB")
    parser.add_argument("--rate", type=float, default=2000.0, help="events/s generated live with --big-every")
    parser.add_argument("--live-rate", type=float, default=None, metavar="R",
                        help="the simulator generates the events live at R events/s")
    parser.add_argument("--table", action="store_true", help="the window shows the fleet table")
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the window's thread")
    parser.add_argument("--verbose", action="store_true", help="print progress while it runs")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.events, args.devices, args.big_every, args.big_mb, args.live_rate or args.rate,
              live=bool(args.live_rate))
        return 0
    return measure(args)


if __name__ == "__main__":
    sys.exit(main())
