"""scanner/task_groups.py: a TaskGroup that fails the way gather-era callers catch."""

from __future__ import annotations

import asyncio

import pytest

from scanner.errors import ScopeError
from scanner.task_groups import all_of, first_failure, task_group


async def _value(value: int, delay: float = 0.0) -> int:
    await asyncio.sleep(delay)
    return value


async def _fail(exc: Exception, delay: float = 0.0) -> int:
    await asyncio.sleep(delay)
    raise exc


async def test_all_of_returns_results_in_the_order_given() -> None:
    # The slowest first: the order is the arguments', not the finishing order.
    assert await all_of(_value(1, 0.03), _value(2, 0.0), _value(3, 0.01)) == [1, 2, 3]
    assert await all_of() == []


async def test_the_first_failure_is_raised_as_itself_and_cancels_the_rest() -> None:
    slow_finished = asyncio.Event()

    async def slow() -> int:
        await asyncio.sleep(5)
        slow_finished.set()
        return 0

    started = asyncio.get_running_loop().time()
    with pytest.raises(ScopeError, match="outside"):  # not an ExceptionGroup
        await all_of(slow(), _fail(ScopeError("outside the allow-list"), 0.01))
    assert asyncio.get_running_loop().time() - started < 2  # the slow one did not run out
    assert not slow_finished.is_set()


async def test_an_except_clause_above_still_catches_the_failure() -> None:
    # What callers such as the SNMP login worker rely on: `except OSError` keeps working.
    caught: list[BaseException] = []
    try:
        async with task_group() as group:
            group.create_task(_fail(ConnectionResetError("reset by peer")))
            group.create_task(_value(1, 1.0))
    except OSError as exc:
        caught.append(exc)
    assert [type(e) for e in caught] == [ConnectionResetError]
    assert caught[0].__context__ is None  # the group it came out of is not shown as context


async def test_the_earliest_failure_wins_when_two_fail() -> None:
    with pytest.raises(ValueError, match="first"):
        await all_of(_fail(KeyError("second"), 0.05), _fail(ValueError("first"), 0.0))


async def test_a_failure_in_the_block_itself_is_raised_as_itself() -> None:
    async def block() -> None:
        async with task_group() as group:
            group.create_task(_value(1, 1.0))
            raise RuntimeError("in the block")

    with pytest.raises(RuntimeError, match="in the block"):
        await block()


async def test_cancellation_of_the_caller_passes_through() -> None:
    inner_cancelled = asyncio.Event()

    async def forever() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            inner_cancelled.set()
            raise

    async def caller() -> None:
        async with task_group() as group:
            group.create_task(forever())

    task = asyncio.create_task(caller())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert inner_cancelled.is_set()


async def test_a_deadline_around_the_group_is_a_timeout_not_a_group() -> None:
    async def block() -> None:
        async with asyncio.timeout(0.02), task_group() as group:
            group.create_task(_value(1, 5.0))

    with pytest.raises(TimeoutError):
        await block()


def test_first_failure_looks_inside_nested_groups() -> None:
    inner = ValueError("inner")
    nested = ExceptionGroup("outer", [ExceptionGroup("middle", [inner, KeyError("k")])])
    assert first_failure(nested) is inner
