"""Resumable rating-card sessions: one JSON document per member."""

from __future__ import annotations

import json
from typing import Any

from bot.store.backend import Database
from bot.store.schema import OnboardingSession, check_snowflake
from bot.store.writer import SqlConnection


class SessionRepository:
    """Each member's card-session document and the message showing it."""

    def __init__(self, db: Database) -> None:
        self._db = db

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

        async def op(conn: SqlConnection, now: float) -> tuple[None, int]:
            await conn.execute(
                "INSERT INTO onboarding_sessions (user_id, data, message_id, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET "
                "data = excluded.data, message_id = excluded.message_id, "
                "updated_at = excluded.updated_at",
                (user, text, message, now, now),
            )
            return None, 0

        await self._db.submit(op)

    async def load_session(self, user_id: int) -> OnboardingSession | None:
        """A user's onboarding session, or None."""
        rows = await self._db.read(
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

        async def op(conn: SqlConnection, now: float) -> tuple[bool, int]:
            cursor = await conn.execute(
                "DELETE FROM onboarding_sessions WHERE user_id = ?", (user,)
            )
            return cursor.rowcount > 0, 0

        return await self._db.submit(op)
