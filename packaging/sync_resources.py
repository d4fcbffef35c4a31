"""Copy what the installed app reads from ``resources/`` into the package.

``resources/`` holds the sources (icons, the ``.desktop`` entry, the AppStream
metainfo, and the Windows/macOS icons the bundle build uses). The app reads its
files with :mod:`importlib.resources`, which only sees files inside the
package, so the ones it needs at run time are kept, byte for byte, in
``ayla_monitor/resources/`` too: the wheel, the sdist, an editable install and
the bundle then find them the same way, with no build-time trick.
``tests/packaging/test_resources.py`` fails when the two differ.

    python packaging/sync_resources.py          # copy after changing resources/
    python packaging/sync_resources.py --check  # exit 1 and name what differs
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "resources"
PACKAGE = ROOT / "ayla_monitor" / "resources"
#: Files of resources/ the app reads at run time (the .ico and .icns are for the bundle build only).
PATTERNS = ("ayla-monitor.desktop", "ayla-monitor.metainfo.xml", "icons/ayla-monitor-*.png",
            "icons/ayla-monitor.svg")

__all__ = ["shipped_files", "differences", "sync", "main"]


def shipped_files(source: Path = SOURCE) -> list[Path]:
    """The run-time files, relative to ``source``."""
    return sorted({p.relative_to(source) for pattern in PATTERNS for p in source.glob(pattern)})


def differences(source: Path = SOURCE, package: Path = PACKAGE) -> list[str]:
    """What is missing, different or extra in ``package``; empty when in sync."""
    wanted = shipped_files(source)
    problems = []
    for rel in wanted:
        copy = package / rel
        if not copy.is_file():
            problems.append(f"missing: {copy}")
        elif copy.read_bytes() != (source / rel).read_bytes():
            problems.append(f"differs from {source / rel}: {copy}")
    extra = {p.relative_to(package) for p in package.rglob("*") if p.is_file()} - set(wanted)
    problems += [f"not in {source}: {package / rel}" for rel in sorted(extra)]
    return problems


def sync(source: Path = SOURCE, package: Path = PACKAGE) -> list[Path]:
    """Make ``package`` a copy of the run-time files; the files written."""
    wanted = set(shipped_files(source))
    written = []
    for rel in sorted(wanted):
        target = package / rel
        if not target.is_file() or target.read_bytes() != (source / rel).read_bytes():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / rel, target)
            written.append(target)
    for stale in [p for p in package.rglob("*") if p.is_file() and p.relative_to(package) not in wanted]:
        stale.unlink()
        written.append(stale)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python packaging/sync_resources.py",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only say what differs (exit 1 if anything)")
    args = parser.parse_args(argv)
    if args.check:
        problems = differences()
        for line in problems:
            print(line, file=sys.stderr)
        if problems:
            print("sync_resources: run python packaging/sync_resources.py", file=sys.stderr)
        return 1 if problems else 0
    for path in sync():
        print(f"updated {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
