"""Move a club's database to another dataset's movie ids (`python -m bot migrate-ids`).

Clubs that began on ML-100K keep every rating when the bot moves to today's MovieLens ids:
movies are matched by name and year, unmatched ones become club movies (and are listed), and
the old dataset's model files, which hold members' vectors under the old ids, are deleted.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from bot.settings import Settings
from bot.store import Store
from bot.store.id_migration import Remapped, remap_movies
from recommender.catalog_match import match_catalogs
from recommender.datasets import id_space, load_dataset

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Switch:
    """The outcome of a move: from where to where, the numbers, and what found no match."""

    from_dataset: str
    to_dataset: str
    movies_matched: int
    movies_known: int
    done: Remapped | None  # None: the database already uses the target's ids
    unmatched: list[tuple[str, int]]  # (title, ratings) of the new club movies, most rated first


async def switch_dataset(settings: Settings) -> Switch:
    """Move DATABASE_PATH to DATASET's movie ids (stop the bot first)."""
    async with Store(settings.store_target) as store:
        bound = await store.bind_dataset(settings.dataset)
        if id_space(bound) == id_space(settings.dataset):
            return Switch(bound, settings.dataset, 0, 0, None, [])
        source, target = await asyncio.gather(
            asyncio.to_thread(load_dataset, bound, settings.data_dir, settings.movielens_dir),
            asyncio.to_thread(
                load_dataset, settings.dataset, settings.data_dir, settings.movielens_dir
            ),
        )
        mapping = await asyncio.to_thread(match_catalogs, source.catalog, target.catalog)
        old = source.catalog
        movies = {
            int(m): (old.titles[r], "|".join(old.genres_of_row(r)))
            for r, m in enumerate(old.movie_ids.tolist())
        }
        done = await remap_movies(store, mapping, movies, settings.dataset)
        marks = ",".join("?" * len(done.club_movie_ids))
        rows = (
            await store.db.read(
                f"SELECT c.title, count(r.user_id) AS n FROM club_movies c LEFT JOIN ratings r "
                f"ON r.movie_id = c.movie_id WHERE c.movie_id IN ({marks}) "
                "GROUP BY c.movie_id ORDER BY n DESC, c.title",
                done.club_movie_ids,
            )
            if marks
            else []
        )
    for suffix in (".npz", ".json"):
        (settings.model_dir / f"{bound}{suffix}").unlink(missing_ok=True)
    log.info(
        "moved %s from %s to %s ids: %s", settings.store_location, bound, settings.dataset, done
    )
    return Switch(
        bound,
        settings.dataset,
        len(mapping),
        len(source.catalog),
        done,
        [(str(t), int(n)) for t, n in rows],
    )


def describe(switch: Switch) -> str:
    """The report `python -m bot migrate-ids` prints."""
    if switch.done is None:
        return f"Nothing to do: the database already uses {switch.to_dataset}'s movie ids."
    d = switch.done
    lines = [
        f"Moved from {switch.from_dataset} to {switch.to_dataset} movie ids.",
        f"Movies matched: {switch.movies_matched:,} of {switch.movies_known:,}.",
        f"Ratings moved: {d.ratings_moved:,} ({d.ratings_merged:,} merged into the same movie).",
        f"Movies without a match became club movies: {d.club_movies_made:,} "
        f"({d.ratings_to_club_movies:,} ratings; nothing deleted).",
        f"Open polls closed: {d.polls_closed:,}.",
    ]
    if switch.unmatched:
        lines.append("New club movies (ratings):")
        lines += [f"  {title}: {n}" for title, n in switch.unmatched[:50]]
        if len(switch.unmatched) > 50:
            lines.append(f"  …and {len(switch.unmatched) - 50} more")
    return "\n".join(lines)
