"""The fitted recommender: predictions, top-N, similar movies, groups, explanations."""

from __future__ import annotations

import copy
import dataclasses
import logging
import time
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import scipy.sparse as sp

from recommender.als import ALSTrainer, Factors, Fold, to_csr
from recommender.bayes import fit_bayes
from recommender.config import ALSConfig, RankingConfig
from recommender.data import Ratings, bit_count
from recommender.groups import (
    DEFAULT_STRATEGY,
    GroupStrategy,
    check_strategy,
    group_stars,
    shortlist,
)
from recommender.priors import ItemPrior, ItemSide, apply_item_prior
from recommender.solvers import Solver
from recommender.vocab import Vocabulary

log = logging.getLogger(__name__)


def top_n(scores: np.ndarray, n: int) -> np.ndarray:
    """Indices of the n best finite scores, best first by a stable sort; -inf and NaN never rank."""
    valid = np.flatnonzero(np.isfinite(scores))
    if len(valid) == 0 or n <= 0:
        return np.empty(0, dtype=np.int64)
    n = min(n, len(valid))
    part = valid[np.argpartition(-scores[valid], n - 1)[:n]]
    return part[np.argsort(-scores[part], kind="stable")]


def support_floor(counts: np.ndarray, ranking: RankingConfig) -> int:
    """Ratings a movie needs to be picked: `min_support` at most, lowered until the movies at
    or above it hold `support_share` of all ratings, so sparse catalogs keep their middle.

    ML-100K keeps 20 (those movies hold 95 % of its ratings); ml-latest-small, where most
    movies have a handful of ratings, gets 4.
    """
    ordered = np.sort(counts[counts > 0])[::-1]
    if len(ordered) == 0:
        return max(1, ranking.min_support)
    held = np.cumsum(ordered)
    enough = int(np.searchsorted(held, ranking.support_share * held[-1]))
    return max(1, min(ranking.min_support, int(ordered[min(enough, len(ordered) - 1)])))


@dataclass
class _UserState:
    bias: float
    vector: np.ndarray
    items: np.ndarray  # item indices
    ratings: np.ndarray
    preference: np.ndarray | None = None


@dataclass(frozen=True)
class _UserSide:
    """The current user side as one factor table (for item solves) and each user's row in it."""

    users: Vocabulary
    factors: Factors
    solvers: tuple[Solver, Solver | None]


class FitEngine(Protocol):
    """Fits factors somewhere else than this process (a cluster); same model, same snapshot."""

    def fit(self, matrix: sp.csr_matrix, user_ids: np.ndarray) -> Factors:
        """Factors for a users×items matrix whose rows are these user ids."""
        ...


