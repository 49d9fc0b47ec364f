"""Movies a member said they have not seen (onboarding "haven't seen it")."""

from __future__ import annotations

from bot.store.backend import Database
from bot.store.schema import check_movie_id, check_snowflake
from bot.store.writer import SqlConnection


class SkipRepository:
    """Per-member "haven't seen it" marks."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def skip(self, user_id: int, movie_id: int) -> None:
        """Remember that a user has not seen a movie (onboarding "haven't seen it")."""
        user, movie = check_snowflake("user_id", user_id), check_movie_id(movie_id)

        async def op(conn: SqlConnection, now: float) -> tuple[None, int]:
            await conn.execute(
                "INSERT INTO skips (user_id, movie_id, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
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
