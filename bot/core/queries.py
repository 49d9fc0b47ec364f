"""Read-only queries: recommendations, similar movies, group picks, predictions, search, status.

They read the model server's serving model, catalog and title index, and the store; they
never change anything.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from bot.core.keys import MemberKeys
from bot.core.model_server import ModelServer
from bot.store.backend import StoreBackend
from bot.store.schema import Rating
from recommender.data import Movie, natural_title
from recommender.elicitation import Elicitor
from recommender.groups import DEFAULT_STRATEGY, GroupStrategy
from recommender.titles import Resolution, TitleMatch
from recommender.vocab import Vocabulary

LIKED_STARS = 3.5
# A reason must be a liked movie among the pick's REASON_RANK most similar movies (its
# "more like this" list). On ML-100K that keeps Empire → Return of the Jedi (2nd), Fargo →
# Pulp Fiction (16th), Alien → Jaws (2nd) and drops Alien → Pulp Fiction (46th), Dumb &
# Dumber → One Flew Over the Cuckoo's Nest and Sleepless in Seattle → Star Wars (neither
# in the top 50); an absolute similarity cut let popular pairs through.
REASON_RANK = 20


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
    catalog: str = ""  # what the catalog covers, e.g. "9,742 movies up to 2018"


class Queries:
    """Questions about movies and members, answered from the serving model and the store."""

    def __init__(self, store: StoreBackend, models: ModelServer) -> None:
        self._store = store
        self._models = models
        self._elicitor: Elicitor | None = None

    # ------------------------------------------------------------------- movies
    def movie(self, movie_id: int) -> Movie:
        """Catalog entry; ValueError for an unknown id."""
        return self._models.catalog.movie(movie_id)

    @property
    def genre_names(self) -> list[str]:
        """The catalog's genres, without the placeholder "unknown"."""
        return [g for g in self._models.catalog.genre_names if g != "unknown"]

    def genre_candidates(self, genre: str | None) -> np.ndarray | None:
        """Movie ids of one genre (None = all); ValueError naming known genres."""
        if not genre:
            return None
        catalog = self._models.catalog
        bit = catalog.genre_mask(genre)
        return catalog.movie_ids[(catalog.genre_masks & bit) != 0]

    def catalog_summary(self) -> str:
        """What the catalog covers, for answers about unknown titles: "9,742 movies up to 2018,
        plus 3 this club added"."""
        catalog = self._models.ml.catalog if self._models.ml else self._models.catalog
        movies, latest = catalog.coverage()
        until = f" up to {latest}" if latest else ""
        club = len(self._models.club_movies)
        plus = f", plus {club:,} this club added" if club else ""
        return f"{movies:,} movies{until}{plus}"

    def search(self, query: str, limit: int = 25) -> list[TitleMatch]:
        """Fuzzy title search."""
        titles = self._models.titles
        return titles.search(query, limit) if titles else []

    def resolve(self, query: str) -> Resolution:
        """One movie when sure, otherwise candidates."""
        titles = self._models.titles
        return titles.resolve(query) if titles else Resolution(None, [])

    def autocomplete(self, typed: str, limit: int = 25) -> list[tuple[str, int]]:
        """(label, movie id) pairs for what was typed so far (popular first when empty); labels
        in natural word order (never longer: the index already keeps them within 100)."""
        titles = self._models.titles
        pairs = titles.autocomplete(typed, limit) if titles else []
        return [(natural_title(label), movie_id) for label, movie_id in pairs]

    def movie_stats(self, movie_id: int) -> tuple[float | None, int]:
        """Average rating and count of one movie across the model's training data."""
        model = self._models.model
        row = model.items.get(self._models.catalog.canonical(movie_id))
        if row < 0:  # a club movie nobody has rated yet
            return None, 0
        count = int(model.item_counts[row])
        return (float(model.item_means[row]) if count else None), count

    def similar(self, movie_id: int, n: int = 10) -> list[tuple[Movie, float]]:
        """Movies similar to one movie with their similarity."""
        movie = self.movie(movie_id)
        if movie.movie_id not in self._models.model.items:  # a club movie nobody rated yet
            return []
        ids, sims = self._models.model.similar_items(movie.movie_id, n)
        return [(self.movie(int(m)), float(s)) for m, s in zip(ids, sims, strict=True)]

    # ------------------------------------------------------------------ members
    async def ratings_of(self, member: int, limit: int | None = None) -> list[Rating]:
        """A member's ratings of movies this catalog has, newest change first."""
        rows = await self._store.ratings.user_ratings(int(member), limit=limit)
        known = self._models.in_catalog(np.array([r.movie_id for r in rows], dtype=np.int64))
        return [r for r, ok in zip(rows, known.tolist(), strict=True) if ok]

    async def rating_count(self, member: int) -> int:
        """How many movies a member has rated."""
        return await self._store.ratings.count_user_ratings(int(member))

    async def rating(self, member: int, movie_id: int) -> float | None:
        """A member's stars for one movie, or None."""
        return await self._store.ratings.get_rating(int(member), int(movie_id))

    async def rated_ids(self, member: int) -> np.ndarray:
        """Movie ids a member rated."""
        rows = await self._store.ratings.user_ratings(int(member))
        return np.array([r.movie_id for r in rows], dtype=np.int64)

    async def skipped(self, member: int) -> set[int]:
        """Movies a member said they have not seen."""
        return await self._store.skips.skipped(int(member))

    async def _member_stars(self, member: int) -> dict[int, float]:
        catalog = self._models.catalog
        rows = await self._store.ratings.user_ratings(int(member))
        return {catalog.canonical(r.movie_id): r.stars for r in rows}

    # ------------------------------------------------------------ recommendations
    async def recommend(
        self, member: int, n: int = 10, genre: str | None = None, only: set[int] | None = None
    ) -> tuple[list[Pick], bool]:
        """Personal top-n with reasons; (picks, cold_start). Cold start = popular, well rated.

        Movies the member marked seen or "not interested" never appear; `only` limits the
        picks to those movies (a watchlist), however few ratings they have.
        """
        await self._models.refresh(member)
        model = self._models.model
        candidates = self.genre_candidates(genre)
        key = MemberKeys.key(member)
        hidden = await self._hidden(member)
        if only is not None:
            return await self._picks_among(member, only, candidates, hidden, n)
        if not model.has_user(key):
            ids, means = model.popular(n, candidates=candidates, exclude=hidden)
            return [
                Pick(self.movie(int(m)), float(s)) for m, s in zip(ids, means, strict=True)
            ], True
        ids, _ = model.recommend(key, n, candidates=candidates, exclude=hidden)
        stars = model.predict(key, ids) if len(ids) else np.zeros(0)
        rated = await self._member_stars(member)
        liked = {m: s for m, s in rated.items() if s >= LIKED_STARS and m in model.items}
        picks = [
            Pick(self.movie(m), s, self._reason(m, liked))
            for m, s in zip(ids.tolist(), stars.tolist(), strict=True)
        ]
        # the list is chosen by rank score; shown best-predicted first so the stars read sensibly
        picks.sort(key=lambda p: -p.stars)
        return picks, False

    def _reason(self, movie_id: int, liked: dict[int, float]) -> str | None:
        """ "because you rated X 5★" for the liked movie closest to the pick, or nothing when
        none is genuinely close: a contrived reason is worse than none."""
        if not liked:
            return None
        close, _ = self._models.model.similar_items(movie_id, REASON_RANK)
        closest = next((int(m) for m in close.tolist() if int(m) in liked), None)
        if closest is None:
            return None
        return f"because you rated {self.movie(closest).display} {liked[closest]:g}★"

    async def onboarding_next(self, member: int, recent: list[int]) -> Movie | None:
        """The next movie to ask a member about: seen by many, divisive, varied, unrated."""
        await self._models.refresh(member)
        model = self._models.model
        if self._elicitor is None or self._elicitor.model.factors is not model.factors:
            catalog = self._models.catalog
            rows = Vocabulary(catalog.movie_ids).numbers(model.items.ids)
            self._elicitor = Elicitor(model, catalog.genre_masks[rows])
        skipped = np.fromiter(await self.skipped(member), dtype=np.int64)
        exclude = np.concatenate([await self.rated_ids(member), skipped])
        ids = self._elicitor.next(
            MemberKeys.key(member), exclude, np.asarray(recent, dtype=np.int64), model=model
        )
        return self.movie(int(ids[0])) if len(ids) else None

    async def similar_unrated(self, member: int, seed: int, depth: int = 60) -> Movie | None:
        """The movie most like `seed` that the member has neither rated nor skipped."""
        seen = set((await self.rated_ids(member)).tolist()) | await self.skipped(member)
        for movie, _ in self.similar(seed, depth):
            if movie.movie_id not in seen:
                return movie
        return None

    async def predict(self, member: int, movie_id: int) -> float | None:
        """A member's predicted stars for one movie, or None for members without ratings."""
        await self._models.refresh(member)
        model = self._models.model
        key = MemberKeys.key(member)
        movie = self._models.catalog.canonical(movie_id)
        if not model.has_user(key) or movie not in model.items:
            return None
        return float(model.predict(key, [movie])[0])

    async def explain(self, member: int, movie_id: int, n: int = 3) -> list[tuple[Movie, float]]:
        """The member's ratings that pushed this prediction most."""
        await self._models.refresh(member)
        model = self._models.model
        key = MemberKeys.key(member)
        if not model.has_user(key):
            return []
        pairs = model.explain(key, self._models.catalog.canonical(movie_id), n)
        return [(self.movie(m), c) for m, c in pairs]

    async def recommend_group(
        self,
        members: list[int],
        n: int = 5,
        strategy: GroupStrategy = DEFAULT_STRATEGY,
        exclude: list[int] | None = None,
        only: set[int] | None = None,
    ) -> tuple[list[GroupPick], list[int]]:
        """Picks for members with ratings, plus the members who have none yet.

        Never offered: what any member rated, marked seen or "not interested", and
        `exclude` (what the group watched, its last shortlist). Movies on members'
        watchlists are favoured; `only` limits picks to those movies (a server's list),
        however few ratings they have. A group with one rater gets that member's own list.
        """
        people = list(dict.fromkeys(int(u) for u in members))
        await self._models.refresh(*people)
        model = self._models.model
        known = [u for u in people if model.has_user(MemberKeys.key(u))]
        missing = [u for u in people if u not in known]
        if not known:
            return [], missing
        lists = self._store.lists
        skip = set(exclude or [])
        for hidden in ("seen", "not_interested"):
            skip |= (await lists.of_members(people, hidden)).keys()
        if len(known) == 1:
            personal, _ = await self.recommend(known[0], n + len(skip), only=only)
            personal = [p for p in personal if p.movie.movie_id not in skip][:n]
            return [GroupPick(p.movie, p.stars, {known[0]: p.stars}) for p in personal], missing
        keys = [MemberKeys.key(u) for u in known]
        vouched = set(self._models.club_movies) | (only or set())
        club = np.fromiter(vouched, dtype=np.int64, count=len(vouched))
        allowed = None if only is None else np.fromiter(only, dtype=np.int64, count=len(only))
        banned = np.fromiter(skip, dtype=np.int64, count=len(skip))
        wanted = {
            MemberKeys.key(u): np.fromiter(films, dtype=np.int64, count=len(films))
            for u in known
            if (films := await lists.movies(u, "watchlist"))
        }
        ids, _ = model.recommend_group(
            keys, n, strategy, candidates=allowed, vouched=club, exclude=banned, wanted=wanted
        )
        group, member = model.predict_group(keys, ids, strategy)
        picks = [
            GroupPick(
                self.movie(int(m)),
                float(group[j]),
                {u: float(member[k, j]) for k, u in enumerate(known)},
            )
            for j, m in enumerate(ids)
        ]
        return picks, missing

    # ------------------------------------------------------------------- status
    async def status(self) -> Status:
        """Model age, counts, last fit, next refit."""
        models = self._models
        model = models.model
        stats = await self._store.ratings.stats()
        last = await self._store.fits.last_fit()
        if last is not None and last.status == "running":
            last = await self._store.fits.last_fit("ok") or last
        fitted_at = float(model.meta.get("fitted_at", time.time()))  # type: ignore[arg-type]
        return Status(
            model_age_s=max(0.0, time.time() - fitted_at),
            movielens_ratings=len(models.ml.ratings) if models.ml else 0,
            discord_ratings=int(stats["ratings"]),
            discord_raters=int(stats["raters"]),
            last_fit_seconds=last.duration_s if last else None,
            last_fit_rmse=last.rmse if last else None,
            last_fit_status=last.status if last else None,
            next_refit_in_s=models.next_refit_in,
            pending_changes=await models.changes_pending(),
            refitting=models.refitting,
            catalog=f"{self.catalog_summary()} ({models.settings.dataset})",
        )

    # ------------------------------------------------------------ members' lists
    async def _hidden(self, member: int) -> np.ndarray:
        """Movies a member marked seen or "not interested": never in their picks."""
        lists = self._store.lists
        hidden = await lists.movies(int(member), "seen") | await lists.movies(
            int(member), "not_interested"
        )
        return np.fromiter(sorted(hidden), dtype=np.int64, count=len(hidden))

    async def _picks_among(
        self,
        member: int,
        only: set[int],
        candidates: np.ndarray | None,
        hidden: np.ndarray,
        n: int,
    ) -> tuple[list[Pick], bool]:
        """The best of a given set of movies for a member (best predicted first; for members
        without ratings, best rated first), leaving out what they rated or hid."""
        model = self._models.model
        key = MemberKeys.key(member)
        catalog = self._models.catalog
        rated = await self._member_stars(member)
        ids = np.array(
            sorted({catalog.canonical(int(m)) for m in only} - set(rated)), dtype=np.int64
        )
        keep = np.array([m in model.items for m in ids.tolist()], dtype=bool)
        keep &= ~np.isin(ids, hidden)
        if candidates is not None:
            keep &= np.isin(ids, candidates)
        ids = ids[keep]
        cold = not model.has_user(key)
        if cold:
            scores = model.item_damped_mean[model.items.numbers(ids)] if len(ids) else ids
        else:
            scores = model.predict(key, ids) if len(ids) else ids
        order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")[:n]
        liked = {m: s for m, s in rated.items() if s >= LIKED_STARS and m in model.items}
        picks = [
            Pick(
                self.movie(int(ids[k])),
                float(scores[k]),
                None if cold else self._reason(int(ids[k]), liked),
            )
            for k in order.tolist()
        ]
        return picks, cold
