"""The capture file format (version 1): JSON Lines, gzip optional.

A capture is a stream as it was received, to study or replay later::

    {"format":"ayla-monitor-capture","version":1,"app_version":"0.1.0",
     "created":"2026-11-30T08:00:00.000Z","start":1796025600.0,
     "streams":[{"label":"demo","key":"de5a…a0de","type":null,"url":"ws://…"}],
     "redaction":{"applied":["dsn","uuid","location"],"location":"round:2","values":[]}}
    {"t":0.004,"s":"demo","f":"312|{\\"seq\\":\\"1\\",…}"}
    {"t":0.004,"s":"demo","f":"not a frame"}

The first line is the header: the format's name and version, the app that
wrote it, when (``created``, and ``start``: the receive time, in epoch
seconds, that the offsets count from), the streams (a label, the key
*masked*, the subscription type, the URL with the key masked) and the
redaction applied. Every other line is one frame: ``t`` its receive time in
seconds after ``start``, ``s`` its stream's label, ``f`` the frame text.
Events keep their JSON exactly as received (the length prefix is the one
:func:`~ayla_monitor.dss.frames.encode_frame` gives it); bad frames are kept
whole. Heartbeats are not kept: a replay sends its own.

A file whose first two bytes are gzip's magic number is read as gzip,
whatever its name. Reading never stops at a bad line: it is skipped and
named with its line number (:class:`ReadProblem`), and so is a file cut
short, a broken gzip stream, or a header of an unknown version.

Encoding and decoding lines is pure (:func:`encode_header`,
:func:`encode_frame_line`, :func:`decode_line`); :func:`read_capture` and
:func:`iter_capture` read a file.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "StreamInfo",
    "Redaction",
    "CaptureHeader",
    "CapturedFrame",
    "ReadProblem",
    "Capture",
    "encode_header",
    "encode_frame_line",
    "decode_line",
    "iter_capture",
    "read_capture",
    "is_gzip_path",
    "describe_problems",
]

FORMAT_NAME = "ayla-monitor-capture"
FORMAT_VERSION = 1
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True, slots=True)
class StreamInfo:
    """One stream of a capture: never its key, only the key masked."""

    label: str
    masked_key: str
    subscription_type: str | None
    url: str


@dataclass(frozen=True, slots=True)
class Redaction:
    """What was redacted: the choices (``dsn``, ``uuid``, ``location``, ``ip``,
    ``values``), how locations were treated (``round:N`` or ``remove``) and
    which properties' values were masked."""

    applied: tuple[str, ...] = ()
    location: str | None = None
    values: tuple[str, ...] = ()

    def describe(self) -> str:
        if not self.applied:
            return "none"
        parts = []
        for choice in self.applied:
            if choice == "location" and self.location:
                parts.append(f"location ({self.location})")
            elif choice == "values":
                parts.append(f"values of {', '.join(self.values)}")
            else:
                parts.append(choice)
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class CaptureHeader:
    version: int
    app_version: str
    created: str
    start: float
    streams: tuple[StreamInfo, ...]
    redaction: Redaction = Redaction()


@dataclass(frozen=True, slots=True)
class CapturedFrame:
    """One frame line: ``offset`` seconds after the header's ``start``."""

    offset: float
    stream: str
    frame: str
    line: int = 0


