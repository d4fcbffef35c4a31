"""The files the app ships: in sync with resources/, valid for the desktop's
validators, inside the wheel, and found from an unpacked wheel."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from ayla_monitor import __version__
from tests.packaging.support import load

ROOT = Path(__file__).resolve().parents[2]
DESKTOP = ROOT / "resources" / "ayla-monitor.desktop"
METAINFO = ROOT / "resources" / "ayla-monitor.metainfo.xml"


def test_the_package_holds_the_same_files_as_resources() -> None:
    sync = load("sync_resources")
    assert sync.differences() == [], "run: python packaging/sync_resources.py"
    names = {p.as_posix() for p in sync.shipped_files()}
    assert {"ayla-monitor.desktop", "ayla-monitor.metainfo.xml", "icons/ayla-monitor.svg",
            "icons/ayla-monitor-16.png", "icons/ayla-monitor-512.png"} <= names


def test_the_differences_are_named(tmp_path: Path) -> None:
    sync = load("sync_resources")
    source, package = tmp_path / "src", tmp_path / "pkg"
    (source / "icons").mkdir(parents=True)
    (source / "ayla-monitor.desktop").write_text("a")
    (source / "icons" / "ayla-monitor.svg").write_text("b")
    assert sync.differences(source, package) == [f"missing: {package / 'ayla-monitor.desktop'}",
                                                 f"missing: {package / 'icons/ayla-monitor.svg'}"]
    sync.sync(source, package)
    (package / "stale.txt").write_text("c")
    (package / "ayla-monitor.desktop").write_text("changed")
    assert sync.differences(source, package) == [
        f"differs from {source / 'ayla-monitor.desktop'}: {package / 'ayla-monitor.desktop'}",
        f"not in {source}: {package / 'stale.txt'}"]
    sync.sync(source, package)
    assert sync.differences(source, package) == []


@pytest.mark.skipif(not shutil.which("desktop-file-validate"), reason="desktop-file-validate is not installed "
                    "(apt-get install desktop-file-utils; .ci/run installs it)")
def test_the_desktop_entry_validates() -> None:
    done = subprocess.run(["desktop-file-validate", str(DESKTOP)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout


@pytest.mark.skipif(not shutil.which("appstreamcli"), reason="appstreamcli is not installed "
                    "(apt-get install appstream; .ci/run installs it)")
def test_the_metainfo_validates() -> None:
    done = subprocess.run(["appstreamcli", "validate", "--no-net", "--explain", str(METAINFO)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_metainfo_names_this_project_and_the_readme_screenshots() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    text = METAINFO.read_text()
    home = project["urls"]["Homepage"]
    assert f'<url type="homepage">{home}</url>' in text
    assert f'<release version="{__version__}"' in text
    shots = re.findall(r"<image>([^<]+)</image>", text)
    assert shots and all(s.startswith("https://") for s in shots)
    for shot in shots:  # each one exists in the repository
        assert (ROOT / shot.split("/main/", 1)[1]).is_file(), shot


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                           "-w", str(out), str(ROOT)], capture_output=True, text=True, timeout=300)
    offline = ("No module named", "No matching distribution", "satisfies the requirement")
    if done.returncode != 0 and any(text in done.stderr for text in offline):  # no build backend reachable
        pytest.skip(f"cannot build a wheel here: {done.stderr.strip()[-200:]}")
    assert done.returncode == 0, done.stderr
    return next(out.glob("ayla_monitor-*.whl"))


def test_the_wheel_is_whole(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as whl:
        names = set(whl.namelist())
        entry_points = whl.read(f"ayla_monitor-{__version__}.dist-info/entry_points.txt").decode()
    assert {"ayla_monitor/py.typed", "ayla_monitor/resources/ayla-monitor.desktop",
            "ayla_monitor/resources/ayla-monitor.metainfo.xml", "ayla_monitor/resources/icons/ayla-monitor.svg",
            "ayla_monitor/resources/icons/ayla-monitor-256.png",
            f"ayla_monitor-{__version__}.dist-info/licenses/LICENSE"} <= names
    assert "[gui_scripts]\nayla-monitor-gui = ayla_monitor.gui_script:main" in entry_points
    assert "[console_scripts]\nayla-monitor = ayla_monitor.cli:main" in entry_points


def test_an_unpacked_wheel_finds_its_icon_and_installs_its_menu_entry(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    env = dict(os.environ, PYTHONPATH=str(site), XDG_DATA_HOME=str(tmp_path / "share"), HOME=str(tmp_path),
               QT_QPA_PLATFORM="offscreen")
    code = ("import ayla_monitor, sys; from PySide6.QtWidgets import QApplication; app = QApplication([]); "
            "from ayla_monitor.ui.resources import app_icon; "
            "print(ayla_monitor.__file__); print(len(app_icon().availableSizes()))")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    where, sizes = done.stdout.split()
    assert Path(where).is_relative_to(site) and int(sizes) >= 7
    done = subprocess.run([sys.executable, "-m", "ayla_monitor", "install-desktop"], env=env,
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    icon = tmp_path / "share/icons/hicolor/256x256/apps/ayla-monitor.png"
    assert icon.read_bytes() == (ROOT / "resources/icons/ayla-monitor-256.png").read_bytes()
