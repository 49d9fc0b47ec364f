"""The bot's SQLite store (aiosqlite): ratings, skips, onboarding sessions, polls and the fit log.

Writes go through one writer task that does group commit: every write waiting in the queue
joins one BEGIN IMMEDIATE transaction, and each caller's coroutine returns only after that
transaction has committed. A write that fails is rolled back alone (the batch is replayed
with a SAVEPOINT per write) and only its caller sees the error. Reads use a second,
query-only connection, so they see committed data only and never wait behind a batch.
"""

from __future__ import annotations

import asyncio
import json
import logging
import numbers
import sqlite3
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import aiosqlite
import numpy as np

from bot.store_schema import (
    MAX_MOVIE_ID,
    MAX_SNOWFLAKE,
    SCHEMA_VERSION,
    SOURCES,
    FitRecord,
    OnboardingSession,
    Poll,
    Rating,
    RatingArrays,
    RatingChange,
    SchemaTooNewError,
    check_movie_id,
    check_snowflake,
    check_source,
    check_version,
    finite_or_none,
    migrate,
    read_version,
    validate_stars,
)

log = logging.getLogger(__name__)

__all__ = [
    "MAX_MOVIE_ID",
    "MAX_SNOWFLAKE",
    "SCHEMA_VERSION",
    "SOURCES",
    "FitRecord",
    "OnboardingSession",
    "Poll",
    "Rating",
    "RatingArrays",
    "RatingChange",
    "SchemaTooNewError",
    "Store",
    "bench_writes",
    "validate_stars",
]

T = TypeVar("T")
Order = Literal["recent", "oldest", "stars", "movie"]
_ORDERS: dict[str, str] = {
    "recent": "updated_at DESC, movie_id ASC",
    "oldest": "updated_at ASC, movie_id ASC",
    "stars": "stars DESC, updated_at DESC, movie_id ASC",
    "movie": "movie_id ASC",
}
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


@dataclass(slots=True)
class _Pending:
    op: WriteOp
    future: asyncio.Future[Any]
    rating: tuple[int, int, float, str] | None = None  # set for rate(): enables the fast path


_Outcome = tuple[bool, Any, int]  # (succeeded, result or exception, rating rows changed)
_LOOKUP_CHUNK = 400  # keys per previous-stars lookup (2 SQL variables each)


class _OpFailed(Exception):
    """Internal: an op failed during the optimistic (savepoint-free) pass."""


