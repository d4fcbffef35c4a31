"""Writing a capture file (see :mod:`ayla_monitor.capture.format`).

The recorder hands each batch it receives to :meth:`CaptureWriter.observe`
on the event loop; a thread of the writer's own turns the frames into lines
(key scrubbed, redacted), compresses and writes them, so the loop only
queues a reference. At most :data:`MAX_QUEUED_BATCHES` batches wait: past
that the loop waits for the thread (backpressure, nothing dropped).

A capture never holds a stream key: the header names keys masked, and a
frame that quotes one of the streams' keys has it masked too. The file is
created readable by its owner only (0600): redacted or not, it is a
customer's data. A path that cannot be written is refused when the writer
is created (:class:`CaptureError`), before anything is recorded; a disk that
fills up later stops the capture, not the recording (:attr:`CaptureWriter.error`).
"""

from __future__ import annotations

import gzip
import logging
import os
import queue
import secrets as random_source
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol

from ayla_monitor import __version__
from ayla_monitor.capture.format import (
    FORMAT_VERSION,
    CaptureHeader,
    StreamInfo,
    encode_frame_line,
    encode_header,
    is_gzip_path,
)
from ayla_monitor.capture.redact import RedactionSpec, Redactor
from ayla_monitor.dss.events import MalformedFrame, SeqGap
from ayla_monitor.dss.frames import encode_frame
from ayla_monitor.dss.keys import mask_key

__all__ = ["CaptureError", "CaptureStats", "CaptureWriter", "FrameLike", "MAX_QUEUED_BATCHES", "iso_now"]

log = logging.getLogger(__name__)

#: Batches waiting for the writer's thread before the loop waits for it.
MAX_QUEUED_BATCHES = 16
#: gzip level: measured (benchmarks/ingest.py --capture), level 1 costs the
#: recorder least; the files are 5-8 times smaller than plain JSON Lines.
GZIP_LEVEL = 1


class CaptureError(Exception):
    """The capture file cannot be written: the user's path or the disk. One sentence."""


class FrameLike(Protocol):
    """What a batch holds: an event (``raw`` is its JSON) or a bad frame (``raw`` is the whole frame)."""

    @property
    def raw(self) -> str: ...

    @property
    def received_at(self) -> float: ...


@dataclass(frozen=True, slots=True)
class CaptureStats:
    path: Path
    frames: int
    error: str | None


