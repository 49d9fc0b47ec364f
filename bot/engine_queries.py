"""The engine's read-only queries: recommendations, similar movies, predictions, search, status.

Engine mixes these in; they only read its serving model, catalog, title index and store.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from recommender.data import Movie
from recommender.elicitation import Elicitor
from recommender.model import ALSModel
from recommender.titles import Resolution, TitleMatch
from recommender.vocab import Vocabulary

if TYPE_CHECKING:
    from bot.store import Store
    from recommender.data import Catalog
    from recommender.movielens import MovieLens
    from recommender.titles import TitleIndex

LIKED_STARS = 3.5


def model_key(discord_id: int) -> int:
    """The model's user key for a Discord user (negated snowflake)."""
    return -int(discord_id)


@dataclass(frozen=True)
class Pick:
    """One recommended movie with its predicted stars and a one-line reason."""

    movie: Movie
    stars: float
    reason: str | None = None


@dataclass(frozen=True)
class GroupPick:
    """A movie for a group: group score and each member's predicted stars."""

    movie: Movie
    score: float
    member_stars: dict[int, float]


@dataclass(frozen=True)
class Status:
    """What /status shows."""

    model_age_s: float
    movielens_ratings: int
    discord_ratings: int
    discord_raters: int
    last_fit_seconds: float | None
    last_fit_rmse: float | None
    last_fit_status: str | None
    next_refit_in_s: float | None
    pending_changes: int
    refitting: bool


