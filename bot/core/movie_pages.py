"""Movie pages from TMDB (poster, overview, runtime, trailer, where to stream) when a key is set.

Without `TMDB_API_KEY` every lookup answers None and the bot shows links only. A movie is
found by the TMDB id in the dataset's links, else by its IMDb id, else by title and year.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from bot.core.model_server import ModelServer
from bot.settings import Settings
from bot.tmdb import MoviePage, TmdbClient, TmdbConfig
from recommender.data import Movie

log = logging.getLogger(__name__)

_IMDB_ID = re.compile(r"\b(tt\d{7,})\b")
# TMDB's movie genre ids, as MovieLens names them (TMDB's History and TV Movie have no match).
TMDB_GENRES = {
    28: "Action",
    12: "Adventure",
    16: "Animation",
    10751: "Children",
    35: "Comedy",
    80: "Crime",
    99: "Documentary",
    18: "Drama",
    14: "Fantasy",
    27: "Horror",
    10402: "Musical",
    9648: "Mystery",
    10749: "Romance",
    878: "Sci-Fi",
    53: "Thriller",
    10752: "War",
    37: "Western",
}
_YEAR_SUFFIX = re.compile(r"\s*\(\d{4}\)\s*$")


class MoviePages:
    """TMDB details for catalog movies; never raises, None when unknown or unavailable."""

    def __init__(self, settings: Settings, models: ModelServer) -> None:
        self._models = models
        self._client: TmdbClient | None = None
        self._ids: dict[int, int] = {}  # movie id -> TMDB id, once found
        if settings.tmdb_api_key:
            config = TmdbConfig(
                api_key=settings.tmdb_api_key,
                region=settings.tmdb_region,
                base_url=settings.tmdb_api_base,
            )
            self._client = TmdbClient(config, Path(settings.data_dir) / "tmdb-cache.db")

    @property
    def enabled(self) -> bool:
        """Whether a TMDB key is configured."""
        return self._client is not None

    async def open(self) -> None:
        """Open the TMDB client (and its cache) when a key is configured."""
        if self._client is not None:
            await self._client.open()

    async def close(self) -> None:
        """Close the client and its cache."""
        if self._client is not None:
            await self._client.close()

    async def page(self, movie: Movie) -> MoviePage | None:
        """The TMDB page of a catalog movie, or None (no key, not found, TMDB unavailable)."""
        if self._client is None:
            return None
        tmdb_id = await self._tmdb_id(movie)
        return None if tmdb_id is None else await self._client.page(tmdb_id)

    async def suggest(self, typed: str) -> str | None:
        """ "Title (Year)" of TMDB's best match for typed text, to offer adding it; None when
        there is no key, no match, or TMDB is unavailable."""
        if self._client is None or not typed.strip():
            return None
        hits = [h for h in await self._client.search(typed.strip()) if h.year]
        return f"{hits[0].title} ({hits[0].year})" if hits else None

    async def genres(self, title: str, year: int) -> tuple[str, ...]:
        """A new club movie's genres from TMDB's search (same year), in MovieLens names."""
        if self._client is None:
            return ()
        hits = [h for h in await self._client.search(title, year) if h.year == year]
        if not hits:
            return ()
        return tuple(dict.fromkeys(TMDB_GENRES[g] for g in hits[0].genre_ids if g in TMDB_GENRES))

    async def _tmdb_id(self, movie: Movie) -> int | None:
        """TMDB id from the dataset's links, else from the IMDb id, else by title and year."""
        if movie.movie_id in self._ids:  # misses are not kept here: the client caches
            return self._ids[movie.movie_id]  # TMDB's answers, and an outage must not stick
        assert self._client is not None
        catalog = self._models.catalog
        known = int(catalog.tmdb_ids[catalog.row(movie.movie_id)])
        found: int | None = known if known > 0 else None
        imdb = _IMDB_ID.search(movie.imdb_url or "")
        if found is None and imdb:
            found = await self._client.find_imdb(imdb.group(1))
        if found is None:
            title = _YEAR_SUFFIX.sub("", movie.display)
            hits = await self._client.search(title, movie.year)
            found = hits[0].tmdb_id if hits else None
        if found is not None:
            self._ids[movie.movie_id] = found
        return found
