"""``async_slot``: qasync's ``asyncSlot`` with the decorated method's type kept.

qasync ships no type information, so every ``@asyncSlot`` made its method
untyped under ``mypy --strict``; this is the one place that says what it is:
calling the slot schedules the coroutine and returns its task.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar, cast

import qasync

__all__ = ["async_slot"]

_P = ParamSpec("_P")
_R = TypeVar("_R")


def async_slot(
    *types: type,
) -> Callable[[Callable[_P, Coroutine[Any, Any, _R]]], Callable[_P, asyncio.Task[_R]]]:
    """A Qt slot that runs a coroutine method as a task on the qasync loop
    (exceptions reach the crash reporter); ``types`` are the signal's."""
    return cast(
        "Callable[[Callable[_P, Coroutine[Any, Any, _R]]], Callable[_P, asyncio.Task[_R]]]",
        qasync.asyncSlot(*types),
    )
