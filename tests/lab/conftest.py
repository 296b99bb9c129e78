"""Fixtures for the lab's own tests: a fresh loopback address per test and a device factory."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from lab import addresses
from lab.device import LabDevice
from lab.personality import Personality

# Offsets 150-253 of the worker's /24: the lead's integration tests start lower down.
_OFFSETS = itertools.cycle(range(150, 254))

StartDevice = Callable[[Personality], Awaitable[LabDevice]]


@pytest.fixture
def lab_address() -> str:
    network = addresses.test_network(None)
    return str(network.network_address + next(_OFFSETS))


@pytest.fixture
async def start_device(lab_address: str) -> AsyncIterator[StartDevice]:
    async with contextlib.AsyncExitStack() as stack:

        async def start(personality: Personality) -> LabDevice:
            return await stack.enter_async_context(LabDevice(personality, lab_address))

        yield start


@pytest.fixture
def other_address() -> str:
    """A second loopback address in the lab tests' range: a client's distinct source."""
    network = addresses.test_network(None)
    return str(network.network_address + next(_OFFSETS))
