"""Movie-night polls: options in shown order, one changeable vote per member."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import aiosqlite

from bot.store.database import SQLiteDatabase
from bot.store.schema import Poll, check_movie_id, check_snowflake


class PollRepository:
    """Polls, their options and votes."""

    def __init__(self, db: SQLiteDatabase) -> None:
        self._db = db

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

        return await self._db.submit(op)

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

        await self._db.submit(op)

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

        return await self._db.submit(op)

    async def tally(self, poll_id: int) -> dict[int, int]:
        """Votes per option (zeros included, in option order); LookupError if no such poll."""
        rows = await self._db.read(
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

        await self._db.submit(op)
        poll = await self.get_poll(pid)
        if poll is None:  # deleted by forget_user in between
            raise LookupError(f"no poll with id {pid}")
        return poll

    async def _polls(self, where: str, params: Sequence[Any]) -> list[Poll]:
        """Polls matching a WHERE clause, with their options, by id."""
        rows = await self._db.read(
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
