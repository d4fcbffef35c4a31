"""Check a built bundle end to end and print its figures.

    python packaging/selfcheck.py [--bundle dist/ayla-monitor] [--mysql URL] [--screenshot PNG]

Checks, each against the bundled binary (never the source tree):
size under the target; ``--version``; a one-line refusal and exit 6 with no
display; the demo window (``--demo --exit-after 8``, offscreen) exits 0 with
events stored; ``simulate`` + ``record --count 50`` store events; ``export``
writes them; with a MySQL/MariaDB URL (``--mysql`` or AYLA_TEST_MYSQL_URL),
``record`` and ``export`` against a scratch database on that server; with
Xvfb installed, the window on a real X display: time to first window, the
icon the taskbar gets (_NET_WM_ICON), and a screenshot. Exit 0 when all pass.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import closing
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
SIZE_TARGET_MB = 150.0
FIRST_WINDOW_TARGET_S = 2.0
STARTUP_MARKER = "ayla-monitor: first window shown after"  # ayla_monitor.ui.crash.STARTUP_MARKER

__all__ = ["main"]


class Check:
    """Collects results; each line says pass/fail and what was seen."""

    def __init__(self) -> None:
        self.failed: list[str] = []
        self.figures: list[str] = []

    def result(self, name: str, ok: bool, detail: str = "") -> bool:
        print(f"[{'ok' if ok else 'FAIL'}] {name}{': ' + detail if detail else ''}", flush=True)
        if not ok:
            self.failed.append(name)
        return ok

    def warn(self, name: str, detail: str) -> None:
        """A target missed: reported, not a failure (the bundle still works)."""
        print(f"[WARN] {name}: {detail}", flush=True)
        self.figures.append(f"WARNING {name}: {detail}")

    def skip(self, name: str, why: str) -> None:
        print(f"[skip] {name}: {why}", flush=True)

    def figure(self, text: str) -> None:
        self.figures.append(text)


def bundle_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(extra)
    return env


def sqlite_count(path: Path) -> int:
    with closing(sqlite3.connect(path)) as db:  # a bare `with connect()` never closes it
        return int(db.execute("SELECT COUNT(*) FROM events").fetchone()[0])


def start_simulator(binary: Path, tmp: Path) -> tuple[subprocess.Popen[str], str, str]:
    """The bundle's simulator on a free port: (process, ws URL, key)."""
    log = tmp / "simulator.log"
    proc = subprocess.Popen([str(binary), "simulate", "--port", "0", "--rate", "200"],
                            stderr=open(log, "w"), stdout=subprocess.DEVNULL, text=True)  # noqa: SIM115
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = log.read_text()
        url = re.search(r"listening on (ws://\S+)", text)
        key = re.search(r"stream key ([0-9a-f]{32})", text)
        if url and key:
            return proc, url.group(1), key.group(1)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"the bundled simulator did not start: {log.read_text()[-400:]}")


def run(command: Sequence[str], env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(command), env=env, capture_output=True, text=True, timeout=timeout)


# -- the checks ------------------------------------------------------------------


def check_size(check: Check, folder: Path) -> None:
    size = bundle_size(folder) / 1e6
    check.figure(f"bundle size: {size:.1f} MB ({folder})")
    if size < SIZE_TARGET_MB:
        check.result("size", True, f"{size:.1f} MB (target < {SIZE_TARGET_MB:.0f} MB)")
    else:
        check.warn("size", f"{size:.1f} MB, over the {SIZE_TARGET_MB:.0f} MB target")


def check_version(check: Check, binary: Path) -> None:
    started = time.monotonic()
    out = run([str(binary), "--version"], env=clean_env())
    elapsed = time.monotonic() - started
    check.figure(f"--version: {elapsed:.2f} s")
    check.result("--version", out.returncode == 0 and out.stdout.startswith("ayla-monitor "), out.stdout.strip())


def check_verbose_version(check: Check, binary: Path) -> None:
    out = run([str(binary), "--version", "--verbose"], env=clean_env())
    fields = dict(line.split(": ", 1) for line in out.stdout.splitlines()[1:] if ": " in line)
    missing = [name for name in ("Qt", "PySide6-Essentials", "websockets", "peewee", "PyMySQL", "SQLite")
               if name not in fields or fields[name].startswith("not available")]
    check.result("--version --verbose", out.returncode == 0 and not missing,
                 f"Qt {fields.get('Qt', '?')}, PySide6 {fields.get('PySide6-Essentials', '?')}"
                 + (f"; missing: {', '.join(missing)}" if missing else ""))


