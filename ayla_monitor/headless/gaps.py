"""``ayla-monitor gaps``: the gaps in the recorded seqs, as text or JSON."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from ayla_monitor.store.records import GapRecord

__all__ = ["format_gaps"]


def _when(epoch_seconds: float | None) -> str:
    if epoch_seconds is None:
        return ""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_seconds))


def _seqs(gap: GapRecord) -> str:
    if gap.first_seq == gap.last_seq:
        return f"{gap.first_seq:,}"
    return f"{gap.first_seq:,}-{gap.last_seq:,}"


def format_gaps(gaps: Sequence[GapRecord], fmt: str) -> str:
    """``fmt`` ``json``: one array of objects; ``text``: a line per gap and a total."""
    if fmt == "json":
        return json.dumps(
            [
                {
                    "stream_id": g.stream_id,
                    "stream": g.stream_name,
                    "epoch": g.epoch,
                    "first_seq": g.first_seq,
                    "last_seq": g.last_seq,
                    "missing": g.size,
                    "state": g.state,
                    "detail": g.detail,
                    "seen_at": _when(g.seen_at),
                    "closed_at": _when(g.closed_at) or None,
                }
                for g in gaps
            ],
            indent=2,
            ensure_ascii=False,
        )
    if not gaps:
        return "No gaps: every stream's seqs are contiguous."
    lines = []
    for g in gaps:
        epoch = f" epoch {g.epoch}" if g.epoch else ""
        detail = f" ({g.detail})" if g.detail else ""
        lines.append(
            f"{g.stream_name or g.stream_id}{epoch}: seq {_seqs(g)} ({g.size:,} missing), {g.state}, "
            f"seen {_when(g.seen_at)}{detail}"
        )
    still = [g for g in gaps if g.is_open]
    lines.append(
        f"{len(gaps):,} gap{'s' if len(gaps) != 1 else ''}, {len(still):,} open "
        f"({sum(g.size for g in still):,} seqs missing)"
    )
    return "\n".join(lines)
