"""Movie-night polls: options in shown order, a group who may vote, ballots of several movies."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bot.store.backend import Database
from bot.store.schema import (
    POLL_KINDS,
    NotInGroupError,
    Poll,
    PollClosedError,
    check_movie_id,
    check_snowflake,
    finite_or_none,
)
from bot.store.writer import SqlConnection


class PollRepository:
    """Polls, their options, their group and the members' ballots."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create_poll(
        self,
        guild_id: int,
        channel_id: int,
        creator_id: int,
        movie_ids: Sequence[int],
        strategy: str,
        *,
        kind: str = "approval",
        open: bool = True,
        ends_at: float | None = None,
        members: Iterable[int] = (),
        scores: Mapping[int, float] | None = None,
    ) -> int:
        """Create an open poll over distinct movies (in the given order); returns its id.

        `members` may vote when the poll is not `open` (the creator always may); `scores`
        is each movie's predicted group enjoyment, which breaks ties.
        """
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
        if kind not in POLL_KINDS:
            raise ValueError(f"kind must be one of {sorted(POLL_KINDS)}, got {kind!r}")
        end = finite_or_none("ends_at", ends_at)
        group = sorted({creator, *(check_snowflake("member", m) for m in members)})
        given = dict(scores or {})
        score = [finite_or_none("score", given.get(m)) for m in movies]

        async def op(conn: SqlConnection, now: float) -> tuple[int, int]:
            rows = list(
                await conn.execute_fetchall(
                    "INSERT INTO polls (guild_id, channel_id, creator_id, strategy, created_at, "
                    "kind, open, ends_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING poll_id",
                    (guild, channel, creator, strategy, now, kind, int(bool(open)), end),
                )
            )
            poll_id = int(rows[0][0])
            await conn.executemany(
                "INSERT INTO poll_options (poll_id, movie_id, position, score) VALUES (?, ?, ?, ?)",
                [(poll_id, m, k, score[k]) for k, m in enumerate(movies)],
            )
            await conn.executemany(
                "INSERT INTO poll_members (poll_id, user_id) VALUES (?, ?)",
                [(poll_id, u) for u in group],
            )
            return poll_id, 0

        return await self._db.submit(op)

    async def set_poll_message(self, poll_id: int, message_id: int) -> None:
        """Remember which Discord message shows the poll; LookupError if no such poll."""
        message = check_snowflake("message_id", message_id)

        async def op(conn: SqlConnection, now: float) -> tuple[None, int]:
            cursor = await conn.execute(
                "UPDATE polls SET message_id = ? WHERE poll_id = ?", (message, int(poll_id))
            )
            if cursor.rowcount != 1:
                raise LookupError(f"no poll with id {poll_id}")
            return None, 0

        await self._db.submit(op)

    async def toggle(self, poll_id: int, user_id: int, movie_id: int) -> tuple[int, ...]:
        """Add a movie to a member's ballot, or take it off again; returns the ballot after.

        An approval ballot comes back in option order, a ranked one in the member's order
        (a movie taken off moves the ones after it up). LookupError for an unknown poll,
        PollClosedError once it has ended, NotInGroupError for a member outside a group-only
        poll, ValueError if the movie is not an option.
        """
        user, movie = check_snowflake("user_id", user_id), check_movie_id(movie_id)
        pid = int(poll_id)

        async def op(conn: SqlConnection, now: float) -> tuple[tuple[int, ...], int]:
            rows = list(
                await conn.execute_fetchall(
                    "SELECT closed_at, open, creator_id, kind, EXISTS (SELECT 1 FROM "
                    "poll_options o WHERE o.poll_id = p.poll_id AND o.movie_id = ?), EXISTS "
                    "(SELECT 1 FROM poll_members m WHERE m.poll_id = p.poll_id AND "
                    "m.user_id = ?) FROM polls p WHERE p.poll_id = ?",
                    (movie, user, pid),
                )
            )
            if not rows:
                raise LookupError(f"no poll with id {pid}")
            closed_at, is_open, creator, kind, is_option, is_member = rows[0]
            if closed_at is not None:
                raise PollClosedError(f"poll {pid} is closed")
            if not (is_open or is_member or user == creator):
                raise NotInGroupError(f"member {user} is not in the group of poll {pid}")
            if not is_option:
                raise ValueError(f"movie {movie} is not an option in poll {pid}")
            picked = list(
                await conn.execute_fetchall(
                    "SELECT rank FROM poll_votes WHERE poll_id = ? AND user_id = ? "
                    "AND movie_id = ?",
                    (pid, user, movie),
                )
            )
            if picked:
                await conn.execute(
                    "DELETE FROM poll_votes WHERE poll_id = ? AND user_id = ? AND movie_id = ?",
                    (pid, user, movie),
                )
                await conn.execute(
                    "UPDATE poll_votes SET rank = rank - 1 WHERE poll_id = ? AND user_id = ? "
                    "AND rank > ?",
                    (pid, user, picked[0][0]),
                )
            else:
                await conn.execute(
                    "INSERT INTO poll_votes (poll_id, user_id, movie_id, rank, voted_at) "
                    "VALUES (?, ?, ?, (SELECT count(*) FROM poll_votes WHERE poll_id = ? "
                    "AND user_id = ?), ?)",
                    (pid, user, movie, pid, user, now),
                )
            order = "v.rank" if kind == "ranked" else "o.position"
            ballot = await conn.execute_fetchall(
                "SELECT v.movie_id FROM poll_votes v JOIN poll_options o ON o.poll_id = "
                "v.poll_id AND o.movie_id = v.movie_id WHERE v.poll_id = ? AND v.user_id = ? "
                f"ORDER BY {order}",
                (pid, user),
            )
            return tuple(int(r[0]) for r in ballot), 0

        return await self._db.submit(op)

    async def ballots(self, poll_id: int) -> dict[int, tuple[int, ...]]:
        """Every member's ballot (movies in their order for ranked polls, else option order),
        in the order members first voted."""
        rows = await self._db.read(
            "SELECT v.user_id, v.movie_id FROM poll_votes v JOIN polls p ON p.poll_id = "
            "v.poll_id JOIN poll_options o ON o.poll_id = v.poll_id AND o.movie_id = v.movie_id "
            "WHERE v.poll_id = ? ORDER BY (SELECT min(w.voted_at) FROM poll_votes w WHERE "
            "w.poll_id = v.poll_id AND w.user_id = v.user_id), v.user_id, "
            "CASE p.kind WHEN 'ranked' THEN v.rank ELSE o.position END",
            (int(poll_id),),
        )
        found: dict[int, list[int]] = {}
        for user, movie in rows:
            found.setdefault(int(user), []).append(int(movie))
        return {user: tuple(movies) for user, movies in found.items()}

    async def tally(self, poll_id: int) -> dict[int, int]:
        """Ballots naming each option (zeros included, in option order); LookupError if no
        such poll."""
        rows = await self._db.read(
            "SELECT o.movie_id, count(v.user_id) FROM poll_options o LEFT JOIN poll_votes v "
            "ON v.poll_id = o.poll_id AND v.movie_id = o.movie_id WHERE o.poll_id = ? "
            "GROUP BY o.movie_id, o.position ORDER BY o.position",
            (int(poll_id),),
        )
        if not rows:
            raise LookupError(f"no poll with id {poll_id}")
        return {int(m): int(n) for m, n in rows}

    async def last_shortlist(self, guild_id: int, members: Iterable[int]) -> tuple[int, ...]:
        """The options of the newest poll in a server that any of these members was in."""
        users = sorted({check_snowflake("member", m) for m in members})
        if not users:
            return ()
        marks = ", ".join("?" for _ in users)
        rows = await self._db.read(
            "SELECT o.movie_id FROM poll_options o WHERE o.poll_id = (SELECT max(p.poll_id) "
            "FROM polls p JOIN poll_members m ON m.poll_id = p.poll_id WHERE p.guild_id = ? "
            f"AND m.user_id IN ({marks})) ORDER BY o.position",
            (check_snowflake("guild_id", guild_id), *users),
        )
        return tuple(int(r[0]) for r in rows)

    async def get_poll(self, poll_id: int) -> Poll | None:
        """A poll with its options, or None."""
        polls = await self._polls("WHERE poll_id = ?", (int(poll_id),))
        return polls[0] if polls else None

    async def open_polls(self) -> list[Poll]:
        """Polls still open (to re-attach their buttons after a restart), oldest first."""
        return await self._polls("WHERE closed_at IS NULL", ())

    async def polls_ending(self, before: float) -> list[Poll]:
        """Open polls whose end time is at or before `before`, soonest first."""
        polls = await self._polls(
            "WHERE closed_at IS NULL AND ends_at IS NOT NULL AND ends_at <= ?", (float(before),)
        )
        return sorted(polls, key=lambda p: (p.ends_at or 0.0, p.poll_id))

    async def next_poll_end(self) -> float | None:
        """The earliest end time among open polls, or None."""
        rows = await self._db.read(
            "SELECT min(ends_at) FROM polls WHERE closed_at IS NULL AND ends_at IS NOT NULL"
        )
        return None if rows[0][0] is None else float(rows[0][0])

    async def close_poll(self, poll_id: int, winner_id: int | None = None) -> Poll:
        """Close a poll (idempotent: keeps the first closing time); records the winner unless
        one is recorded already. LookupError if unknown."""
        pid = int(poll_id)
        winner = None if winner_id is None else check_movie_id(winner_id)

        async def op(conn: SqlConnection, now: float) -> tuple[None, int]:
            cursor = await conn.execute(
                "UPDATE polls SET winner_id = coalesce(winner_id, ?), "
                "closed_at = coalesce(closed_at, ?) WHERE poll_id = ?",
                (winner, now, pid),
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
        """Polls matching a WHERE clause, with their options, scores and group, by id."""
        rows = await self._db.read(
            "SELECT poll_id, guild_id, channel_id, creator_id, message_id, strategy, "
            f"created_at, closed_at, kind, open, ends_at, winner_id FROM polls p {where} "
            "ORDER BY poll_id",
            params,
        )
        if not rows:
            return []
        ids = [int(r[0]) for r in rows]
        marks = ", ".join("?" * len(ids))
        options: dict[int, list[tuple[int, Any]]] = {pid: [] for pid in ids}
        for pid, movie, score in await self._db.read(
            f"SELECT poll_id, movie_id, score FROM poll_options WHERE poll_id IN ({marks}) "
            "ORDER BY poll_id, position",
            ids,
        ):
            options[int(pid)].append((int(movie), score))
        members: dict[int, set[int]] = {pid: set() for pid in ids}
        for pid, user in await self._db.read(
            f"SELECT poll_id, user_id FROM poll_members WHERE poll_id IN ({marks})", ids
        ):
            members[int(pid)].add(int(user))
        polls = []
        for row in rows:
            pid, guild, channel, creator, message, strategy, created, closed = row[:8]
            kind, is_open, ends, winner = row[8:]
            pairs = options[int(pid)]
            polls.append(
                Poll(
                    pid,
                    guild,
                    channel,
                    creator,
                    message,
                    tuple(int(movie) for movie, _ in pairs),
                    strategy,
                    created,
                    closed,
                    kind,
                    bool(is_open),
                    ends,
                    winner,
                    {int(movie): float(v) for movie, v in pairs if v is not None},
                    frozenset(members[int(pid)]),
                )
            )
        return polls
