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
_YEAR_SUFFIX = re.compile(r"\s*\(\d{4}\)\s*$")


class MoviePages:
    """TMDB details for catalog movies; never raises, None when unknown or unavailable."""

    def __init__(self, settings: Settings, models: ModelServer) -> None:
        self._models = models
        self._client: TmdbClient | None = None
        self._ids: dict[int, int | None] = {}  # movie id -> TMDB id (None: not on TMDB)
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

    async def _tmdb_id(self, movie: Movie) -> int | None:
        """TMDB id from the dataset's links, else from the IMDb id, else by title and year."""
        if movie.movie_id in self._ids:
            return self._ids[movie.movie_id]
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
        self._ids[movie.movie_id] = found
        return found
