"""Following a stream's seqs: gaps, sequence restarts, frames skipped for size.

Pure code, fed one seq at a time by the client. A stream's seqs are
contiguous within an *epoch*; the epoch changes when the server's sequence
starts again (a DSS restarted without its replay buffer). The rules:

- the next seq is ``last + 1``: nothing to say (the fast path);
- a higher seq is a gap: ``last + 1 .. seq - 1`` did not arrive;
- a lower or equal seq is a repeat (a duplicate, or another event under a
  seq already used): the store tells which, by content; ``last`` stays;
- on a connection that asked to resume at ``seq_start = S``, a first seq
  below ``S`` means the server no longer counts where we left it: its
  sequence restarted. The epoch goes up, and the new epoch starts at 1
  (a first seq of 5 leaves a gap 1..4 to fill).

Time is a parameter, as everywhere in :mod:`ayla_monitor.dss`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ayla_monitor.dss.events import SeqGap

__all__ = ["SeqTracker", "SeqRestart"]


@dataclass(frozen=True, slots=True)
class SeqRestart:
    """The server's sequence started again: ``first`` arrived where
    ``previous_last + 1`` was asked for. ``epoch`` is the new epoch."""

    epoch: int
    first: int
    previous_last: int

    def sentence(self) -> str:
        return (
            f"the stream restarted its sequence at {self.first:,}; previous last seq "
            f"{self.previous_last:,} (stored apart, as epoch {self.epoch})"
        )


class SeqTracker:
    """The last seq seen in the current epoch, and what each new seq means."""

    __slots__ = ("epoch", "last", "resuming")

    def __init__(self, last: int | None = None, epoch: int = 0) -> None:
        self.epoch = epoch
        self.last = last
        self.resuming: int | None = None

    def connecting(self, seq_start: int | None) -> None:
        """A new connection asks for ``seq_start`` (``None``: live only, or a
        window chosen by the user, where no restart can be told)."""
        self.resuming = seq_start

    def observe(self, seq: int, now: float) -> tuple[SeqGap | SeqRestart, ...] | None:
        """Take the next seq; what there is to record about it (a restart,
        a gap, or a restart and the gap its new epoch opens with), or
        ``None`` on the common path."""
        last = self.last
        if self.resuming is not None:
            resumed, self.resuming = self.resuming, None
            if seq < resumed:
                self.epoch += 1
                self.last = 0
                restart = SeqRestart(self.epoch, seq, resumed - 1)
                return (restart, *(self.observe(seq, now) or ()))
        if last is None or seq == last + 1:
            self.last = seq
            return None
        if seq > last:
            self.last = seq
            return (SeqGap(self.epoch, last + 1, seq - 1, now),)
        return None

    def skip(self, now: float, reason: str) -> SeqGap | None:
        """The next seq was refused (too large to receive): record it as a gap
        with ``reason`` and go on after it. ``None`` when no seq is known yet
        (nothing to skip to: the server sends live events only then)."""
        if self.last is None:
            return None
        self.last += 1
        return SeqGap(self.epoch, self.last, self.last, now, "oversized", reason)
