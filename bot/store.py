"""The bot's SQLite store (aiosqlite): ratings, skips, onboarding sessions, polls and the fit log.

Store is assembled from StoreCore (bot.store_writer: connections, migrations and the
group-commit writer), SocialStoreMixin (bot.store_social: skips, onboarding sessions, polls)
and the ratings and fit-log operations defined here.
"""

from __future__ import annotations

import asyncio
import logging
import numbers
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

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
    finite_or_none,
    validate_stars,
)
from bot.store_social import SocialStoreMixin
from bot.store_writer import _UPSERT_RATING, StoreCore

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

Order = Literal["recent", "oldest", "stars", "movie"]
_ORDERS: dict[str, str] = {
    "recent": "updated_at DESC, movie_id ASC",
    "oldest": "updated_at ASC, movie_id ASC",
    "stars": "stars DESC, updated_at DESC, movie_id ASC",
    "movie": "movie_id ASC",
}


class Store(SocialStoreMixin, StoreCore):
    """Async SQLite store; open with `await Store.open(path)` or `async with Store(path)`."""

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

    async def bind_dataset(self, dataset: str) -> str:
        """Tie this database to one MovieLens dataset (movie ids differ between them).

        The first call records `dataset`; every call returns the recorded name.
        """

        async def op(conn: aiosqlite.Connection, now: float) -> tuple[None, int]:
            await conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('dataset', ?)", (str(dataset),)
            )
            return None, 0

        await self._submit(op)
        rows = await self._read("SELECT value FROM meta WHERE key = 'dataset'")
        return str(rows[0][0])

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


# ------------------------------------------------------------------------- SQL bits
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
