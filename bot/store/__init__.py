"""The bot's database: a SQLite file (default) or PostgreSQL, a repository per record kind.

`Store` is the composition root: it opens the database its target names (a path, or a
postgresql:// URL) and hands each repository the same writer, so every write joins the same
group commit. Repositories hold the SQL; the services in `bot.core` are their only users.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Self

from bot.store.club_movies import ClubMovieRepository
from bot.store.database import SQLiteDatabase
from bot.store.fits import FitLog
from bot.store.history import HistoryRepository
from bot.store.lists import MemberListRepository, MemberSettingsRepository, ServerListRepository
from bot.store.nights import NightRepository
from bot.store.polls import PollRepository
from bot.store.postgres import PostgresDatabase, is_postgres_url
from bot.store.ratings import RatingRepository
from bot.store.schema import check_snowflake
from bot.store.sessions import SessionRepository
from bot.store.shared import SharedModelRepository
from bot.store.skips import SkipRepository
from bot.store.writer import SqlConnection

log = logging.getLogger(__name__)

# Everything keyed by a member: forget_member() deletes from each (polls cascade to their
# options, group and votes). Ratings must stay first-class here: their count feeds change_seq.
_MEMBER_TABLES = (
    ("ratings", "user_id"),
    ("skips", "user_id"),
    ("onboarding_sessions", "user_id"),
    ("poll_votes", "user_id"),
    ("poll_members", "user_id"),
    ("polls", "creator_id"),
    ("member_lists", "user_id"),
    ("member_settings", "user_id"),
    ("night_attendees", "user_id"),
)


class Store:
    """Open with `await Store.open(target)` or `async with Store(target)`; then use its
    repositories. `target` is a SQLite file path or a postgresql:// URL."""

    def __init__(self, target: str | Path, **options: Any) -> None:
        self.db: SQLiteDatabase | PostgresDatabase = (
            PostgresDatabase(str(target), **options)
            if is_postgres_url(target)
            else SQLiteDatabase(target, **options)
        )
        self.ratings = RatingRepository(self.db)
        self.skips = SkipRepository(self.db)
        self.sessions = SessionRepository(self.db)
        self.polls = PollRepository(self.db)
        self.nights = NightRepository(self.db)
        self.fits = FitLog(self.db)
        self.club_movies = ClubMovieRepository(self.db)
        self.lists = MemberListRepository(self.db)
        self.server_lists = ServerListRepository(self.db)
        self.member_settings = MemberSettingsRepository(self.db)
        self.history = HistoryRepository(self.db)
        self.shared = SharedModelRepository(self.db)

    @property
    def path(self) -> Path:
        """The database file (SQLite only)."""
        if not isinstance(self.db, SQLiteDatabase):
            raise AttributeError("a PostgreSQL store has no file path")
        return self.db.path

    @property
    def location(self) -> str:
        """Where the data lives, safe to log (a PostgreSQL URL without its password)."""
        return self.db.location if isinstance(self.db, PostgresDatabase) else str(self.db.path)

    @classmethod
    async def open(cls, target: str | Path, **options: Any) -> Self:
        """Create, connect and migrate a store in one call."""
        store = cls(target, **options)
        await store.db.connect()
        return store

    async def close(self) -> None:
        """Finish queued writes and close the database; safe to call twice."""
        await self.db.close()

    async def __aenter__(self) -> Self:
        await self.db.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def bind_dataset(self, dataset: str) -> str:
        """Tie this database to one MovieLens dataset (movie ids differ between them).

        The first call records `dataset`; every call returns the recorded name.
        """

        async def op(conn: SqlConnection, now: float) -> tuple[None, int]:
            await conn.execute(
                "INSERT INTO meta (key, value) VALUES ('dataset', ?) ON CONFLICT DO NOTHING",
                (str(dataset),),
            )
            return None, 0

        await self.db.submit(op)
        rows = await self.db.read("SELECT value FROM meta WHERE key = 'dataset'")
        return str(rows[0][0])

    async def scrub(self) -> None:
        """Make deleted rows unrecoverable from the files: fold the WAL in and truncate it.

        The main file zeroes deleted content itself (secure_delete); old WAL frames keep
        copies of the pages until a truncating checkpoint. PostgreSQL: VACUUM the member tables.
        """
        await self.db.checkpoint()

    async def forget_member(self, user_id: int) -> int:
        """Delete everything about a member in one transaction; returns the rows removed.

        Removes their ratings, skips, card sessions, poll votes and group memberships, the
        polls they created (with those polls' options and everyone's votes on them), their
        lists and privacy choices, and their movie-night attendance and after-movie answers.
        Movies they added to club or server lists and nights they scheduled stay, without
        their name.
        """
        user = check_snowflake("user_id", user_id)

        async def op(conn: SqlConnection, now: float) -> tuple[int, int]:
            counts: dict[str, int] = {}
            for table, column in _MEMBER_TABLES:
                cursor = await conn.execute(f"DELETE FROM {table} WHERE {column} = ?", (user,))
                counts[table] = max(cursor.rowcount, 0)
            # bookkeeping, not their data (not counted): deleting their ratings just moved it
            await conn.execute("DELETE FROM member_changes WHERE user_id = ?", (user,))
            # the movies they added stay the club's; only who added them is forgotten
            await conn.execute("UPDATE club_movies SET added_by = NULL WHERE added_by = ?", (user,))
            await conn.execute(
                "UPDATE server_lists SET added_by = NULL WHERE added_by = ?", (user,)
            )
            await conn.execute("UPDATE nights SET creator_id = NULL WHERE creator_id = ?", (user,))
            log.info("forgot user %d: %s", user, counts)
            return sum(counts.values()), counts["ratings"]

        return await self.db.submit(op)


__all__ = [
    "ClubMovieRepository",
    "FitLog",
    "HistoryRepository",
    "MemberListRepository",
    "MemberSettingsRepository",
    "NightRepository",
    "PollRepository",
    "PostgresDatabase",
    "RatingRepository",
    "SQLiteDatabase",
    "ServerListRepository",
    "SessionRepository",
    "SkipRepository",
    "Store",
]
