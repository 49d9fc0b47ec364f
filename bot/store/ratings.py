"""Members' ratings: upserts (batched by group commit), reads, and the change sequence."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from bot.store.backend import Database, Order
from bot.store.schema import (
    Rating,
    RatingArrays,
    RatingChange,
    check_movie_id,
    check_snowflake,
    check_source,
    validate_stars,
)
from bot.store.sql import NO_LIMIT
from bot.store.writer import CHANGE_SEQ, Batchable, SqlConnection

log = logging.getLogger(__name__)

_ORDERS: dict[str, str] = {
    "recent": "updated_at DESC, movie_id ASC",
    "oldest": "updated_at ASC, movie_id ASC",
    "stars": "stars DESC, updated_at DESC, movie_id ASC",
    "movie": "movie_id ASC",
}
_RATING_COLUMNS = "user_id, movie_id, stars, source, created_at, updated_at"
UPSERT_RATING = (
    "INSERT INTO ratings (user_id, movie_id, stars, source, created_at, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, movie_id) DO UPDATE SET "
    "stars = excluded.stars, source = excluded.source, updated_at = excluded.updated_at"
)
# PostgreSQL: other processes may write the same keys at once, so new keys are claimed by
# inserting them and existing rows are locked before their previous stars are read.
_CLAIM_NEW_PG = (
    "INSERT INTO ratings (user_id, movie_id, stars, source, created_at, updated_at) "
    "SELECT u, m, s, src, ?::float8, ?::float8 "
    "FROM unnest(?::bigint[], ?::bigint[], ?::float8[], ?::text[]) AS k (u, m, s, src) "
    "ORDER BY u, m ON CONFLICT DO NOTHING RETURNING user_id, movie_id"
)
_LOCK_PREVIOUS_PG = (
    "SELECT r.user_id, r.movie_id, r.stars FROM ratings r "
    "JOIN unnest(?::bigint[], ?::bigint[]) AS k (u, m) ON r.user_id = k.u AND r.movie_id = k.m "
    "ORDER BY r.user_id, r.movie_id FOR UPDATE OF r"
)
_LOOKUP_CHUNK = 400  # keys per previous-stars lookup (2 SQL variables each)
RatingRow = tuple[int, int, float, str]  # (user, movie, stars, source), already validated


class RatingRepository:
    """Members' ratings and the change sequence that counts rating changes for refits."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def rate(
        self, user_id: int, movie_id: int, stars: float, source: str = "slash"
    ) -> RatingChange:
        """Create or replace a rating; returns after COMMIT with the previous stars if any."""
        user, movie = check_snowflake("user_id", user_id), check_movie_id(movie_id)
        value, src = validate_stars(stars), check_source(source)

        payload = (user, movie, value, src)

        async def op(conn: SqlConnection, now: float) -> tuple[RatingChange, int]:
            return (await _upsert_ratings(conn, [payload], now))[0]

        return await self._db.submit(op, Batchable(_upsert_ratings, payload))

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

        async def op(conn: SqlConnection, now: float) -> tuple[int, int]:
            params = [(u, m, s, src, now, now) for (u, m), s in latest.items()]
            await conn.executemany(UPSERT_RATING, params)
            return len(params), len(params)

        return await self._db.submit(op)

    async def unrate(self, user_id: int, movie_id: int) -> bool:
        """Delete one rating; True if there was one."""
        user, movie = check_snowflake("user_id", user_id), check_movie_id(movie_id)

        async def op(conn: SqlConnection, now: float) -> tuple[bool, int]:
            cursor = await conn.execute(
                "DELETE FROM ratings WHERE user_id = ? AND movie_id = ?", (user, movie)
            )
            return cursor.rowcount > 0, cursor.rowcount

        return await self._db.submit(op)

    async def get_rating(self, user_id: int, movie_id: int) -> float | None:
        """A user's stars for a movie, or None."""
        rows = await self._db.read(
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
        rows = await self._db.read(
            f"SELECT {_RATING_COLUMNS} FROM ratings WHERE user_id = ? "
            f"ORDER BY {_ORDERS[order]} LIMIT ? OFFSET ?",
            (
                check_snowflake("user_id", user_id),
                NO_LIMIT if limit is None else int(limit),
                int(offset),
            ),
        )
        return [_rating(r) for r in rows]

    async def movie_ratings(self, movie_id: int) -> tuple[list[int], list[float]]:
        """Who rated one movie and with how many stars (for an item fold-in)."""
        rows = await self._db.read(
            "SELECT user_id, stars FROM ratings WHERE movie_id = ? ORDER BY user_id",
            (check_movie_id(movie_id),),
        )
        return [int(u) for u, _ in rows], [float(s) for _, s in rows]

    async def count_user_ratings(self, user_id: int) -> int:
        """How many movies a user has rated."""
        rows = await self._db.read(
            "SELECT count(*) FROM ratings WHERE user_id = ?", (check_snowflake("user_id", user_id),)
        )
        return int(rows[0][0])

    async def all_ratings(self) -> RatingArrays:
        """Every Discord rating as columns: users int64, movies int32, stars float32."""
        rows = await self._db.read("SELECT user_id, movie_id, stars FROM ratings")
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
        rows = await self._db.read(f"SELECT {CHANGE_SEQ}")
        return int(rows[0][0])

    async def stats(self) -> dict[str, int]:
        """Counts for /status: ratings, distinct raters and movies, the change sequence."""
        rows = await self._db.read(
            "SELECT count(*), count(DISTINCT user_id), count(DISTINCT movie_id), "
            f"{CHANGE_SEQ} FROM ratings"
        )
        ratings, raters, movies, seq = rows[0]
        return {"ratings": ratings, "raters": raters, "movies": movies, "change_seq": seq}


async def _upsert_ratings(
    conn: SqlConnection, ratings: list[RatingRow], now: float
) -> list[tuple[RatingChange, int]]:
    """Upsert ratings in order with one previous-stars lookup and one executemany."""
    keys = list(dict.fromkeys((user, movie) for user, movie, _, _ in ratings))
    current: dict[tuple[int, int], float] = {}
    if conn.dialect == "postgresql":
        current.update(await _lock_previous_pg(conn, ratings, now))
    else:
        for start in range(0, len(keys), _LOOKUP_CHUNK):
            chunk = keys[start : start + _LOOKUP_CHUNK]
            rows = await conn.execute_fetchall(
                "SELECT r.user_id, r.movie_id, r.stars FROM (VALUES "
                + ",".join(["(?, ?)"] * len(chunk))
                + ") AS k CROSS JOIN ratings r ON r.user_id = k.column1 AND r.movie_id = k.column2",
                [part for key in chunk for part in key],
            )
            current.update({(u, m): float(s) for u, m, s in rows})
    results: list[tuple[RatingChange, int]] = []
    for user, movie, stars, _ in ratings:
        previous = current.get((user, movie))
        current[(user, movie)] = stars
        results.append((RatingChange(user, movie, stars, previous), 1))
    await conn.executemany(UPSERT_RATING, [(u, m, s, src, now, now) for u, m, s, src in ratings])
    return results


async def _lock_previous_pg(
    conn: SqlConnection, ratings: list[RatingRow], now: float
) -> dict[tuple[int, int], float]:
    """Previous stars of the keys that already existed, their rows locked until COMMIT; keys
    new to the table are inserted first (with their first stars), so no other writer can
    also create them."""
    first: dict[tuple[int, int], RatingRow] = {}
    for row in ratings:
        first.setdefault((row[0], row[1]), row)
    new = first.values()
    claimed = await conn.execute_fetchall(
        _CLAIM_NEW_PG,
        (now, now, [r[0] for r in new], [r[1] for r in new], [r[2] for r in new],
         [r[3] for r in new]),
    )  # fmt: skip
    created = {(int(u), int(m)) for u, m in claimed}
    existing = [key for key in first if key not in created]
    if not existing:
        return {}
    rows = await conn.execute_fetchall(
        _LOCK_PREVIOUS_PG, ([u for u, _ in existing], [m for _, m in existing])
    )
    return {(int(u), int(m)): float(s) for u, m, s in rows}


def _rating(row: Sequence[Any]) -> Rating:
    """A Rating from a _RATING_COLUMNS row."""
    user, movie, stars, source, created, updated = row
    return Rating(int(user), int(movie), float(stars), source, float(created), float(updated))