def check_install_desktop(check: Check, binary: Path, tmp: Path) -> None:
    """The bundle's install-desktop: entry, icons and metainfo from its package data; Exec= is this binary."""
    share = tmp / "share"
    env = clean_env(XDG_DATA_HOME=str(share), HOME=str(tmp / "home"))
    out = run([str(binary), "install-desktop"], env=env)
    entry = share / "applications" / "ayla-monitor.desktop"
    icon = share / "icons" / "hicolor" / "256x256" / "apps" / "ayla-monitor.png"
    text = entry.read_text(encoding="utf-8") if entry.is_file() else ""
    exec_line = next((line for line in text.splitlines() if line.startswith("Exec=")), "")
    ok = out.returncode == 0 and icon.is_file() and str(binary.resolve()) in exec_line
    detail = f"exit {out.returncode}, {exec_line or 'no Exec='}"
    if ok and shutil.which("desktop-file-validate"):
        valid = run(["desktop-file-validate", str(entry)])
        ok = valid.returncode == 0 and not valid.stdout.strip()
        detail += "; desktop-file-validate: " + (valid.stdout.strip() or "ok")
    check.result("install-desktop", ok, detail + (f"; {out.stderr.strip()[-300:]}" if out.returncode else ""))
    out = run([str(binary), "install-desktop", "--uninstall"], env=env)
    check.result("install-desktop --uninstall", out.returncode == 0 and not entry.exists() and not icon.exists(),
                 out.stdout.strip())


def check_no_display(check: Check, binary: Path) -> None:
    out = run([str(binary)], env=clean_env())
    lines = out.stderr.strip().splitlines()
    check.result("no display", out.returncode == 6 and len(lines) == 1 and "no display" in lines[0],
                 f"exit {out.returncode}: {out.stderr.strip()[:200]}")


def check_demo(check: Check, binary: Path, tmp: Path) -> None:
    db = tmp / "demo.sqlite"
    env = clean_env(QT_QPA_PLATFORM="offscreen", AYLA_MONITOR_REPORT_STARTUP="1", HOME=str(tmp / "home"))
    out = run([str(binary), "--demo", "--exit-after", "8", "--db", str(db)], env=env, timeout=60)
    stored = sqlite_count(db) if db.is_file() else 0
    check.result("demo window (offscreen)", out.returncode == 0 and stored > 0,
                 f"exit {out.returncode}, {stored} events stored" + (f"; {out.stderr.strip()[-300:]}" if out.returncode else ""))
    marker = re.search(re.escape(STARTUP_MARKER) + r" ([0-9.]+) s", out.stderr)
    if marker:
        check.figure(f"first window (offscreen, in-process): {float(marker.group(1)):.2f} s")


def check_record(check: Check, binary: Path, tmp: Path) -> None:
    db = tmp / "record.sqlite"
    sim, url, key = start_simulator(binary, tmp)
    try:
        out = run([str(binary), "record", "--url", url, "--stream-key", key, "--db", str(db), "--count", "50"],
                  env=clean_env(), timeout=60)
    finally:
        sim.send_signal(signal.SIGTERM)
        sim.wait(10)
    stored = sqlite_count(db) if db.is_file() else 0
    check.result("record (SQLite)", out.returncode == 0 and stored >= 50, f"exit {out.returncode}, {stored} events stored")
    csv = tmp / "out.csv"
    out = run([str(binary), "export", "--db", str(db), "--format", "csv", "-o", str(csv)], env=clean_env())
    rows = len(csv.read_text().splitlines()) - 1 if csv.is_file() else 0
    check.result("export (CSV)", out.returncode == 0 and rows == stored, f"exit {out.returncode}, {rows} rows")


