"""The SQLite database under every repository: two connections, migrations, group commit.

Writes go through one writer task that does group commit: every write waiting in the queue
joins one BEGIN IMMEDIATE transaction, and each caller's coroutine returns only after that
transaction has committed. A write that fails is rolled back alone (the batch is replayed
with a SAVEPOINT per write) and only its caller sees the error. Reads use a second,
query-only connection, so they see committed data only and never wait behind a batch.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Self, TypeVar

import aiosqlite

from bot.store.schema import SCHEMA_VERSION, check_version, migrate, read_version

log = logging.getLogger(__name__)

T = TypeVar("T")
_BUSY_RETRIES = 5


def _is_busy(exc: BaseException) -> bool:
    """Whether an sqlite error is a lock timeout worth retrying."""
    return isinstance(exc, sqlite3.OperationalError) and (
        "locked" in str(exc) or "busy" in str(exc)
    )


# --------------------------------------------------------------------- write queue
# A write op runs on the writer connection inside the batch transaction and returns
# (result, number of rating rows it changed). It may run twice (see _run_batch).
WriteOp = Callable[[aiosqlite.Connection, float], Awaitable[tuple[Any, int]]]
# Many queued writes of one kind at once: payloads in, one (result, rows changed) per payload.
BatchApply = Callable[[aiosqlite.Connection, list[Any], float], Awaitable[list[tuple[Any, int]]]]


@dataclass(frozen=True, slots=True)
class Batchable:
    """A write that may join a run of writes of the same kind (same `apply`) in one call."""

    apply: BatchApply
    payload: Any


@dataclass(slots=True)
class _Pending:
    op: WriteOp
    future: asyncio.Future[Any]
    batch: Batchable | None = None
    alone: bool = False  # runs outside any transaction, between batches (checkpoints)


_Outcome = tuple[bool, Any, int]  # (succeeded, result or exception, rating rows changed)


class _OpFailed(Exception):
    """Internal: an op failed during the optimistic (savepoint-free) pass."""


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


class SQLiteDatabase:
    """Connections, migrations, the group-commit writer and reads; repositories add the SQL."""

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
        self._queue: deque[_Pending] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._inflight: list[_Pending] = []
        self._closing = False
        self._wal_path = self.path.with_name(self.path.name + "-wal")
        self._wal_lost = False
        self.batches_committed = 0  # group-commit transactions so far (for tests and bench)
        self.writes_committed = 0

    # ----------------------------------------------------------------- lifecycle
    @classmethod
    async def open(cls, path: str | Path, **options: Any) -> Self:
        """Create, connect and migrate a store in one call."""
        store = cls(path, **options)
        await store.connect()
        return store

    async def __aenter__(self) -> Self:
        if self._task is None:
            await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect(self) -> None:
        """Open both connections, apply migrations, start the writer task."""
        if self._task is not None:
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
        self._closing = False
        self._task = asyncio.create_task(self._write_loop(), name=f"store-writer:{self.path.name}")
        log.info("store %s open (schema %d, was %d)", self.path, SCHEMA_VERSION, old)

    async def close(self) -> None:
        """Finish queued writes, then close both connections; safe to call twice."""
        if self._task is None:
            return
        self._closing = True
        self._wake.set()
        try:
            await self._task
        except Exception:
            log.exception("store writer task had failed")
        self._task = None
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

    # -------------------------------------------------------------- writer task
    async def submit(
        self, op: WriteOp, batch: Batchable | None = None, *, alone: bool = False
    ) -> Any:
        """Queue one write and wait until its transaction has committed.

        A caller cancelled before its batch starts writes nothing; one cancelled later may
        still have its write committed (it is simply not told). `alone` runs the op between
        batches, outside any transaction (for checkpoints).
        """
        if self._task is None or self._closing:
            raise RuntimeError("store is closed")
        if self._task.done():
            cause = None if self._task.cancelled() else self._task.exception()
            raise RuntimeError("store writer task has stopped") from cause
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(op, future, batch, alone))
        self._wake.set()
        return await future

    async def _write_loop(self) -> None:
        """Take everything queued (up to max_batch), commit it as one transaction, repeat."""
        try:
            while True:
                if not self._queue:
                    if self._closing:
                        return
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                if self._queue[0].alone:
                    await self._run_alone(self._queue.popleft())
                    continue
                batch: list[_Pending] = []
                while self._queue and len(batch) < self.max_batch and not self._queue[0].alone:
                    pending = self._queue.popleft()
                    if not pending.future.cancelled():  # the caller gave up before we began
                        batch.append(pending)
                if batch:
                    self._inflight = batch
                    await self._run_batch(batch)
                    self._inflight = []
        except BaseException as exc:
            # Cancelled (event loop shutting down) or a bug: nobody may wait forever.
            error = RuntimeError(f"store writer stopped: {exc!r}")
            for pending in [*self._inflight, *self._queue]:
                if not pending.future.done():
                    pending.future.set_exception(error)
            self._inflight = []
            self._queue.clear()
            raise

    async def _run_alone(self, pending: _Pending) -> None:
        """Run one maintenance op on the writer connection outside any transaction."""
        if pending.future.cancelled():
            return
        assert self._writer is not None
        try:
            value, _ = await pending.op(self._writer, self._clock())
        except Exception as exc:
            if not pending.future.done():
                pending.future.set_exception(exc)
            return
        if not pending.future.done():
            pending.future.set_result(value)

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

        async def op(conn: aiosqlite.Connection, now: float) -> tuple[tuple[int, int, int], int]:
            rows = list(await conn.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)"))
            busy, pages, done = (int(v) for v in rows[0])
            if busy:
                log.warning("%s: WAL checkpoint was held back by a reader", self.path)
            return (busy, pages, done), 0

        return await self.submit(op, alone=True)

    async def _run_batch(self, batch: list[_Pending]) -> None:
        """One transaction for the batch; each future gets its own result or error."""
        conn = self._writer
        assert conn is not None
        try:
            await self._retry_busy(lambda: conn.execute("BEGIN IMMEDIATE"))
            await conn.execute("SAVEPOINT batch")
            try:
                outcomes = await self._apply(conn, batch, isolated=False)
            except _OpFailed:
                # Undo the optimistic pass and replay with one savepoint per write.
                await conn.execute("ROLLBACK TO batch")
                outcomes = await self._apply(conn, batch, isolated=True)
            await conn.execute("RELEASE batch")
            changed = sum(n for ok, _, n in outcomes if ok)
            if changed:
                await conn.execute(
                    "UPDATE meta SET value = value + ? WHERE key = 'change_seq'", (changed,)
                )
            await conn.execute("COMMIT")
        except Exception as exc:
            log.error("write batch of %d failed: %r", len(batch), exc)
            if conn.in_transaction:
                try:
                    await conn.execute("ROLLBACK")
                except sqlite3.Error:
                    log.exception("rollback after a failed batch failed")
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(exc)
            return
        self.batches_committed += 1
        if not self._wal_path.exists():
            await self._rescue_wal(conn)
        for pending, (ok, value, _) in zip(batch, outcomes, strict=True):
            if pending.future.done():
                continue
            if ok:
                self.writes_committed += 1
                pending.future.set_result(value)
            else:
                pending.future.set_exception(value)

    async def _apply(
        self, conn: aiosqlite.Connection, batch: list[_Pending], *, isolated: bool
    ) -> list[_Outcome]:
        """Run each op; optimistic pass raises _OpFailed, isolated pass contains each failure.

        The optimistic pass also hands each run of consecutive batchable writes of one kind to
        their `apply` at once, which is what makes group commit cheap per rating.
        """
        outcomes: list[_Outcome] = []
        k = 0
        while k < len(batch):
            first = batch[k].batch
            if not isolated and first is not None:
                end = k
                while end < len(batch) and _same_kind(batch[end].batch, first):
                    end += 1
                payloads = [p.batch.payload for p in batch[k:end] if p.batch is not None]
                try:
                    results = await first.apply(conn, payloads, self._clock())
                except Exception as exc:
                    raise _OpFailed from exc
                outcomes.extend((True, value, changed) for value, changed in results)
                k = end
                continue
            pending = batch[k]
            k += 1
            if isolated:
                await conn.execute("SAVEPOINT op")
            try:
                value, changed = await pending.op(conn, self._clock())
            except Exception as exc:
                if not isolated:
                    raise _OpFailed from exc
                if not conn.in_transaction:  # sqlite aborted the whole transaction
                    raise
                await conn.execute("ROLLBACK TO op")
                await conn.execute("RELEASE op")
                outcomes.append((False, exc, 0))
                continue
            if isolated:
                await conn.execute("RELEASE op")
            outcomes.append((True, value, changed))
        return outcomes

    # -------------------------------------------------------------------- reads
    async def read(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Rows of one query on the read connection (committed data only)."""
        if self._reader is None:
            raise RuntimeError("store is closed")
        return list(await self._reader.execute_fetchall(sql, params))


def _same_kind(batch: Batchable | None, first: Batchable) -> bool:
    """Whether a queued write can join `first`'s run (same batch function)."""
    return batch is not None and batch.apply == first.apply
