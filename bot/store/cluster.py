"""PostgreSQL's side of several bot processes on one database: who fits, and news.

One dedicated connection per process holds a session advisory lock while the process is the
one that fits: PostgreSQL releases it when the connection ends, so a killed process hands the
role over without anyone cleaning up. The same connection LISTENs for published snapshots,
club movie changes and refit requests, and sends those requests.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import asyncpg

from bot.store.postgres import safe_url
from bot.store.shared import CLUB_CHANNEL, MODEL_CHANNEL

log = logging.getLogger(__name__)

FIT_LOCK = 0x6D6F7666  # advisory lock key held by the process that fits ("movf")
REFIT_CHANNEL = "moviebot_refit"  # NOTIFY channel: please refit (payload "purge" or "")


class ClusterLink:
    """A process's own connection for the fitting role and notifications; `connect()` first."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._conn: asyncpg.Connection | None = None
        self._busy = asyncio.Lock()  # one query at a time on the connection
        self.leading = False  # whether this process holds the fitting lock
        self.on_model: Callable[[], None] = lambda: None
        self.on_club: Callable[[], None] = lambda: None
        self.on_refit: Callable[[str], None] = lambda payload: None

    async def connect(self) -> None:
        """Open the connection and listen; the fitting role is taken with `try_lead`."""
        conn = await asyncpg.connect(self._url)
        await conn.add_listener(MODEL_CHANNEL, lambda *args: self.on_model())
        await conn.add_listener(CLUB_CHANNEL, lambda *args: self.on_club())
        await conn.add_listener(REFIT_CHANNEL, lambda _c, _p, _ch, payload: self.on_refit(payload))
        conn.add_termination_listener(self._lost)
        self._conn = conn

    def _lost(self, conn: asyncpg.Connection) -> None:
        """The connection ended: the lock went with it."""
        if conn is self._conn:
            if self.leading:
                log.warning("lost the connection to %s: no longer fitting", safe_url(self._url))
            self.leading = False
            self._conn = None

    async def try_lead(self) -> bool:
        """Take the fitting role if no process holds it; True while this process holds it."""
        if self.leading:
            return True
        try:
            if self._conn is None or self._conn.is_closed():
                await self.connect()
            async with self._busy:
                got = await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", FIT_LOCK)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("cannot reach %s for the fitting role: %s", safe_url(self._url), exc)
            return False
        self.leading = bool(got)
        return self.leading

    async def request_refit(self, payload: str = "") -> None:
        """Ask the fitting process to refit soon ("purge": a member was forgotten)."""
        try:
            if self._conn is None or self._conn.is_closed():
                await self.connect()
            async with self._busy:
                await self._conn.execute("SELECT pg_notify($1, $2)", REFIT_CHANNEL, payload)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("could not ask for a refit: %s", exc)

    async def close(self) -> None:
        """Close the connection (the fitting role ends with it)."""
        conn, self._conn = self._conn, None
        self.leading = False
        if conn is not None:
            try:
                await conn.close(timeout=10)
            except (TimeoutError, OSError, asyncpg.PostgresError):
                conn.terminate()
