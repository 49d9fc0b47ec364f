"""Imported viewing history: one member's ratings, list entries and new club movies from a
file, written in one transaction (all or nothing) that only changes what differs."""

from __future__ import annotations

from bot.store.backend import Database
from bot.store.club_movies import insert_club_movie
from bot.store.ratings import UPSERT_RATING
from bot.store.schema import (
    HistoryBatch,
    HistoryWritten,
    check_list,
    check_movie_id,
    check_snowflake,
    validate_stars,
)
from bot.store.writer import SqlConnection

IMPORT_SOURCE = "import"


class HistoryRepository:
    """Applies a `HistoryBatch`; importing the same batch twice writes nothing the second time."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def apply(self, batch: HistoryBatch) -> HistoryWritten:
        """Write a member's imported history in one transaction; ValueError (nothing written)
        if any part of it is invalid.

        A rating the member gave in Discord (source other than "import") is kept unless
        `batch.overwrite`; stars equal to the stored ones are left alone (no change counted).
        """
        user = check_snowflake("user_id", batch.user_id)
        ratings = {check_movie_id(m): validate_stars(s) for m, s in batch.ratings.items()}
        lists = [(check_list(k), check_movie_id(m)) for k, m in batch.lists]
        for movie in batch.new_movies:
            if movie.stars is not None:
                validate_stars(movie.stars)
            for kind in movie.lists:
                check_list(kind)

        async def op(conn: SqlConnection, now: float) -> tuple[HistoryWritten, int]:
            wanted = dict(ratings)
            entries = list(lists)
            created: list[int] = []
            for movie in batch.new_movies:
                movie_id = await insert_club_movie(conn, movie.title, movie.genres, user, now)
                created.append(movie_id)
                if movie.stars is not None:
                    wanted[movie_id] = movie.stars
                entries += [(kind, movie_id) for kind in movie.lists]
            current = {
                int(m): (float(s), str(src))
                for m, s, src in await conn.execute_fetchall(
                    "SELECT movie_id, stars, source FROM ratings WHERE user_id = ?", (user,)
                )
            }
            writes: list[tuple[int, int, float, str, float, float]] = []
            added = updated = unchanged = kept = 0
            for movie_id, stars in wanted.items():
                known = current.get(movie_id)
                if known is None:
                    added += 1
                elif known[0] == stars:
                    unchanged += 1
                    continue
                elif known[1] != IMPORT_SOURCE and not batch.overwrite:
                    kept += 1
                    continue
                else:
                    updated += 1
                writes.append((user, movie_id, stars, IMPORT_SOURCE, now, now))
            if writes:
                await conn.executemany(UPSERT_RATING, writes)
            listed = 0
            for kind in dict.fromkeys(k for k, _ in entries):  # in the order the batch gives
                movies = [m for k, m in entries if k == kind]
                for other in batch.leaving.get(kind, ()):
                    await conn.executemany(
                        "DELETE FROM member_lists WHERE user_id = ? AND list = ? AND movie_id = ?",
                        [(user, other, m) for m in movies],
                    )
                for m in movies:
                    cursor = await conn.execute(
                        "INSERT INTO member_lists (user_id, list, movie_id, source, created_at) "
                        "VALUES (?, ?, ?, 'import', ?) ON CONFLICT DO NOTHING",
                        (user, kind, m, now),
                    )
                    listed += max(cursor.rowcount, 0)
            written = HistoryWritten(added, updated, unchanged, kept, listed, tuple(created))
            return written, written.changed

        return await self._db.submit(op)
