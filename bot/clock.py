"""The clock movie-night timers run on: wall time that tests and the console can skip ahead.

Poll ends, reminders and after-movie questions are stored as unix times and waited for with
`sleep_until`; `skip` moves the clock forward and wakes every sleeper, so a two-hour night
can be played through in a test without waiting two hours.
"""

from __future__ import annotations

import asyncio
import time

# Sleeps re-check the wall clock at least this often (it may be adjusted under us).
_RECHECK_S = 600.0


class Clock:
    """Unix time plus an offset that only grows."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._waiters: set[asyncio.Future[None]] = set()

    def now(self) -> float:
        """Current unix time on this clock."""
        return time.time() + self._offset

    def skip(self, seconds: float) -> None:
        """Move the clock forward and wake everyone sleeping on it."""
        if seconds < 0:
            raise ValueError(f"the clock only moves forward, got {seconds}")
        self._offset += float(seconds)
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def sleep_until(self, when: float) -> None:
        """Return once `now() >= when` (at once if it already is)."""
        loop = asyncio.get_running_loop()
        while (left := when - self.now()) > 0:
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.add(waiter)
            try:
                await asyncio.wait({waiter}, timeout=min(left, _RECHECK_S))
            finally:
                self._waiters.discard(waiter)
                waiter.cancel()

    def __repr__(self) -> str:
        return f"Clock(offset={self._offset:g}s)"