class Store:
    """Async SQLite store; open with `await Store.open(path)` or `async with Store(path)`."""

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
        self.batches_committed = 0  # group-commit transactions so far (for tests and bench)
        self.writes_committed = 0

    # ----------------------------------------------------------------- lifecycle
    @classmethod
    async def open(cls, path: str | Path, **options: Any) -> Store:
        """Create, connect and migrate a store in one call."""
        store = cls(path, **options)
        await store.connect()
        return store

    async def __aenter__(self) -> Store:
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
        writer = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            await self._pragma(writer, f"busy_timeout = {self.busy_timeout_ms}")
            check_version(await read_version(writer), self.path)  # before changing anything
            mode = await self._retry_busy(lambda: self._pragma(writer, "journal_mode = WAL"))
            if str(mode).lower() != "wal":
                log.warning("%s: journal_mode is %s, not WAL", self.path, mode)
            await self._pragma(writer, f"synchronous = {self.synchronous}")
            await self._pragma(writer, "foreign_keys = OFF")
            old = await self._retry_busy(lambda: migrate(writer, self.path))
            await self._pragma(writer, "foreign_keys = ON")
            reader = await aiosqlite.connect(self.path, isolation_level=None)
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
    async def _submit(self, op: WriteOp, rating: tuple[int, int, float, str] | None = None) -> Any:
        """Queue one write and wait until its transaction has committed.

        A caller cancelled before its batch starts writes nothing; one cancelled later may
        still have its write committed (it is simply not told).
        """
        if self._task is None or self._closing:
            raise RuntimeError("store is closed")
        if self._task.done():
            cause = None if self._task.cancelled() else self._task.exception()
            raise RuntimeError("store writer task has stopped") from cause
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(op, future, rating))
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
                batch: list[_Pending] = []
                while self._queue and len(batch) < self.max_batch:
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

        The optimistic pass also folds each run of consecutive rate() calls into one lookup
        and one executemany, which is what makes group commit cheap per rating.
        """
        outcomes: list[_Outcome] = []
        k = 0
        while k < len(batch):
            if not isolated and batch[k].rating is not None:
                end = k
                while end < len(batch) and batch[end].rating is not None:
                    end += 1
                try:
                    outcomes.extend(await self._apply_ratings(conn, batch[k:end]))
                except Exception as exc:
                    raise _OpFailed from exc
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

    async def _apply_ratings(
        self, conn: aiosqlite.Connection, run: list[_Pending]
    ) -> list[_Outcome]:
        """Upsert a run of queued ratings in order, with each one's previous stars."""
        ratings = [p.rating for p in run if p.rating is not None]
        keys = list(dict.fromkeys((user, movie) for user, movie, _, _ in ratings))
        current: dict[tuple[int, int], float] = {}
        for start in range(0, len(keys), _LOOKUP_CHUNK):
            chunk = keys[start : start + _LOOKUP_CHUNK]
            rows = await conn.execute_fetchall(
                "SELECT r.user_id, r.movie_id, r.stars FROM (VALUES "
                + ",".join(["(?, ?)"] * len(chunk))
                + ") AS k CROSS JOIN ratings r ON r.user_id = k.column1 AND r.movie_id = k.column2",
                [part for key in chunk for part in key],
            )
            current.update({(u, m): float(s) for u, m, s in rows})
        now = self._clock()
        outcomes: list[_Outcome] = []
        for user, movie, stars, _ in ratings:
            previous = current.get((user, movie))
            current[(user, movie)] = stars
            outcomes.append((True, RatingChange(user, movie, stars, previous), 1))
        await conn.executemany(
            _UPSERT_RATING, [(u, m, s, src, now, now) for u, m, s, src in ratings]
        )
        return outcomes

    # -------------------------------------------------------------------- reads
    async def _read(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Rows of one query on the read connection (committed data only)."""
        if self._reader is None:
            raise RuntimeError("store is closed")
        return list(await self._reader.execute_fetchall(sql, params))

    # ------------------------------------------------------------------ ratings
    async def rate(
        self, user_id: int, movie_id: int, stars: float, source: str = "slash"
    ) -> RatingChange:
        """Create or replace a rating; returns after COMMIT with the previous stars if any."""
        user, movie = check_snowflake("user_id", user_id), check_movie_id(movie_id)
        value, src = validate_stars(stars), check_source(source)

        async def op(conn: aiosqlite.Connection, now: float) -> tuple[RatingChange, int]:
            rows = list(
                await conn.execute_fetchall(
                    "SELECT stars FROM ratings WHERE user_id = ? AND movie_id = ?", (user, movie)
                )
            )
            await conn.execute(_UPSERT_RATING, (user, movie, value, src, now, now))
            previous = float(rows[0][0]) if rows else None
            return RatingChange(user, movie, value, previous), 1

        return await self._submit(op, rating=(user, movie, value, src))

    async def rate_many(
        self, rows: Iterable[tuple[int, int, float]], source: str = "import"
    ) -> int:
        """Upsert (user_id, movie_id, stars) rows in one transaction; all or nothing.

        Every row is validated first, so one bad row writes nothing. A key repeated in `rows`
        keeps its last stars. Returns the number of distinct ratings written.
        """
        src = check_source(source)
        latest: dict[tuple[int, int], float] = {}
        for index, row in enumerate(rows):
            try:
                user_id, movie_id, stars = row
                key = (check_snowflake("user_id", user_id), check_movie_id(movie_id))
                latest[key] = validate_stars(stars)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"row {index}: {exc}") from None
        if not latest:
            return 0

        async def op(conn: aiosqlite.Connection, now: float) -> tuple[int, int]:
            params = [(u, m, s, src, now, now) for (u, m), s in latest.items()]
            await conn.executemany(_UPSERT_RATING, params)
            return len(params), len(params)

        return await self._submit(op)

    async def unrate(self, user_id: int, movie_id: int) -> bool:
        """Delete one rating; True if there was one."""
        user, movie = check_snowflake("user_id", user_id), check_movie_id(movie_id)

        async def op(conn: aiosqlite.Connection, now: float) -> tuple[bool, int]:
            cursor = await conn.execute(
                "DELETE FROM ratings WHERE user_id = ? AND movie_id = ?", (user, movie)
            )
            return cursor.rowcount > 0, cursor.rowcount

        return await self._submit(op)

    async def get_rating(self, user_id: int, movie_id: int) -> float | None:
        """A user's stars for a movie, or None."""
        rows = await self._read(
            "SELECT stars FROM ratings WHERE user_id = ? AND movie_id = ?",
            (check_snowflake("user_id", user_id), check_movie_id(movie_id)),
        )
        return float(rows[0][0]) if rows else None

    async def user_ratings(
        self, user_id: int, *, limit: int | None = None, offset: int = 0, order: Order = "recent"
    ) -> list[Rating]:
        """A user's ratings, newest change first by default; page with limit/offset."""
        if order not in _ORDERS:
            raise ValueError(f"order must be one of {sorted(_ORDERS)}, got {order!r}")
        if (limit is not None and limit < 0) or offset < 0:
            raise ValueError("limit and offset must not be negative")
        rows = await self._read(
            f"SELECT {_RATING_COLUMNS} FROM ratings WHERE user_id = ? "
            f"ORDER BY {_ORDERS[order]} LIMIT ? OFFSET ?",
            (check_snowflake("user_id", user_id), -1 if limit is None else int(limit), int(offset)),
        )
        return [_rating(r) for r in rows]

    async def count_user_ratings(self, user_id: int) -> int:
        """How many movies a user has rated."""
        rows = await self._read(
            "SELECT count(*) FROM ratings WHERE user_id = ?", (check_snowflake("user_id", user_id),)
        )
        return int(rows[0][0])

    async def all_ratings(self) -> RatingArrays:
        """Every Discord rating as columns: users int64, movies int32, stars float32."""
        rows = await self._read("SELECT user_id, movie_id, stars FROM ratings")
        if not rows:
            return RatingArrays(
                np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32)
            )
        users, movies, stars = zip(*rows, strict=True)
        return RatingArrays(
            np.array(users, dtype=np.int64),
            np.array(movies, dtype=np.int32),
            np.array(stars, dtype=np.float32),
        )

    async def change_seq(self) -> int:
        """Monotonic count of rating rows created, changed or deleted since the store began."""
        rows = await self._read("SELECT value FROM meta WHERE key = 'change_seq'")
        return int(rows[0][0])

    async def changes_since_fit(self) -> int:
        """Rating changes since the data of the last successful fit was taken (all if none)."""
        rows = await self._read(
            "SELECT (SELECT value FROM meta WHERE key = 'change_seq') - coalesce("
            "(SELECT change_seq FROM fits WHERE status = 'ok' ORDER BY fit_id DESC LIMIT 1), 0)"
        )
        return int(rows[0][0])

    async def stats(self) -> dict[str, int]:
        """Counts for /status: ratings, distinct raters and movies, the change sequence."""
        rows = await self._read(
            "SELECT count(*), count(DISTINCT user_id), count(DISTINCT movie_id), "
            "(SELECT value FROM meta WHERE key = 'change_seq') FROM ratings"
        )
        ratings, raters, movies, seq = rows[0]
        return {"ratings": ratings, "raters": raters, "movies": movies, "change_seq": seq}

    async def forget_user(self, user_id: int) -> int:
        """Delete everything about a user in one transaction; returns the rows removed.

        Removes their ratings, skips, onboarding session, poll votes and the polls they
        created (with those polls' options and everyone's votes on them).
        """
        user = check_snowflake("user_id", user_id)

        async def op(conn: aiosqlite.Connection, now: float) -> tuple[int, int]:
            counts: dict[str, int] = {}
            for table, column in _USER_TABLES:
                cursor = await conn.execute(f"DELETE FROM {table} WHERE {column} = ?", (user,))
                counts[table] = max(cursor.rowcount, 0)
            log.info("forgot user %d: %s", user, counts)
            return sum(counts.values()), counts["ratings"]

        return await self._submit(op)

    # ---------------------------------------------------------------- fit log
    async def fit_started(self, ratings_used: int) -> int:
        """Log a fit as running, remembering the change sequence; returns its id."""
        if isinstance(ratings_used, bool) or not isinstance(ratings_used, numbers.Integral):
            raise ValueError(f"ratings_used must be an integer, got {ratings_used!r}")
        if ratings_used < 0:
            raise ValueError(f"ratings_used must not be negative, got {ratings_used}")
        used = int(ratings_used)

        async def op(conn: aiosqlite.Connection, now: float) -> tuple[int, int]:
            rows = list(
                await conn.execute_fetchall(
                    "INSERT INTO fits (started_at, ratings_used, change_seq) VALUES "
                    "(?, ?, (SELECT value FROM meta WHERE key = 'change_seq')) RETURNING fit_id",
                    (now, used),
                )
            )
            return int(rows[0][0]), 0

        return await self._submit(op)

    async def fit_finished(
        self,
        fit_id: int,
        rmse: float | None,
        duration_s: float,
        status: Literal["ok", "failed"],
        error: str | None = None,
    ) -> None:
        """Record how a running fit ended; LookupError if it is unknown or already finished."""
        if status not in ("ok", "failed"):
            raise ValueError(f"status must be 'ok' or 'failed', got {status!r}")
        score = finite_or_none("rmse", rmse)
        seconds = finite_or_none("duration_s", duration_s)
        if seconds is None or seconds < 0:
            raise ValueError(f"duration_s must be a non-negative number, got {duration_s!r}")
        message = None if error is None else str(error)

        async def op(conn: aiosqlite.Connection, now: float) -> tuple[None, int]:
            cursor = await conn.execute(
                "UPDATE fits SET finished_at = ?, rmse = ?, duration_s = ?, status = ?, "
                "error = ? WHERE fit_id = ? AND status = 'running'",
                (now, score, seconds, status, message, int(fit_id)),
            )
            if cursor.rowcount != 1:
                raise LookupError(f"no running fit with id {fit_id}")
            return None, 0

        await self._submit(op)

    async def last_fit(self, status: str | None = None) -> FitRecord | None:
        """The most recent fit (any status, including running), or the last with `status`."""
        if status is None:
            rows = await self._read(f"SELECT {_FIT_COLUMNS} FROM fits ORDER BY fit_id DESC LIMIT 1")
        else:
            rows = await self._read(
                f"SELECT {_FIT_COLUMNS} FROM fits WHERE status = ? ORDER BY fit_id DESC LIMIT 1",
                (status,),
            )
        return FitRecord(*rows[0]) if rows else None

    # ------------------------------------------------------------------ skips
    async def skip(self, user_id: int, movie_id: int) -> None:
        """Remember that a user has not seen a movie (onboarding "haven't seen it")."""
        user, movie = check_snowflake("user_id", user_id), check_movie_id(movie_id)

        async def op(conn: aiosqlite.Connection, now: float) -> tuple[None, int]:
            await conn.execute(
                "INSERT OR IGNORE INTO skips (user_id, movie_id, created_at) VALUES (?, ?, ?)",
                (user, movie, now),
            )
            return None, 0

        await self._submit(op)

    async def skipped(self, user_id: int) -> set[int]:
        """Movies a user said they have not seen."""
        rows = await self._read(
            "SELECT movie_id FROM skips WHERE user_id = ?", (check_snowflake("user_id", user_id),)
        )
        return {int(r[0]) for r in rows}

    # -------------------------------------------------------- onboarding sessions
    async def save_session(
        self, user_id: int, data: dict[str, Any], message_id: int | None = None
    ) -> None:
        """Create or replace a user's onboarding session (data must be JSON-serializable)."""
        user = check_snowflake("user_id", user_id)
        message = None if message_id is None else check_snowflake("message_id", message_id)
        if not isinstance(data, dict):
            raise ValueError(f"session data must be a dict, got {type(data).__name__}")
        try:
            text = json.dumps(data, allow_nan=False, separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"session data is not JSON-serializable: {exc}") from None

        async def op(conn: aiosqlite.Connection, now: float) -> tuple[None, int]:
            await conn.execute(
                "INSERT INTO onboarding_sessions (user_id, data, message_id, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET "
                "data = excluded.data, message_id = excluded.message_id, "
                "updated_at = excluded.updated_at",
                (user, text, message, now, now),
            )
            return None, 0

        await self._submit(op)

    async def load_session(self, user_id: int) -> OnboardingSession | None:
        """A user's onboarding session, or None."""
        rows = await self._read(
            "SELECT user_id, data, message_id, created_at, updated_at FROM onboarding_sessions "
            "WHERE user_id = ?",
            (check_snowflake("user_id", user_id),),
        )
        if not rows:
            return None
        user, text, message, created, updated = rows[0]
        return OnboardingSession(user, json.loads(text), message, created, updated)

    async def end_session(self, user_id: int) -> bool:
        """Delete a user's onboarding session; True if there was one."""
        user = check_snowflake("user_id", user_id)

        async def op(conn: aiosqlite.Connection, now: float) -> tuple[bool, int]:
            cursor = await conn.execute(
                "DELETE FROM onboarding_sessions WHERE user_id = ?", (user,)
            )
            return cursor.rowcount > 0, 0

        return await self._submit(op)

    # ------------------------------------------------------------------- polls
    async def create_poll(
        self,
        guild_id: int,
        channel_id: int,
        creator_id: int,
        movie_ids: Sequence[int],
        strategy: str,
    ) -> int:
        """Create an open poll over distinct movies (in the given order); returns its id."""
        guild = check_snowflake("guild_id", guild_id)
        channel = check_snowflake("channel_id", channel_id)
        creator = check_snowflake("creator_id", creator_id)
        movies = [check_movie_id(m) for m in movie_ids]
        if not movies:
            raise ValueError("a poll needs at least one movie")
        if len(set(movies)) != len(movies):
            raise ValueError(f"poll movies must be distinct, got {movies}")
        if not isinstance(strategy, str) or not strategy:
            raise ValueError(f"strategy must be a non-empty string, got {strategy!r}")

        async def op(conn: aiosqlite.Connection, now: float) -> tuple[int, int]:
            rows = list(
                await conn.execute_fetchall(
                    "INSERT INTO polls (guild_id, channel_id, creator_id, strategy, created_at) "
                    "VALUES (?, ?, ?, ?, ?) RETURNING poll_id",
                    (guild, channel, creator, strategy, now),
                )
            )
            poll_id = int(rows[0][0])
            await conn.executemany(
                "INSERT INTO poll_options (poll_id, movie_id, position) VALUES (?, ?, ?)",
                [(poll_id, m, k) for k, m in enumerate(movies)],
            )
            return poll_id, 0

        return await self._submit(op)

    async def set_poll_message(self, poll_id: int, message_id: int) -> None:
        """Remember which Discord message shows the poll; LookupError if no such poll."""
        message = check_snowflake("message_id", message_id)

        async def op(conn: aiosqlite.Connection, now: float) -> tuple[None, int]:
            cursor = await conn.execute(
                "UPDATE polls SET message_id = ? WHERE poll_id = ?", (message, int(poll_id))
            )
            if cursor.rowcount != 1:
                raise LookupError(f"no poll with id {poll_id}")
            return None, 0

        await self._submit(op)

    async def vote(self, poll_id: int, user_id: int, movie_id: int) -> int | None:
        """Cast or change a member's one vote; returns the movie they voted for before, if any.

        LookupError for an unknown poll, ValueError if it is closed or the movie is not an option.
        """
        user, movie = check_snowflake("user_id", user_id), check_movie_id(movie_id)
        pid = int(poll_id)

        async def op(conn: aiosqlite.Connection, now: float) -> tuple[int | None, int]:
            rows = list(
                await conn.execute_fetchall(
                    "SELECT closed_at, EXISTS (SELECT 1 FROM poll_options o "
                    "WHERE o.poll_id = p.poll_id AND o.movie_id = ?), "
                    "(SELECT movie_id FROM poll_votes v WHERE v.poll_id = p.poll_id "
                    "AND v.user_id = ?) FROM polls p WHERE p.poll_id = ?",
                    (movie, user, pid),
                )
            )
            if not rows:
                raise LookupError(f"no poll with id {pid}")
            closed_at, is_option, previous = rows[0]
            if closed_at is not None:
                raise ValueError(f"poll {pid} is closed")
            if not is_option:
                raise ValueError(f"movie {movie} is not an option in poll {pid}")
            await conn.execute(
                "INSERT INTO poll_votes (poll_id, user_id, movie_id, voted_at) VALUES "
                "(?, ?, ?, ?) ON CONFLICT (poll_id, user_id) DO UPDATE SET "
                "movie_id = excluded.movie_id, voted_at = excluded.voted_at",
                (pid, user, movie, now),
            )
            return (None if previous is None else int(previous)), 0

        return await self._submit(op)

    async def tally(self, poll_id: int) -> dict[int, int]:
        """Votes per option (zeros included, in option order); LookupError if no such poll."""
        rows = await self._read(
            "SELECT o.movie_id, count(v.user_id) FROM poll_options o LEFT JOIN poll_votes v "
            "ON v.poll_id = o.poll_id AND v.movie_id = o.movie_id WHERE o.poll_id = ? "
            "GROUP BY o.movie_id ORDER BY o.position",
            (int(poll_id),),
        )
        if not rows:
            raise LookupError(f"no poll with id {poll_id}")
        return {int(m): int(n) for m, n in rows}

    async def get_poll(self, poll_id: int) -> Poll | None:
        """A poll with its options, or None."""
        polls = await self._polls("WHERE poll_id = ?", (int(poll_id),))
        return polls[0] if polls else None

    async def open_polls(self) -> list[Poll]:
        """Polls still open (to re-attach their buttons after a restart), oldest first."""
        return await self._polls("WHERE closed_at IS NULL", ())

    async def close_poll(self, poll_id: int) -> Poll:
        """Close a poll (idempotent: keeps the first closing time); LookupError if unknown."""
        pid = int(poll_id)

        async def op(conn: aiosqlite.Connection, now: float) -> tuple[None, int]:
            cursor = await conn.execute(
                "UPDATE polls SET closed_at = coalesce(closed_at, ?) WHERE poll_id = ?",
                (now, pid),
            )
            if cursor.rowcount != 1:
                raise LookupError(f"no poll with id {pid}")
            return None, 0

        await self._submit(op)
        poll = await self.get_poll(pid)
        if poll is None:  # deleted by forget_user in between
            raise LookupError(f"no poll with id {pid}")
        return poll

    async def _polls(self, where: str, params: Sequence[Any]) -> list[Poll]:
        """Polls matching a WHERE clause, with their options, by id."""
        rows = await self._read(
            "SELECT poll_id, guild_id, channel_id, creator_id, message_id, strategy, "
            "created_at, closed_at, (SELECT json_group_array(movie_id) FROM "
            "(SELECT movie_id FROM poll_options o WHERE o.poll_id = p.poll_id "
            f"ORDER BY position)) FROM polls p {where} ORDER BY poll_id",
            params,
        )
        return [
            Poll(pid, guild, channel, creator, message, tuple(json.loads(ids)), strategy, c, x)
            for pid, guild, channel, creator, message, strategy, c, x, ids in rows
        ]


