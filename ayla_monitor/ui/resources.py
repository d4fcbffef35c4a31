"""Files shipped in ``resources/``, found the same way from a source checkout
and from a PyInstaller bundle (which unpacks them under ``sys._MEIPASS``)."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtGui import QIcon

__all__ = ["resources_dir", "resource_path", "app_icon", "ICON_SIZES"]

ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)


def resources_dir() -> Path:
    """The ``resources`` folder: in the bundle when frozen, else next to the package."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


def resource_path(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)


def app_icon() -> QIcon:
    """The application icon: PNG renders at every size, and the SVG for the rest."""
    icon = QIcon()
    folder = resource_path("icons")
    for size in ICON_SIZES:
        png = folder / f"ayla-monitor-{size}.png"
        if png.is_file():
            icon.addFile(str(png))
    svg = folder / "ayla-monitor.svg"
    if svg.is_file():
        icon.addFile(str(svg))
    return icon
