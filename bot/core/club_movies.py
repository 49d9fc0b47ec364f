"""Club movies: films a club adds because the dataset lacks them, managed like any movie.

Adding checks the year and duplicates (in the catalog and among earlier club movies), takes
the genres from TMDB when a key is set, and is rate-limited per member. A club movie joins
the model as soon as it is rated (an exact item fold-in) and every refit after that.
Renaming, merging and removing are for server managers.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

from bot.core.history_files import HistoryRow
from bot.core.model_server import ModelServer
from bot.core.movie_pages import MoviePages
from bot.store.backend import StoreBackend
from recommender.data import Movie

ADDS_PER_DAY = 5
_TITLE_YEAR = re.compile(r"^\s*(.+?)\s*\(?((?:18|19|20)\d{2})\)?\s*$")


class ClubMovieError(ValueError):
    """A club-movie request we refuse; the message says why, for the member."""


class AlreadyKnown(ClubMovieError):
    """The movie to add is already in the catalog (or already a club movie)."""

    def __init__(self, movie: Movie) -> None:
        super().__init__(f"I already know {movie.display}.")
        self.movie = movie


def title_with_year(text: str) -> tuple[str, int] | None:
    """("Oppenheimer", 2023) from "Oppenheimer (2023)" or "oppenheimer 2023"; None if no year."""
    m = _TITLE_YEAR.match(text or "")
    if m is None or not m.group(1).strip(" (-"):
        return None
    return " ".join(m.group(1).strip(" (-").split()), int(m.group(2))


class ClubMovies:
    """Add, rename, merge and remove the club's own movies."""

    def __init__(self, store: StoreBackend, models: ModelServer, pages: MoviePages) -> None:
        self._store = store
        self._models = models
        self._pages = pages

    async def add(self, typed: str, member: int) -> Movie:
        """Add "Title (Year)" for a member; AlreadyKnown or ClubMovieError when refused."""
        parsed = title_with_year(typed)
        if parsed is None:
            raise ClubMovieError("Add the year too, like `Oppenheimer (2023)`.")
        title, year = parsed
        if not 1888 <= year <= time.gmtime().tm_year + 2:
            raise ClubMovieError(f"{year} doesn't look like a release year.")
        known = self._models.titles.resolve(f"{title} ({year})") if self._models.titles else None
        if known is not None and known.movie is not None and known.movie.year == year:
            raise AlreadyKnown(self._models.catalog.movie(known.movie.movie_id))
        since = time.time() - 24 * 3600
        if await self._store.club_movies.added_since(member, since) >= ADDS_PER_DAY:
            raise ClubMovieError(f"You can add {ADDS_PER_DAY} movies a day; try again tomorrow.")
        genres = await self._pages.genres(title, year)  # () without a TMDB key
        added = await self._store.club_movies.add(f"{title} ({year})", genres, member)
        await self._models.load_club_movies()
        return self._models.catalog.movie(added.movie_id)

    async def adds_left(self, member: int) -> int:
        """How many more movies a member may add today."""
        since = time.time() - 24 * 3600
        return max(0, ADDS_PER_DAY - await self._store.club_movies.added_since(member, since))

    async def from_history(
        self, rows: Sequence[HistoryRow], member: int, limit: int
    ) -> list[tuple[HistoryRow, str, tuple[str, ...]]]:
        """Up to `limit` imported movies the catalog lacks, checked like `add` checks a typed
        one: (row, "Title (Year)", genres); the import's transaction creates them."""
        out: list[tuple[HistoryRow, str, tuple[str, ...]]] = []
        taken: set[str] = set()
        for row in rows:
            if len(out) >= limit:
                break
            if not row.title or row.year is None:
                continue
            name = f"{' '.join(row.title.split())} ({row.year})"
            if not 1888 <= row.year <= time.gmtime().tm_year + 2 or name.casefold() in taken:
                continue
            known = self._models.titles.resolve(name) if self._models.titles else None
            if known is not None and known.movie is not None and known.movie.year == row.year:
                continue
            taken.add(name.casefold())
            out.append((row, name, await self._pages.genres(row.title, row.year)))
        return out

    async def rename(self, movie_id: int, typed: str) -> Movie:
        """Give a club movie a new "Title (Year)"."""
        parsed = title_with_year(typed)
        if parsed is None:
            raise ClubMovieError("Give the new title with its year, like `Oppenheimer (2023)`.")
        if not await self._store.club_movies.rename(movie_id, f"{parsed[0]} ({parsed[1]})"):
            raise ClubMovieError("That isn't one of the club's movies.")
        await self._models.load_club_movies()
        return self._models.catalog.movie(movie_id)

    async def remove(self, movie_id: int) -> int:
        """Delete a club movie with its ratings; returns how many ratings went with it."""
        raters, _ = await self._store.ratings.movie_ratings(movie_id)
        deleted = await self._store.club_movies.remove(movie_id)
        await self._models.load_club_movies()
        await self._refold(raters, None)
        return deleted

    async def merge(self, movie_id: int, into: int) -> int:
        """Move a club movie's ratings onto another movie and delete it."""
        raters, _ = await self._store.ratings.movie_ratings(movie_id)
        moved = await self._store.club_movies.merge(movie_id, into)
        await self._models.load_club_movies()
        await self._refold(raters, into)
        return moved

    async def _refold(self, members: list[int], movie: int | None) -> None:
        """Fold in the members whose ratings a removal or merge changed."""
        for member in members:
            async with self._models.member_lock(member):
                await self._models.changed(member, movie)
        self._models.drop_missing_club_items()
