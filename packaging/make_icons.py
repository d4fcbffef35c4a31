"""Produce the icon files derived from ``resources/icons/ayla-monitor.svg``:
``ayla-monitor-512.png`` (for Linux desktops' 512 px slot), ``ayla-monitor.ico``
(Windows) and ``ayla-monitor.icns`` (macOS). The results are checked in; run
this again after changing the SVG: ``python packaging/make_icons.py``.

ICO and ICNS are written here (both are a small index over PNG images) rather
than through Qt's image plugins, which write a single image per file.
"""

from __future__ import annotations

import os
import struct
import sys
from collections.abc import Sequence
from pathlib import Path

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"
SVG = ICONS / "ayla-monitor.svg"
#: Sizes in the .ico (Windows uses 16-256).
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
#: ICNS entry types holding PNG data, by pixel size.
ICNS_TYPES = ((b"icp4", 16), (b"icp5", 32), (b"icp6", 64), (b"ic07", 128), (b"ic08", 256),
              (b"ic09", 512), (b"ic10", 1024))

__all__ = ["ico_bytes", "icns_bytes", "main"]


def ico_bytes(images: Sequence[tuple[int, bytes]]) -> bytes:
    """An ICO file from (size, PNG bytes) pairs (PNG entries, Vista and later)."""
    header = struct.pack("<HHH", 0, 1, len(images))
    offset = len(header) + 16 * len(images)
    directory = b""
    data = b""
    for size, png in images:
        side = 0 if size >= 256 else size  # 0 means 256
        directory += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(png), offset + len(data))
        data += png
    return header + directory + data


def icns_bytes(entries: Sequence[tuple[bytes, bytes]]) -> bytes:
    """An ICNS file from (type, PNG bytes) pairs."""
    body = b"".join(kind + struct.pack(">I", len(png) + 8) + png for kind, png in entries)
    return b"icns" + struct.pack(">I", len(body) + 8) + body


def render(size: int) -> bytes:
    """The SVG as a PNG of ``size`` pixels (Qt's SVG icon engine)."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize
    from PySide6.QtGui import QIcon

    pixmap = QIcon(str(SVG)).pixmap(QSize(size, size))
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not pixmap.save(buffer, "PNG"):
        raise RuntimeError(f"could not render the icon at {size} px")
    return bytes(data.data())


def png(size: int) -> bytes:
    """The checked-in PNG of this size if there is one, else a fresh render."""
    path = ICONS / f"ayla-monitor-{size}.png"
    return path.read_bytes() if path.is_file() else render(size)


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 (keeps Qt alive)
    (ICONS / "ayla-monitor-512.png").write_bytes(render(512))
    (ICONS / "ayla-monitor.ico").write_bytes(ico_bytes([(s, png(s)) for s in ICO_SIZES]))
    (ICONS / "ayla-monitor.icns").write_bytes(icns_bytes([(k, png(s)) for k, s in ICNS_TYPES]))
    for name in ("ayla-monitor-512.png", "ayla-monitor.ico", "ayla-monitor.icns"):
        print(f"wrote {ICONS / name} ({(ICONS / name).stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
