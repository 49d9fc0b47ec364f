"""The timers' clock: wall time that can be skipped ahead, waking every sleeper at once."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.clock import Clock


def test_now_is_wall_time_until_skipped():
    clock = Clock()
    assert abs(clock.now() - time.time()) < 1
    clock.skip(3600)
    assert abs(clock.now() - time.time() - 3600) < 1
    with pytest.raises(ValueError, match="forward"):
        clock.skip(-1)


async def test_a_skip_wakes_sleepers_whose_time_has_come():
    clock = Clock()
    start = clock.now()
    soon = asyncio.create_task(clock.sleep_until(start + 3600))
    later = asyncio.create_task(clock.sleep_until(start + 7200))
    await asyncio.sleep(0)
    assert not soon.done()
    clock.skip(3600)
    await asyncio.wait_for(soon, 5)
    assert not later.done()  # woken, looked at the clock, still has an hour to go
    clock.skip(3600)
    await asyncio.wait_for(later, 5)


async def test_a_time_already_past_returns_at_once():
    clock = Clock()
    await asyncio.wait_for(clock.sleep_until(clock.now() - 10), 1)
