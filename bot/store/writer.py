"""Group commit over any SQL connection: the write queue both database backends share.

Writes go through one writer task: every write waiting in the queue joins one transaction,
and each caller's coroutine returns only after that transaction has committed. A write that
fails is rolled back alone (the batch is replayed with a SAVEPOINT per write) and only its
caller sees the error. The rating change sequence grows in the same transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, Self

log = logging.getLogger(__name__)

Dialect = Literal["sqlite", "postgresql"]


class Cursor(Protocol):
    """What a write needs back from one statement."""

    @property
    def rowcount(self) -> int: ...


class SqlConnection(Protocol):
    """The connection a write op gets: `?` placeholders in both dialects."""

    dialect: Dialect

    @property
    def in_transaction(self) -> bool: ...

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Cursor: ...

    async def execute_fetchall(
        self, sql: str, parameters: Sequence[Any] = ()
    ) -> Iterable[Sequence[Any]]: ...

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> Cursor: ...


# A write op runs on the writer connection inside the batch transaction and returns
# (result, number of rating rows it changed). It may run twice (see _run_batch).
WriteOp = Callable[[SqlConnection, float], Awaitable[tuple[Any, int]]]
# Many queued writes of one kind at once: payloads in, one (result, rows changed) per payload.
BatchApply = Callable[[SqlConnection, list[Any], float], Awaitable[list[tuple[Any, int]]]]

# The change sequence lives in meta as text in PostgreSQL (next to the dataset name).
CHANGE_SEQ = "(SELECT CAST(value AS BIGINT) FROM meta WHERE key = 'change_seq')"
_BUMP_CHANGE_SEQ = "UPDATE meta SET value = CAST(value AS BIGINT) + ? WHERE key = 'change_seq'"


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
    alone: bool = False  # runs outside any transaction, between batches (maintenance)


_Outcome = tuple[bool, Any, int]  # (succeeded, result or exception, rating rows changed)


class _OpFailed(Exception):
    """Internal: an op failed during the optimistic (savepoint-free) pass."""


class GroupCommitWriter:
    """One writer task committing queued writes in batches on one connection."""

    def __init__(
        self,
        conn: SqlConnection,
        *,
        begin: Callable[[], Awaitable[object]],
        after_commit: Callable[[], Awaitable[None]] | None = None,
        clock: Callable[[], float],
        max_batch: int,
        name: str,
    ) -> None:
        """`begin` opens the batch transaction (BEGIN IMMEDIATE with retries, or BEGIN)."""
        self._conn = conn
        self._begin = begin
        self._after_commit = after_commit
        self._clock = clock
        self.max_batch = max(1, int(max_batch))
        self._queue: deque[_Pending] = deque()
        self._wake = asyncio.Event()
        self._inflight: list[_Pending] = []
        self._closing = False
        self._task = asyncio.create_task(self._write_loop(), name=name)
        self.batches_committed = 0  # group-commit transactions so far (for tests and bench)
        self.writes_committed = 0

    async def close(self) -> None:
        """Finish queued writes, then stop the task."""
        self._closing = True
        self._wake.set()
        try:
            await self._task
        except Exception:
            log.exception("store writer task had failed")

    async def submit(
        self, op: WriteOp, batch: Batchable | None = None, *, alone: bool = False
    ) -> Any:
        """Queue one write and wait until its transaction has committed.

        A caller cancelled before its batch starts writes nothing; one cancelled later may
        still have its write committed (it is simply not told). `alone` runs the op between
        batches, outside any transaction (for maintenance).
        """
        if self._closing:
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
        try:
            value, _ = await pending.op(self._conn, self._clock())
        except Exception as exc:
            if not pending.future.done():
                pending.future.set_exception(exc)
            return
        if not pending.future.done():
            pending.future.set_result(value)

    async def _run_batch(self, batch: list[_Pending]) -> None:
        """One transaction for the batch; each future gets its own result or error."""
        conn = self._conn
        try:
            await self._begin()
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
                await conn.execute(_BUMP_CHANGE_SEQ, (changed,))
            await conn.execute("COMMIT")
        except Exception as exc:
            log.error("write batch of %d failed: %r", len(batch), exc)
            if conn.in_transaction:
                try:
                    await conn.execute("ROLLBACK")
                except Exception:
                    log.exception("rollback after a failed batch failed")
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(exc)
            return
        self.batches_committed += 1
        if self._after_commit is not None:
            await self._after_commit()
        for pending, (ok, value, _) in zip(batch, outcomes, strict=True):
            if pending.future.done():
                continue
            if ok:
                self.writes_committed += 1
                pending.future.set_result(value)
            else:
                pending.future.set_exception(value)

    async def _apply(
        self, conn: SqlConnection, batch: list[_Pending], *, isolated: bool
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
                if not conn.in_transaction:  # the engine aborted the whole transaction
                    raise
                await conn.execute("ROLLBACK TO op")
                await conn.execute("RELEASE op")
                outcomes.append((False, exc, 0))
                continue
            if isolated:
                await conn.execute("RELEASE op")
            outcomes.append((True, value, changed))
        return outcomes


def _same_kind(batch: Batchable | None, first: Batchable) -> bool:
    """Whether a queued write can join `first`'s run (same batch function)."""
    return batch is not None and batch.apply == first.apply


class CommitFront:
    """The write side every engine's database shows: writes go through its group-commit
    writer (`_committer`, None while closed) and are counted."""

    _committer: GroupCommitWriter | None

    async def connect(self) -> None:
        """Open the engine's connections, migrate and start the writer (each engine's own)."""
        raise NotImplementedError

    async def close(self) -> None:
        """Stop the writer and close the connections (each engine's own)."""
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        if self._committer is None:
            await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def batches_committed(self) -> int:
        """Group-commit transactions so far (for tests and bench)."""
        return self._committer.batches_committed if self._committer else 0

    @property
    def writes_committed(self) -> int:
        """Writes acknowledged so far."""
        return self._committer.writes_committed if self._committer else 0

    async def submit(
        self, op: WriteOp, batch: Batchable | None = None, *, alone: bool = False
    ) -> Any:
        """Queue one write and wait until its transaction has committed (see GroupCommitWriter)."""
        if self._committer is None:
            raise RuntimeError("store is closed")
        return await self._committer.submit(op, batch, alone=alone)
