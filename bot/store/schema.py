"""The store's schema: forward migrations keyed by PRAGMA user_version, row types, value rules.

Migration k (1-based) takes a database from user_version k-1 to k. Steps are applied in one
BEGIN IMMEDIATE transaction at start-up, so two processes opening the same file cannot both
migrate it. Never edit a released step: append a new one.
"""

from __future__ import annotations

import logging
import math
import numbers
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import aiosqlite
import numpy as np

log = logging.getLogger(__name__)

# Club movies are numbered from here: MovieLens ids stay far below (ml-32m tops out near 300k).
CLUB_MOVIE_IDS = 1_000_000_000
# Stars: 0.5..5 in half-star steps, enforced again by the database.
_STARS_CHECK = "stars >= 0.5 AND stars <= 5.0 AND stars * 2 = CAST(stars * 2 AS INTEGER)"
# A member's lists: movies to watch, seen without a rating, never to be suggested again.
LISTS = ("watchlist", "seen", "not_interested")
LIST_SOURCES = ("button", "slash", "chat", "import")


def _sql_set(values: tuple[str, ...]) -> str:
    """ "'a', 'b'" for a CHECK (... IN (...)) clause."""
    return ", ".join(f"'{v}'" for v in values)


MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: ratings only (the first release).
    (
        f"""
        CREATE TABLE ratings (
            user_id    INTEGER NOT NULL,
            movie_id   INTEGER NOT NULL CHECK (movie_id > 0),
            stars      REAL    NOT NULL CHECK ({_STARS_CHECK}),
            source     TEXT    NOT NULL
                       CHECK (source IN ('slash', 'chat', 'onboarding', 'import')),
            created_at REAL    NOT NULL,
            updated_at REAL    NOT NULL,
            PRIMARY KEY (user_id, movie_id)
        ) WITHOUT ROWID
        """,
        "CREATE INDEX ratings_user_recent ON ratings (user_id, updated_at)",
    ),
    # 2: the change counter and the model-fit log.
    (
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID",
        # Ratings that predate the counter count as changes no fit has seen yet.
        "INSERT INTO meta (key, value) VALUES ('change_seq', (SELECT count(*) FROM ratings))",
        """
        CREATE TABLE fits (
            fit_id       INTEGER PRIMARY KEY AUTOINCREMENT,
            started_at   REAL    NOT NULL,
            finished_at  REAL,
            ratings_used INTEGER NOT NULL CHECK (ratings_used >= 0),
            change_seq   INTEGER NOT NULL,
            rmse         REAL,
            duration_s   REAL,
            status       TEXT    NOT NULL DEFAULT 'running'
                         CHECK (status IN ('running', 'ok', 'failed')),
            error        TEXT
        )
        """,
        "CREATE INDEX fits_status ON fits (status, fit_id)",
    ),
    # 3: onboarding ("haven't seen it" skips and resumable sessions).
    (
        """
        CREATE TABLE skips (
            user_id    INTEGER NOT NULL,
            movie_id   INTEGER NOT NULL CHECK (movie_id > 0),
            created_at REAL    NOT NULL,
            PRIMARY KEY (user_id, movie_id)
        ) WITHOUT ROWID
        """,
        """
        CREATE TABLE onboarding_sessions (
            user_id    INTEGER PRIMARY KEY,
            data       TEXT    NOT NULL,
            message_id INTEGER,
            created_at REAL    NOT NULL,
            updated_at REAL    NOT NULL
        )
        """,
    ),
    # 4: movie-night polls, their options and one changeable vote per member.
    (
        """
        CREATE TABLE polls (
            poll_id    INTEGER PRIMARY KEY AUTOINCREMENT,
            guild_id   INTEGER NOT NULL,
            channel_id INTEGER NOT NULL,
            creator_id INTEGER NOT NULL,
            message_id INTEGER,
            strategy   TEXT    NOT NULL,
            created_at REAL    NOT NULL,
            closed_at  REAL
        )
        """,
        "CREATE INDEX polls_creator ON polls (creator_id)",
        "CREATE INDEX polls_open ON polls (closed_at, poll_id)",
        """
        CREATE TABLE poll_options (
            poll_id  INTEGER NOT NULL REFERENCES polls (poll_id) ON DELETE CASCADE,
            movie_id INTEGER NOT NULL CHECK (movie_id > 0),
            position INTEGER NOT NULL,
            PRIMARY KEY (poll_id, movie_id)
        ) WITHOUT ROWID
        """,
        """
        CREATE TABLE poll_votes (
            poll_id  INTEGER NOT NULL,
            user_id  INTEGER NOT NULL,
            movie_id INTEGER NOT NULL,
            voted_at REAL    NOT NULL,
            PRIMARY KEY (poll_id, user_id),
            FOREIGN KEY (poll_id, movie_id)
                REFERENCES poll_options (poll_id, movie_id) ON DELETE CASCADE
        ) WITHOUT ROWID
        """,
        "CREATE INDEX poll_votes_user ON poll_votes (user_id)",
    ),
    # 5: club movies: films a club added because MovieLens lacks them, ids of their own.
    (
        f"""
        CREATE TABLE club_movies (
            movie_id   INTEGER PRIMARY KEY
                       CHECK (movie_id >= {CLUB_MOVIE_IDS} AND movie_id <= {2**31 - 1}),
            title      TEXT    NOT NULL,
            genres     TEXT    NOT NULL DEFAULT '',
            added_by   INTEGER,
            created_at REAL    NOT NULL
        )
        """,
        "CREATE INDEX club_movies_added_by ON club_movies (added_by, created_at)",
    ),
    # 6: members' lists (watchlist, seen, not interested), servers' lists, privacy choices.
    (
        f"""
        CREATE TABLE member_lists (
            user_id    INTEGER NOT NULL,
            list       TEXT    NOT NULL CHECK (list IN ({_sql_set(LISTS)})),
            movie_id   INTEGER NOT NULL CHECK (movie_id > 0),
            source     TEXT    NOT NULL CHECK (source IN ({_sql_set(LIST_SOURCES)})),
            created_at REAL    NOT NULL,
            PRIMARY KEY (user_id, list, movie_id)
        ) WITHOUT ROWID
        """,
        "CREATE INDEX member_lists_movie ON member_lists (list, movie_id)",
        """
        CREATE TABLE server_lists (
            guild_id   INTEGER NOT NULL,
            movie_id   INTEGER NOT NULL CHECK (movie_id > 0),
            added_by   INTEGER,
            created_at REAL    NOT NULL,
            PRIMARY KEY (guild_id, movie_id)
        ) WITHOUT ROWID
        """,
        "CREATE INDEX server_lists_added_by ON server_lists (added_by)",
        """
        CREATE TABLE member_settings (
            user_id          INTEGER PRIMARY KEY,
            taste_match_off  INTEGER NOT NULL DEFAULT 0 CHECK (taste_match_off IN (0, 1)),
            updated_at       REAL    NOT NULL
        )
        """,
    ),
    # 7: fair votes and the night as a Discord event. Polls get a kind (approval or ranked),
    # a group who may vote unless open, an end time, each option's predicted group enjoyment
    # (the tie-break) and a winner; a ballot holds several movies, ranked or not. Nights
    # are scheduled events with their timers' progress, attendees and after-movie answers;
    # ratings may come from the after-movie question.
    (
        "ALTER TABLE polls ADD COLUMN kind TEXT NOT NULL DEFAULT 'approval' "
        "CHECK (kind IN ('approval', 'ranked'))",
        "ALTER TABLE polls ADD COLUMN open INTEGER NOT NULL DEFAULT 1 CHECK (open IN (0, 1))",
        "ALTER TABLE polls ADD COLUMN ends_at REAL",
        "ALTER TABLE polls ADD COLUMN winner_id INTEGER",
        "CREATE INDEX polls_ends ON polls (closed_at, ends_at)",
        "ALTER TABLE poll_options ADD COLUMN score REAL",
        """
        CREATE TABLE poll_members (
            poll_id INTEGER NOT NULL REFERENCES polls (poll_id) ON DELETE CASCADE,
            user_id INTEGER NOT NULL,
            PRIMARY KEY (poll_id, user_id)
        ) WITHOUT ROWID
        """,
        "CREATE INDEX poll_members_user ON poll_members (user_id)",
        """
        CREATE TABLE poll_ballots (
            poll_id  INTEGER NOT NULL,
            user_id  INTEGER NOT NULL,
            movie_id INTEGER NOT NULL,
            rank     INTEGER NOT NULL DEFAULT 0,
            voted_at REAL    NOT NULL,
            PRIMARY KEY (poll_id, user_id, movie_id),
            FOREIGN KEY (poll_id, movie_id)
                REFERENCES poll_options (poll_id, movie_id) ON DELETE CASCADE
        ) WITHOUT ROWID
        """,
        "INSERT INTO poll_ballots (poll_id, user_id, movie_id, rank, voted_at) "
        "SELECT poll_id, user_id, movie_id, 0, voted_at FROM poll_votes",
        "DROP TABLE poll_votes",
        "ALTER TABLE poll_ballots RENAME TO poll_votes",
        "CREATE INDEX poll_votes_user ON poll_votes (user_id)",
        f"""
        CREATE TABLE ratings_v7 (
            user_id    INTEGER NOT NULL,
            movie_id   INTEGER NOT NULL CHECK (movie_id > 0),
            stars      REAL    NOT NULL CHECK ({_STARS_CHECK}),
            source     TEXT    NOT NULL
                       CHECK (source IN ('slash', 'chat', 'onboarding', 'import', 'movienight')),
            created_at REAL    NOT NULL,
            updated_at REAL    NOT NULL,
            PRIMARY KEY (user_id, movie_id)
        ) WITHOUT ROWID
        """,
        "INSERT INTO ratings_v7 SELECT user_id, movie_id, stars, source, created_at, updated_at "
        "FROM ratings",
        "DROP TABLE ratings",
        "ALTER TABLE ratings_v7 RENAME TO ratings",
        "CREATE INDEX ratings_user_recent ON ratings (user_id, updated_at)",
        """
        CREATE TABLE nights (
            night_id    INTEGER PRIMARY KEY AUTOINCREMENT,
            guild_id    INTEGER NOT NULL,
            channel_id  INTEGER NOT NULL,
            poll_id     INTEGER UNIQUE REFERENCES polls (poll_id) ON DELETE SET NULL,
            movie_id    INTEGER NOT NULL CHECK (movie_id > 0),
            creator_id  INTEGER,
            event_id    INTEGER UNIQUE,
            place       TEXT    NOT NULL,
            starts_at   REAL    NOT NULL,
            ends_at     REAL    NOT NULL CHECK (ends_at > starts_at),
            status      TEXT    NOT NULL DEFAULT 'scheduled'
                        CHECK (status IN ('scheduled', 'active', 'completed', 'canceled')),
            reminded_at REAL,
            watched_at  REAL,
            asked_at    REAL,
            created_at  REAL    NOT NULL
        )
        """,
        "CREATE INDEX nights_guild ON nights (guild_id, status, starts_at)",
        "CREATE INDEX nights_creator ON nights (creator_id)",
        f"""
        CREATE TABLE night_attendees (
            night_id    INTEGER NOT NULL REFERENCES nights (night_id) ON DELETE CASCADE,
            user_id     INTEGER NOT NULL,
            stars       REAL CHECK (stars IS NULL OR ({_STARS_CHECK})),
            answered_at REAL,
            PRIMARY KEY (night_id, user_id)
        ) WITHOUT ROWID
        """,
        "CREATE INDEX night_attendees_user ON night_attendees (user_id)",
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)


