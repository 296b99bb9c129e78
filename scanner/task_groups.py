"""Concurrency through `asyncio.TaskGroup`, with a failure raised the way callers catch it.

The house rule is a TaskGroup wherever we start tasks side by side: no task outlives the
block that started it, and the first failure cancels the rest instead of leaving them
running unowned (what `asyncio.gather` does). A bare TaskGroup raises its failures as an
`ExceptionGroup`, which an `except OSError` or `except ScopeError` above it no longer
catches; `task_group` raises the first failure itself, as gather did, so those callers
keep working. Cancellation, `KeyboardInterrupt` and `SystemExit` pass through unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Coroutine

T = TypeVar("T")


def first_failure(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first exception that is not a group, looking inside nested groups: the task
    that failed first (a TaskGroup lists failures in the order they happened)."""
    found: BaseException = group
    while isinstance(found, BaseExceptionGroup) and found.exceptions:
        found = found.exceptions[0]
    return found


@contextlib.asynccontextmanager
async def task_group() -> AsyncIterator[asyncio.TaskGroup]:
    """An `asyncio.TaskGroup` whose failure leaves it as the first exception, not a group.

    Later failures (the siblings' own, while they were being cancelled) are dropped, as
    gather dropped them."""
    try:
        async with asyncio.TaskGroup() as group:
            yield group
    except BaseExceptionGroup as failures:
        first = first_failure(failures)
    else:
        return
    # Raised outside the handler, so the group does not become its context.
    raise first


async def all_of(*steps: Coroutine[Any, Any, T]) -> list[T]:
    """Run `steps` side by side and return their results in order.

    The first step to fail cancels the others, and its exception is raised as itself. A
    step whose errors must not end its siblings catches them itself (a guard)."""
    async with task_group() as group:
        tasks = [group.create_task(step) for step in steps]
    return [task.result() for task in tasks]
