"""The SQLite database under every repository: two connections, migrations, group commit.

Writes go through the shared group-commit writer (bot.store.writer), each batch in one
BEGIN IMMEDIATE transaction. Reads use a second, query-only connection, so they see
committed data only and never wait behind a batch.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal, Self, TypeVar

import aiosqlite

from bot.store.schema import SCHEMA_VERSION, check_version, migrate, read_version
from bot.store.writer import (
    CommitFront,
    Dialect,
    GroupCommitWriter,
    SqlConnection,
)

Row = Sequence[Any]

log = logging.getLogger(__name__)

T = TypeVar("T")
_BUSY_RETRIES = 5


def _is_busy(exc: BaseException) -> bool:
    """Whether an sqlite error is a lock timeout worth retrying."""
    return isinstance(exc, sqlite3.OperationalError) and (
        "locked" in str(exc) or "busy" in str(exc)
    )


class SQLiteConnection:
    """An aiosqlite connection as the writer's `SqlConnection` (it already speaks `?`)."""

    dialect: Dialect = "sqlite"

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction is open on the connection."""
        return self._conn.in_transaction

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> aiosqlite.Cursor:
        """Run one statement."""
        return await self._conn.execute(sql, parameters)

    async def execute_fetchall(self, sql: str, parameters: Sequence[Any] = ()) -> Iterable[Row]:
        """Run one query and return all its rows."""
        return await self._conn.execute_fetchall(sql, parameters)

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> aiosqlite.Cursor:
        """Run one statement per parameter row."""
        return await self._conn.executemany(sql, parameters)


class StoreUnusable(RuntimeError):
    """The database file cannot be used; the message names the file and what to do."""


def recovery_steps(path: Path) -> str:
    """How to get a working database back, for messages about a damaged file."""
    return (
        f"Stop the bot, then restore a backup with `python -m bot restore <backup file>`, "
        f"or salvage what is readable: `sqlite3 {path} .recover | sqlite3 {path}.recovered`, "
        f"check it with `DATABASE_PATH={path}.recovered python -m bot check-db`, and move it "
        f"over {path} (delete {path}-wal and {path}-shm first)."
    )


def _unusable(path: Path, exc: sqlite3.Error) -> StoreUnusable | None:
    """A clear error for a database that failed to open (None: not a problem of the file)."""
    text = str(exc)
    if _is_busy(exc):
        return None
    if "readonly" in text or "unable to open" in text:
        return StoreUnusable(
            f"cannot write {path} ({text}): check that the file and its folder exist and are "
            "writable by the user running the bot, or set DATABASE_PATH to a writable place"
        )
    return StoreUnusable(
        f"{path} is damaged ({text}); the bot will not use it. " + (recovery_steps(path))
    )


class SQLiteDatabase(CommitFront):
    """Connections, migrations, the group-commit writer and reads; repositories add the SQL."""

    dialect: Dialect = "sqlite"

    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: Literal["NORMAL", "FULL"] = "FULL",
        busy_timeout_ms: int = 10_000,
        max_batch: int = 256,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Configure only; connect() opens the file.

        synchronous=FULL fsyncs the WAL at every commit, so acknowledged ratings survive power
        loss too; with group commit it costs one fsync per batch (NORMAL measured no faster in
        bench_writes). NORMAL is still safe against process crashes.
        """
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be NORMAL or FULL, got {synchronous!r}")
        self.path = Path(path)
        self.synchronous = synchronous
        self.busy_timeout_ms = int(busy_timeout_ms)
        self.max_batch = max(1, int(max_batch))
        self._clock = clock
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._committer: GroupCommitWriter | None = None
        self._wal_path = self.path.with_name(self.path.name + "-wal")
        self._wal_lost = False

    # ----------------------------------------------------------------- lifecycle
    @classmethod
    async def open(cls, path: str | Path, **options: Any) -> Self:
        """Create, connect and migrate a store in one call."""
        store = cls(path, **options)
        await store.connect()
        return store

    async def connect(self) -> None:
        """Open both connections, apply migrations, start the writer task."""
        if self._committer is not None:
            raise RuntimeError("store is already connected")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            writer = await aiosqlite.connect(self.path, isolation_level=None)
        except sqlite3.DatabaseError as exc:
            raise _unusable(self.path, exc) or exc from exc
        try:
            await self._pragma(writer, f"busy_timeout = {self.busy_timeout_ms}")
            check_version(await read_version(writer), self.path)  # before changing anything
            problems = [str(r[0]) for r in await writer.execute_fetchall("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise StoreUnusable(
                    f"{self.path} is damaged ({'; '.join(problems[:3])}); the bot will not "
                    "use it. " + recovery_steps(self.path)
                )
            mode = await self._retry_busy(lambda: self._pragma(writer, "journal_mode = WAL"))
            if str(mode).lower() != "wal":
                log.warning("%s: journal_mode is %s, not WAL", self.path, mode)
            await self._pragma(writer, f"synchronous = {self.synchronous}")
            await self._pragma(writer, "secure_delete = ON")  # forgotten data is zeroed on disk
            await self._pragma(writer, "foreign_keys = OFF")
            old = await self._retry_busy(lambda: migrate(writer, self.path))
            await self._pragma(writer, "foreign_keys = ON")
            reader = await aiosqlite.connect(self.path, isolation_level=None)
        except sqlite3.DatabaseError as exc:
            await writer.close()
            raise _unusable(self.path, exc) or exc from exc
        except BaseException:
            await writer.close()
            raise
        try:
            await self._pragma(reader, f"busy_timeout = {self.busy_timeout_ms}")
            await self._pragma(reader, "foreign_keys = ON")
            await self._pragma(reader, "query_only = ON")
        except BaseException:
            await reader.close()
            await writer.close()
            raise
        self._writer, self._reader = writer, reader
        self._committer = GroupCommitWriter(
            SQLiteConnection(writer),
            begin=self._begin,
            after_commit=self._after_commit,
            clock=self._clock,
            max_batch=self.max_batch,
            name=f"store-writer:{self.path.name}",
        )
        log.info("store %s open (schema %d, was %d)", self.path, SCHEMA_VERSION, old)

    async def close(self) -> None:
        """Finish queued writes, then close both connections; safe to call twice."""
        committer, self._committer = self._committer, None
        if committer is None:
            return
        await committer.close()
        writer, reader = self._writer, self._reader
        self._writer = self._reader = None
        if reader is not None:
            await reader.close()
        if writer is not None:
            try:
                await writer.execute("PRAGMA optimize")
            except sqlite3.Error as exc:
                log.debug("PRAGMA optimize skipped: %s", exc)
            await writer.close()

    @staticmethod
    async def _pragma(conn: aiosqlite.Connection, text: str) -> Any:
        """Run one PRAGMA and return its first value (or None)."""
        rows = list(await conn.execute_fetchall(f"PRAGMA {text}"))
        return rows[0][0] if rows else None

    @staticmethod
    async def _retry_busy(fn: Callable[[], Awaitable[T]]) -> T:
        """Run fn, retrying a few times if the busy timeout still ran out (heavy contention)."""
        for attempt in range(_BUSY_RETRIES):
            try:
                return await fn()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or attempt == _BUSY_RETRIES - 1:
                    raise
                log.warning("database busy (%s); retrying", exc)
                await asyncio.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")

    # -------------------------------------------------------------- writes
    async def _begin(self) -> None:
        """Open a batch transaction, taking SQLite's write lock at once."""
        writer = self._writer
        assert writer is not None
        await self._retry_busy(lambda: writer.execute("BEGIN IMMEDIATE"))

    async def _after_commit(self) -> None:
        """Notice a WAL file deleted under the running bot."""
        if self._writer is not None and not self._wal_path.exists():
            await self._rescue_wal(self._writer)

    async def _rescue_wal(self, conn: aiosqlite.Connection) -> None:
        """The WAL file was deleted under us: copy what it held into the main file, loudly.

        SQLite keeps writing to the deleted file, which a crash would lose with every
        acknowledged rating in it; until a restart recreates it, each commit is checkpointed.
        """
        if not self._wal_lost:
            self._wal_lost = True
            log.error(
                "%s was deleted while the bot runs. Committed ratings are being copied into "
                "%s after every write until the bot restarts; restart it soon, and never delete "
                "the -wal or -shm files of a running bot.",
                self._wal_path,
                self.path,
            )
        try:
            await conn.execute_fetchall("PRAGMA wal_checkpoint(FULL)")
        except sqlite3.Error:
            log.exception("could not checkpoint %s after its WAL vanished", self.path)

    async def checkpoint(self) -> tuple[int, int, int]:
        """Copy the WAL into the database and truncate it to zero bytes, between batches.

        Deleted rows live on in old WAL frames until then; returns SQLite's (busy, wal pages,
        checkpointed pages). busy=1 means a reader held it back; nothing is lost then.
        """

        async def op(conn: SqlConnection, now: float) -> tuple[tuple[int, int, int], int]:
            rows = list(await conn.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)"))
            busy, pages, done = (int(v) for v in rows[0])
            if busy:
                log.warning("%s: WAL checkpoint was held back by a reader", self.path)
            return (busy, pages, done), 0

        return await self.submit(op, alone=True)

    # -------------------------------------------------------------------- reads
    async def read(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Rows of one query on the read connection (committed data only)."""
        if self._reader is None:
            raise RuntimeError("store is closed")
        return list(await self._reader.execute_fetchall(sql, params))
