"""Move a database from one movie-id space to another (ML-100K ids to today's MovieLens ids).

One transaction: ratings of matched movies move to their new ids (when two old movies map to
one new movie, the member's latest rating wins), ratings of unmatched movies are kept aside
in `unmatched_ratings` with their title, skips are mapped (unmatched ones dropped), card
walks are reset, open polls are closed, and the database is bound to the new dataset. Run it
with the bot stopped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import aiosqlite

from bot.store import Store


@dataclass(frozen=True)
class Remapped:
    """What a move did, in numbers."""

    ratings_moved: int
    ratings_merged: int  # two old movies, one new movie: the older rating gave way
    ratings_kept_aside: int
    skips_dropped: int
    polls_closed: int


async def remap_movies(
    store: Store,
    mapping: Mapping[int, int],
    titles: Mapping[int, str],
    from_dataset: str,
    to_dataset: str,
) -> Remapped:
    """Rewrite every movie id through `mapping` in one transaction (see the module doc)."""

    async def op(conn: aiosqlite.Connection, now: float) -> tuple[Remapped, int]:
        rows = list(
            await conn.execute_fetchall(
                "SELECT user_id, movie_id, stars, source, created_at, updated_at FROM ratings"
            )
        )
        moved: dict[tuple[int, int], tuple] = {}
        aside, merged = [], 0
        for user, movie, stars, source, created, updated in rows:
            new = mapping.get(int(movie))
            if new is None:
                title = titles.get(int(movie), f"movie {movie}")
                aside.append((user, from_dataset, movie, title, stars, source, created, updated))
                continue
            key = (int(user), int(new))
            if key in moved:
                merged += 1
                if moved[key][5] >= updated:
                    continue
            moved[key] = (user, new, stars, source, created, updated)
        await conn.execute("DELETE FROM ratings")
        await conn.executemany(
            "INSERT INTO ratings (user_id, movie_id, stars, source, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            list(moved.values()),
        )
        await conn.executemany(
            "INSERT OR REPLACE INTO unmatched_ratings (user_id, from_dataset, old_movie_id, "
            "title, stars, source, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            aside,
        )
        skips = list(await conn.execute_fetchall("SELECT user_id, movie_id, created_at FROM skips"))
        kept = {(u, mapping[m]): c for u, m, c in skips if m in mapping}
        await conn.execute("DELETE FROM skips")
        await conn.executemany(
            "INSERT INTO skips (user_id, movie_id, created_at) VALUES (?, ?, ?)",
            [(u, m, c) for (u, m), c in kept.items()],
        )
        await _reset_card_walks(conn)
        cursor = await conn.execute(
            "UPDATE polls SET closed_at = ? WHERE closed_at IS NULL", (now,)
        )
        await conn.execute("UPDATE meta SET value = ? WHERE key = 'dataset'", (to_dataset,))
        result = Remapped(
            len(moved), merged, len(aside), len(skips) - len(kept), max(cursor.rowcount, 0)
        )
        return result, len(rows) + len(moved)  # every old row changed: the next fit sees all

    return await store.db.submit(op)


async def _reset_card_walks(conn: aiosqlite.Connection) -> None:
    """Keep onboarding progress counts; drop the movie ids in card sessions (old numbering)."""
    for user, text in list(
        await conn.execute_fetchall("SELECT user_id, data FROM onboarding_sessions")
    ):
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
