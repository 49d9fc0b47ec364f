"""The fitted recommender: predictions, top-N, similar movies, groups, explanations."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import scipy.sparse as sp

from recommender.als import ALSConfig, ALSTrainer, Factors, UserFold, to_csr
from recommender.data import Ratings
from recommender.vocab import Vocabulary

log = logging.getLogger(__name__)

GroupStrategy = Literal["least_misery", "average", "most_pleasure"]
GROUP_STRATEGIES: tuple[str, ...] = ("least_misery", "average", "most_pleasure")


@dataclass(frozen=True)
class RankingConfig:
    """How predictions become a ranking; tuned for precision@10 on ml-100k u1.

    With preference factors the rank score is preference + stars_weight × stars; without
    them, stars plus popularity_weight × a log-support prior.
    """

    stars_weight: float = 0.3
    popularity_weight: float = 0.6
    min_support: int = 20
    cold_start_damping: float = 25.0


@dataclass
class _UserState:
    bias: float
    vector: np.ndarray
    items: np.ndarray  # item indices
    ratings: np.ndarray
    preference: np.ndarray | None = None


@dataclass
class ALSModel:
    """Factors plus the vocabularies and rated items they were fitted on.

    Users folded in after the fit (Discord ratings) live in `_overrides` until the next fit.
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
    _overrides: dict[int, _UserState] = field(default_factory=dict, repr=False)
    _removed: set[int] = field(default_factory=set, repr=False)

    def __post_init__(self) -> None:
        counts = np.bincount(self.user_items.indices, minlength=len(self.items))
        self.item_counts = counts.astype(np.int64)
        sums = np.bincount(
            self.user_items.indices, weights=self.user_items.data, minlength=len(self.items)
        )
        self.item_means = sums / np.maximum(counts, 1)
        m = self.ranking.cold_start_damping
        self.item_damped_mean = (sums + m * self.factors.mu) / (counts + m)
        self._prior = self.ranking.popularity_weight * np.log1p(counts) / np.log1p(counts.max())
        self._supported = counts >= min(self.ranking.min_support, max(1, int(counts.max())))
        self._unit_items = _unit(self.factors.item_factors)
        if self.factors.pref_item is not None:
            # mean of the two cosines: taste (stars) and audience (who watches it)
            both = [self._unit_items, _unit(self.factors.pref_item)]
            self._unit_items = np.hstack(both) / np.sqrt(2.0)
        self._trainer = ALSTrainer(self.config)
        self._solvers: tuple[object, object] | None = None

    # ----------------------------------------------------------------- fitting
    @classmethod
    def fit(
        cls,
        ratings: Ratings,
        config: ALSConfig | None = None,
        items: Vocabulary | None = None,
        ranking: RankingConfig | None = None,
        init: ALSModel | None = None,
    ) -> ALSModel:
        """Fit on (user id, movie id, stars) rows; `items` fixes the movie vocabulary."""
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
        warm = init._warm_start(users, items, config) if init is not None else None
        factors = ALSTrainer(config).fit(matrix, init=warm)
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
        pref = self.factors.pref_user
        return _UserState(
            float(self.factors.user_bias[row]),
            self.factors.user_factors[row],
            self.user_items.indices[lo:hi],
            self.user_items.data[lo:hi],
            None if pref is None else pref[row],
        )

    def recalculate_user(self, movie_ids: np.ndarray, ratings: np.ndarray) -> UserFold:
        """A user's solved state from their ratings against the fixed item side."""
        idx = self.items.numbers(movie_ids)
        if self._solvers is None:
            self._solvers = self._trainer.item_solvers(self.factors)
        return self._trainer.fold_in(
            self.factors, idx, np.asarray(ratings, np.float64), self._solvers
        )

    def fold_in(self, user: int, movie_ids: np.ndarray, ratings: np.ndarray) -> None:
        """Replace one user's state from their full current ratings (instant update)."""
        movie_ids = np.asarray(movie_ids, dtype=np.int64)
        ratings = np.asarray(ratings, dtype=np.float32)
        fold = self.recalculate_user(movie_ids, ratings)
        self._removed.discard(int(user))
        idx = self.items.numbers(movie_ids)
        self._overrides[int(user)] = _UserState(
            fold.bias, fold.vector, idx, ratings, fold.preference
        )

    def remove_user(self, user: int) -> None:
        """Forget a user at once: they can no longer be scored or explained."""
        self._overrides.pop(int(user), None)
        self._removed.add(int(user))

    def rated_items(self, user: int) -> np.ndarray:
        """Movie ids the user has rated (as the model knows them)."""
        return self.items.ids[self._state(user).items]

    # ----------------------------------------------------------------- scoring
    def _predict_rows(self, state: _UserState, item_idx: np.ndarray | None = None) -> np.ndarray:
        f = self.factors
        if item_idx is None:
            raw = f.mu + state.bias + f.item_bias + f.item_factors @ state.vector
        else:
            raw = (
                f.mu + state.bias + f.item_bias[item_idx] + f.item_factors[item_idx] @ state.vector
            )
        return np.clip(raw, *self.rating_range)

    def predict(self, user: int, movie_ids: np.ndarray | list[int]) -> np.ndarray:
        """Predicted stars (clipped to the rating scale) for one user and many movies."""
        idx = self.items.numbers(movie_ids)
        return self._predict_rows(self._state(user), idx)

    def _top(self, scores: np.ndarray, n: int) -> np.ndarray:
        valid = np.flatnonzero(np.isfinite(scores))
        if len(valid) == 0 or n <= 0:
            return np.empty(0, dtype=np.int64)
        n = min(n, len(valid))
        part = valid[np.argpartition(-scores[valid], n - 1)[:n]]
        return part[np.argsort(-scores[part], kind="stable")]

    def _candidate_mask(self, candidates: np.ndarray | None) -> np.ndarray:
        mask = self._supported.copy()
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
        exclude_rated: bool = True,
        candidates: np.ndarray | None = None,
        exclude: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-n movie ids and predicted stars; ranked by stars plus a popularity prior.

        Explicit-rating models love obscure films a handful of fans adored; the prior
        (log support) and the support floor keep the list to movies people actually see.
        """
        if n < 0:
            raise ValueError("n must be >= 0")
        state = self._state(user)
        stars = self._predict_rows(state)
        scores = np.where(self._candidate_mask(candidates), self._rank(state, stars), -np.inf)
        if exclude_rated:
            scores[state.items] = -np.inf
        if exclude is not None:
            idx = self.items.numbers(exclude, missing="negative")
            scores[idx[idx >= 0]] = -np.inf
        top = self._top(scores, n)
        return self.items.ids[top], stars[top]

    def _rank(self, state: _UserState, stars: np.ndarray) -> np.ndarray:
        """Rank scores from predicted stars (and preference, when the model has it)."""
        if state.preference is None or self.factors.pref_item is None:
            return stars + self._prior
        return self.factors.pref_item @ state.preference + self.ranking.stars_weight * stars

    def recommend_batch(self, user_rows: np.ndarray, n: int) -> np.ndarray:
        """Top-n item indices for many fitted user rows at once (evaluation)."""
        f = self.factors
        stars = (
            f.user_factors[user_rows] @ f.item_factors.T
            + f.user_bias[user_rows, None]
            + (f.mu + f.item_bias)[None, :]
        )
        stars = np.clip(stars, *self.rating_range)
        if f.pref_user is None or f.pref_item is None:
            scores = stars + self._prior[None, :]
        else:
            scores = f.pref_user[user_rows] @ f.pref_item.T + self.ranking.stars_weight * stars
        scores[:, ~self._supported] = -np.inf
        sub = self.user_items[user_rows]
        scores[np.repeat(np.arange(len(user_rows)), np.diff(sub.indptr)), sub.indices] = -np.inf
        part = np.argpartition(-scores, n - 1, axis=1)[:, :n]
        order = np.argsort(-np.take_along_axis(scores, part, 1), axis=1, kind="stable")
        return np.take_along_axis(part, order, 1)

    def popular(
        self, n: int = 10, exclude: np.ndarray | None = None, candidates: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Cold-start list: well-rated popular movies by damped mean; returns ids and means."""
        scores = np.where(self._candidate_mask(candidates), self.item_damped_mean, -np.inf)
        if exclude is not None:
            idx = self.items.numbers(exclude, missing="negative")
            scores[idx[idx >= 0]] = -np.inf
        top = self._top(scores, n)
        return self.items.ids[top], self.item_damped_mean[top]

    def similar_items(self, movie_id: int, n: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Most similar movies by cosine of item factors, among movies with enough ratings.

        With preference factors the score is the mean of the rating-factor cosine and the
        preference-factor cosine, so neighbours share both taste and audience.
        """
        row = self.items.index(movie_id)
        sims = self._unit_items @ self._unit_items[row]
        sims = np.where(self._supported, sims, -np.inf)
        sims[row] = -np.inf
        top = self._top(sims, n)
        return self.items.ids[top], sims[top]

    similar = similar_items

    def recommend_group(
        self,
        users: list[int],
        n: int = 10,
        strategy: GroupStrategy = "least_misery",
        candidates: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Movies for a group: ids, group scores, and each member's predicted stars (m×n).

        least_misery maximizes the lowest member's stars, average the mean, most_pleasure
        the highest; anything any member rated is excluded.
        """
        if strategy not in GROUP_STRATEGIES:
            raise ValueError(f"strategy must be one of {', '.join(GROUP_STRATEGIES)}")
        if not users:
            raise ValueError("a group needs at least one member")
        states = [self._state(u) for u in dict.fromkeys(int(u) for u in users)]
        preds = np.vstack([self._predict_rows(s) for s in states])
        combine = {"least_misery": np.min, "average": np.mean, "most_pleasure": np.max}[strategy]
        group = combine(preds, axis=0)
        # popularity breaks near-ties only: a tenth of the single-user prior
        scores = np.where(self._candidate_mask(candidates), group + 0.1 * self._prior, -np.inf)
        for s in states:
            scores[s.items] = -np.inf
        top = self._top(scores, n)
        return self.items.ids[top], group[top], preds[:, top]

    def explain(self, user: int, movie_id: int, n: int = 3) -> list[tuple[int, float]]:
        """The user's own ratings that pushed this prediction most, as (movie id, stars added).

        The user's weights are w = A⁻¹ Σ_j z_j t_j, so the prediction's learned part splits
        exactly into per-rating terms (z_i·A⁻¹z_j)·t_j.
        """
        state = self._state(user)
        target = self.items.index(movie_id)
        if len(state.items) == 0:
            return []
        f, cfg = self.factors, self.config
        z = np.hstack([np.ones((len(state.items), 1)), f.item_factors[state.items]]).astype(
            np.float64
        )
        scale = float(len(state.items)) ** cfg.reg_exponent
        a = z.T @ z + np.diag([cfg.reg_bias * scale] + [cfg.reg * scale] * (z.shape[1] - 1))
        zi = np.concatenate([[1.0], f.item_factors[target]]).astype(np.float64)
        influence = z @ np.linalg.solve(a, zi)
        t = state.ratings - f.mu - f.item_bias[state.items]
        contrib = influence * t
        order = np.argsort(-contrib, kind="stable")[:n]
        return [(int(self.items.ids[state.items[j]]), float(contrib[j])) for j in order]


def _unit(rows: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(rows, axis=1)
    return rows / np.maximum(norms, 1e-12)[:, None]