def check_mysql(check: Check, binary: Path, tmp: Path, url: str) -> None:
    """Record and export through the bundle's PyMySQL, in a scratch database dropped afterwards."""
    try:
        import pymysql
    except ImportError:
        check.skip("MySQL", "PyMySQL is not installed in the Python running this check")
        return
    parts = urlsplit(url)
    scratch = f"ayla_bundle_{uuid.uuid4().hex[:8]}"
    try:
        admin = pymysql.connect(host=parts.hostname, port=parts.port or 3306, user=parts.username or "root",
                                password=parts.password or "", connect_timeout=5)
    except pymysql.MySQLError as exc:
        check.skip("MySQL", f"cannot connect to {parts.hostname}:{parts.port or 3306} ({exc.args[-1]})")
        return
    try:
        with admin.cursor() as cur:
            cur.execute(f"CREATE DATABASE {scratch} CHARACTER SET utf8mb4")
            cur.execute("SELECT VERSION()")
            version = cur.fetchone()[0]
        db_url = urlunsplit(parts._replace(path=f"/{scratch}"))
        sim, ws, key = start_simulator(binary, tmp)
        try:
            out = run([str(binary), "record", "--url", ws, "--stream-key", key, "--db", db_url, "--count", "50"],
                      env=clean_env(), timeout=60)
        finally:
            sim.send_signal(signal.SIGTERM)
            sim.wait(10)
        with admin.cursor() as cur:
            cur.execute(f"SELECT COUNT(*) FROM {scratch}.events")
            stored = int(cur.fetchone()[0])
        check.result(f"record (MySQL/MariaDB {version})", out.returncode == 0 and stored >= 50,
                     f"exit {out.returncode}, {stored} events stored" + (f"; {out.stderr.strip()[-300:]}" if out.returncode else ""))
        out = run([str(binary), "export", "--db", db_url, "--format", "jsonl"], env=clean_env())
        lines = len(out.stdout.splitlines())
        check.result("export (MySQL)", out.returncode == 0 and lines == stored, f"exit {out.returncode}, {lines} lines")
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {scratch}")
        admin.close()


def xwd_to_png(xwd: bytes, png: Path) -> None:
    """Save Xvfb's framebuffer dump (XWD, 32 bits per pixel) as a PNG (via Qt)."""
    from PySide6.QtGui import QImage

    header = struct.unpack(">25I", xwd[:100])
    header_size, width, height, bytes_per_line = header[0], header[4], header[5], header[12]
    ncolors = header[19]
    start = header_size + ncolors * 12
    pixels = xwd[start:start + bytes_per_line * height]
    image = QImage(pixels, width, height, bytes_per_line, QImage.Format.Format_RGB32)
    if not image.copy().save(str(png)):
        raise RuntimeError(f"cannot write {png}")


def find_window(display: str, title: str) -> str | None:
    out = run(["xwininfo", "-root", "-tree", "-display", display], timeout=10)
    for line in out.stdout.splitlines():
        if f'"{title}' in line:
            match = re.match(r"\s*(0x[0-9a-f]+)", line)
            if match:
                info = run(["xwininfo", "-id", match.group(1), "-display", display], timeout=10).stdout
                if "IsViewable" in info:
                    return match.group(1)
    return None


