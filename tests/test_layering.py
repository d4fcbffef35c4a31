"""Dependencies point one way (see style.md §4): checked from each module's
imports, read with ``ast``.

    cli ──> headless ──> core ──> store ──> alerts (pure rules) ──> fleet (pure device model, insight) ──> dss
     └─(lazy)─> ui ───────┴──────────────────> dss.client, simulator
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "ayla_monitor"

QT = {"PySide6", "qasync", "shiboken6"}
DB = {"peewee", "playhouse", "pymysql"}
IO = {"asyncio", "websockets", "socket", "ssl", "threading", "time", "selectors"}

#: layer -> (first-party layers it may import, third-party tops it must not import)
RULES: dict[str, tuple[set[str], set[str]]] = {
    "dss": ({"dss"}, QT | DB | IO),
    "dss.client": ({"dss"}, QT | DB),
    "simulator": ({"dss", "simulator", "capture"}, QT | DB),
    # capture files: pure formats and redaction over dss, and file I/O; no network, no database
    "capture": ({"dss", "capture", "root"}, QT | DB | {"websockets", "asyncio", "socket", "ssl"}),
    "store": ({"dss", "store", "paths", "fleet", "alerts"}, QT | {"websockets"}),  # fleet: the device model it folds
    "core": ({"dss", "dss.client", "store", "core", "root", "fleet", "alerts"}, QT | DB),  # root: the version (status rows)
    # the device model and the insight: pure folds over dss events (issue 12)
    "fleet": ({"dss", "fleet"}, QT | DB | IO),
    # alert rules and their evaluation: pure over dss events and the fleet insight (issue 13)
    "alerts": ({"dss", "fleet", "alerts"}, QT | DB | IO),
    "headless": ({"dss", "dss.client", "store", "core", "headless", "capture", "root", "fleet", "alerts"},
                 QT | DB),
    "keystore": ({"dss", "keystore", "paths"}, QT | DB),
    "display": ({"display"}, QT | DB | IO),
    "ui": ({"dss", "dss.client", "store", "core", "headless", "simulator", "keystore", "ui", "root", "paths",
            "capture", "fleet", "alerts"}, DB),
    "cli": ({"dss", "dss.client", "store", "core", "headless", "simulator", "ui", "display", "root", "paths",
             "desktop_entry", "alerts"}, QT | DB),
    # the app's folders and shipped files; the menu entry; the windowed entry point (issue 16)
    "paths": ({"paths"}, QT | DB | {"asyncio", "websockets", "socket", "ssl", "threading", "selectors"}),
    "desktop_entry": ({"paths", "desktop_entry"}, QT | DB | {"asyncio", "websockets", "socket", "ssl"}),
    "gui_script": ({"cli"}, QT | DB),
    "root": ({"cli", "root"}, QT | DB),
}


def layer_of(module: str) -> str:
    parts = module.split(".")[1:]  # drop "ayla_monitor"
    if not parts or parts[0] in ("__init__", "__main__", "__version__", "APP_NAME"):
        return "root"
    if parts[0] == "dss" and len(parts) > 1 and parts[1] == "client":
        return "dss.client"
    return parts[0]


def modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        found.append((".".join(rel.parts), path))
    return found


def imports_of(path: Path, *, top_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize(("module", "path"), modules(), ids=[m for m, _ in modules()])
def test_imports_follow_the_layers(module: str, path: Path) -> None:
    layer = layer_of(module)
    allowed, forbidden = RULES[layer]
    # cli imports the window lazily (inside functions) so that record runs without Qt.
    names = imports_of(path, top_level_only=False)
    for name in sorted(names):
        top = name.split(".")[0]
        if top == "ayla_monitor":
            if name == "ayla_monitor":
                continue
            target = layer_of(name)
            assert target in allowed, f"{module} ({layer}) must not import {name} ({target})"
        else:
            assert top not in forbidden, f"{module} ({layer}) must not import {top}"
    if layer == "cli":
        for name in imports_of(path, top_level_only=True):
            assert not name.startswith(("ayla_monitor.ui", "ayla_monitor.simulator")), (
                f"cli must import {name} lazily, inside the command that needs it"
            )


def test_every_layer_is_known() -> None:
    assert {layer_of(m) for m, _ in modules()} <= set(RULES)