# ------------------------------------------------------------------------- SQL bits
_UPSERT_RATING = (
    "INSERT INTO ratings (user_id, movie_id, stars, source, created_at, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, movie_id) DO UPDATE SET "
    "stars = excluded.stars, source = excluded.source, updated_at = excluded.updated_at"
)
_RATING_COLUMNS = "user_id, movie_id, stars, source, created_at, updated_at"
_FIT_COLUMNS = (
    "fit_id, started_at, finished_at, ratings_used, change_seq, rmse, duration_s, status, error"
)
# Everything keyed by a user: forget_user() deletes from each (polls cascade to their
# options and votes). Ratings must stay first-class here: their count feeds change_seq.
_USER_TABLES = (
    ("ratings", "user_id"),
    ("skips", "user_id"),
    ("onboarding_sessions", "user_id"),
    ("poll_votes", "user_id"),
    ("polls", "creator_id"),
)


def _rating(row: Sequence[Any]) -> Rating:
    """A Rating from a _RATING_COLUMNS row."""
    user, movie, stars, source, created, updated = row
    return Rating(int(user), int(movie), float(stars), source, float(created), float(updated))


# ---------------------------------------------------------------------- benchmark
_STARS = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0)
_BASE_USER = 1_100_000_000_000_000_000  # snowflake-sized ids, unlikely to clash with real ones