@dataclass(frozen=True, slots=True)
class ReadProblem:
    """Something skipped while reading, with where (``line`` 0: the file)."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}" if self.line else self.reason


@dataclass(slots=True)
class Capture:
    """A whole capture read into memory (see :func:`read_capture`)."""

    header: CaptureHeader | None
    frames: list[CapturedFrame] = field(default_factory=list)
    problems: list[ReadProblem] = field(default_factory=list)

    @property
    def labels(self) -> list[str]:
        """The streams' labels: the header's, then any found only in lines."""
        labels = [s.label for s in self.header.streams] if self.header is not None else []
        seen = set(labels)
        for frame in self.frames:
            if frame.stream not in seen:
                seen.add(frame.stream)
                labels.append(frame.stream)
        return labels


# -- encoding ------------------------------------------------------------------


def encode_header(header: CaptureHeader) -> bytes:
    """The header line, newline included."""
    obj = {
        "format": FORMAT_NAME,
        "version": header.version,
        "app_version": header.app_version,
        "created": header.created,
        "start": header.start,
        "streams": [
            {"label": s.label, "key": s.masked_key, "type": s.subscription_type, "url": s.url}
            for s in header.streams
        ],
        "redaction": {
            "applied": list(header.redaction.applied),
            "location": header.redaction.location,
            "values": list(header.redaction.values),
        },
    }
    return orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE)


_dumps = orjson.dumps
_NEWLINE = orjson.OPT_APPEND_NEWLINE


def encode_frame_line(offset: float, stream: str, frame: str) -> bytes:
    """One frame line, newline included (a frame may hold any text: JSON
    escapes line breaks, so one frame is always one line)."""
    try:
        return _dumps({"t": round(offset, 6), "s": stream, "f": frame}, option=_NEWLINE)
    except TypeError:  # a lone surrogate: orjson refuses it, json escapes it
        text = json.dumps({"t": round(offset, 6), "s": stream, "f": frame}, separators=(",", ":"))
        return text.encode("utf-8") + b"\n"


# -- decoding ------------------------------------------------------------------


def _loads(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        # json reads what orjson refuses (escaped lone surrogates)
        return json.loads(data.decode("utf-8", "surrogateescape"))


def _header(obj: dict[str, Any]) -> CaptureHeader | str:
    """The header object as a :class:`CaptureHeader`, or why it is not one."""
    if obj.get("format") != FORMAT_NAME:
        return f"not an Ayla Monitor capture (format {str(obj.get('format'))[:40]!r})"
    version = obj.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        return f"the format version {str(version)[:20]!r} is not a number"
    streams = []
    for item in obj.get("streams") or ():
        if isinstance(item, dict) and isinstance(item.get("label"), str):
            kind = item.get("type")
            streams.append(
                StreamInfo(
                    item["label"],
                    str(item.get("key") or ""),
                    kind if isinstance(kind, str) else None,
                    str(item.get("url") or ""),
                )
            )
    red = obj.get("redaction") if isinstance(obj.get("redaction"), dict) else {}
    assert isinstance(red, dict)
    start = obj.get("start")
    return CaptureHeader(
        version=version,
        app_version=str(obj.get("app_version") or ""),
        created=str(obj.get("created") or ""),
        start=float(start) if isinstance(start, (int, float)) and not isinstance(start, bool) else 0.0,
        streams=tuple(streams),
        redaction=Redaction(
            tuple(str(x) for x in red.get("applied") or () if isinstance(x, str)),
            red.get("location") if isinstance(red.get("location"), str) else None,
            tuple(str(x) for x in red.get("values") or () if isinstance(x, str)),
        ),
    )


def decode_line(data: bytes, line: int) -> CapturedFrame | CaptureHeader | ReadProblem:
    """One line of a capture: a frame, a header, or why it was skipped."""
    try:
        obj = _loads(data)
    except (ValueError, UnicodeDecodeError):
        return ReadProblem(line, "not JSON")
    except RecursionError:
        return ReadProblem(line, "JSON nested too deeply")
    if not isinstance(obj, dict):
        return ReadProblem(line, f"a JSON {type(obj).__name__}, not an object")
    if "format" in obj:
        header = _header(obj)
        return ReadProblem(line, header) if isinstance(header, str) else header
    frame = obj.get("f")
    offset = obj.get("t")
    stream = obj.get("s")
    if not isinstance(frame, str):
        return ReadProblem(line, "no frame text (\"f\")")
    if not isinstance(offset, (int, float)) or isinstance(offset, bool):
        return ReadProblem(line, "no receive time offset (\"t\")")
    return CapturedFrame(float(offset), stream if isinstance(stream, str) else "", frame, line)


# -- reading a file ------------------------------------------------------------


def is_gzip_path(path: str | Path) -> bool:
    """Whether a capture written to ``path`` is compressed (its name ends in ``.gz``)."""
    return str(path).endswith(".gz")


def _lines(path: Path, problems: list[ReadProblem]) -> Iterator[bytes]:
    """The file's lines (gzip by its magic number); a cut-short or broken
    gzip stream ends the lines with a problem saying so."""
    with open(path, "rb") as raw:
        compressed = raw.read(2) == _GZIP_MAGIC
    if not compressed:
        with open(path, "rb") as plain:
            yield from plain
        return
    count = 0
    try:
        with gzip.open(path, "rb") as unzipped:
            for item in unzipped:
                count += 1
                yield item
    except EOFError:
        problems.append(
            ReadProblem(0, f"the file is cut short (the gzip stream ends early, after line {count:,})")
        )
    except (gzip.BadGzipFile, zlib.error, OSError) as exc:
        problems.append(ReadProblem(0, f"the gzip data is damaged after line {count:,} ({exc})"))


def iter_capture(
    path: str | Path, problems: list[ReadProblem]
) -> Iterator[CaptureHeader | CapturedFrame]:
    """The header (if any) then the frames of ``path``, in order; what is
    skipped is appended to ``problems``. Raises OSError if the file cannot be
    opened."""
    path = Path(path)
    header_seen = False
    for number, data in enumerate(_lines(path, problems), start=1):
        if not data.strip():
            continue
        if not data.endswith(b"\n"):
            # The last line of a file cut mid-write: keep it only if it is whole.
            item = decode_line(data, number)
            if isinstance(item, ReadProblem):
                problems.append(ReadProblem(number, "cut short (the file ends mid-line)"))
                continue
        else:
            item = decode_line(data, number)
        if isinstance(item, ReadProblem):
            problems.append(item)
            continue
        if isinstance(item, CaptureHeader):
            if header_seen:
                problems.append(ReadProblem(number, "a second header (ignored)"))
                continue
            header_seen = True
            if number != 1:
                problems.append(ReadProblem(number, "the header is not the first line"))
            if item.version != FORMAT_VERSION:
                problems.append(
                    ReadProblem(
                        number,
                        f"unknown format version {item.version} (this app reads version "
                        f"{FORMAT_VERSION}); its lines are read as version {FORMAT_VERSION} where they fit",
                    )
                )
            yield item
            continue
        if not header_seen and number == 1:
            problems.append(ReadProblem(1, "no header line: not written by Ayla Monitor, or damaged"))
        yield item


def read_capture(path: str | Path) -> Capture:
    """The whole capture in memory. Raises OSError if it cannot be opened."""
    problems: list[ReadProblem] = []
    capture = Capture(None, [], problems)
    for item in iter_capture(path, problems):
        if isinstance(item, CaptureHeader):
            capture.header = item
        else:
            capture.frames.append(item)
    return capture


def describe_problems(problems: Sequence[ReadProblem], limit: int = 10) -> list[str]:
    """The problems as lines for a user, the first ``limit`` of them and a count of the rest."""
    lines = [str(p) for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"... and {len(problems) - limit:,} more skipped lines")
    return lines
