"""Build the desktop bundle: ``python packaging/build.py`` -> ``dist/ayla-monitor/ayla-monitor``.

One onedir PyInstaller bundle from ``packaging/ayla-monitor.spec``. By default
the bundle is built from the locked, hash-checked versions of
``packaging/bundle-lock.txt``, installed into ``build/locked-venv`` (``--no-lock``
bundles whatever the running Python has instead). The build says which Python
and packages it bundles, refuses to start when a required package is missing,
fails when PyInstaller reports a module of ours missing, and finally runs the
new bundle's import check (``rthook_bundle_check.py``), so that a bundle that
would die at start is never left behind as a success.

``--deb`` also wraps the bundle in a Debian package (``dpkg-deb``): the folder
under ``/opt/ayla-monitor``, a launcher ``/usr/bin/ayla-monitor``, the menu
entry, icons and AppStream metainfo under ``/usr/share``.
"""

from __future__ import annotations

import argparse
import hashlib
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
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from bundle_rules import REQUIRED_DISTRIBUTIONS  # noqa: E402

__all__ = ["main", "build_parser", "missing_ours", "bundle_size", "BuildError", "lock_python", "deb_control",
           "make_deb"]

log = logging.getLogger("build")

SPEC = HERE / "ayla-monitor.spec"
NAME = "ayla-monitor"
#: Shipped next to the binary.
EXTRA_FILES = (HERE / "install-desktop-entry.sh",)
#: The pinned, hash-checked versions the bundle is built from (packaging/README.md: refreshing it).
LOCK = HERE / "bundle-lock.txt"
#: Set in the locked build environment's run of this script.
LOCKED_ENV = "AYLA_BUNDLE_LOCKED"
#: Where the .deb installs the bundle.
DEB_PREFIX = "/opt/ayla-monitor"


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
    parser.add_argument(
        "--no-lock", action="store_true",
        help=f"bundle the packages of the Python running this script instead of {LOCK.relative_to(ROOT)}",
    )
    parser.add_argument("--deb", action="store_true", help="also build a .deb of the bundle (Linux, dpkg-deb)")
    parser.add_argument(
        "--no-build", action="store_true", help="do not build: package the bundle already in --dist (with --deb)"
    )
    return parser