class SchemaTooNewError(RuntimeError):
    """The database was written by a newer release; refusing to touch it."""


async def read_version(conn: aiosqlite.Connection) -> int:
    """The database's PRAGMA user_version (0 for a fresh file)."""
    rows = list(await conn.execute_fetchall("PRAGMA user_version"))
    return int(rows[0][0])


def check_version(version: int, path: object) -> None:
    """Raise SchemaTooNewError if the file is ahead of the code (downgrades are not supported)."""
    if version > SCHEMA_VERSION:
        raise SchemaTooNewError(
            f"database {path} has schema version {version}, but this code only knows versions "
            f"up to {SCHEMA_VERSION}: run a newer release of the bot (or restore a backup)"
        )


async def migrate(conn: aiosqlite.Connection, path: object) -> int:
    """Bring the schema to SCHEMA_VERSION in one IMMEDIATE transaction; returns the old version.

    `conn` must be in autocommit mode (isolation_level=None) with foreign keys OFF, so table
    rewrites in future steps are possible; foreign keys are checked before the COMMIT.
    """
    await conn.execute("BEGIN IMMEDIATE")
    try:
        old = await read_version(conn)  # re-read under the write lock: another process may
        check_version(old, path)  # have migrated between our first look and now
        for version in range(old + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[version - 1]:
                await conn.execute(statement)
            log.info("migrated %s to schema version %d", path, version)
        if old != SCHEMA_VERSION:
            await conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            problems = list(await conn.execute_fetchall("PRAGMA foreign_key_check"))
            if problems:
                raise RuntimeError(f"migration left foreign-key violations: {problems[:5]}")
        await conn.execute("COMMIT")
    except BaseException:
        await conn.execute("ROLLBACK")
        raise
    return old


# ------------------------------------------------------------------------- value rules
SOURCES = frozenset({"slash", "chat", "onboarding", "import", "movienight"})
POLL_KINDS = frozenset({"approval", "ranked"})
NIGHT_STATUSES = ("scheduled", "active", "completed", "canceled")
MAX_SNOWFLAKE = 2**63 - 1  # SQLite INTEGER is a signed 64-bit integer
MAX_MOVIE_ID = 2**31 - 1  # all_ratings() hands movie ids out as int32


# ------------------------------------------------------------------------------ rows
@dataclass(frozen=True, slots=True)
class Rating:
    """One Discord user's stars for one movie; timestamps are unix seconds."""

    user_id: int
    movie_id: int
    stars: float
    source: str
    created_at: float
    updated_at: float


@dataclass(frozen=True, slots=True)
class RatingChange:
    """What a rate() did: created a new rating or replaced `previous` stars."""

    user_id: int
    movie_id: int
    stars: float
    previous: float | None

    @property
    def created(self) -> bool:
        """True if the user had not rated this movie before."""
        return self.previous is None

    @property
    def updated(self) -> bool:
        """True if an existing rating was replaced."""
        return self.previous is not None


class RatingArrays(NamedTuple):
    """All Discord ratings as columns, ready to blend with the training data."""

    users: np.ndarray  # int64 snowflakes
    movies: np.ndarray  # int32
    stars: np.ndarray  # float32


@dataclass(frozen=True, slots=True)
class FitRecord:
    """One model fit: when, on how much data, and how it went."""

    fit_id: int
    started_at: float
    finished_at: float | None
    ratings_used: int
    change_seq: int  # the store's change sequence when the fit took its data
    rmse: float | None
    duration_s: float | None
    status: str  # "running" | "ok" | "failed"
    error: str | None


@dataclass(frozen=True, slots=True)
class ClubMovie:
    """A movie a club added; `title` ends in "(YYYY)" like MovieLens titles."""

    movie_id: int
    title: str
    genres: tuple[str, ...]
    added_by: int | None
    created_at: float


@dataclass(frozen=True, slots=True)
class ListEntry:
    """One movie on one of a member's lists ("watchlist", "seen", "not_interested")."""

    user_id: int
    list: str
    movie_id: int
    source: str
    created_at: float


@dataclass(frozen=True, slots=True)
class ServerListEntry:
    """One movie on a server's list; `added_by` is None once that member was forgotten."""

    guild_id: int
    movie_id: int
    added_by: int | None
    created_at: float


@dataclass(frozen=True, slots=True)
class NewClubMovie:
    """A movie an import adds to the club's movies, with what the member's file says of it."""

    title: str  # "Title (Year)"
    genres: tuple[str, ...]
    stars: float | None
    lists: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class HistoryBatch:
    """Everything one import confirmation writes for one member, in one transaction.

    `ratings` maps movie ids to stars; ratings the member gave in Discord (any source but
    "import") are kept unless `overwrite` is set. Stars equal to the stored ones change nothing.
    A movie put on a list leaves the lists `leaving` names for it (the lists service's rule).
    """

    user_id: int
    ratings: dict[int, float]
    lists: tuple[tuple[str, int], ...] = ()  # (list, movie id), applied in this order
    new_movies: tuple[NewClubMovie, ...] = ()
    overwrite: bool = False
    leaving: dict[str, tuple[str, ...]] = field(default_factory=dict)  # list -> lists it clears


@dataclass(frozen=True, slots=True)
class HistoryWritten:
    """What an import wrote: counts per kind, and the club movies it created."""

    added: int = 0  # new ratings
    updated: int = 0  # ratings that changed stars
    unchanged: int = 0  # ratings already stored with these stars
    kept: int = 0  # Discord ratings left as they were (no overwrite)
    listed: int = 0  # list entries added (seen, watchlist)
    club_movie_ids: tuple[int, ...] = ()

    @property
    def changed(self) -> int:
        """Rating rows written (what counts toward the next refit)."""
        return self.added + self.updated


@dataclass(frozen=True, slots=True)
class OnboardingSession:
    """A user's resumable onboarding state (JSON data) and the message showing it."""

    user_id: int
    data: dict[str, Any]
    message_id: int | None
    created_at: float
    updated_at: float


@dataclass(frozen=True, slots=True)
class Poll:
    """A movie-night poll; `movie_ids` keeps the options in their shown order.

    `kind` is "approval" (tick every movie you'd watch) or "ranked" (order them); unless
    `open`, only `members` may vote. `scores` is each option's predicted group enjoyment.
    """

    poll_id: int
    guild_id: int
    channel_id: int
    creator_id: int
    message_id: int | None
    movie_ids: tuple[int, ...]
    strategy: str
    created_at: float
    closed_at: float | None
    kind: str = "approval"
    open: bool = True
    ends_at: float | None = None
    winner_id: int | None = None
    scores: dict[int, float] = field(default_factory=dict)
    members: frozenset[int] = frozenset()

    @property
    def closed(self) -> bool:
        """Whether voting has ended."""
        return self.closed_at is not None

    def may_vote(self, user_id: int) -> bool:
        """Whether this member may vote: everyone when open, else the group and the starter."""
        return self.open or user_id == self.creator_id or user_id in self.members


@dataclass(frozen=True, slots=True)
class Night:
    """A movie night scheduled as a Discord event, and how far its timeline has got.

    `place` is what the reminder names (a channel mention or a location); times are unix
    seconds on the bot's clock.
    """

    night_id: int
    guild_id: int
    channel_id: int
    poll_id: int | None
    movie_id: int
    creator_id: int | None
    event_id: int | None
    place: str
    starts_at: float
    ends_at: float
    status: str
    reminded_at: float | None
    watched_at: float | None
    asked_at: float | None
    created_at: float


@dataclass(frozen=True, slots=True)
class WatchedNight:
    """One line of a server's history: the night, who went, and the stars they gave."""

    night: Night
    attendees: int
    answers: int
    average: float | None


class PollClosedError(ValueError):
    """The poll has ended; no more votes."""


class NotInGroupError(PermissionError):
    """The poll is for its group only and this member is not in it."""


# ------------------------------------------------------------------------ validation
def validate_stars(stars: object) -> float:
    """Stars as a float if finite and in 0.5..5 in half steps; ValueError otherwise."""
    if isinstance(stars, bool) or not isinstance(stars, numbers.Real):
        raise ValueError(f"stars must be a number, got {stars!r}")
    value = float(stars)
    if not math.isfinite(value) or not 0.5 <= value <= 5.0 or value * 2 != round(value * 2):
        raise ValueError(f"stars must be 0.5 to 5 in half-star steps, got {stars!r}")
    return value


def _check_id(name: str, value: object, kind: str, limit: int, limit_text: str) -> int:
    """A positive integer id up to `limit`; ValueError naming the field otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer{kind}, got {value!r}")
    out = int(value)
    if not 0 < out <= limit:
        raise ValueError(f"{name} must be between 1 and {limit_text}, got {out}")
    return out


def check_snowflake(name: str, value: object) -> int:
    """A Discord id as int (1..2**63-1); ValueError otherwise."""
    return _check_id(name, value, " Discord id", MAX_SNOWFLAKE, "2**63-1")


def check_movie_id(value: object) -> int:
    """A movie id as int (1..2**31-1); ValueError otherwise."""
    return _check_id("movie_id", value, "", MAX_MOVIE_ID, "2**31-1")


def check_list(name: object) -> str:
    """A known member list name; ValueError otherwise."""
    if not isinstance(name, str) or name not in LISTS:
        raise ValueError(f"list must be one of {list(LISTS)}, got {name!r}")
    return name


def check_list_source(source: object) -> str:
    """A known way of adding to a list; ValueError otherwise."""
    if not isinstance(source, str) or source not in LIST_SOURCES:
        raise ValueError(f"list source must be one of {list(LIST_SOURCES)}, got {source!r}")
    return source


def check_source(source: object) -> str:
    """A known rating source; ValueError otherwise."""
    if not isinstance(source, str) or source not in SOURCES:
        raise ValueError(f"source must be one of {sorted(SOURCES)}, got {source!r}")
    return str(source)


def finite_or_none(name: str, value: float | None) -> float | None:
    """A finite float or None; ValueError for NaN/inf/non-numbers."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number or None, got {value!r}")
    if not math.isfinite(float(value)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(value)
