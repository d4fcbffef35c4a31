"""The app's icon, from the files shipped in the package
(:func:`ayla_monitor.paths.shipped_resources`, read with importlib.resources),
so a pip or pipx install, an editable install and the bundle all have it."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QIcon, QPixmap

from ayla_monitor.paths import shipped_resources

__all__ = ["app_icon", "ICON_SIZES"]

ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)


def app_icon() -> QIcon:
    """The application icon: PNG renders at every size, and the SVG for the rest."""
    icon = QIcon()
    folder = shipped_resources().joinpath("icons")
    for size in ICON_SIZES:
        png = folder.joinpath(f"ayla-monitor-{size}.png")
        if png.is_file():
            pixmap = QPixmap()
            if pixmap.loadFromData(png.read_bytes(), "PNG"):
                icon.addPixmap(pixmap)
    svg = folder.joinpath("ayla-monitor.svg")
    if isinstance(svg, Path) and svg.is_file():  # the SVG engine reads a file (any install but a zip)
        icon.addFile(str(svg))
    return icon
