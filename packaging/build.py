"""Build the desktop bundle: ``python packaging/build.py`` -> ``dist/ayla-monitor/ayla-monitor``.

One onedir PyInstaller bundle from ``packaging/ayla-monitor.spec``. The build
says which Python and packages it bundles, refuses to start when a required
package is missing, fails when PyInstaller reports a module of ours missing,
and finally runs the new bundle's import check (``rthook_bundle_check.py``),
so that a bundle that would die at start is never left behind as a success.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import logging
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from bundle_rules import REQUIRED_DISTRIBUTIONS  # noqa: E402

__all__ = ["main", "build_parser", "missing_ours", "bundle_size", "BuildError"]

log = logging.getLogger("build")

SPEC = HERE / "ayla-monitor.spec"
NAME = "ayla-monitor"
#: Shipped next to the binary.
EXTRA_FILES = (HERE / "install-desktop-entry.sh",)


class BuildError(Exception):
    """The bundle cannot be built or would not work; the message says why."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python packaging/build.py",
        description="Build the onedir desktop bundle dist/ayla-monitor/ayla-monitor with PyInstaller.",
    )
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="output folder (default: dist/)")
    parser.add_argument(
        "--work", type=Path, default=ROOT / "build", help="PyInstaller's work folder (default: build/)"
    )
    parser.add_argument("--clean", action="store_true", help="discard PyInstaller's cache first")
    parser.add_argument(
        "--no-check", action="store_true", help="skip running the bundle's import check after the build"
    )
    return parser


def bundled_versions() -> list[tuple[str, str]]:
    """(distribution, version) for what the bundle needs; BuildError naming what is missing."""
    found: list[tuple[str, str]] = []
    missing: list[str] = []
    for dist, module in REQUIRED_DISTRIBUTIONS:
        try:
            importlib.import_module(module)
            found.append((dist, importlib.metadata.version(dist)))
        except Exception as exc:  # ImportError, PackageNotFoundError, or a broken native module
            missing.append(f"{dist} ({type(exc).__name__}: {exc})")
    if missing:
        raise BuildError(
            "cannot build: missing from this Python: " + "; ".join(missing)
            + f"; install them with: {sys.executable} -m pip install -e '.[bundle]'"
        )
    try:
        found.append(("pyinstaller", importlib.metadata.version("pyinstaller")))
    except importlib.metadata.PackageNotFoundError:
        raise BuildError(
            f"cannot build: PyInstaller is not installed; install it with: {sys.executable} -m pip install -e '.[bundle]'"
        ) from None
    return found


_MISSING_RE = re.compile(r"^missing module named (?P<name>\S+) - imported by (?P<by>.*)$")


def is_attribute(name: str) -> bool:
    """Whether ``a.b`` is an attribute of module ``a`` (``from orjson import loads``
    is reported as a missing module ``orjson.loads``)."""
    parent, _, attr = name.rpartition(".")
    if not parent:
        return False
    try:
        return hasattr(importlib.import_module(parent), attr)
    except Exception:
        return False


def missing_ours(warn_text: str, *, exists: Callable[[str], bool] = is_attribute) -> list[str]:
    """Modules PyInstaller could not find that the ``ayla_monitor`` package imports.

    Third-party packages import many optional modules (those lines are noise);
    a module our own code imports must be there. ``exists`` says which reported
    names are in fact attributes, not modules."""
    problems = []
    for line in warn_text.splitlines():
        match = _MISSING_RE.match(line.strip())
        if match is None or exists(match.group("name")):
            continue
        importers = [part.strip().split(" ")[0] for part in match.group("by").split(",")]
        ours = [who for who in importers if who == "ayla_monitor" or who.startswith("ayla_monitor.")]
        if ours:
            problems.append(f"{match.group('name')} (imported by {', '.join(ours)})")
    return problems


def bundle_size(folder: Path) -> int:
    """Bytes on disk of every file in ``folder``."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def strip_debug_symbols(folder: Path) -> int:
    """Strip debug symbols from libpython and the standard library's extension
    modules (most of their size); bytes saved. The wheels' libraries are left as
    shipped (already stripped; stripping some third-party builds again can make
    them unloadable)."""
    strip = shutil.which("strip")
    if strip is None or not sys.platform.startswith("linux"):
        return 0
    internal = folder / "_internal"
    targets = [p for p in internal.glob("libpython3*.so*") if not p.is_symlink()]
    targets += [p for p in internal.glob("python3*/lib-dynload/*.so") if not p.is_symlink()]
    before = sum(p.stat().st_size for p in targets)
    if targets:
        subprocess.run([strip, "--strip-debug", *map(str, targets)], check=True)
    return before - sum(p.stat().st_size for p in targets)


def _write_manifest(folder: Path, versions: list[tuple[str, str]]) -> None:
    lines = [
        f"Ayla Monitor bundle built {time.strftime('%Y-%m-%d %H:%M:%S %z')}",
        f"Python {platform.python_version()} ({platform.python_implementation()}) on {platform.platform()}",
        *(f"{dist} {version}" for dist, version in versions),
    ]
    (folder / "BUNDLE.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def run_import_check(binary: Path) -> None:
    env = dict(os.environ, AYLA_MONITOR_BUNDLE_CHECK="1", QT_QPA_PLATFORM="offscreen")
    result = subprocess.run([str(binary)], env=env, capture_output=True, text=True, timeout=120)
    sys.stderr.write(result.stderr)
    if result.returncode != 0:
        raise BuildError(f"the bundle's import check failed (exit {result.returncode}); see the lines above")


def build(args: argparse.Namespace) -> Path:
    versions = bundled_versions()
    print(f"Bundling Python {platform.python_version()} from {sys.executable}", file=sys.stderr)
    for dist, version in versions:
        print(f"  {dist} {version}", file=sys.stderr)
    started = time.monotonic()
    command = [
        sys.executable, "-m", "PyInstaller", str(SPEC), "--noconfirm", "--log-level", "WARN",
        "--distpath", str(args.dist), "--workpath", str(args.work),
    ]
    if args.clean:
        command.append("--clean")
    result = subprocess.run(command, cwd=ROOT)
    if result.returncode != 0:
        raise BuildError(f"PyInstaller failed (exit {result.returncode}); see its output above")
    folder = args.dist / NAME
    warn = args.work / NAME / f"warn-{NAME}.txt"
    problems = missing_ours(warn.read_text(encoding="utf-8")) if warn.is_file() else []
    if problems:
        shutil.rmtree(folder, ignore_errors=True)
        raise BuildError("modules missing from the bundle: " + "; ".join(problems))
    saved = strip_debug_symbols(folder)
    if saved:
        print(f"Stripped debug symbols: {saved / 1e6:.1f} MB", file=sys.stderr)
    for extra in EXTRA_FILES:
        shutil.copy2(extra, folder / extra.name)
    _write_manifest(folder, versions)
    binary = folder / (NAME + (".exe" if sys.platform == "win32" else ""))
    if not args.no_check:
        run_import_check(binary)
    elapsed = time.monotonic() - started
    size = bundle_size(folder)
    print(f"Built {binary} in {elapsed:.0f} s; bundle size {size / 1e6:.1f} MB", file=sys.stderr)
    return binary


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        build(args)
    except BuildError as exc:
        print(f"build.py: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
