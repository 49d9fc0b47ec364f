"""The PostgreSQL database under every repository (DATABASE_URL=postgresql://…).

The same contract as the SQLite database: writes go through the shared group-commit writer
on one connection (each batch one transaction; a caller returns only after COMMIT, which
PostgreSQL makes durable before answering), reads go through a small pool and see committed
data only. Migrations come from the same list as SQLite's, under an advisory lock so that
several processes starting at once migrate exactly once. The URL's password never reaches
a log line or an error message: `safe_url` is what gets printed.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bot.store.database import StoreUnusable
from bot.store.schema import SCHEMA_VERSION, check_version, statements
from bot.store.writer import (
    CommitFront,
    Dialect,
    GroupCommitWriter,
    SqlConnection,
)

log = logging.getLogger(__name__)

URL_SCHEMES = ("postgresql://", "postgres://")
_MIGRATION_LOCK = 0x6D6F7669  # advisory lock key held while migrating ("movi")
_CLOSE_TIMEOUT_S = 10.0  # a graceful close that takes longer is cut off
# Tables that hold member data: VACUUM after /forgetme drops their dead row versions.
_MEMBER_DATA = (
    "ratings, skips, onboarding_sessions, poll_votes, polls, poll_options, member_lists, "
    "member_settings, club_movies, server_lists"
)


def is_postgres_url(target: object) -> bool:
    """Whether a store target names a PostgreSQL database rather than a SQLite file."""
    return isinstance(target, str) and target.startswith(URL_SCHEMES)


def safe_url(url: str) -> str:
    """The URL with its password replaced by ***, for logs and messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


@functools.lru_cache(maxsize=1024)
def numbered(sql: str) -> str:
    """`?` placeholders as PostgreSQL's $1, $2, … (the store's SQL has no ? in literals)."""
    counter = iter(range(1, 1_000_000))
    return re.sub(r"\?", lambda _: f"${next(counter)}", sql)


@dataclass(frozen=True, slots=True)
class _Status:
    rowcount: int


def _rowcount(status: str) -> int:
    """Rows a command touched, from its status tag ("UPDATE 3", "INSERT 0 1"); -1 if none."""
    last = status.rsplit(" ", 1)[-1] if status else ""
    return int(last) if last.isdigit() else -1


class PostgresConnection:
    """An asyncpg connection as the writer's `SqlConnection`."""

    dialect: Dialect = "postgresql"

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open on the connection."""
        return self._conn.is_in_transaction()

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> _Status:
        """Run one statement; its rowcount comes from the command status."""
        return _Status(_rowcount(await self._conn.execute(numbered(sql), *parameters)))

    async def execute_fetchall(
        self, sql: str, parameters: Sequence[Any] = ()
    ) -> list[asyncpg.Record]:
        """Run one query and return all its rows."""
        return await self._conn.fetch(numbered(sql), *parameters)

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> _Status:
        """Run one statement per parameter row, pipelined (rowcount unknown: -1)."""
        rows = list(parameters)
        if rows:
            await self._conn.executemany(numbered(sql), rows)
        return _Status(-1)


class PostgresDatabase(CommitFront):
    """A writer connection with group commit, a reader pool, migrations; repositories add SQL."""

    dialect: Dialect = "postgresql"

    def __init__(
        self,
        url: str,
        *,
        max_batch: int = 256,
        readers: int = 4,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Configure only; connect() opens the connections."""
        if not is_postgres_url(url):
            raise ValueError(f"not a PostgreSQL URL: {safe_url(str(url))}")
        self._url = url
        self.location = safe_url(url)
        self.max_batch = max(1, int(max_batch))
        self.readers = max(1, int(readers))
        self._clock = clock
        self._writer: asyncpg.Connection | None = None
        self._pool: asyncpg.Pool | None = None
        self._committer: GroupCommitWriter | None = None

    def __repr__(self) -> str:
        return f"PostgresDatabase({self.location!r})"

    # ----------------------------------------------------------------- lifecycle
    @classmethod
    async def open(cls, url: str, **options: Any) -> Self:
        """Create, connect and migrate in one call."""
        db = cls(url, **options)
        await db.connect()
        return db

    async def connect(self) -> None:
        """Connect, apply migrations, open the reader pool, start the writer task."""
        if self._committer is not None:
            raise RuntimeError("store is already connected")
        try:
            writer = await asyncpg.connect(self._url)
        except (OSError, asyncpg.PostgresError) as exc:
            raise StoreUnusable(
                f"cannot connect to {self.location} ({type(exc).__name__}: {exc}): check that "
                "the server runs, the database exists and DATABASE_URL is right"
            ) from None
        try:
            old = await self._migrate(writer)
            pool = await asyncpg.create_pool(self._url, min_size=1, max_size=self.readers)
        except BaseException:
            await writer.close()
            raise
        self._writer, self._pool = writer, pool
        self._committer = GroupCommitWriter(
            PostgresConnection(writer),
            begin=lambda: writer.execute("BEGIN"),
            clock=self._clock,
            max_batch=self.max_batch,
            name="store-writer:postgresql",
        )
        log.info("store %s open (schema %d, was %d)", self.location, SCHEMA_VERSION, old)

    async def _migrate(self, conn: asyncpg.Connection) -> int:
        """Bring the schema to SCHEMA_VERSION in one transaction; returns the old version."""
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
            )
            version = await conn.fetchval("SELECT version FROM schema_version")
            if version is None:
                await conn.execute("INSERT INTO schema_version (version) VALUES (0)")
                version = 0
            old = int(version)
            check_version(old, self.location)
            for step in range(old + 1, SCHEMA_VERSION + 1):
                for statement in statements(step, "postgresql"):
                    await conn.execute(statement)
                log.info("migrated %s to schema version %d", self.location, step)
            if old != SCHEMA_VERSION:
                await conn.execute("UPDATE schema_version SET version = $1", SCHEMA_VERSION)
        return old

    async def close(self) -> None:
        """Finish queued writes, then close the connections; safe to call twice."""
        committer, self._committer = self._committer, None
        if committer is None:
            return
        await committer.close()
        writer, pool = self._writer, self._pool
        self._writer = self._pool = None
        if pool is not None:
            try:
                await asyncio.wait_for(pool.close(), _CLOSE_TIMEOUT_S)
            except TimeoutError:
                log.warning("%s: reader pool did not close in time; terminated", self.location)
                pool.terminate()
        if writer is not None:
            try:
                await writer.close(timeout=_CLOSE_TIMEOUT_S)
            except (TimeoutError, OSError, asyncpg.PostgresError):
                writer.terminate()

    # -------------------------------------------------------------- writes
    async def checkpoint(self) -> None:
        """VACUUM the member tables between batches, so deleted rows' versions are dropped."""

        async def op(conn: SqlConnection, now: float) -> tuple[None, int]:
            await conn.execute(f"VACUUM {_MEMBER_DATA}")
            return None, 0

        await self.submit(op, alone=True)

    # -------------------------------------------------------------------- reads
    async def read(self, sql: str, params: Sequence[Any] = ()) -> list[asyncpg.Record]:
        """Rows of one query on a pooled connection (committed data only)."""
        if self._pool is None:
            raise RuntimeError("store is closed")
        return await self._pool.fetch(numbered(sql), *params)