async def bench_writes(
    path: str | Path, writers: int = 50, total: int = 5000, **store_options: Any
) -> float:
    """Acknowledged ratings per second with `writers` concurrent users, each awaiting every rate.

    Each writer rates its own movies one after the other (like a user clicking through
    onboarding), so the only parallelism is across writers: exactly what group commit batches.
    """
    if writers < 1 or total < 1:
        raise ValueError("writers and total must be at least 1")
    per_writer = [total // writers + (1 if k < total % writers else 0) for k in range(writers)]

    async def one_writer(store: Store, k: int) -> None:
        for j in range(per_writer[k]):
            await store.rate(_BASE_USER + k, j + 1, _STARS[(j + k) % len(_STARS)], "import")

    async with Store(path, **store_options) as store:
        batches_before = store.batches_committed
        start = time.perf_counter()
        await asyncio.gather(*(one_writer(store, k) for k in range(writers)))
        seconds = time.perf_counter() - start
        batches = store.batches_committed - batches_before
    rate = total / seconds if seconds > 0 else float("inf")
    log.info(
        "bench_writes: %d ratings by %d writers in %.3fs = %.0f/s (%d commits, %.1f per commit)",
        total,
        writers,
        seconds,
        rate,
        batches,
        total / max(batches, 1),
    )
    return rate
