"""Can the window open here? Answered without importing Qt.

Started with no display, Qt aborts (exit 134) after a message that blames
xcb-cursor0 whatever the cause; without libxcb-cursor it aborts the same
way. :func:`display_problem` finds both cases first, so that ``ayla-monitor``
can say so in one line and exit with ``ExitCode.NO_DISPLAY``. It loads the
libraries the xcb platform plugin links to with :mod:`ctypes` (what the
dynamic loader will do moments later), which costs well under a millisecond;
starting Qt in a subprocess to find out would cost a second.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
from collections.abc import Callable, Mapping

__all__ = ["display_problem", "qt_platforms", "XCB_LIBRARIES"]

log = logging.getLogger(__name__)

#: Libraries Qt's xcb platform plugin needs that minimal systems often lack:
#: soname -> (Debian/Ubuntu package, Fedora package).
XCB_LIBRARIES: dict[str, tuple[str, str]] = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
}

HEADLESS_HINT = (
    "run a command such as 'ayla-monitor record' for headless use, "
    "or set QT_QPA_PLATFORM=offscreen"
)


def qt_platforms(environ: Mapping[str, str]) -> list[str]:
    """The platform plugins Qt will try, in order, as QT_QPA_PLATFORM names them
    (``"wayland;xcb"`` is a list; ``"vnc:size=800x600"`` carries options)."""
    value = environ.get("QT_QPA_PLATFORM", "")
    return [part.split(":", 1)[0].strip() for part in value.split(";") if part.split(":", 1)[0].strip()]


def _loadable(name: str) -> bool:
    try:
        ctypes.CDLL(name)
    except OSError:
        return False
    return True


def display_problem(
    environ: Mapping[str, str] | None = None,
    platform: str | None = None,
    loadable: Callable[[str], bool] = _loadable,
) -> str | None:
    """Why the window cannot open here, in one sentence; None when it can (as far as we can tell).

    Only Linux (and the BSDs) are checked: elsewhere Qt has a native platform."""
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if not (platform.startswith("linux") or "bsd" in platform):
        return None
    has_x11 = bool(environ.get("DISPLAY"))
    has_wayland = bool(environ.get("WAYLAND_DISPLAY"))
    chosen = qt_platforms(environ)
    if chosen:
        # An explicit choice (offscreen, minimal, vnc, eglfs, wayland...) is the
        # user's; only the first choice being xcb is checked further.
        if chosen[0] != "xcb":
            return None
    elif has_wayland:
        return None  # Qt prefers the wayland plugin when a compositor is there
    elif not has_x11:
        return f"no display found (DISPLAY and WAYLAND_DISPLAY are not set): {HEADLESS_HINT}."
    if not has_x11:
        return f"QT_QPA_PLATFORM asks for xcb but DISPLAY is not set: {HEADLESS_HINT}."
    missing = [name for name in XCB_LIBRARIES if not loadable(name)]
    if missing:
        debian = " ".join(XCB_LIBRARIES[name][0] for name in missing)
        fedora = " ".join(XCB_LIBRARIES[name][1] for name in missing)
        return (
            f"the window needs {', '.join(missing)}, which cannot be loaded: install it "
            f"(Debian/Ubuntu: sudo apt install {debian}; Fedora: sudo dnf install {fedora}) or {HEADLESS_HINT}."
        )
    return None
