"""Take docs/screenshots/device.png and device-combined.png from demo data.

    DISPLAY=:97 QT_QPA_PLATFORM=xcb .venv/bin/python docs/device_screenshots.py [--out DIR] [--dark]

Runs the simulator with an hour of back-dated events (``--prefill``; ``--hours``
and ``--range "Last week"`` for longer),
records them into a temporary SQLite file, opens the device view of the
busiest thermostat and saves the window: one chart per
property, then humidity and temperature on one chart. ``--dark`` takes them
with a dark palette (``device-dark.png``, ``device-combined-dark.png``) to
check the colours.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BIN = Path(sys.executable).with_name("ayla-monitor")


def record_demo(db: Path, events: int, rate: float) -> None:
    """``events`` back-dated demo events (``rate`` a second) into ``db``."""
    sim = subprocess.Popen(
        [str(BIN), "simulate", "--port", "0", "--prefill", str(events), "--rate", str(rate),
         "--devices", "20", "--seed", "7"],
        stderr=subprocess.PIPE, text=True,
    )
    try:
        assert sim.stderr is not None
        url = key = None
        while url is None or key is None:
            line = sim.stderr.readline()
            if not line:
                raise SystemExit("the simulator stopped")
            found = re.search(r"record --url (\S+) --stream-key (\S+)", line)
            if found:
                url, key = found.groups()
        subprocess.run([str(BIN), "record", "--url", url, "--stream-key", key, "--seq-start", "1",
                        "--count", str(events), "--db", f"sqlite:///{db}"], check=True,
                       stderr=subprocess.DEVNULL)
    finally:
        sim.terminate()
        sim.wait(10)


def dark_palette() -> object:
    from PySide6.QtGui import QColor, QPalette

    pal = QPalette()
    role = QPalette.ColorRole
    for r, c in ((role.Window, "#2b2b2b"), (role.WindowText, "#e6e6e6"), (role.Base, "#1e1e1e"),
                 (role.AlternateBase, "#262626"), (role.Text, "#e6e6e6"), (role.Button, "#353535"),
                 (role.ButtonText, "#e6e6e6"), (role.Highlight, "#2a82da"), (role.Link, "#6cb4ff")):
        pal.setColor(r, QColor(c))
    return pal


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--dark", action="store_true")
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--hours", type=float, default=1.0, help="the events span this many hours back")
    parser.add_argument("--range", default="Last hour", help="the device view's range preset")
    args = parser.parse_args()

    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from ayla_monitor.store.database import Store
    from ayla_monitor.ui.device_view import DeviceView

    tmp = Path(tempfile.mkdtemp(prefix="ayla-shots-"))
    db = tmp / "events.sqlite"
    record_demo(db, args.events, args.events / args.hours / 3600)
    app = QApplication.instance() or QApplication(sys.argv)
    app.setStyle("Fusion")
    if args.dark:
        app.setPalette(dark_palette())  # type: ignore[arg-type]
    suffix = "-dark" if args.dark else ""
    with Store.open(f"sqlite:///{db}") as store:
        # The busiest thermostat (humidity, power, setpoint, temperature).
        best, model = store._call(lambda d: d.execute_sql(
            "select dsn, max(oem_model) from events where property_name = 'humidity' "
            "group by dsn order by count(*) desc, dsn limit 1").fetchone())
        view = DeviceView(best, store, model=model)
        view.range_box.blockSignals(True)
        view.range_box.setCurrentText(args.range)
        view.range_box.blockSignals(False)
        view.resize(1400, 900)
        view.show()
        asyncio.run(view.load())
        for _ in range(20):
            app.processEvents()
            time.sleep(0.02)
        view.grab().save(str(args.out / f"device{suffix}.png"))
        rows = {view.property_tree.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole): view.property_tree.topLevelItem(i)
                for i in range(view.property_tree.topLevelItemCount())}
        keep = {"humidity", "temperature"}
        for name, item in rows.items():
            if item.flags() & Qt.ItemFlag.ItemIsUserCheckable and name not in keep:
                view._unchecked.add(name)
        view.combined_box.blockSignals(True)
        view.combined_box.setChecked(True)
        view.combined_box.blockSignals(False)
        asyncio.run(view.load())
        for _ in range(20):
            app.processEvents()
            time.sleep(0.02)
        view.grab().save(str(args.out / f"device-combined{suffix}.png"))
        print(f"{best}: wrote {args.out}/device{suffix}.png and device-combined{suffix}.png")
        view.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
