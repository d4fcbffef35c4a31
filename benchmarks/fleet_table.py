"""The fleet table with 10,000 devices: refresh, sort, filter and memory.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/fleet_table.py [DEVICES] [--events N]

Feeds a FleetInsight with the simulator's scenario fleet (DEVICES devices,
default 10,000; N events, default 300,000), then times, each the median of
5 passes, on a real FleetTableView shown offscreen:

- summaries: ``FleetInsight.summaries(now)`` (every device's figures), and
  the longest turn of the event loop when the window's RowCollector makes
  them a slice of devices a turn and merges the tiles' devices a slice a turn;
- merge: adding the tiles' devices (:func:`merge_rows`);
- refresh: ``FleetTableModel.set_rows`` re-sorting by events/min (the
  layout change and the view's repaint of the visible rows included);
- refresh under the pointer: the same without re-sorting (values only);
- sort: a header click by each column (median and worst column);
- filter: one key typed in the filter box.

and the memory of the rows and the model (tracemalloc). Times are CPU time
(``process_time``): on a shared machine wall time measures the neighbours. Every refresh of
the live table is summaries + merge + refresh, every 2.5 s.
"""

from __future__ import annotations

import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from ayla_monitor.core.gc_tuning import tune_garbage_collector
from ayla_monitor.dss import wire
from ayla_monitor.dss.events import DssEvent
from ayla_monitor.dss.frames import parse_frame
from ayla_monitor.fleet.device import DeviceState
from ayla_monitor.fleet.insight import FleetInsight
from ayla_monitor.simulator.fleet import Fleet
from ayla_monitor.ui import fleet_table
from ayla_monitor.ui.fleet_table import Column, FleetTableView, RowCollector, merge_rows

START = 1_767_225_600.0


def median_ms(work: Callable[[], object], app: QApplication, passes: int = 5) -> float:
    times = []
    for _ in range(passes):
        t = time.process_time()
        work()
        app.processEvents()  # the view's layout and repaint
        times.append((time.process_time() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    args = sys.argv[1:]
    if "--events" in args:
        del args[args.index("--events"):args.index("--events") + 2]
    devices = int(args[0]) if args else 10_000
    count = int(sys.argv[sys.argv.index("--events") + 1]) if "--events" in sys.argv else 300_000
    tune_garbage_collector()  # as the window does
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    fleet = Fleet(devices, seed=1, scenarios=True)
    insight = FleetInsight()
    now = START
    for i in range(count):
        now = START + i / 50
        frame = parse_frame(wire.sequenced_frame(wire.unsequenced_text(fleet.next_event(now)), i + 1), now + 0.3)
        if isinstance(frame, DssEvent):
            insight.add(frame, "bench")
    heard = [d.dsn for d in insight.devices()]
    states = []
    for i, dsn in enumerate(heard + [f"STORED{i:06d}" for i in range(devices // 10)]):
        state = DeviceState(dsn)  # the tiles' devices: every one heard, and a tenth more from the database only
        state.online = i % 3 != 0
        states.append(state)
    now += 1

    summaries_ms = median_ms(lambda: insight.summaries(now), app)
    collector = RowCollector(lambda: insight, lambda: states, clock=lambda: now)
    collector.timer.stop()
    turns: list[float] = []

    def one_turn() -> None:
        t = time.process_time()
        collector._step()
        turns.append((time.process_time() - t) * 1000)

    collector._step_timer.timeout.disconnect()
    collector._step_timer.timeout.connect(one_turn)
    for _ in range(3):
        collector.collect(force=True)
        while collector.busy:
            app.processEvents()
    summaries = insight.summaries(now)
    merge_ms = median_ms(lambda: merge_rows(summaries, states), app)
    rows = merge_rows(summaries, states)

    view = FleetTableView(lambda: rows)
    view.resize(1400, 800)
    view.show()
    app.processEvents()
    model = view.model
    model.set_rows(rows)
    model.sort(Column.RATE, Qt.SortOrder.DescendingOrder)
    refresh_ms = median_ms(lambda: model.set_rows(rows), app)
    still_ms = median_ms(lambda: model.set_rows(rows, reorder=False), app)
    header = view.table.horizontalHeader()
    sorts = {}
    for column in Column:
        if column is Column.GROUP:
            continue
        sorts[column.name] = median_ms(
            lambda c=column: header.setSortIndicator(c, Qt.SortOrder.DescendingOrder), app, passes=3)
    filter_ms = median_ms(lambda: (view.filter_edit.setText("a"), view.filter_edit.clear()), app) / 2

    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    fresh = merge_rows(insight.summaries(now), states)
    model.set_rows(fresh)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(s.size_diff for s in after.compare_to(before, "filename"))

    print(f"{len(rows):,} rows ({len(heard):,} devices heard, {len(states) - len(heard):,} from the database only), "
          f"{count:,} events folded")
    print(f"summaries(now):           {summaries_ms:8.1f} ms (at once)")
    turns.sort()
    print(f"  a turn of the collector: {statistics.median(turns):7.1f} ms median, {turns[-2]:.1f} ms next to worst, "
          f"{turns[-1]:.1f} ms worst "
          f"({fleet_table.SLICE} devices a turn, then {fleet_table.MERGE_SLICE} of the tiles' devices merged a turn)")
    print(f"merge with the tiles:     {merge_ms:8.1f} ms")
    print(f"refresh, re-sorted:       {refresh_ms:8.1f} ms")
    print(f"refresh, pointer over it: {still_ms:8.1f} ms")
    print(f"a live refresh in all:    {summaries_ms + merge_ms + refresh_ms:8.1f} ms every 2.5 s")
    worst = max(sorts, key=lambda k: sorts[k])
    print(f"sort by a column:         {statistics.median(sorts.values()):8.1f} ms median, "
          f"{sorts[worst]:.1f} ms worst ({worst.lower()})")
    print(f"filter, one key:          {filter_ms:8.1f} ms")
    print(f"memory of a refresh's rows: {grown / 2**20:6.1f} MB ({grown / len(rows):.0f} bytes a row)")


if __name__ == "__main__":
    main()