def iso_now(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _open(path: Path) -> tuple[IO[bytes], IO[bytes]]:
    """(what to write to, the file under it): created 0600 (or truncated),
    gzip when its name ends in .gz."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except IsADirectoryError:
        raise CaptureError(f"cannot write the capture {path}: it is a folder") from None
    except FileNotFoundError:
        raise CaptureError(f"cannot write the capture {path}: the folder {path.parent} does not exist") from None
    except PermissionError:
        raise CaptureError(f"cannot write the capture {path}: permission denied") from None
    except OSError as exc:
        raise CaptureError(f"cannot write the capture {path}: {exc.strerror or exc}") from None
    raw = os.fdopen(fd, "wb")
    if is_gzip_path(path):
        zipped: IO[bytes] = gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=GZIP_LEVEL)  # type: ignore[assignment]
        return zipped, raw
    return raw, raw


class CaptureWriter:
    """One capture file being written. ``start``: the receive time the
    offsets count from; ``secrets``: the streams' keys, masked wherever a
    frame quotes them. Use :meth:`observe` from the event loop (threaded) or
    :meth:`add` directly (an export); :meth:`close` at the end."""

    def __init__(
        self,
        path: str | Path,
        streams: Sequence[StreamInfo],
        *,
        redaction: RedactionSpec | None = None,
        secrets: Sequence[str] = (),
        start: float | None = None,
        threaded: bool = True,
        salt: bytes | None = None,
    ) -> None:
        self.path = Path(path)
        self.start = time.time() if start is None else start
        self.frames = 0
        self.error: str | None = None
        self._secrets = [(key, mask_key(key)) for key in secrets if key]
        spec = redaction if redaction is not None and redaction.active else None
        # A random salt per file, never stored: pseudonyms cannot be linked across files.
        self._redactor = Redactor(spec, salt or random_source.token_bytes(32)) if spec is not None else None
        self._file, self._raw = _open(self.path)
        header = CaptureHeader(
            FORMAT_VERSION,
            __version__,
            iso_now(time.time()),
            self.start,
            tuple(streams),
            spec.describe() if spec is not None else RedactionSpec().describe(),
        )
        self._lock = threading.Lock()
        try:
            self._file.write(encode_header(header))
        except OSError as exc:
            self._file.close()
            self._raw.close()
            raise CaptureError(f"cannot write the capture {self.path}: {exc.strerror or exc}") from None
        self._queue: queue.SimpleQueue[tuple[str, Sequence[Any]] | None] = queue.SimpleQueue()
        self._room = threading.BoundedSemaphore(MAX_QUEUED_BATCHES)
        self._thread: threading.Thread | None = None
        if threaded:
            self._thread = threading.Thread(target=self._work, name="capture-writer", daemon=True)
            self._thread.start()

    # -- input ---------------------------------------------------------------

    def observe(self, stream: str, batch: Sequence[Any]) -> None:
        """The engine's frame observer: queue a received batch of ``stream``
        (events, bad frames; gaps are skipped). Waits only when the thread
        is far behind."""
        if self.error is not None or not batch:
            return
        if self._thread is None:
            self.add_batch(stream, batch)
            return
        self._room.acquire()
        self._queue.put((stream, batch))

    def add_batch(self, stream: str, batch: Iterable[Any]) -> None:
        """Write a batch of events and bad frames of ``stream`` now."""
        lines = []
        start = self.start
        line = self._line
        for frame in batch:
            cls = frame.__class__
            if cls is SeqGap:
                continue
            if cls is MalformedFrame:
                text = frame.raw
            else:  # the frame as encode_frame builds it; ASCII needs no encoding to be measured
                raw = frame.raw
                text = f"{len(raw)}|{raw}" if raw.isascii() else encode_frame(raw)
            lines.append(line(stream, frame.received_at - start, text))
        self._write(lines)

    def add(self, stream: str, received_at: float, frame: str) -> None:
        """Write one frame (its text as received) now."""
        self._write([self._line(stream, received_at - self.start, frame)])

    def _line(self, stream: str, offset: float, text: str) -> bytes:
        for key, masked in self._secrets:
            if key in text:
                text = text.replace(key, masked)
        if self._redactor is not None:
            text = self._redactor.frame(text)
        return encode_frame_line(offset, stream, text)

    def _write(self, lines: list[bytes]) -> None:
        if not lines or self.error is not None:
            return
        with self._lock:
            try:
                self._file.write(b"".join(lines))
            except OSError as exc:
                self.error = f"the capture {self.path} stopped after {self.frames:,} frames: {exc.strerror or exc}"
                log.warning("%s", self.error)
                return
            self.frames += len(lines)

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            try:
                stream, batch = item
                self.add_batch(stream, batch)
            except Exception:  # a bug: the capture stops, the recording goes on
                log.exception("the capture writer failed")
                self.error = f"the capture {self.path} stopped after {self.frames:,} frames (internal error, see the log)"
            finally:
                self._room.release()

    # -- end -----------------------------------------------------------------

    def close(self) -> CaptureStats:
        """Write what is queued and close the file."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        with self._lock:
            try:
                self._file.close()
                self._raw.close()
            except OSError as exc:
                if self.error is None:
                    self.error = f"the capture {self.path} could not be completed: {exc.strerror or exc}"
        return CaptureStats(self.path, self.frames, self.error)

    def __enter__(self) -> CaptureWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
