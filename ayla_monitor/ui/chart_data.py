"""What a chart draws of a series in view (pure: no Qt).

A week of a busy property is tens of thousands of points, far more than a
chart has pixel columns. :func:`peak_reduce` keeps, for each column, the
first, lowest, highest and last value (pyqtgraph's "peak" downsampling), so
a spike one sample wide still shows, and what is drawn is at most about four
points a column whatever the data. Points that are not finite (the NaN that
:meth:`Series.drawn` puts where a device was offline) break the line and are
kept as breaks. ``xs`` must be in ascending order, as series are.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence

__all__ = ["breaks_of", "in_view", "extent", "peak_reduce", "clip_ends", "finite_runs"]

_NAN = math.nan


def breaks_of(ys: Sequence[float]) -> list[int]:
    """Positions of the values that are not finite (where the line breaks)."""
    isfinite = math.isfinite
    return [i for i, y in enumerate(ys) if not isfinite(y)]


def in_view(xs: Sequence[float], start: float, end: float) -> tuple[int, int]:
    """``(i0, i1)``: the points with ``start <= x <= end`` are ``xs[i0:i1]``."""
    return bisect_left(xs, start), bisect_right(xs, end)


def _runs(a: int, b: int, breaks: Sequence[int]) -> list[tuple[int, int]]:
    """``[a, b)`` cut into runs of finite values (``(j, j)`` marks a break at ``j``)."""
    runs = []
    k = bisect_left(breaks, a)
    while k < len(breaks) and breaks[k] < b:
        j = breaks[k]
        if j > a:
            runs.append((a, j))
        runs.append((j, j))
        a = j + 1
        k += 1
    if b > a:
        runs.append((a, b))
    return runs


def extent(xs: Sequence[float], ys: Sequence[float], start: float, end: float,
           breaks: Sequence[int] | None = None) -> tuple[float, float] | None:
    """Lowest and highest finite value in view; when none is (zoomed in between
    two points), those of the neighbours the line runs between. ``None`` if
    there is nothing to draw at all."""
    if breaks is None:
        breaks = breaks_of(ys)
    i0, i1 = in_view(xs, start, end)
    low, high = math.inf, -math.inf
    for a, b in _runs(i0, i1, breaks):
        if b > a:
            chunk = ys[a:b]
            low = min(low, min(chunk))
            high = max(high, max(chunk))
    if low > high:
        for i in (i0 - 1, i1):
            if 0 <= i < len(ys) and math.isfinite(ys[i]):
                low, high = min(low, ys[i]), max(high, ys[i])
    return None if low > high else (low, high)


def peak_reduce(xs: Sequence[float], ys: Sequence[float], start: float, end: float, columns: int,
                breaks: Sequence[int] | None = None) -> tuple[list[float], list[float]]:
    """The points to draw for ``[start, end]`` on ``columns`` pixel columns.

    The points in view and one neighbour on each side (so that the line runs
    to the edges); when there are more than four a column, each column's
    first, lowest, highest and last value instead. Breaks stay as NaN."""
    if breaks is None:
        breaks = breaks_of(ys)
    n = len(xs)
    i0, i1 = in_view(xs, start, end)
    lo, hi = max(i0 - 1, 0), min(i1 + 1, n)
    columns = max(1, int(columns))
    if i1 - i0 <= 4 * columns:
        return list(xs[lo:hi]), list(ys[lo:hi])
    out_x: list[float] = []
    out_y: list[float] = []
    if lo < i0:
        out_x.append(xs[lo])
        out_y.append(ys[lo])
    width = (end - start) / columns
    a = i0
    for column in range(1, columns + 1):
        b = i1 if column == columns else bisect_left(xs, start + column * width, a, i1)
        if b <= a:
            continue
        for p, q in _runs(a, b, breaks):
            if p == q:
                out_x.append(xs[p])
                out_y.append(_NAN)
            elif q - p <= 4:
                out_x.extend(xs[p:q])
                out_y.extend(ys[p:q])
            else:
                chunk = ys[p:q]
                middle = (xs[p] + xs[q - 1]) / 2
                out_x += (xs[p], middle, middle, xs[q - 1])
                out_y += (ys[p], min(chunk), max(chunk), ys[q - 1])
        a = b
    if i1 < hi:
        out_x.append(xs[i1])
        out_y.append(ys[i1])
    return out_x, out_y


def clip_ends(xs: list[float], ys: list[float], start: float, end: float) -> None:
    """Move a first point left of ``start`` (and a last one right of ``end``) onto
    the edge along the line, in place: far-away neighbours become short lines."""
    if len(xs) < 2:
        return
    if xs[0] < start <= xs[1]:
        xs[0], ys[0] = start, ys[0] + (ys[1] - ys[0]) * (start - xs[0]) / (xs[1] - xs[0])
    if xs[-2] <= end < xs[-1]:
        xs[-1], ys[-1] = end, ys[-2] + (ys[-1] - ys[-2]) * (end - xs[-2]) / (xs[-1] - xs[-2])


def finite_runs(ys: Sequence[float]) -> list[tuple[int, int]]:
    """``[(a, b), ...]``: the unbroken pieces of a line are ``ys[a:b]`` (runs of finite values)."""
    runs: list[tuple[int, int]] = []
    isfinite = math.isfinite
    start = 0
    for i, y in enumerate(ys):
        if not isfinite(y):
            if i > start:
                runs.append((start, i))
            start = i + 1
    if len(ys) > start:
        runs.append((start, len(ys)))
    return runs