class EngineQueries:
    """Queries over the serving model; Engine supplies the state declared below."""

    if TYPE_CHECKING:
        store: Store
        ml: MovieLens | None
        model: ALSModel | None
        titles: TitleIndex | None
        _elicitor: Elicitor | None
        _next_refit_at: float | None

        @property
        def catalog(self) -> Catalog: ...

        @property
        def pending_changes(self) -> int: ...

        @property
        def refitting(self) -> bool: ...

    # -------------------------------------------------------------------- queries
    def movie(self, movie_id: int) -> Movie:
        """Catalog entry; ValueError for an unknown id."""
        return self.catalog.movie(movie_id)

    async def rated_ids(self, user: int) -> np.ndarray:
        """Movie ids a Discord user rated."""
        rows = await self.store.user_ratings(int(user))
        return np.array([r.movie_id for r in rows], dtype=np.int64)

    def _require_model(self) -> ALSModel:
        if self.model is None:
            raise RuntimeError("the model is not ready yet")
        return self.model

    def genre_candidates(self, genre: str | None) -> np.ndarray | None:
        """Movie ids of one genre (None = all); ValueError naming known genres."""
        if not genre:
            return None
        bit = self.catalog.genre_mask(genre)
        return self.catalog.movie_ids[(self.catalog.genre_masks & bit) != 0]

    async def recommend(
        self, user: int, n: int = 10, genre: str | None = None
    ) -> tuple[list[Pick], bool]:
        """Personal top-n with reasons; (picks, cold_start). Cold start = popular, well rated."""
        model = self._require_model()
        candidates = self.genre_candidates(genre)
        key = model_key(user)
        if not model.has_user(key):
            ids, means = model.popular(n, candidates=candidates)
            return [
                Pick(self.movie(int(m)), float(s)) for m, s in zip(ids, means, strict=True)
            ], True
        ids, stars = model.recommend(key, n, candidates=candidates)
        rated = dict(zip(*(await self._user_stars(user)), strict=True))
        picks = []
        for m, s in zip(ids.tolist(), stars.tolist(), strict=True):
            reason = None
            # cite the liked movie that pushed this pick up most (never a low rating)
            for liked, push in model.explain(key, m, n=5):
                if push > 0 and rated.get(liked, 0) >= LIKED_STARS:
                    reason = f"because you rated {self.movie(liked).title} {rated[liked]:g}★"
                    break
            picks.append(Pick(self.movie(m), s, reason))
        # the list is chosen by rank score; shown best-predicted first so the stars read sensibly
        picks.sort(key=lambda p: -p.stars)
        return picks, False

    async def onboarding_next(self, user: int, recent: list[int]) -> Movie | None:
        """The next movie to ask a user about: seen by many, divisive, varied, unrated."""
        model = self._require_model()
        if self._elicitor is None or self._elicitor.model is not model:
            rows = Vocabulary(self.catalog.movie_ids).numbers(model.items.ids)
            self._elicitor = Elicitor(model, self.catalog.genre_masks[rows])
        skipped = np.fromiter(await self.store.skipped(int(user)), dtype=np.int64)
        exclude = np.concatenate([await self.rated_ids(user), skipped])
        ids = self._elicitor.next(model_key(user), exclude, np.asarray(recent, dtype=np.int64))
        return self.movie(int(ids[0])) if len(ids) else None

    async def _user_stars(self, user: int) -> tuple[list[int], list[float]]:
        rows = await self.store.user_ratings(int(user))
        return [self.catalog.canonical(r.movie_id) for r in rows], [r.stars for r in rows]

    def similar(self, movie_id: int, n: int = 10) -> list[tuple[Movie, float]]:
        """Movies similar to one movie with cosine similarity."""
        model = self._require_model()
        movie = self.movie(movie_id)
        ids, sims = model.similar_items(movie.movie_id, n)
        return [(self.movie(int(m)), float(s)) for m, s in zip(ids, sims, strict=True)]

    async def predict(self, user: int, movie_id: int) -> float | None:
        """A user's predicted stars for one movie, or None for users without ratings."""
        model = self._require_model()
        key = model_key(user)
        if not model.has_user(key):
            return None
        return float(model.predict(key, [self.catalog.canonical(movie_id)])[0])

    def movie_stats(self, movie_id: int) -> tuple[float | None, int]:
        """Average rating and count of one movie across the model's training data."""
        model = self._require_model()
        row = model.items.index(self.catalog.canonical(movie_id))
        count = int(model.item_counts[row])
        return (float(model.item_means[row]) if count else None), count

    async def recommend_group(
        self, users: list[int], n: int = 5, strategy: str = "least_misery"
    ) -> tuple[list[GroupPick], list[int]]:
        """Picks for members with ratings, plus the members who have none yet.

        A group with one rater gets exactly that member's personal list.
        """
        model = self._require_model()
        members = list(dict.fromkeys(int(u) for u in users))
        known = [u for u in members if model.has_user(model_key(u))]
        missing = [u for u in members if u not in known]
        if not known:
            return [], missing
        if len(known) == 1:
            personal, _ = await self.recommend(known[0], n)
            return [GroupPick(p.movie, p.stars, {known[0]: p.stars}) for p in personal], missing
        ids, group, member = model.recommend_group(
            [model_key(u) for u in known],
            n,
            strategy,  # type: ignore[arg-type]
        )
        picks = [
            GroupPick(
                self.movie(int(m)),
                float(group[j]),
                {u: float(member[k, j]) for k, u in enumerate(known)},
            )
            for j, m in enumerate(ids)
        ]
        return picks, missing

    async def explain(self, user: int, movie_id: int, n: int = 3) -> list[tuple[Movie, float]]:
        """The user's ratings that pushed this prediction most."""
        model = self._require_model()
        key = model_key(user)
        if not model.has_user(key):
            return []
        pairs = model.explain(key, self.catalog.canonical(movie_id), n)
        return [(self.movie(m), c) for m, c in pairs]

    def search(self, query: str, limit: int = 25) -> list[TitleMatch]:
        """Fuzzy title search."""
        return self.titles.search(query, limit) if self.titles else []

    def resolve(self, query: str) -> Resolution:
        """One movie when sure, otherwise candidates."""
        return self.titles.resolve(query) if self.titles else Resolution(None, [])

    async def status(self) -> Status:
        """Model age, counts, last fit, next refit."""
        model = self._require_model()
        stats = await self.store.stats()
        last = await self.store.last_fit()
        if last is not None and last.status == "running":
            last = await self.store.last_fit("ok") or last
        fitted_at = float(model.meta.get("fitted_at", time.time()))  # type: ignore[arg-type]
        nxt = None if self._next_refit_at is None else max(0.0, self._next_refit_at - time.time())
        return Status(
            model_age_s=max(0.0, time.time() - fitted_at),
            movielens_ratings=len(self.ml.ratings) if self.ml else 0,
            discord_ratings=int(stats["ratings"]),
            discord_raters=int(stats["raters"]),
            last_fit_seconds=last.duration_s if last else None,
            last_fit_rmse=last.rmse if last else None,
            last_fit_status=last.status if last else None,
            next_refit_in_s=nxt,
            pending_changes=self.pending_changes,
            refitting=self.refitting,
        )
