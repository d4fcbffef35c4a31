"""What the spec keeps and prunes, and the build script's checks (no bundle is built here)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.packaging.support import PACKAGING, load

rules = load("bundle_rules")
build = load("build")

ROOT = PACKAGING.parent
QT = "PySide6/Qt"


@pytest.mark.parametrize(
    "dest",
    [
        f"{QT}/plugins/platforms/libqxcb.so",
        f"{QT}/plugins/platforms/libqwayland.so",
        f"{QT}/plugins/platforms/libqoffscreen.so",
        f"{QT}/plugins/iconengines/libqsvgicon.so",
        f"{QT}/plugins/imageformats/libqsvg.so",
        f"{QT}/plugins/xcbglintegrations/libqxcb-glx-integration.so",
        f"{QT}/lib/libQt6Widgets.so.6",
        f"{QT}/lib/libQt6XcbQpa.so.6",
        f"{QT}/lib/libQt6OpenGL.so.6",
        f"{QT}/lib/libicudata.so.73",
        "PySide6/QtWidgets.abi3.so",
        "libpython3.11.so.1.0",
        "resources/icons/ayla-monitor-48.png",
        "ayla_monitor/resources/icons/ayla-monitor-48.png",
        "ayla_monitor/resources/ayla-monitor.desktop",
    ],
)
def test_kept(dest: str) -> None:
    assert rules.keep_file(dest)


@pytest.mark.parametrize(
    "dest",
    [
        f"{QT}/translations/qtbase_de.qm",
        f"{QT}/plugins/platformthemes/libqgtk3.so",
        f"{QT}/plugins/platforms/libqeglfs.so",
        f"{QT}/plugins/platforms/libqvnc.so",
        f"{QT}/plugins/imageformats/libqjpeg.so",
        f"{QT}/plugins/platforminputcontexts/libqtvirtualkeyboardplugin.so",
        f"{QT}/plugins/sqldrivers/libqsqlite.so",
        f"{QT}/plugins/tls/libqopensslbackend.so",
        f"{QT}/lib/libQt6Quick.so.6",
        f"{QT}/lib/libQt6Qml.so.6",
        f"{QT}/lib/libQt6Pdf.so.6",
        f"{QT}/lib/libQt6Network.so.6",
        f"{QT}/lib/libQt6OpenGLWidgets.so.6",
        f"{QT}/qml/QtQuick/qmldir",
        "libQt6Designer.so.6",
    ],
)
def test_pruned(dest: str) -> None:
    assert not rules.keep_file(dest)


def test_windows_paths_are_understood() -> None:
    assert not rules.keep_file("PySide6\\Qt\\translations\\qtbase_fr.qm")
    assert rules.qt_relative("PySide6\\Qt\\plugins\\platforms\\qwindows.dll").as_posix() == "plugins/platforms/qwindows.dll"


def test_unreferenced_libraries_follow_the_dependency_closure() -> None:
    imports = {
        "/src/QtWidgets.so": ["libQt6Widgets.so.6", "libfreetype.so.6"],
        "/src/libfreetype.so.6": ["libpng16.so.16"],
        "/src/libpng16.so.16": [],
        "/src/libgtk-3.so.0": ["libcairo.so.2"],
        "/src/libcairo.so.2": [],
        "/src/libdbus-1.so.3": [],
    }
    entries = [
        ("PySide6/QtWidgets.abi3.so", "/src/QtWidgets.so"),
        ("libfreetype.so.6", "/src/libfreetype.so.6"),
        ("libpng16.so.16", "/src/libpng16.so.16"),
        ("libgtk-3.so.0", "/src/libgtk-3.so.0"),
        ("libcairo.so.2", "/src/libcairo.so.2"),
        ("libdbus-1.so.3", "/src/libdbus-1.so.3"),
        ("libpython3.11.so.1.0", "/src/libpython"),
    ]
    orphans = rules.unreferenced_libraries(entries, lambda src: imports.get(src, []))
    assert orphans == {"libgtk-3.so.0", "libcairo.so.2"}


def test_test_packages_and_unused_qt_are_excluded() -> None:
    for name in ("pytest", "hypothesis", "pytestqt", "PySide6.QtQml", "PySide6.QtQuick", "PySide6.QtNetwork"):
        assert name in rules.EXCLUDED_MODULES
    for _, module in rules.REQUIRED_DISTRIBUTIONS:
        assert module.split(".")[0] not in rules.EXCLUDED_MODULES


def test_the_app_imports_only_the_qt_modules_kept() -> None:
    used: set[str] = set()
    for path in (ROOT / "ayla_monitor").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("PySide6."):
                used.add(node.module)
            elif isinstance(node, ast.Import):
                used.update(a.name for a in node.names if a.name.startswith("PySide6."))
    assert used, "the app imports Qt somewhere"
    assert not used & set(rules.EXCLUDED_MODULES), "a Qt module the app imports is excluded from the bundle"


def test_the_bundle_requires_what_the_project_depends_on_and_no_more() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["bundle"]
    names = {re.split(r"[\[<>=;! ]", spec, maxsplit=1)[0].lower() for spec in wanted} - {"pyinstaller"}
    required = {dist.lower() for dist, _ in rules.REQUIRED_DISTRIBUTIONS} - {"shiboken6"}
    assert required == names


def test_qt_opengl_is_left_out() -> None:
    # The charts paint with QPainter on QtWidgets: no OpenGL bindings (8.5 MB).
    assert {"PySide6.QtOpenGL", "PySide6.QtOpenGLWidgets"} <= set(rules.EXCLUDED_MODULES)


def test_cryptography_is_bundled_for_mysql_8() -> None:
    assert ("cryptography", "cryptography") in rules.REQUIRED_DISTRIBUTIONS
    assert "pymysql._auth" in rules.HIDDEN_IMPORTS


def test_missing_ours_ignores_third_party_noise_and_attributes() -> None:
    warn = "\n".join([
        "missing module named _winapi - imported by asyncio.windows_events (conditional), subprocess (optional)",
        "missing module named orjson.loads - imported by orjson (optional), ayla_monitor.dss.frames (optional)",
        "missing module named somelib - imported by ayla_monitor.store.database (top-level), peewee (optional)",
    ])
    assert build.missing_ours(warn, exists=lambda name: name == "orjson.loads") == [
        "somelib (imported by ayla_monitor.store.database)"
    ]


def test_is_attribute() -> None:
    assert build.is_attribute("os.path")
    assert build.is_attribute("json.loads")
    assert not build.is_attribute("json.no_such_thing")
    assert not build.is_attribute("nomodule")


def test_build_arguments(tmp_path: Path) -> None:
    args = build.build_parser().parse_args([])
    assert args.dist == ROOT / "dist" and args.work == ROOT / "build"
    assert not args.clean and not args.no_check
    args = build.build_parser().parse_args(["--dist", str(tmp_path), "--clean", "--no-check"])
    assert args.dist == tmp_path and args.clean and args.no_check


def test_a_missing_distribution_stops_the_build(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(build, "REQUIRED_DISTRIBUTIONS", (("no-such-dist", "no_such_module_ayla"),))
    with pytest.raises(build.BuildError, match="no-such-dist"):
        build.bundled_versions()


def test_bundle_size(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"x" * 10)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b").write_bytes(b"y" * 5)
    (tmp_path / "link").symlink_to(tmp_path / "a")
    assert build.bundle_size(tmp_path) == 15


def test_the_spec_and_its_files_exist() -> None:
    spec = (PACKAGING / "ayla-monitor.spec").read_text(encoding="utf-8")
    assert "bundle_rules" in spec and "rthook_bundle_check.py" in spec
    for name in ("ayla-monitor.svg", "ayla-monitor.ico", "ayla-monitor.icns", "ayla-monitor-512.png"):
        assert (ROOT / "resources" / "icons" / name).is_file(), name
    desktop = (ROOT / "resources" / "ayla-monitor.desktop").read_text(encoding="utf-8")
    assert "Icon=ayla-monitor" in desktop and "Exec=" in desktop and "StartupWMClass=ayla-monitor" in desktop


def test_the_checked_in_ico_and_icns_hold_every_size() -> None:
    import struct

    icons = ROOT / "resources" / "icons"
    ico = (icons / "ayla-monitor.ico").read_bytes()
    _, kind, count = struct.unpack("<HHH", ico[:6])
    assert kind == 1 and count == 7
    sides = {ico[6 + 16 * i] or 256 for i in range(count)}
    assert sides == {16, 24, 32, 48, 64, 128, 256}
    icns = (icons / "ayla-monitor.icns").read_bytes()
    assert icns[:4] == b"icns" and struct.unpack(">I", icns[4:8])[0] == len(icns)
    kinds, pos = [], 8
    while pos < len(icns):
        kinds.append(icns[pos:pos + 4])
        assert icns[pos + 8:pos + 12] == b"\x89PNG"
        pos += struct.unpack(">I", icns[pos + 4:pos + 8])[0]
    assert kinds == [b"icp4", b"icp5", b"icp6", b"ic07", b"ic08", b"ic09", b"ic10"]