@dataclass
class ALSModel:
    """Factors plus the vocabularies and rated items they were fitted on.

    A fitted model is never changed in place: `with_user` and `without_user` return new
    models sharing these arrays, with users folded in after the fit (Discord ratings) kept
    in `_overrides` and removed users in `_removed` until the next fit. `with_item` and
    `without_item` likewise add, re-solve or drop a movie (club movies) in a new model;
    `user_items` stays the fitted ratings, and movies rated by fitted users through
    `with_item` are kept in `_extra_rated` (fitted user row -> {item index: stars}), which
    overlays their fitted row wherever their rated items count.

    Every ranking method takes ids and returns (movie ids, the scores they were ranked by).
    """

    config: ALSConfig
    factors: Factors
    users: Vocabulary
    items: Vocabulary
    user_items: sp.csr_matrix
    fingerprint: str
    ranking: RankingConfig = field(default_factory=RankingConfig)
    rating_range: tuple[float, float] = (0.5, 5.0)
    meta: dict[str, object] = field(default_factory=dict)
    item_genres: np.ndarray | None = None  # genre bitmask per item index, for "more like this"
    side_prior: ItemPrior | None = None  # pulls movies solved later (club movies) toward it
    _overrides: dict[int, _UserState] = field(default_factory=dict, repr=False)
    _removed: set[int] = field(default_factory=set, repr=False)
    _extra_rated: dict[int, dict[int, float]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        counts = np.bincount(self.user_items.indices, minlength=len(self.items))
        sums = np.bincount(
            self.user_items.indices, weights=self.user_items.data, minlength=len(self.items)
        )
        self._set_item_stats(counts.astype(np.int64), sums)
        self._unit_items = _unit_items(self.factors.item_factors, self.factors.pref_item)
        self._trainer = ALSTrainer(self.config)
        self._solvers: tuple[Solver, Solver | None] | None = None
        self._side: _UserSide | None = None
        self._co_rating: tuple[sp.csr_matrix, sp.csc_matrix] | None = None

    def _set_item_stats(self, counts: np.ndarray, sums: np.ndarray) -> None:
        """Per-movie rating counts and sums, and everything ranking derives from them."""
        self.item_counts, self._item_sums = counts, sums
        self.item_means = sums / np.maximum(counts, 1)
        m = self.ranking.cold_start_damping
        self.item_damped_mean = (sums + m * self.factors.mu) / (counts + m)
        top = int(counts.max()) if len(counts) else 0
        log_support = np.log1p(counts) / np.log1p(max(top, 1))
        self._prior = self.ranking.popularity_weight * log_support
        self._penalty = self.ranking.popularity_penalty * log_support
        self.support_floor = support_floor(counts, self.ranking)
        self._supported = counts >= self.support_floor
        self.similar_floor = min(self.ranking.min_support, max(1, top))
        self._similar_supported = counts >= self.similar_floor

    # ----------------------------------------------------------------- fitting
    @classmethod
    def fit(
        cls,
        ratings: Ratings,
        config: ALSConfig | None = None,
        items: Vocabulary | None = None,
        ranking: RankingConfig | None = None,
        init: ALSModel | None = None,
        side: ItemSide | None = None,
        engine: FitEngine | None = None,
    ) -> ALSModel:
        """Fit on (user id, movie id, stars) rows; `items` fixes the movie vocabulary.

        `side` (genres and years per item) pulls sparse movies toward what those predict,
        with `config.side_prior` (`recommender.priors`), and movies solved later too.
        `engine` fits elsewhere (e.g. `recommender.spark_engine.SparkEngine`); None fits here.
        """
        config = config or ALSConfig()
        if len(ratings) == 0:
            raise ValueError("cannot fit on zero ratings")
        users = Vocabulary.from_values(ratings.users)
        items = items or Vocabulary.from_values(ratings.items)
        matrix = to_csr(
            users.numbers(ratings.users),
            items.numbers(ratings.items),
            ratings.ratings,
            (len(users), len(items)),
        )
        start = time.perf_counter()
        if engine is not None:
            if config.model != "als":
                raise ValueError("a fit engine fits the ALS model only (model=als)")
            factors = engine.fit(matrix, users.ids)
        elif config.model == "bayes":  # a Gibbs chain starts afresh: no warm start
            factors = fit_bayes(matrix, config)
        else:
            warm = init._warm_start(users, items, config) if init is not None else None
            factors = ALSTrainer(config).fit(matrix, init=warm)
        prior = None
        if side is not None and config.side_prior > 0 and config.model == "als":
            counts = np.bincount(matrix.indices, minlength=len(items))
            factors, prior = apply_item_prior(
                factors, counts, side, config.side_prior, config.side_prior_ridge
            )
        lo, hi = float(ratings.ratings.min()), float(ratings.ratings.max())
        meta = {"fit_seconds": round(time.perf_counter() - start, 3), "fitted_at": time.time()}
        return cls(
            config,
            factors,
            users,
            items,
            matrix,
            ratings.fingerprint(),
            ranking or RankingConfig(),
            (min(lo, 1.0), max(hi, 5.0)),
            meta,
            side_prior=prior,
        )

    def _warm_start(self, users: Vocabulary, items: Vocabulary, config: ALSConfig) -> Factors:
        """Previous factors re-indexed to a new vocabulary; new rows start small and random."""
        old = self.factors
        if (config.factors, config.implicit_factors) != (
            self.config.factors,
            self.config.implicit_factors,
        ):
            raise ValueError("warm start needs the same numbers of factors")
        rng = np.random.default_rng(config.seed)
        dt = np.dtype(config.dtype)
        upos = self.users.numbers(users.ids, missing="negative")
        ipos = self.items.numbers(items.ids, missing="negative")

        def remap(pos: np.ndarray, values: np.ndarray | None, scale: float) -> np.ndarray | None:
            if values is None:
                return None
            shape = (len(pos), *values.shape[1:])
            out = (rng.standard_normal(shape) * scale).astype(dt)
            out[pos >= 0] = values[pos[pos >= 0]]
            return out

        return Factors(
            old.mu,
            remap(upos, old.user_bias, 0.0),  # type: ignore[arg-type]
            remap(upos, old.user_factors, config.init_scale),  # type: ignore[arg-type]
            remap(ipos, old.item_bias, 0.0),  # type: ignore[arg-type]
            remap(ipos, old.item_factors, config.init_scale),  # type: ignore[arg-type]
            pref_user=remap(upos, old.pref_user, 0.01),
            pref_item=remap(ipos, old.pref_item, 0.01),
        )

    # ------------------------------------------------------------------- users
    def has_user(self, user: int) -> bool:
        """Whether the model can score this user (fitted or folded in, not removed)."""
        user = int(user)
        return user not in self._removed and (user in self._overrides or user in self.users)

    def _state(self, user: int) -> _UserState:
        user = int(user)
        if user in self._removed:
            raise ValueError(f"unknown user {user}")
        if user in self._overrides:
            return self._overrides[user]
        row = self.users.get(user)
        if row < 0:
            raise ValueError(f"unknown user {user}")
        lo, hi = self.user_items.indptr[row], self.user_items.indptr[row + 1]
        items, ratings = self.user_items.indices[lo:hi], self.user_items.data[lo:hi]
        extra = self._extra_rated.get(row)
        if extra:
            extra_items = np.fromiter(extra.keys(), np.int64, len(extra))
            keep = ~np.isin(items, extra_items)
            items = np.concatenate([items[keep], extra_items])
            extra_stars = np.fromiter(extra.values(), np.float32, len(extra))
            ratings = np.concatenate([ratings[keep], extra_stars])
        pref = self.factors.pref_user
        return _UserState(
            float(self.factors.user_bias[row]),
            self.factors.user_factors[row],
            items,
            ratings,
            None if pref is None else pref[row],
        )

    def recalculate_user(self, movie_ids: np.ndarray, ratings: np.ndarray) -> Fold:
        """A user's solved state from their ratings against the fixed item side."""
        idx = self.items.numbers(movie_ids)
        if self._solvers is None:
            self._solvers = self._trainer.item_solvers(self.factors)
        return self._trainer.fold_in(
            self.factors, idx, np.asarray(ratings, np.float64), self._solvers
        )

    def with_user(self, user: int, movie_ids: np.ndarray, ratings: np.ndarray) -> ALSModel:
        """A model where `user` is re-solved from their full current ratings; self is unchanged.

        The new model shares every fitted array with this one, so it is cheap to build and
        can be swapped in atomically while readers keep using the old one.
        """
        movie_ids = np.array(movie_ids, dtype=np.int64)
        ratings = np.array(ratings, dtype=np.float32)
        fold = self.recalculate_user(movie_ids, ratings)
        idx = self.items.numbers(movie_ids)
        new = self._derive()
        new._removed.discard(int(user))
        new._overrides[int(user)] = _UserState(
            fold.bias, fold.vector, idx, ratings, fold.preference
        )
        new._side = None
        return new

    def without_user(self, user: int) -> ALSModel:
        """A model that can no longer score or explain `user`; self is unchanged."""
        new = self._derive()
        new._overrides.pop(int(user), None)
        new._removed.add(int(user))
        new._side = None
        return new

    def _derive(self) -> ALSModel:
        """A shallow copy sharing all arrays, with its own fold-in overrides and removals."""
        new = copy.copy(self)
        new._overrides = dict(self._overrides)
        new._removed = set(self._removed)
        return new

    def with_genres(self, masks: np.ndarray) -> ALSModel:
        """A model that weighs shared genres into "more like this" (one bitmask per item)."""
        masks = np.asarray(masks, dtype=np.int64)
        if masks.shape != (len(self.items),):
            raise ValueError(f"need one genre mask per item ({len(self.items)})")
        new = self._derive()
        new.item_genres = masks
        return new

    def _user_side(self) -> _UserSide:
        """Fitted user rows with folded-in states applied (new users appended, removed users
        zeroed so they drop out of the preference Gram), built once per model."""
        if self._side is not None:
            return self._side
        f = self.factors
        if not self._overrides and not self._removed:
            self._side = _UserSide(self.users, f, self._trainer.user_solvers(f))
            return self._side
        new_users = [u for u in self._overrides if u not in self.users]
        users = Vocabulary(np.concatenate([self.users.ids, np.array(new_users, np.int64)]))

        def grow(a: np.ndarray) -> np.ndarray:
            out = np.zeros((len(users), *a.shape[1:]), a.dtype)
            out[: len(a)] = a
            return out

        bias, vectors = grow(f.user_bias), grow(f.user_factors)
        pref = None if f.pref_user is None else grow(f.pref_user)
        removed = self.users.numbers(list(self._removed), missing="negative")
        for table in (bias, vectors, pref):
            if table is not None:
                table[removed[removed >= 0]] = 0
        for user, state in self._overrides.items():
            row = users.index(user)
            bias[row], vectors[row] = state.bias, state.vector
            if pref is not None and state.preference is not None:
                pref[row] = state.preference
        side = dataclasses.replace(f, user_bias=bias, user_factors=vectors, pref_user=pref)
        self._side = _UserSide(users, side, self._trainer.user_solvers(side))
        return self._side

    # ------------------------------------------------------------------- items
    def with_item(
        self,
        movie_id: int,
        user_ids: np.ndarray,
        ratings: np.ndarray,
        genres: int = 0,
        year: int = 0,
    ) -> ALSModel:
        """A model where `movie_id` (appended if new) is re-solved from its full current
        ratings by an exact item half-step against the current user side; self is unchanged.

        Users the model cannot score are ignored. Its counts, means and support become those
        of the known raters. Folded-in raters get it in their rated items (their vectors wait
        for `with_user`); fitted raters get it in `_extra_rated`, so they never have it
        recommended. New arrays replace the item side; the user side is shared. With an
        `side_prior`, the solved row is pulled toward what `genres` (bitmask) and `year`
        predict, as for a fitted movie with as many ratings.
        """
        user_ids = np.array(user_ids, dtype=np.int64)
        ratings = np.array(ratings, dtype=np.float32)
        if user_ids.shape != ratings.shape or user_ids.ndim != 1:
            raise ValueError("user_ids and ratings must be 1-D arrays of equal length")
        if len(np.unique(user_ids)) != len(user_ids):
            raise ValueError("each user may rate a movie once")
        known = np.array([self.has_user(u) for u in user_ids.tolist()], dtype=bool)
        user_ids, ratings = user_ids[known], ratings[known]
        side = self._user_side()
        fold = self._trainer.fold_in_item(
            side.factors, side.users.numbers(user_ids), ratings, side.solvers
        )
        fold_bias, fold_vector = fold.bias, fold.vector
        if self.side_prior is not None:  # sparse like a fitted movie: pulled toward its prior
            one = ItemSide(np.array([genres]), np.array([year]))
            b, v = self.side_prior.shrink(
                np.array([fold.bias]), fold.vector[None, :], np.array([len(ratings)]), one
            )
            fold_bias, fold_vector = float(b[0]), v[0]
        new = self._derive()
        f = self.factors
        idx = self.items.get(movie_id)
        counts, sums, unit = self.item_counts, self._item_sums, self._unit_items
        item_bias, item_factors, pref_item = f.item_bias, f.item_factors, f.pref_item
        if idx < 0:
            idx = len(self.items)
            new.items = Vocabulary(np.append(self.items.ids, int(movie_id)))
            counts, sums, unit = _grow(counts), _grow(sums), _grow(unit)
            item_bias, item_factors = _grow(item_bias), _grow(item_factors)
            pref_item = None if pref_item is None else _grow(pref_item)
            new.user_items = _with_width(self.user_items, len(new.items))
        else:
            counts, sums, unit = counts.copy(), sums.copy(), unit.copy()
            item_bias, item_factors = item_bias.copy(), item_factors.copy()
            pref_item = None if pref_item is None else pref_item.copy()
        item_bias[idx], item_factors[idx] = fold_bias, fold_vector
        if pref_item is not None and fold.preference is not None:
            pref_item[idx] = fold.preference
        new.factors = dataclasses.replace(
            f, item_bias=item_bias, item_factors=item_factors, pref_item=pref_item
        )
        counts[idx], sums[idx] = len(ratings), float(ratings.astype(np.float64).sum())
        new._set_item_stats(counts, sums)
        pref_row = None if pref_item is None else pref_item[idx : idx + 1]
        unit[idx] = _unit_items(item_factors[idx : idx + 1], pref_row)[0]
        new._unit_items = unit
        if self.item_genres is not None:
            new.item_genres = (
                np.append(self.item_genres, 0)
                if idx == len(self.items)
                else (self.item_genres.copy())
            )
            new.item_genres[idx] = genres
        stars = dict(zip(user_ids.tolist(), ratings.tolist(), strict=True))
        new._overrides = {
            user: _with_rating(state, idx, stars.get(user))
            for user, state in self._overrides.items()
        }
        extra = {
            row: {i: s for i, s in d.items() if i != idx} for row, d in self._extra_rated.items()
        }
        for user, star in stars.items():
            row = self.users.get(user)
            if row >= 0:
                extra.setdefault(row, {})[idx] = star
        new._extra_rated = {row: d for row, d in extra.items() if d}
        new._solvers = None  # the item side changed; the user side (`_side`) did not
        return new

    def without_item(self, movie_id: int) -> ALSModel:
        """A model without this movie (a club movie that was removed): it can no longer be
        recommended, predicted or found similar, and leaves every rated list; self is unchanged.

        Later movies move down one index. Users' vectors keep what it taught them until they
        are folded in again or the model is refitted.
        """
        idx = self.items.index(movie_id)
        new = self._derive()
        f = self.factors
        new.items = Vocabulary(np.delete(self.items.ids, idx))
        new.factors = dataclasses.replace(
            f,
            item_bias=np.delete(f.item_bias, idx),
            item_factors=np.delete(f.item_factors, idx, axis=0),
            pref_item=None if f.pref_item is None else np.delete(f.pref_item, idx, axis=0),
        )
        new.user_items = _without_column(self.user_items, idx)
        new._set_item_stats(np.delete(self.item_counts, idx), np.delete(self._item_sums, idx))
        new._unit_items = np.delete(self._unit_items, idx, axis=0)
        if self.item_genres is not None:
            new.item_genres = np.delete(self.item_genres, idx)
        new._overrides = {
            user: _without_index(state, idx) for user, state in self._overrides.items()
        }
        extra = {
            row: {i - (i > idx): s for i, s in d.items() if i != idx}
            for row, d in self._extra_rated.items()
        }
        new._extra_rated = {row: d for row, d in extra.items() if d}
        new._solvers = None
        return new

    def rated_items(self, user: int) -> np.ndarray:
        """Movie ids the user has rated (as the model knows them)."""
        return self.items.ids[self._state(user).items]

    def rated_count(self, user: int) -> int:
        """How many movies the user has rated (as the model knows them)."""
        return len(self._state(user).items)

    def preference_scores(self, user: int) -> np.ndarray | None:
        """Per-movie "has probably seen it" scores from the preference factors (about 0..1).

        None when the model was fitted without preference factors or the user has none.
        """
        preference = self._state(user).preference
        if preference is None or self.factors.pref_item is None:
            return None
        return self.factors.pref_item @ preference

    # ----------------------------------------------------------------- scoring
    def _raw_rows(self, state: _UserState, item_idx: np.ndarray | None = None) -> np.ndarray:
        """Unclipped predicted stars of one user for all items (or these item indices)."""
        f = self.factors
        if item_idx is None:
            return f.mu + state.bias + f.item_bias + f.item_factors @ state.vector
        return f.mu + state.bias + f.item_bias[item_idx] + f.item_factors[item_idx] @ state.vector

    def predict(self, user: int, movie_ids: np.ndarray | list[int]) -> np.ndarray:
        """Predicted stars as shown to people (`shown_stars`) for one user and many movies."""
        idx = self.items.numbers(movie_ids)
        return self.shown_stars(self._raw_rows(self._state(user), idx))

    def shown_stars(self, raw: np.ndarray) -> np.ndarray:
        """Raw predictions as stars worth showing: unchanged up to `shown_knee`, then bent
        smoothly toward `shown_ceiling`, never reaching the top of the scale.

        Clipping saturates: a member who gave five films 5★ would see ≈5.0★ on every pick.
        Held-out ratings agree with the bend: on ML-100K u1, movies predicted 4.75-5.5 got
        4.72-4.75 on average, so a wall of 5.0s was never true.
        """
        lo = self.rating_range[0]
        knee, ceiling = self.ranking.shown_knee, self.ranking.shown_ceiling
        raw = np.maximum(np.asarray(raw, dtype=np.float64), lo)
        bent = knee + (ceiling - knee) * np.tanh((raw - knee) / (ceiling - knee))
        return np.where(raw > knee, bent, raw)

    def _candidate_mask(
        self, candidates: np.ndarray | None, vouched: np.ndarray | None = None
    ) -> np.ndarray:
        mask = self._supported.copy()
        if vouched is not None:  # eligible below the support floor
            idx = self.items.numbers(vouched, missing="negative")
            mask[idx[idx >= 0]] = True
        if candidates is not None:
            allowed = np.zeros(len(self.items), dtype=bool)
            idx = self.items.numbers(candidates, missing="negative")
            allowed[idx[idx >= 0]] = True
            mask &= allowed
        return mask

    def recommend(
        self,
        user: int,
        n: int = 10,
        *,
        exclude_rated: bool = True,
        candidates: np.ndarray | None = None,
        exclude: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-n movie ids and the rank scores they were sorted by (stars via `predict`).

        Explicit-rating models love obscure films a handful of fans adored, so the rank score
        is preference + stars_weight × stars (or stars + a popularity prior), among movies
        with enough ratings.
        """
        if n < 0:
            raise ValueError("n must be >= 0")
        state = self._state(user)
        stars = self.shown_stars(self._raw_rows(state))
        scores = np.where(self._candidate_mask(candidates), self._rank(state, stars), -np.inf)
        if exclude_rated:
            scores[state.items] = -np.inf
        if exclude is not None:
            idx = self.items.numbers(exclude, missing="negative")
            scores[idx[idx >= 0]] = -np.inf
        top = top_n(scores, n)
        return self.items.ids[top], scores[top]

    def _knowledge(self, rated: int | np.ndarray) -> np.ndarray:
        """How far the popularity penalty applies to a user with this many ratings: a new
        member's weak preference scores would drown under it, and popular picks are safe."""
        n = np.asarray(rated, dtype=np.float64)
        return n / (n + self.ranking.penalty_ratings)

    def _rank(self, state: _UserState, stars: np.ndarray) -> np.ndarray:
        """Rank scores from predicted stars (and preference, when the model has it)."""
        if state.preference is None or self.factors.pref_item is None:
            return stars + self._prior
        return (
            self.factors.pref_item @ state.preference
            + self.ranking.stars_weight * stars
            - self._penalty * self._knowledge(len(state.items))
        )

    def recommend_batch(
        self,
        users: np.ndarray | list[int],
        n: int = 10,
        *,
        exclude_rated: bool = True,
        candidates: np.ndarray | None = None,
        exclude: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """`recommend` for many user ids: movie ids and rank scores, each len(users)×n.

        Rows with fewer than n candidates are padded with id -1 and score -inf. Fitted users
        are scored together in one matrix product; folded-in users one by one.
        """
        if n < 0:
            raise ValueError("n must be >= 0")
        users = np.asarray(users, dtype=np.int64).ravel()
        ids = np.full((len(users), n), -1, dtype=np.int64)
        scores = np.full((len(users), n), -np.inf, dtype=np.float64)
        for u in users.tolist():
            if not self.has_user(u):
                raise ValueError(f"unknown user {u}")
        rows = self.users.numbers(users, missing="negative")
        plain = np.array([u not in self._overrides for u in users.tolist()], dtype=bool)
        plain &= rows >= 0
        if plain.any() and n > 0:
            top, top_scores = self._batch_top(rows[plain], n, exclude_rated, candidates, exclude)
            ids[plain, : top.shape[1]] = np.where(top >= 0, self.items.ids[top], -1)
            scores[plain, : top.shape[1]] = top_scores
        for r in np.flatnonzero(~plain):
            got, got_scores = self.recommend(
                int(users[r]),
                n,
                exclude_rated=exclude_rated,
                candidates=candidates,
                exclude=exclude,
            )
            ids[r, : len(got)], scores[r, : len(got)] = got, got_scores
        return ids, scores

    def _batch_top(
        self,
        user_rows: np.ndarray,
        n: int,
        exclude_rated: bool,
        candidates: np.ndarray | None,
        exclude: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-n item indices (-1 where none) and rank scores for fitted user rows at once."""
        f = self.factors
        stars = (
            f.user_factors[user_rows] @ f.item_factors.T
            + f.user_bias[user_rows, None]
            + (f.mu + f.item_bias)[None, :]
        )
        stars = self.shown_stars(stars)
        if f.pref_user is None or f.pref_item is None:
            scores = stars + self._prior[None, :]
        else:
            scores = f.pref_user[user_rows] @ f.pref_item.T + self.ranking.stars_weight * stars
            rated = np.diff(self.user_items.indptr)[user_rows]
            for row, extra in self._extra_rated.items():
                rated[user_rows == row] += len(extra)
            scores -= self._knowledge(rated)[:, None] * self._penalty[None, :]
        scores[:, ~self._candidate_mask(candidates)] = -np.inf
        if exclude_rated:
            sub = self.user_items[user_rows]
            rated_rows = np.repeat(np.arange(len(user_rows)), np.diff(sub.indptr))
            scores[rated_rows, sub.indices] = -np.inf
            for row, extra in self._extra_rated.items():
                hit = np.flatnonzero(user_rows == row)
                scores[np.ix_(hit, list(extra))] = -np.inf
        if exclude is not None:
            idx = self.items.numbers(exclude, missing="negative")
            scores[:, idx[idx >= 0]] = -np.inf
        k = min(n, scores.shape[1])
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, part, 1), axis=1, kind="stable")
        top = np.take_along_axis(part, order, 1)
        top_scores = np.take_along_axis(scores, top, 1)
        top[~np.isfinite(top_scores)] = -1
        top_scores[~np.isfinite(top_scores)] = -np.inf
        return top, top_scores

    def popular(
        self, n: int = 10, exclude: np.ndarray | None = None, candidates: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Cold-start list: well-rated popular movies by damped mean; returns ids and means."""
        scores = np.where(self._candidate_mask(candidates), self.item_damped_mean, -np.inf)
        if exclude is not None:
            idx = self.items.numbers(exclude, missing="negative")
            scores[idx[idx >= 0]] = -np.inf
        top = top_n(scores, n)
        return self.items.ids[top], self.item_damped_mean[top]

    def similar_items(self, movie_id: int, n: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Most similar movies by `item_similarities`, among movies with `min_support`
        ratings: unlike personal picks, where the preference model weighs confidence, a
        "more like this" list has nothing else to keep obscure movies out."""
        row = self.items.index(movie_id)
        sims = np.where(self._similar_supported, self._similarity_row(row), -np.inf)
        sims[row] = -np.inf
        top = top_n(sims, n)
        return self.items.ids[top], sims[top]

    similar = similar_items

    def item_similarities(self, movie_id: int, others: np.ndarray | list[int]) -> np.ndarray:
        """The `similar_items` score between one movie and each of `others` (no support floor)."""
        return self._similarity_row(self.items.index(movie_id))[self.items.numbers(others)]

    def _similarity_row(self, row: int) -> np.ndarray:
        """How alike one movie is to every movie: a blend of three signals (RankingConfig).

        Factor cosine (taste and audience), co-rating cosine (people who rated one rated the
        other; scaled so the closest is 1) and shared genres (Jaccard of the genre sets, when
        the model has genres). Pairs without fitted co-ratings (a club's movies, rated after
        the fit) use the factor cosine alone.
        """
        r = self.ranking
        sims = self._unit_items @ self._unit_items[row]
        co, known = self._co_rating_row(row)
        if r.similar_corating > 0 and known[row]:
            blend = (1.0 - r.similar_corating) * sims + r.similar_corating * co / max(
                float(co.max()), 1e-12
            )
            sims = np.where(known, blend, sims)
        if self.item_genres is not None and r.similar_genre > 0:
            shared = bit_count(self.item_genres & self.item_genres[row])
            either = bit_count(self.item_genres | self.item_genres[row])
            sims = sims + r.similar_genre * shared / np.maximum(either, 1)
        return sims

    def _co_rating_row(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """Cosine of "who rated it" between one movie and all in the fitted ratings, leaning
        away from movies that everyone rates and shrunk by n / (n + shrink) when n people
        rated both; and which movies have fitted ratings at all."""
        if self._co_rating is None or self._co_rating[0] is not self.user_items:
            self._co_rating = (self.user_items, self.user_items.tocsc())
        by_item = self._co_rating[1]
        fitted = np.diff(by_item.indptr)
        raters = by_item.indices[by_item.indptr[row] : by_item.indptr[row + 1]]
        both = np.bincount(self.user_items[raters].indices, minlength=len(self.items)).astype(
            np.float64
        )
        counts = np.maximum(fitted, 1).astype(np.float64)
        e = self.ranking.similar_popularity_exponent
        cosine = both / (counts[row] ** (1.0 - e) * counts**e)
        return cosine * both / (both + self.ranking.similar_shrink), fitted > 0

    def _group_states(self, users: list[int], strategy: GroupStrategy) -> list[_UserState]:
        """Each distinct member's state, after checking the strategy and that there are members."""
        check_strategy(strategy)
        if not users:
            raise ValueError("a group needs at least one member")
        return [self._state(u) for u in dict.fromkeys(int(u) for u in users)]

    def recommend_group(
        self,
        users: list[int],
        n: int = 10,
        strategy: GroupStrategy = DEFAULT_STRATEGY,
        candidates: np.ndarray | None = None,
        vouched: np.ndarray | None = None,
        exclude: np.ndarray | None = None,
        wanted: dict[int, np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Movies for a group: ids and the scores they were ranked by (`groups.shortlist`).

        Members' personal rank scores (`recommend`'s) are combined by the strategy; their
        stars decide what would be a misery. Anything any member rated, and `exclude`, is
        never offered. `vouched` movies (a club's own films) compete
        even below the support floor. Use `predict_group` for the group's and each member's
        stars.
        """
        states = self._group_states(users, strategy)
        stars = np.vstack([self.shown_stars(self._raw_rows(s)) for s in states])
        personal = np.vstack([self._rank(s, row) for s, row in zip(states, stars, strict=True)])
        eligible = self._candidate_mask(candidates, vouched)
        for s in states:
            eligible[s.items] = False
        if exclude is not None:
            idx = self.items.numbers(exclude, missing="negative")
            eligible[idx[idx >= 0]] = False
        for row, user in enumerate(dict.fromkeys(int(u) for u in users)):
            if wanted and user in wanted:
                idx = self.items.numbers(wanted[user], missing="negative")
                personal[row, idx[idx >= 0]] += self.ranking.wanted_bonus
        personal[:, ~eligible] = -np.inf
        top, scores = shortlist(personal, stars, n, strategy)
        return self.items.ids[top], scores

    def predict_group(
        self,
        users: list[int],
        movie_ids: np.ndarray | list[int],
        strategy: GroupStrategy = DEFAULT_STRATEGY,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Group stars per movie (n) and each distinct member's predicted stars (m×n), as
        shown to people (`shown_stars`, `groups.group_stars`)."""
        states = self._group_states(users, strategy)
        idx = self.items.numbers(movie_ids)
        member = np.vstack([self.shown_stars(self._raw_rows(s, idx)) for s in states])
        return group_stars(member, strategy), member

    def explain(self, user: int, movie_id: int, n: int = 3) -> list[tuple[int, float]]:
        """The user's own ratings that pushed this prediction most, as (movie id, stars added).

        The user's weights are w = A⁻¹ Σ_j z_j t_j, so the prediction's learned part splits
        exactly into per-rating terms (z_i·A⁻¹z_j)·t_j; under a sampled model's prior N(m, Λ⁻¹)
        the part beyond z_i·m splits likewise.
        """
        state = self._state(user)
        target = self.items.index(movie_id)
        if len(state.items) == 0:
            return []
        f, cfg = self.factors, self.config
        z = np.hstack([np.ones((len(state.items), 1)), f.item_factors[state.items]]).astype(
            np.float64
        )
        zi = np.concatenate([[1.0], f.item_factors[target]]).astype(np.float64)
        t = state.ratings - f.mu - f.item_bias[state.items]
        if (prior := f.user_prior) is not None:  # w = m + αP⁻¹Zᵀ(t − Zm): m is not a rating's
            a = prior.noise_precision * z.T @ z + prior.precision
            influence = prior.noise_precision * z @ np.linalg.solve(a, zi)
            t = t - z @ prior.mean
        else:
            scale = float(len(state.items)) ** cfg.reg_exponent
            a = z.T @ z + np.diag([cfg.reg_bias * scale] + [cfg.reg * scale] * (z.shape[1] - 1))
            influence = z @ np.linalg.solve(a, zi)
        contrib = influence * t
        order = np.argsort(-contrib, kind="stable")[:n]
        return [(int(self.items.ids[state.items[j]]), float(contrib[j])) for j in order]


def _unit(rows: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(rows, axis=1)
    return rows / np.maximum(norms, 1e-12)[:, None]


def _unit_items(item_factors: np.ndarray, pref_item: np.ndarray | None) -> np.ndarray:
    """Rows whose dot products are the similar-movies score: unit rating factors, or with
    preference factors the mean of the two cosines (taste and audience)."""
    unit = _unit(item_factors)
    if pref_item is None:
        return unit
    return np.hstack([unit, _unit(pref_item)]) / np.sqrt(2.0)


def _grow(a: np.ndarray) -> np.ndarray:
    """A copy of `a` with one zero row appended."""
    return np.concatenate([a, np.zeros((1, *a.shape[1:]), a.dtype)])


def _with_width(m: sp.csr_matrix, width: int) -> sp.csr_matrix:
    """The same rows with more (empty) columns, sharing the arrays."""
    return sp.csr_matrix((m.data, m.indices, m.indptr), shape=(m.shape[0], width))


def _without_column(m: sp.csr_matrix, col: int) -> sp.csr_matrix:
    """`m` without one column; later columns move down one index."""
    if not (m.indices >= col).any():
        return _with_width(m, m.shape[1] - 1)
    return m[:, np.delete(np.arange(m.shape[1]), col)].tocsr()


def _with_rating(state: _UserState, idx: int, stars: float | None) -> _UserState:
    """A folded-in state whose rated items hold item `idx` at `stars` (or not, when None)."""
    keep = state.items != idx
    if stars is None and keep.all():
        return state
    items, ratings = state.items[keep], state.ratings[keep]
    if stars is not None:
        items = np.append(items, idx)
        ratings = np.append(ratings, np.float32(stars))
    return dataclasses.replace(state, items=items, ratings=ratings)


def _without_index(state: _UserState, idx: int) -> _UserState:
    """A folded-in state without item `idx` in its rated items, later indices moved down."""
    keep = state.items != idx
    items = state.items[keep]
    items = items - (items > idx)
    return dataclasses.replace(state, items=items, ratings=state.ratings[keep])