def check_xvfb(check: Check, binary: Path, tmp: Path, screenshot: Path | None) -> None:
    if not shutil.which("Xvfb") or not shutil.which("xwininfo"):
        check.skip("window on X11 (Xvfb)", "Xvfb or xwininfo is not installed (apt-get install xvfb x11-utils)")
        return
    fbdir = tmp / "fb"
    fbdir.mkdir()
    number = next(n for n in range(97, 200) if not Path(f"/tmp/.X{n}-lock").exists()
                  and not Path(f"/tmp/.X11-unix/X{n}").exists())
    display = f":{number}"
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1920x1080x24", "-fbdir", str(fbdir),
                             "-nolisten", "tcp"], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not Path(f"/tmp/.X11-unix/X{number}").exists():
            if xvfb.poll() is not None or time.monotonic() > deadline:
                check.result("window on X11 (Xvfb)", False, f"Xvfb did not start on {display}")
                return
            time.sleep(0.05)
        db = tmp / "x11.sqlite"
        env = clean_env(DISPLAY=display, HOME=str(tmp / "home-x11"), AYLA_MONITOR_REPORT_STARTUP="1")
        started = time.monotonic()
        app = subprocess.Popen([str(binary), "--demo", "--exit-after", "8", "--db", str(db)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        window = None
        while app.poll() is None and time.monotonic() - started < 20:
            window = find_window(display, "Ayla Monitor")
            if window:
                break
            time.sleep(0.02)
        first = time.monotonic() - started
        if window is None:
            app.kill()
            _, err = app.communicate(timeout=10)
            check.result("window on X11 (Xvfb)", False, f"exit {app.returncode} after {first:.2f} s on {display}: {err.strip()[:300]}")
            return
        check.result("window on X11 (Xvfb)", True, f"{first:.2f} s to a mapped window")
        check.figure(f"time to first window (X11 under Xvfb, from exec to mapped): {first:.2f} s "
                     f"(target < {FIRST_WINDOW_TARGET_S:.0f} s)")
        if first >= FIRST_WINDOW_TARGET_S:
            check.warn("first window", f"{first:.2f} s, over the {FIRST_WINDOW_TARGET_S:.0f} s target")
        icon = run(["xprop", "-id", window, "-display", display, "_NET_WM_ICON"], timeout=10).stdout
        sizes = sorted(set(re.findall(r"Icon \((\d+) x \d+\)", icon)), key=int)
        check.result("window icon (_NET_WM_ICON)", bool(sizes), f"sizes {', '.join(sizes) or 'none'}")
        time.sleep(4)  # let the demo fill the tiles and the log
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            xwd_to_png((fbdir / "Xvfb_screen0").read_bytes(), screenshot)
            print(f"       screenshot: {screenshot}")
        _, err = app.communicate(timeout=30)
        check.result("demo window (X11) exits 0", app.returncode == 0, f"exit {app.returncode}")
        marker = re.search(re.escape(STARTUP_MARKER) + r" ([0-9.]+) s", err)
        if marker:
            check.figure(f"first window (X11, in-process since process start): {float(marker.group(1)):.2f} s")
    finally:
        xvfb.terminate()
        xvfb.wait(10)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python packaging/selfcheck.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, default=ROOT / "dist" / "ayla-monitor", help="the bundle folder")
    parser.add_argument("--mysql", default=os.environ.get("AYLA_TEST_MYSQL_URL"),
                        help="mysql://user:pw@host:port/db of a server to test against (default: AYLA_TEST_MYSQL_URL)")
    parser.add_argument("--screenshot", type=Path, help="save the X11 window here as PNG")
    parser.add_argument("--no-x11", action="store_true", help="skip the check on an Xvfb display")
    args = parser.parse_args(argv)
    binary = args.bundle / ("ayla-monitor.exe" if sys.platform == "win32" else "ayla-monitor")
    if not binary.is_file():
        print(f"selfcheck: no bundle at {binary}; build it with: python packaging/build.py", file=sys.stderr)
        return 2
    check = Check()
    steps: list[tuple[str, Callable[[Path], None]]] = []
    with tempfile.TemporaryDirectory(prefix="ayla-selfcheck-") as name:
        tmp = Path(name)
        check_size(check, args.bundle)
        check_version(check, binary)
        check_verbose_version(check, binary)
        if sys.platform.startswith("linux"):
            check_no_display(check, binary)
        if sys.platform.startswith("linux"):
            steps.append(("install-desktop", lambda t: check_install_desktop(check, binary, t)))
        steps.append(("demo", lambda t: check_demo(check, binary, t)))
        steps.append(("record", lambda t: check_record(check, binary, t)))
        if args.mysql:
            steps.append(("mysql", lambda t: check_mysql(check, binary, t, args.mysql)))
        else:
            check.skip("MySQL", "no server given (--mysql URL or AYLA_TEST_MYSQL_URL)")
        if not args.no_x11 and sys.platform.startswith("linux"):
            steps.append(("x11", lambda t: check_xvfb(check, binary, t, args.screenshot)))
        for step, fn in steps:
            folder = tmp / step
            folder.mkdir()
            try:
                fn(folder)
            except Exception as exc:  # a check that cannot run is a failure, said in one line
                check.result(step, False, f"{type(exc).__name__}: {exc}")
    print("\nFigures:")
    for line in check.figures:
        print(f"  {line}")
    if check.failed:
        print(f"\nselfcheck: {len(check.failed)} failed: {', '.join(check.failed)}", file=sys.stderr)
        return 1
    print("\nselfcheck: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
