"""Members' lists (watchlist, seen, not interested) and servers' lists of movies to watch."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.store.backend import Database
from bot.store.schema import (
    ListEntry,
    ServerListEntry,
    check_list,
    check_list_source,
    check_movie_id,
    check_snowflake,
)
from bot.store.sql import NO_LIMIT
from bot.store.writer import SqlConnection

_CHUNK = 500  # ids per IN (...) list, well under SQLite's variable limit


class MemberListRepository:
    """One row per (member, list, movie); adding twice keeps the first row."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self,
        user_id: int,
        name: str,
        movie_id: int,
        source: str = "button",
        replacing: Sequence[str] = (),
    ) -> bool:
        """Put a movie on a list (and off the `replacing` lists, in the same transaction);
        True if it was not on the list yet."""
        user, movie = check_snowflake("user_id", user_id), check_movie_id(movie_id)
        kind, src = check_list(name), check_list_source(source)
        others = [check_list(o) for o in replacing if o != kind]

        async def op(conn: SqlConnection, now: float) -> tuple[bool, int]:
            for other in others:
                await conn.execute(
                    "DELETE FROM member_lists WHERE user_id = ? AND list = ? AND movie_id = ?",
                    (user, other, movie),
                )
            cursor = await conn.execute(
                "INSERT INTO member_lists (user_id, list, movie_id, source, created_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (user, kind, movie, src, now),
            )
            return cursor.rowcount == 1, 0

        return await self._db.submit(op)

    async def remove(self, user_id: int, name: str, movie_id: int) -> bool:
        """Take a movie off a list; True if it was there."""
        user, movie = check_snowflake("user_id", user_id), check_movie_id(movie_id)
        kind = check_list(name)

        async def op(conn: SqlConnection, now: float) -> tuple[bool, int]:
            cursor = await conn.execute(
                "DELETE FROM member_lists WHERE user_id = ? AND list = ? AND movie_id = ?",
                (user, kind, movie),
            )
            return cursor.rowcount > 0, 0

        return await self._db.submit(op)

    async def entries(
        self, user_id: int, name: str, *, limit: int | None = None, offset: int = 0
    ) -> list[ListEntry]:
        """A member's list, newest first."""
        rows = await self._db.read(
            "SELECT user_id, list, movie_id, source, created_at FROM member_lists "
            "WHERE user_id = ? AND list = ? ORDER BY created_at DESC, movie_id LIMIT ? OFFSET ?",
            (
                check_snowflake("user_id", user_id),
                check_list(name),
                NO_LIMIT if limit is None else int(limit),
                int(offset),
            ),
        )
        return [ListEntry(int(u), str(k), int(m), str(s), float(c)) for u, k, m, s, c in rows]

    async def movies(self, user_id: int, name: str) -> set[int]:
        """The movie ids on a member's list."""
        rows = await self._db.read(
            "SELECT movie_id FROM member_lists WHERE user_id = ? AND list = ?",
            (check_snowflake("user_id", user_id), check_list(name)),
        )
        return {int(r[0]) for r in rows}

    async def lists_with(self, user_id: int, movie_id: int) -> set[str]:
        """The lists of a member's that hold this movie."""
        rows = await self._db.read(
            "SELECT list FROM member_lists WHERE user_id = ? AND movie_id = ?",
            (check_snowflake("user_id", user_id), check_movie_id(movie_id)),
        )
        return {str(r[0]) for r in rows}

    async def counts(self, user_id: int) -> dict[str, int]:
        """How many movies each of a member's lists holds (lists they never used: absent)."""
        rows = await self._db.read(
            "SELECT list, count(*) FROM member_lists WHERE user_id = ? GROUP BY list",
            (check_snowflake("user_id", user_id),),
        )
        return {str(k): int(n) for k, n in rows}

    async def of_members(self, user_ids: Iterable[int], name: str) -> dict[int, int]:
        """Movie id -> how many of these members have it on this list."""
        users = sorted({check_snowflake("user_id", u) for u in user_ids})
        kind = check_list(name)
        counts: dict[int, int] = {}
        for start in range(0, len(users), _CHUNK):
            chunk = users[start : start + _CHUNK]
            rows = await self._db.read(
                f"SELECT movie_id, count(*) FROM member_lists WHERE list = ? AND user_id IN "
                f"({','.join('?' * len(chunk))}) GROUP BY movie_id",
                (kind, *chunk),
            )
            for movie, n in rows:
                counts[int(movie)] = counts.get(int(movie), 0) + int(n)
        return counts


class ServerListRepository:
    """A server's shared list of movies to watch, with who added each."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, guild_id: int, movie_id: int, added_by: int) -> bool:
        """Put a movie on a server's list; True if it was not there yet."""
        guild, movie = check_snowflake("guild_id", guild_id), check_movie_id(movie_id)
        member = check_snowflake("added_by", added_by)

        async def op(conn: SqlConnection, now: float) -> tuple[bool, int]:
            cursor = await conn.execute(
                "INSERT INTO server_lists (guild_id, movie_id, added_by, created_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (guild, movie, member, now),
            )
            return cursor.rowcount == 1, 0

        return await self._db.submit(op)

    async def remove(self, guild_id: int, movie_id: int) -> bool:
        """Take a movie off a server's list; True if it was there."""
        guild, movie = check_snowflake("guild_id", guild_id), check_movie_id(movie_id)

        async def op(conn: SqlConnection, now: float) -> tuple[bool, int]:
            cursor = await conn.execute(
                "DELETE FROM server_lists WHERE guild_id = ? AND movie_id = ?", (guild, movie)
            )
            return cursor.rowcount > 0, 0

        return await self._db.submit(op)

    async def entries(self, guild_id: int) -> list[ServerListEntry]:
        """A server's list, oldest first (the order members added them)."""
        rows = await self._db.read(
            "SELECT guild_id, movie_id, added_by, created_at FROM server_lists "
            "WHERE guild_id = ? ORDER BY created_at, movie_id",
            (check_snowflake("guild_id", guild_id),),
        )
        return [
            ServerListEntry(int(g), int(m), None if a is None else int(a), float(c))
            for g, m, a, c in rows
        ]


class MemberSettingsRepository:
    """Choices a member made about their data (taste match opt-out)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def set_taste_match(self, user_id: int, enabled: bool) -> None:
        """Take part in taste match (the default) or not."""
        user = check_snowflake("user_id", user_id)

        async def op(conn: SqlConnection, now: float) -> tuple[None, int]:
            await conn.execute(
                "INSERT INTO member_settings (user_id, taste_match_off, updated_at) "
                "VALUES (?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET "
                "taste_match_off = excluded.taste_match_off, updated_at = excluded.updated_at",
                (user, 0 if enabled else 1, now),
            )
            return None, 0

        await self._db.submit(op)

    async def taste_match_off(self, user_ids: Iterable[int] | None = None) -> set[int]:
        """Members who opted out of taste match (among `user_ids`, or all of them)."""
        rows = await self._db.read("SELECT user_id FROM member_settings WHERE taste_match_off = 1")
        off = {int(r[0]) for r in rows}
        return off if user_ids is None else off & {int(u) for u in user_ids}
