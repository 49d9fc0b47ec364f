"""Movies a member said they have not seen (onboarding "haven't seen it")."""

from __future__ import annotations

import aiosqlite

from bot.store.database import SQLiteDatabase
from bot.store.schema import check_movie_id, check_snowflake


class SkipRepository:
    """Per-member "haven't seen it" marks."""

    def __init__(self, db: SQLiteDatabase) -> None:
        self._db = db

    async def skip(self, user_id: int, movie_id: int) -> None:
        """Remember that a user has not seen a movie (onboarding "haven't seen it")."""
        user, movie = check_snowflake("user_id", user_id), check_movie_id(movie_id)

        async def op(conn: aiosqlite.Connection, now: float) -> tuple[None, int]:
            await conn.execute(
                "INSERT OR IGNORE INTO skips (user_id, movie_id, created_at) VALUES (?, ?, ?)",
                (user, movie, now),
            )
            return None, 0

        await self._db.submit(op)

    async def skipped(self, user_id: int) -> set[int]:
        """Movies a user said they have not seen."""
        rows = await self._db.read(
            "SELECT movie_id FROM skips WHERE user_id = ?", (check_snowflake("user_id", user_id),)
        )
        return {int(r[0]) for r in rows}
