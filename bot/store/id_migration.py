"""Move a database from one movie-id space to another (ML-100K ids to today's MovieLens ids).

One transaction: ratings, skips and list entries of matched movies move to their new ids
(when two old movies map to one new movie, the member's latest rating wins); every rated,
skipped or listed movie without a match becomes a club movie with its old title and genres,
and its ratings move there, so nothing is lost. Movie nights follow their movie. Card walks
are reset, open polls are closed, and the database is bound to the new dataset. Run it with
the bot stopped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from bot.store import Store
from bot.store.schema import CLUB_MOVIE_IDS
from bot.store.writer import SqlConnection


@dataclass(frozen=True)
class Remapped:
    """What a move did, in numbers."""

    ratings_moved: int
    ratings_merged: int  # two old movies, one new movie: the older rating gave way
    club_movies_made: int  # unmatched movies that became club movies
    ratings_to_club_movies: int
    polls_closed: int
    club_movie_ids: tuple[int, ...] = ()


async def remap_movies(
    store: Store,
    mapping: Mapping[int, int],
    movies: Mapping[int, tuple[str, str]],
    to_dataset: str,
) -> Remapped:
    """Rewrite every movie id through `mapping`; unmatched ones become club movies with the
    (title, "A|B" genres) that `movies` gives for their old id (see the module doc)."""

    async def op(conn: SqlConnection, now: float) -> tuple[Remapped, int]:
        ratings = list(
            await conn.execute_fetchall(
                "SELECT user_id, movie_id, stars, source, created_at, updated_at FROM ratings"
            )
        )
        skips = list(await conn.execute_fetchall("SELECT user_id, movie_id, created_at FROM skips"))
        lists = list(await conn.execute_fetchall("SELECT * FROM member_lists"))
        shared = list(await conn.execute_fetchall("SELECT * FROM server_lists"))
        nights = list(await conn.execute_fetchall("SELECT night_id, movie_id FROM nights"))
        used = {int(r[1]) for r in ratings + skips + nights} | {int(r[2]) for r in lists}
        club = await _club_movies_for(conn, used | {int(r[1]) for r in shared}, mapping)
        target = {**mapping, **club}
        for old, new in club.items():
            title, genres = movies.get(old, (f"Movie {old}", ""))
            await conn.execute(
                "INSERT INTO club_movies (movie_id, title, genres, added_by, created_at) "
                "VALUES (?, ?, ?, NULL, ?)",
                (new, title, genres, now),
            )
        moved: dict[tuple[int, int], tuple] = {}
        merged = 0
        for user, movie, stars, source, created, updated in ratings:
            key = (int(user), target[int(movie)])
            if key in moved:
                merged += 1
                if moved[key][5] >= updated:
                    continue
            moved[key] = (user, key[1], stars, source, created, updated)
        await conn.execute("DELETE FROM ratings")
        await conn.executemany(
            "INSERT INTO ratings (user_id, movie_id, stars, source, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            list(moved.values()),
        )
        kept = {(u, target[m]): c for u, m, c in skips}
        await conn.execute("DELETE FROM skips")
        await conn.executemany(
            "INSERT INTO skips (user_id, movie_id, created_at) VALUES (?, ?, ?)",
            [(u, m, c) for (u, m), c in kept.items()],
        )
        await conn.execute("DELETE FROM member_lists")
        await conn.executemany(
            "INSERT INTO member_lists VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [(u, k, target[int(m)], src, c) for u, k, m, src, c in lists],
        )
        await conn.execute("DELETE FROM server_lists")
        await conn.executemany(
            "INSERT INTO server_lists VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [(g, target[int(m)], a, c) for g, m, a, c in shared],
        )
        await conn.executemany(
            "UPDATE nights SET movie_id = ? WHERE night_id = ?",
            [(target[int(m)], n) for n, m in nights],
        )
        await _reset_card_walks(conn)
        cursor = await conn.execute(
            "UPDATE polls SET closed_at = ? WHERE closed_at IS NULL", (now,)
        )
        await conn.execute("UPDATE meta SET value = ? WHERE key = 'dataset'", (to_dataset,))
        club_ids = set(club.values())
        to_club = sum(1 for _, m, *_ in moved.values() if m in club_ids)
        result = Remapped(
            len(moved) - to_club,
            merged,
            len(club),
            to_club,
            max(cursor.rowcount, 0),
            tuple(sorted(club_ids)),
        )
        return result, len(ratings) + len(moved)  # every old row changed: the next fit sees all

    return await store.db.submit(op)


async def _club_movies_for(
    conn: SqlConnection, used: set[int], mapping: Mapping[int, int]
) -> dict[int, int]:
    """Old id -> new club movie id for every used movie without a match."""
    rows = list(await conn.execute_fetchall("SELECT max(movie_id) FROM club_movies"))
    next_id = max(CLUB_MOVIE_IDS, int(rows[0][0] or 0) + 1)
    return {old: next_id + k for k, old in enumerate(sorted(used - set(mapping)))}


async def _reset_card_walks(conn: SqlConnection) -> None:
    """Keep onboarding progress counts; drop the movie ids in card sessions (old numbering)."""
    rows = await conn.execute_fetchall("SELECT user_id, data FROM onboarding_sessions")
    for user, text in list(rows):
        data = json.loads(text)
        sessions = data.get("sessions") or ({data["mode"]: data} if "mode" in data else {})
        onboarding = sessions.get("o")
        if onboarding is None:
            await conn.execute("DELETE FROM onboarding_sessions WHERE user_id = ?", (user,))
            continue
        kept = {"o": {**onboarding, "recent": []}}
        await conn.execute(
            "UPDATE onboarding_sessions SET data = ?, message_id = NULL WHERE user_id = ?",
            (json.dumps({"sessions": kept}, separators=(",", ":")), user),
        )
