"""Issue 13's figure for the window: the time from the moment a condition is
met (the demo's flapping device's offline event, received, plus the rule's
10 s hold) to the desktop notification, measured in the whole window on the
demo (simulator on 127.0.0.1, engine, SQLite in a temporary folder,
offscreen). Prints each raise and the worst and the mean.

    .venv/bin/python benchmarks/window_alert_latency.py --raises 6
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

HOLD_S = 10.0
RULES = f'[[rule]]\nname = "offline for 10 s"\nwhen = "offline"\nfor = "{HOLD_S:g}s"\nrepeat = "1s"\n'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--raises", type=int, default=6, help="raises to measure")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="alert-latency-"))
    for name in ("CONFIG", "DATA", "STATE"):
        os.environ[f"XDG_{name}_HOME"] = str(folder / name.lower())
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    config = folder / "config" / "ayla-monitor"
    config.mkdir(parents=True)
    (config / "alerts.toml").write_text(RULES)

    import qasync
    from PySide6.QtCore import QSettings

    from ayla_monitor.dss.events import Connectivity
    from ayla_monitor.keystore import Keystore
    from ayla_monitor.ui.app import DemoOptions, prepare_application, run_app
    from ayla_monitor.ui.settings import AppSettings

    latencies: list[float] = []

    def ready(session: Any) -> None:
        window = session.window
        alerts = window.alerts
        offline_at: dict[str, float] = {}
        add, notify = alerts.add, alerts.tray.notify

        def watched_add(events: Any, stream: str | None = None) -> None:
            for event in events:
                if event.__class__ is Connectivity and event.online is False:
                    offline_at[event.dsn] = event.received_at
            add(events, stream)

        def timed_notify(title: str, text: str, *, quiet: bool = False) -> bool:
            if title.startswith("Alert"):
                dsn = text.split(":")[0]
                latencies.append(time.time() - (offline_at[dsn] + HOLD_S))
                print(f"raise {len(latencies)}: {latencies[-1] * 1000:.0f} ms", flush=True)
                if len(latencies) >= args.raises:
                    window.quit()
            return notify(title, text, quiet=quiet)

        alerts.add = watched_add
        alerts.tray.notify = timed_notify

    prepare_application()
    settings = AppSettings.load(QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat))
    keystore = Keystore(fallback_path=folder / "keys.json", use_keyring=False)
    qasync.run(run_app(database=None, demo=True, exit_after=60 * args.raises + 120, settings=settings,
                       keystore=keystore, demo_options=DemoOptions(devices=24, rate=30),
                       demo_database=str(folder / "demo.sqlite"), on_ready=ready))
    if latencies:
        print(f"worst {max(latencies) * 1000:.0f} ms, mean {sum(latencies) / len(latencies) * 1000:.0f} ms "
              f"over {len(latencies)} raises")


if __name__ == "__main__":
    main()