def lock_python(lock_text: str) -> tuple[int, int] | None:
    """The Python (major, minor) a lock file was compiled for, from its header."""
    match = re.search(r"by pip-compile with Python (\d+)\.(\d+)", lock_text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def locked_environment(work: Path) -> Path:
    """``work/locked-venv`` holding exactly the lock's packages (hash-checked); its Python."""
    text = LOCK.read_text(encoding="utf-8")
    wanted = lock_python(text)
    if wanted != sys.version_info[:2]:
        shown = f"{wanted[0]}.{wanted[1]}" if wanted else "an unknown version"
        raise BuildError(
            f"{LOCK.relative_to(ROOT)} was made for Python {shown}, and this is Python {platform.python_version()}: "
            f"run build.py with Python {shown}, refresh the lock for this Python (packaging/README.md), "
            "or build from this Python's packages with --no-lock"
        )
    venv = work / "locked-venv"
    python = venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    digest = hashlib.sha256(text.encode()).hexdigest()
    stamp = venv / "lock.sha256"
    if python.is_file() and stamp.is_file() and stamp.read_text() == digest:
        return python
    print(f"Installing the locked packages into {venv}", file=sys.stderr)
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    done = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                           "--require-hashes", "--no-deps", "-r", str(LOCK)])
    if done.returncode != 0:
        raise BuildError(f"pip could not install {LOCK.relative_to(ROOT)} (exit {done.returncode}); see above")
    stamp.write_text(digest)
    return python


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
    locked = os.environ.get(LOCKED_ENV) == "1"
    lines = [
        f"Ayla Monitor bundle built {time.strftime('%Y-%m-%d %H:%M:%S %z')}",
        f"Python {platform.python_version()} ({platform.python_implementation()}) on {platform.platform()}",
        (f"Packages from {LOCK.name} (sha256 {hashlib.sha256(LOCK.read_bytes()).hexdigest()[:16]})" if locked
         else "Packages of the building Python (--no-lock)"),
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


def _app_version() -> str:
    text = (ROOT / "ayla_monitor" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    if match is None:
        raise BuildError("cannot read __version__ from ayla_monitor/__init__.py")
    return match.group(1)


def deb_control(version: str, architecture: str, installed_kb: int) -> str:
    """The DEBIAN/control file. The X11 libraries Qt's xcb plugin needs are
    recommended, not required: the same binary records headless on a server."""
    sys.path.insert(0, str(ROOT))
    from ayla_monitor.display import XCB_LIBRARIES

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    homepage = project["urls"]["Homepage"]
    recommends = ", ".join(sorted({debian for debian, _ in XCB_LIBRARIES.values()}
                                  | {"libegl1", "libfontconfig1", "libxkbcommon0", "libdbus-1-3"}))
    return (
        "Package: ayla-monitor\n"
        f"Version: {version}\n"
        f"Architecture: {architecture}\n"
        "Maintainer: The Ayla Monitor authors\n"
        f"Installed-Size: {installed_kb}\n"
        "Depends: libc6\n"
        f"Recommends: {recommends}\n"
        "Section: net\n"
        "Priority: optional\n"
        f"Homepage: {homepage}\n"
        "Description: live monitor and recorder for the Ayla Datastream Service (DSS)\n"
        " Watch Ayla devices' events live (a tile per device, an event log) and store\n"
        " every event in SQLite or MySQL/MariaDB; records headless on a server too.\n"
        " A self-contained bundle (Python and Qt included) installed in /opt/ayla-monitor.\n"
    )


def make_deb(folder: Path, dist: Path, work: Path) -> Path:
    """Wrap the onedir bundle ``folder`` in ``dist/ayla-monitor_VERSION_ARCH.deb`` (dpkg-deb)."""
    dpkg_deb = shutil.which("dpkg-deb")
    if dpkg_deb is None or not sys.platform.startswith("linux"):
        raise BuildError("--deb needs dpkg-deb (Debian/Ubuntu: apt-get install dpkg)")
    if not (folder / NAME).is_file():
        raise BuildError(f"no bundle to package at {folder}; build it first (without --no-build)")
    sys.path.insert(0, str(ROOT))
    from ayla_monitor.desktop_entry import install_files

    version = _app_version()
    architecture = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                                  check=True).stdout.strip() if shutil.which("dpkg") else "amd64"
    root = work / "deb-root"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(folder, root / DEB_PREFIX.lstrip("/"), symlinks=True)
    launcher = root / "usr" / "bin" / NAME
    launcher.parent.mkdir(parents=True)
    launcher.write_text(f'#!/bin/sh\nexec {DEB_PREFIX}/{NAME} "$@"\n', encoding="utf-8")
    launcher.chmod(0o755)
    install_files(root / "usr" / "share", [f"/usr/bin/{NAME}"])
    doc = root / "usr" / "share" / "doc" / NAME
    doc.mkdir(parents=True)
    shutil.copy2(ROOT / "LICENSE", doc / "copyright")
    for path in root.rglob("*"):  # dpkg wants 0755 folders and no group/other write bits
        if path.is_dir():
            path.chmod(0o755)
        elif not path.is_symlink():
            path.chmod(path.stat().st_mode & 0o755 | 0o444)
    control = root / "DEBIAN" / "control"
    control.parent.mkdir()
    control.write_text(deb_control(version, architecture, bundle_size(root) // 1024), encoding="utf-8")
    out = dist / f"{NAME}_{version}_{architecture}.deb"
    result = subprocess.run([dpkg_deb, "--root-owner-group", "-Zxz", "-z1", "--build", str(root), str(out)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError(f"dpkg-deb failed (exit {result.returncode}): {result.stderr.strip()}")
    shutil.rmtree(root, ignore_errors=True)
    print(f"Built {out} ({out.stat().st_size / 1e6:.1f} MB)", file=sys.stderr)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        if not args.no_build:
            if not args.no_lock and os.environ.get(LOCKED_ENV) != "1":
                python = locked_environment(args.work)
                env = dict(os.environ, **{LOCKED_ENV: "1"})
                command = [str(python), str(Path(__file__).resolve()), *argv]
                return subprocess.run(command, env=env).returncode
            build(args)
        if args.deb:
            make_deb(args.dist / NAME, args.dist, args.work)
    except BuildError as exc:
        print(f"build.py: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
