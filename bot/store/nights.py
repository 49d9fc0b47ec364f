"""Movie nights scheduled as Discord events: their timeline, attendees and after-movie answers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from bot.store.backend import Database
from bot.store.schema import (
    NIGHT_STATUSES,
    Night,
    WatchedNight,
    check_movie_id,
    check_snowflake,
    finite_or_none,
    validate_stars,
)
from bot.store.writer import SqlConnection

_COLUMNS = (
    "night_id, guild_id, channel_id, poll_id, movie_id, creator_id, event_id, place, "
    "starts_at, ends_at, status, reminded_at, watched_at, asked_at, created_at"
)
# A night's timeline moves forward only: scheduled -> active -> completed, or -> canceled.
_FROM = {
    "active": ("scheduled",),
    "completed": ("scheduled", "active"),
    "canceled": ("scheduled", "active"),
}


def _night(row: Sequence[Any]) -> Night:
    return Night(*row)


class NightRepository:
    """Scheduled nights, each at most once per poll and per Discord event."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add_night(
        self,
        guild_id: int,
        channel_id: int,
        poll_id: int | None,
        movie_id: int,
        creator_id: int,
        event_id: int,
        place: str,
        starts_at: float,
        ends_at: float,
    ) -> Night:
        """Record a night whose Discord event exists; ValueError if that poll already has one."""
        guild = check_snowflake("guild_id", guild_id)
        channel = check_snowflake("channel_id", channel_id)
        creator = check_snowflake("creator_id", creator_id)
        event = check_snowflake("event_id", event_id)
        movie = check_movie_id(movie_id)
        start, end = finite_or_none("starts_at", starts_at), finite_or_none("ends_at", ends_at)
        if start is None or end is None or end <= start:
            raise ValueError("a night must end after it starts")
        if not isinstance(place, str) or not place.strip():
            raise ValueError("a night needs a place")

        async def op(conn: SqlConnection, now: float) -> tuple[Night, int]:
            if poll_id is not None:
                taken = list(
                    await conn.execute_fetchall(
                        "SELECT night_id FROM nights WHERE poll_id = ?", (int(poll_id),)
                    )
                )
                if taken:
                    raise ValueError(f"poll {poll_id} already has night {taken[0][0]}")
            rows = list(
                await conn.execute_fetchall(
                    "INSERT INTO nights (guild_id, channel_id, poll_id, movie_id, creator_id, "
                    "event_id, place, starts_at, ends_at, created_at) VALUES "
                    f"(?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING {_COLUMNS}",
                    (guild, channel, poll_id, movie, creator, event, place, start, end, now),
                )
            )
            return _night(rows[0]), 0

        return await self._db.submit(op)

    async def get_night(self, night_id: int) -> Night | None:
        """A night by id, or None."""
        found = await self._nights("WHERE night_id = ?", (int(night_id),))
        return found[0] if found else None

    async def night_for_poll(self, poll_id: int) -> Night | None:
        """The night scheduled from a poll, or None."""
        found = await self._nights("WHERE poll_id = ?", (int(poll_id),))
        return found[0] if found else None

    async def night_for_event(self, event_id: int) -> Night | None:
        """The night behind a Discord event, or None (not one of ours)."""
        found = await self._nights("WHERE event_id = ?", (int(event_id),))
        return found[0] if found else None

    async def unfinished_nights(self) -> list[Night]:
        """Nights whose timeline still has steps: not over, or over but not yet asked about."""
        return await self._nights(
            "WHERE status IN ('scheduled', 'active') OR (status = 'completed' AND "
            "asked_at IS NULL) ORDER BY starts_at, night_id",
            (),
        )

    async def move_night(self, night_id: int, status: str) -> bool:
        """Move a night forward to `status` (True), or leave it (False: already there or past).

        Completing a night marks its movie watched; starting or ending one marks its reminder
        as no longer needed.
        """
        if status not in NIGHT_STATUSES or status not in _FROM:
            raise ValueError(f"a night cannot move to {status!r}")
        allowed = _FROM[status]

        async def op(conn: SqlConnection, now: float) -> tuple[bool, int]:
            marks = "reminded_at = coalesce(reminded_at, ?)"
            params: list[Any] = [status, now]
            if status == "completed":
                marks += ", watched_at = ?"
                params.append(now)
            cursor = await conn.execute(
                f"UPDATE nights SET status = ?, {marks} WHERE night_id = ? AND status IN "
                f"({', '.join('?' for _ in allowed)})",
                (*params, int(night_id), *allowed),
            )
            return cursor.rowcount == 1, 0

        return await self._db.submit(op)

    async def retime_night(self, night_id: int, starts_at: float, ends_at: float) -> bool:
        """New times for a night not over yet (moved on Discord); a night that has not begun
        gets its reminder again. True if the night was changed."""
        start, end = finite_or_none("starts_at", starts_at), finite_or_none("ends_at", ends_at)
        if start is None or end is None or end <= start:
            raise ValueError("a night must end after it starts")

        async def op(conn: SqlConnection, now: float) -> tuple[bool, int]:
            cursor = await conn.execute(
                "UPDATE nights SET reminded_at = CASE WHEN status = 'scheduled' AND "
                "starts_at != ? THEN NULL ELSE reminded_at END, starts_at = ?, ends_at = ? "
                "WHERE night_id = ? AND status IN ('scheduled', 'active') AND "
                "(starts_at != ? OR ends_at != ?)",
                (start, start, end, int(night_id), start, end),
            )
            return cursor.rowcount == 1, 0

        return await self._db.submit(op)

    async def mark_night(self, night_id: int, step: str) -> bool:
        """Record that a night's reminder was posted or its question asked; True the first
        time only."""
        column = {"reminded": "reminded_at", "asked": "asked_at"}.get(step)
        if column is None:
            raise ValueError(f"unknown step {step!r}")

        async def op(conn: SqlConnection, now: float) -> tuple[bool, int]:
            cursor = await conn.execute(
                f"UPDATE nights SET {column} = ? WHERE night_id = ? AND {column} IS NULL",
                (now, int(night_id)),
            )
            return cursor.rowcount == 1, 0

        return await self._db.submit(op)

    async def set_attendees(self, night_id: int, user_ids: Iterable[int]) -> None:
        """Make the attendees exactly these members (Discord's list); answers already given
        are kept."""
        users = sorted({check_snowflake("user_id", u) for u in user_ids})

        async def op(conn: SqlConnection, now: float) -> tuple[None, int]:
            await conn.execute(
                "DELETE FROM night_attendees WHERE night_id = ? AND stars IS NULL AND user_id "
                f"NOT IN ({', '.join('?' for _ in users) or 'NULL'})",
                (int(night_id), *users),
            )
            await conn.executemany(
                "INSERT INTO night_attendees (night_id, user_id) VALUES (?, ?) "
                "ON CONFLICT DO NOTHING",
                [(int(night_id), u) for u in users],
            )
            return None, 0

        await self._db.submit(op)

    async def attendees(self, night_id: int) -> dict[int, float | None]:
        """Attendees and the stars each gave after the movie (None: not answered yet)."""
        rows = await self._db.read(
            "SELECT user_id, stars FROM night_attendees WHERE night_id = ? ORDER BY user_id",
            (int(night_id),),
        )
        return {int(u): (None if s is None else float(s)) for u, s in rows}

    async def record_answer(self, night_id: int, user_id: int, stars: float) -> float | None:
        """An attendee's after-movie stars; returns their earlier answer. LookupError if they
        are not an attendee."""
        user, value = check_snowflake("user_id", user_id), validate_stars(stars)

        async def op(conn: SqlConnection, now: float) -> tuple[float | None, int]:
            rows = list(
                await conn.execute_fetchall(
                    "SELECT stars FROM night_attendees WHERE night_id = ? AND user_id = ?",
                    (int(night_id), user),
                )
            )
            if not rows:
                raise LookupError(f"member {user} did not attend night {night_id}")
            await conn.execute(
                "UPDATE night_attendees SET stars = ?, answered_at = ? WHERE night_id = ? "
                "AND user_id = ?",
                (value, now, int(night_id), user),
            )
            return (None if rows[0][0] is None else float(rows[0][0])), 0

        return await self._db.submit(op)

    async def history(self, guild_id: int, limit: int = 50) -> list[WatchedNight]:
        """The nights a server watched, newest first, with attendance and average stars."""
        rows = await self._db.read(
            f"SELECT {_COLUMNS}, (SELECT count(*) FROM night_attendees a WHERE a.night_id = "
            "n.night_id), (SELECT count(stars) FROM night_attendees a WHERE a.night_id = "
            "n.night_id), (SELECT avg(stars) FROM night_attendees a WHERE a.night_id = "
            "n.night_id) FROM nights n WHERE guild_id = ? AND status = 'completed' "
            "ORDER BY starts_at DESC, night_id DESC LIMIT ?",
            (check_snowflake("guild_id", guild_id), int(limit)),
        )
        return [WatchedNight(_night(row[:15]), int(row[15]), int(row[16]), row[17]) for row in rows]

    async def upcoming_nights(self, guild_id: int) -> list[Night]:
        """A server's nights still to come or running, soonest first."""
        return await self._nights(
            "WHERE guild_id = ? AND status IN ('scheduled', 'active') ORDER BY starts_at",
            (check_snowflake("guild_id", guild_id),),
        )

    async def watched_movies(self, guild_id: int, members: Iterable[int] | None = None) -> set[int]:
        """Movies a server watched together; with `members`, only nights one of them went to."""
        guild = check_snowflake("guild_id", guild_id)
        if members is None:
            rows = await self._db.read(
                "SELECT DISTINCT movie_id FROM nights WHERE guild_id = ? AND status = 'completed'",
                (guild,),
            )
            return {int(r[0]) for r in rows}
        users = sorted({check_snowflake("member", m) for m in members})
        marks = ", ".join("?" for _ in users) or "NULL"
        rows = await self._db.read(
            "SELECT DISTINCT n.movie_id FROM nights n JOIN night_attendees a ON a.night_id = "
            f"n.night_id WHERE n.guild_id = ? AND n.status = 'completed' AND a.user_id IN "
            f"({marks})",
            (guild, *users),
        )
        return {int(r[0]) for r in rows}

    async def _nights(self, where: str, params: Sequence[Any]) -> list[Night]:
        rows = await self._db.read(f"SELECT {_COLUMNS} FROM nights {where}", params)
        return [_night(row) for row in rows]
