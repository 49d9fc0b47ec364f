"""Club movies: films a club added because the dataset lacks them (ids from 1,000,000,000)."""

from __future__ import annotations

from bot.store.backend import Database
from bot.store.schema import CLUB_MOVIE_IDS, ClubMovie, check_movie_id, check_snowflake
from bot.store.shared import CLUB_CHANNEL
from bot.store.writer import SqlConnection

# Rows keyed by a movie besides ratings, with what else is in their key.
_MOVIE_KEYED = (
    ("skips", "user_id"),
    ("member_lists", "user_id, list"),
    ("server_lists", "guild_id"),
)


class ClubMovieRepository:
    """Add, list, rename, merge and remove club movies; ratings follow merges and removals."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, title: str, genres: tuple[str, ...], added_by: int) -> ClubMovie:
        """A new club movie with the next free id."""
        member = check_snowflake("added_by", added_by)
        name = _title(title)

        async def op(conn: SqlConnection, now: float) -> tuple[ClubMovie, int]:
            movie_id = await insert_club_movie(conn, name, tuple(genres), member, now)
            return ClubMovie(movie_id, name, tuple(genres), member, now), 0

        return await self._db.submit(op)

    async def all(self) -> list[ClubMovie]:
        """Every club movie, oldest first."""
        rows = await self._db.read(
            "SELECT movie_id, title, genres, added_by, created_at FROM club_movies "
            "ORDER BY movie_id"
        )
        return [
            ClubMovie(int(m), str(t), tuple(g for g in str(gs).split("|") if g), a, float(c))
            for m, t, gs, a, c in rows
        ]

    async def added_since(self, member: int, since: float) -> int:
        """How many club movies a member added since a time (for the rate limit)."""
        rows = await self._db.read(
            "SELECT count(*) FROM club_movies WHERE added_by = ? AND created_at >= ?",
            (check_snowflake("added_by", member), float(since)),
        )
        return int(rows[0][0])

    async def rename(self, movie_id: int, title: str) -> bool:
        """Give a club movie another title (with year); True if it exists."""
        movie, name = _club_id(movie_id), _title(title)

        async def op(conn: SqlConnection, now: float) -> tuple[bool, int]:
            cursor = await conn.execute(
                "UPDATE club_movies SET title = ? WHERE movie_id = ?", (name, movie)
            )
            await _announce(conn)
            return cursor.rowcount == 1, 0

        return await self._db.submit(op)

    async def merge(self, movie_id: int, into: int) -> int:
        """Move a club movie's ratings, skips, list entries and movie nights onto another movie
        (a member's newer rating wins where they rated both), then delete it; returns the
        ratings moved."""
        movie, target = _club_id(movie_id), check_movie_id(into)
        if movie == target:
            raise ValueError("a movie cannot be merged into itself")

        async def op(conn: SqlConnection, now: float) -> tuple[int, int]:
            await conn.execute(
                "DELETE FROM ratings WHERE movie_id = ? AND user_id IN (SELECT user_id FROM "
                "ratings r WHERE r.movie_id = ? AND r.updated_at >= (SELECT updated_at FROM "
                "ratings o WHERE o.movie_id = ? AND o.user_id = r.user_id))",
                (movie, target, movie),
            )
            await conn.execute(
                "DELETE FROM ratings WHERE movie_id = ? AND user_id IN "
                "(SELECT user_id FROM ratings WHERE movie_id = ?)",
                (target, movie),
            )
            cursor = await conn.execute(
                "UPDATE ratings SET movie_id = ? WHERE movie_id = ?", (target, movie)
            )
            moved = max(cursor.rowcount, 0)
            for table, owner in _MOVIE_KEYED:
                # where the owner already has the target, their row for the merged movie goes
                await conn.execute(
                    f"DELETE FROM {table} WHERE movie_id = ? AND ({owner}) IN "
                    f"(SELECT {owner} FROM {table} WHERE movie_id = ?)",
                    (movie, target),
                )
                await conn.execute(
                    f"UPDATE {table} SET movie_id = ? WHERE movie_id = ?", (target, movie)
                )
            await conn.execute("UPDATE nights SET movie_id = ? WHERE movie_id = ?", (target, movie))
            await _delete(conn, movie)
            return moved, moved

        return await self._db.submit(op)

    async def remove(self, movie_id: int) -> int:
        """Delete a club movie with its ratings, skips and list entries; returns the ratings
        deleted."""
        movie = _club_id(movie_id)

        async def op(conn: SqlConnection, now: float) -> tuple[int, int]:
            cursor = await conn.execute("DELETE FROM ratings WHERE movie_id = ?", (movie,))
            for table, _ in _MOVIE_KEYED:
                await conn.execute(f"DELETE FROM {table} WHERE movie_id = ?", (movie,))
            await _delete(conn, movie)
            return max(cursor.rowcount, 0), max(cursor.rowcount, 0)

        return await self._db.submit(op)


async def insert_club_movie(
    conn: SqlConnection, title: str, genres: tuple[str, ...], added_by: int, now: float
) -> int:
    """Insert a club movie with the next free id inside the caller's transaction; its id.

    Another process sharing a PostgreSQL database may take the same id at the same moment:
    the insert then does nothing and the next id is tried, so neither add fails.
    """
    while True:
        rows = list(await conn.execute_fetchall("SELECT max(movie_id) FROM club_movies"))
        movie_id = max(CLUB_MOVIE_IDS, int(rows[0][0] or 0) + 1)
        cursor = await conn.execute(
            "INSERT INTO club_movies (movie_id, title, genres, added_by, created_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (movie_id) DO NOTHING",
            (movie_id, _title(title), "|".join(genres), added_by, now),
        )
        if cursor.rowcount == 1:
            await _announce(conn)
            return movie_id


async def _delete(conn: SqlConnection, movie: int) -> None:
    cursor = await conn.execute("DELETE FROM club_movies WHERE movie_id = ?", (movie,))
    if cursor.rowcount != 1:
        raise LookupError(f"no club movie with id {movie}")
    await _announce(conn)


async def _announce(conn: SqlConnection) -> None:
    """Tell other processes on the same PostgreSQL database that the club's movies changed
    (delivered at COMMIT, never for a rolled-back change)."""
    if conn.dialect == "postgresql":
        await conn.execute("SELECT pg_notify(?, '')", (CLUB_CHANNEL,))


def _club_id(movie_id: int) -> int:
    """A club movie id; ValueError for a dataset id."""
    movie = check_movie_id(movie_id)
    if movie < CLUB_MOVIE_IDS:
        raise ValueError(f"movie {movie} is not a club movie")
    return movie


def _title(title: str) -> str:
    """A club movie title: spaces collapsed, 1..200 characters (the service adds the year)."""
    name = " ".join(str(title).split())
    if not 1 <= len(name) <= 200:
        raise ValueError("a title needs 1 to 200 characters")
    return name
