"""The ratings service: the only way to change a member's data.

Every change follows one rule: commit to the store, fold the member into the serving model,
count the change for the next refit, all under the member's lock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.core.model_server import ModelServer
from bot.store.backend import StoreBackend
from bot.store.schema import HistoryBatch, HistoryWritten, validate_stars
from recommender.data import Movie

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RateResult:
    """The outcome of a committed rating."""

    movie: Movie
    stars: float
    previous: float | None
    rated_count: int


@dataclass(frozen=True)
class ImportResult:
    """What an import wrote, and how many movies the member has rated now."""

    written: HistoryWritten
    rated_count: int


class RatingsService:
    """Rate, unrate, import, skip, forget: commit, then fold in, then count for the next
    refit."""

    def __init__(self, store: StoreBackend, models: ModelServer) -> None:
        self._store = store
        self._models = models

    async def rate(
        self, member: int, movie_id: int, stars: float, source: str = "slash"
    ) -> RateResult:
        """Validate, commit, then fold in at once; returns a RateResult."""
        stars = validate_stars(stars)
        movie = self._models.catalog.movie(int(movie_id))
        async with self._models.member_lock(member):
            change = await self._store.ratings.rate(int(member), movie.movie_id, stars, source)
            count = await self._models.changed(member, movie.movie_id)
        return RateResult(movie, stars, change.previous, count)

    async def unrate(self, member: int, movie_id: int) -> bool:
        """Remove one rating; True if there was one."""
        movie = self._models.catalog.canonical(int(movie_id))
        async with self._models.member_lock(member):
            removed = await self._store.ratings.unrate(int(member), movie)
            if removed:
                await self._models.changed(member, movie)
        return removed

    async def import_history(self, batch: HistoryBatch) -> ImportResult:
        """Commit a member's imported history in one transaction, then fold them in once
        (with the club movies it created); importing the same batch again changes nothing."""
        member = int(batch.user_id)
        async with self._models.member_lock(member):
            written = await self._store.history.apply(batch)
            if written.club_movie_ids:
                await self._models.load_club_movies()
            if written.changed:
                count = await self._models.changed_many(member, written.club_movie_ids)
            else:
                count = await self._store.ratings.count_user_ratings(member)
        log.info(
            "imported history for a member: %d new, %d updated, %d kept, %d list entries",
            written.added,
            written.updated,
            written.kept,
            written.listed,
        )
        return ImportResult(written, count)

    async def skip(self, member: int, movie_id: int) -> None:
        """Remember that a member has not seen a movie (never asked about it again)."""
        await self._store.skips.skip(int(member), int(movie_id))

    async def forget(self, member: int) -> int:
        """Delete everything about a member from the store and the serving model at once, and
        refit soon so no snapshot on disk keeps them either; returns the records deleted."""
        async with self._models.member_lock(member):
            deleted = await self._store.forget_member(int(member))
            self._models.forgotten(member)
        await self._store.scrub()  # no copy of the deleted rows left in the WAL either
        return deleted
