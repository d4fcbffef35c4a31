"""What goes into the desktop bundle and what is left out (pure data, no PyInstaller).

The spec file imports this module; ``tests/packaging`` checks it. The app uses
QtCore, QtGui and QtWidgets only (the charts are drawn with QPainter), so
everything else PySide6 ships (QML, Quick, Designer, OpenGL, printing, SQL
drivers, most plugins) and Qt's translations (the app is in English) are
pruned, as are test packages.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable
from pathlib import PurePosixPath

__all__ = [
    "REQUIRED_DISTRIBUTIONS",
    "HIDDEN_IMPORTS",
    "EXCLUDED_MODULES",
    "KEPT_PLUGINS",
    "EXCLUDED_LIBRARIES",
    "ALWAYS_KEPT_LIBRARIES",
    "keep_file",
    "qt_relative",
    "unreferenced_libraries",
]

#: Distributions the bundle must hold, as (distribution, module to import).
#: ``cryptography`` is what PyMySQL needs for MySQL 8's default authentication
#: (caching_sha2_password) and for sha256_password.
REQUIRED_DISTRIBUTIONS: tuple[tuple[str, str], ...] = (
    ("PySide6-Essentials", "PySide6.QtWidgets"),
    ("shiboken6", "shiboken6"),
    ("qasync", "qasync"),
    ("websockets", "websockets"),
    ("peewee", "peewee"),
    ("PyMySQL", "pymysql"),
    ("cryptography", "cryptography"),
    ("orjson", "orjson"),
    ("platformdirs", "platformdirs"),
    ("keyring", "keyring"),
)

#: Imported lazily or by name, so PyInstaller's analysis cannot see them.
HIDDEN_IMPORTS: tuple[str, ...] = (
    "pymysql._auth",
    "cryptography.hazmat.primitives.asymmetric.rsa",
    "cryptography.hazmat.primitives.asymmetric.padding",
    "cryptography.hazmat.primitives.serialization",
    "cryptography.hazmat.primitives.hashes",
    "playhouse.db_url",
    "playhouse.sqlite_ext",
    "websockets.asyncio.client",
    "websockets.asyncio.server",
)

#: Python packages never needed at run time (tests, tools, unused Qt bindings).
EXCLUDED_MODULES: tuple[str, ...] = (
    # tests and development tools
    "pytest",
    "_pytest",
    "pytestqt",
    "hypothesis",
    "psutil",
    "PyInstaller",
    "setuptools",
    "pip",
    "tkinter",
    "_tkinter",
    "pydoc_data",
    "lib2to3",
    "idlelib",
    "ensurepip",
    "test",
    "tests",
    # Qt modules the app does not import
    "PySide6.QtNetwork",
    "PySide6.QtQml",
    "PySide6.QtQuick",
    "PySide6.QtQuickWidgets",
    "PySide6.QtQuickControls2",
    "PySide6.QtDBus",
    "PySide6.QtSql",
    "PySide6.QtTest",
    "PySide6.QtXml",
    "PySide6.QtPrintSupport",
    "PySide6.QtConcurrent",
    "PySide6.QtDesigner",
    "PySide6.QtHelp",
    "PySide6.QtUiTools",
    "PySide6.QtSvgWidgets",
    "PySide6.QtStateMachine",
    "PySide6.QtGraphs",
    "PySide6.QtPdf",
    "PySide6.QtMultimedia",
    "PySide6.QtWebEngineCore",
    "PySide6.QtOpenGL",
    "PySide6.QtOpenGLWidgets",
    "PySide6.scripts",
)

#: Qt plugins kept, as paths under ``plugins/`` (fnmatch patterns). Everything
#: else under ``plugins/`` is dropped. xcb and wayland put the window on a Linux
#: desktop; offscreen and minimal serve tests and screenshots; the SVG icon
#: engine and image formats draw the icon; the input contexts let people type
#: with an input method.
KEPT_PLUGINS: tuple[str, ...] = (
    "platforms/libqxcb.so",
    "platforms/libqwayland*.so",
    "platforms/libqoffscreen.so",
    "platforms/libqminimal.so",
    "platforms/qxcb.dll",
    "platforms/qwindows.dll",
    "platforms/qoffscreen.dll",
    "platforms/qminimal.dll",
    "platforms/libqcocoa.dylib",
    "platforms/libqoffscreen.dylib",
    "platforms/libqminimal.dylib",
    "platformthemes/*xdgdesktopportal*",
    "platforminputcontexts/*compose*",
    "platforminputcontexts/*ibus*",
    "xcbglintegrations/*",
    "wayland-decoration-client/*",
    "wayland-shell-integration/*",
    "wayland-graphics-integration-client/*",
    "iconengines/*svg*",
    "imageformats/*svg*",
    "imageformats/*ico*",
    "styles/*",
)

#: Qt libraries that nothing kept links to (regex on the file name). Qt6OpenGL
#: itself stays: the Wayland EGL client plugins link to it.
EXCLUDED_LIBRARIES: tuple[str, ...] = (
    r"Qt6(Qml|Quick|Designer|Help|Labs|Lottie|Pdf|ShaderTools|Sql|Test|VirtualKeyboard|Charts|Graphs|"
    r"DataVisualization|Multimedia|WebEngine|WebChannel|WebSockets|Positioning|Location|3D|Bluetooth|Nfc|"
    r"Sensors|SerialPort|SerialBus|RemoteObjects|Scxml|StateMachine|TextToSpeech|SpatialAudio|HttpServer|"
    r"Network|Concurrent|PrintSupport|Xml|UiTools|EglFS|EglFsKms|SvgWidgets|OpenGLWidgets)",
)

#: Loaded with dlopen at run time (no DT_NEEDED entry), so kept regardless.
ALWAYS_KEPT_LIBRARIES: tuple[str, ...] = ("libdbus-1.so.3",)

_EXCLUDED_LIBRARY_RE = re.compile("|".join(EXCLUDED_LIBRARIES))


def qt_relative(dest: str) -> PurePosixPath | None:
    """The part of a bundle path under the ``Qt`` folder of PySide6, or None."""
    parts = PurePosixPath(dest.replace("\\", "/")).parts
    for i in range(len(parts) - 1):
        if parts[i] == "PySide6" and parts[i + 1] == "Qt":
            return PurePosixPath(*parts[i + 2 :]) if len(parts) > i + 2 else PurePosixPath(".")
    return None


def keep_file(dest: str) -> bool:
    """Whether a file at bundle path ``dest`` belongs in the bundle."""
    name = PurePosixPath(dest.replace("\\", "/")).name
    rel = qt_relative(dest)
    if rel is not None and rel.parts:
        top = rel.parts[0]
        if top == "translations":
            return False
        if top in ("qml", "metatypes", "libexec", "resources"):
            return False
        if top == "plugins":
            plugin = "/".join(rel.parts[1:])
            return any(fnmatch.fnmatch(plugin, pattern) for pattern in KEPT_PLUGINS)
    if _EXCLUDED_LIBRARY_RE.search(name):
        return False
    return True


def _is_shared_library(name: str) -> bool:
    return bool(re.match(r"lib.+\.so(\.\d+)*$", name)) and not name.startswith("libpython")


def unreferenced_libraries(
    entries: Iterable[tuple[str, str]], imports_of: Callable[[str], Iterable[str]]
) -> set[str]:
    """Top-level shared libraries in the bundle that no kept binary needs.

    ``entries`` are (bundle path, source path) of the binaries kept so far;
    ``imports_of(source)`` names the libraries a binary links to (transitively,
    as ldd reports). PyInstaller collected the dependencies of the plugins
    pruned afterwards (GTK for the GTK theme, for one); this finds them."""
    roots: list[str] = []
    candidates: dict[str, str] = {}
    for dest, source in entries:
        path = PurePosixPath(dest.replace("\\", "/"))
        if len(path.parts) == 1 and _is_shared_library(path.name):
            candidates[path.name] = source
        else:
            roots.append(source)
    needed: set[str] = set(ALWAYS_KEPT_LIBRARIES)
    for source in roots:
        needed.update(PurePosixPath(name).name for name in imports_of(source))
    # The candidates' own dependencies count once a candidate is needed.
    queue = [name for name in candidates if name in needed]
    while queue:
        for dep in imports_of(candidates[queue.pop()]):
            dep = PurePosixPath(dep).name
            if dep not in needed:
                needed.add(dep)
                if dep in candidates:
                    queue.append(dep)
    return {name for name in candidates if name not in needed}
