"""Offline evaluation of group picks: does every member of a group like the shortlist?

Groups are sampled from each fold's test users, of several sizes and three kinds: random,
similar (members whose ratings correlate most with a seed member's) and divergent (least).
Every strategy's top-k list for the group is scored against each member's held-out movies
rated >= threshold: the group's mean over members and its least served member.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import numpy as np
import scipy.sparse as sp

from recommender.config import ALSConfig, RankingConfig
from recommender.data import Ratings
from recommender.evaluate import FOLDS as CANONICAL_FOLDS
from recommender.evaluate import (
    RANDOM_SPLIT,
    has_canonical_folds,
    held_out_liked,
    ranking_scores,
    split_folds,
)
from recommender.groups import GROUP_STRATEGIES
from recommender.model import ALSModel, top_n
from recommender.movielens import MovieLens
from recommender.vocab import Vocabulary

log = logging.getLogger(__name__)

GroupKind = Literal["random", "similar", "divergent"]
KINDS: tuple[GroupKind, ...] = ("random", "similar", "divergent")
SIZES = (3, 5, 8)
BASELINES = ("popularity", "merged")
NEIGHBOURS = 25  # similar/divergent members come from the seed's 25 most/least correlated
MIN_CO_RATED = 10  # pairs with fewer co-rated movies have no meaningful correlation
SEED = 20201022


@dataclass(frozen=True)
class _Fold:
    """One fold's fitted model and what group evaluation needs from its test part."""

    model: ALSModel
    relevant: sp.csr_matrix  # user row × item: held-out movies rated >= threshold
    users: np.ndarray  # user rows with at least one relevant held-out movie
    correlation: np.ndarray  # users × users, NaN where too few co-rated movies


def rating_correlation(matrix: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """Cosine of mean-centred ratings for every pair of users (a correlation of their
    tastes) and how many movies each pair co-rated."""
    rated = matrix.copy()
    rated.data = np.ones_like(rated.data)
    means = np.asarray(matrix.sum(axis=1)).ravel() / np.maximum(np.diff(matrix.indptr), 1)
    centred = matrix.copy().astype(np.float64)
    centred.data = centred.data - np.repeat(means, np.diff(matrix.indptr))
    dots = (centred @ centred.T).toarray()
    norms = np.sqrt(np.maximum(np.diag(dots), 1e-12))
    co_rated = (rated @ rated.T).toarray()
    return dots / np.outer(norms, norms), co_rated


def sample_groups(
    fold: _Fold, size: int, kind: GroupKind, count: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """`count` groups of `size` distinct user rows of one kind."""
    users = fold.users
    groups: list[np.ndarray] = []
    attempts = 0
    while len(groups) < count and attempts < 20 * count:
        attempts += 1
        seed = int(rng.choice(users))
        if kind == "random":
            others = rng.choice(users[users != seed], size - 1, replace=False)
        else:
            corr = fold.correlation[seed, users]
            known = np.flatnonzero(np.isfinite(corr) & (users != seed))
            if len(known) < NEIGHBOURS:
                continue
            order = known[np.argsort(corr[known], kind="stable")]
            near = order[-NEIGHBOURS:] if kind == "similar" else order[:NEIGHBOURS]
            others = users[rng.choice(near, size - 1, replace=False)]
        groups.append(np.concatenate([[seed], others]).astype(np.int64))
    return groups


def group_lists(model: ALSModel, group: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """Each strategy's and baseline's top-k item indices for a group of fitted user rows."""
    ids = model.users.ids[group]
    out: dict[str, np.ndarray] = {}
    for strategy in GROUP_STRATEGIES:
        top, _ = model.recommend_group(ids.tolist(), k, strategy)
        out[strategy] = model.items.numbers(top)
    seen = np.unique(model.user_items[group].indices)
    eligible = model.item_counts >= model.support_floor
    eligible[seen] = False
    out["popularity"] = top_n(np.where(eligible, model.item_counts.astype(float), -np.inf), k)
    own, _ = model.recommend_batch(ids, k, exclude=model.items.ids[seen])
    merged: list[int] = []
    for column in own.T:  # round robin: everyone's best, then everyone's second...
        for movie in column.tolist():
            if movie >= 0 and movie not in merged and len(merged) < k:
                merged.append(movie)
    out["merged"] = model.items.numbers(np.asarray(merged, dtype=np.int64))
    return out


def _prepare(
    train: Ratings,
    test: Ratings,
    items: Vocabulary,
    config: ALSConfig,
    ranking: RankingConfig | None,
    threshold: float,
) -> _Fold:
    model = ALSModel.fit(train, config, items=items, ranking=ranking)
    relevant = held_out_liked(model, test, threshold)
    users = np.flatnonzero(np.diff(relevant.indptr) > 0)
    correlation, co_rated = rating_correlation(model.user_items)
    correlation[co_rated < MIN_CO_RATED] = np.nan
    return _Fold(model, relevant, users, correlation)


def evaluate_groups(
    ml: MovieLens,
    folds: tuple[str, ...] | None = None,
    groups_per_fold: int = 60,
    sizes: tuple[int, ...] = SIZES,
    config: ALSConfig | None = None,
    ranking: RankingConfig | None = None,
    k: int = 10,
    threshold: float = 4.0,
) -> dict[str, object]:
    """Mean and least-served member NDCG@k / precision@k of every group strategy and
    baseline, per group size and kind, with 95 % confidence intervals over groups."""
    if folds is None:
        folds = CANONICAL_FOLDS if has_canonical_folds(ml) else (RANDOM_SPLIT,)
    config = config or ALSConfig()
    items = Vocabulary(ml.catalog.movie_ids)
    rng = np.random.default_rng(SEED)
    names = [*GROUP_STRATEGIES, *BASELINES]
    scores: dict[tuple[int, str, str], list[np.ndarray]] = {}
    for fold_name, train, test in split_folds(ml, folds):
        fold = _prepare(train, test, items, config, ranking, threshold)
        log.info("fold %s: %d test users with liked held-out movies", fold_name, len(fold.users))
        for size in sizes:
            for kind in KINDS:
                for group in sample_groups(fold, size, kind, groups_per_fold, rng):
                    lists = group_lists(fold.model, group, k)
                    relevant = fold.relevant[group]
                    for name in names:
                        top = np.full((len(group), k), -1, dtype=np.int64)
                        top[:, : len(lists[name])] = lists[name]
                        p, n = ranking_scores(top, relevant, k)
                        scores.setdefault((size, kind, name), []).append(
                            np.array([n.mean(), n.min(), p.mean(), p.min()])
                        )
    rows = []
    for (size, kind, name), values in scores.items():
        table = np.vstack(values)
        mean = table.mean(axis=0)
        half = 1.96 * table.std(axis=0, ddof=1) / np.sqrt(len(table)) if len(table) > 1 else 0
        half = np.broadcast_to(half, mean.shape)
        rows.append(
            {
                "size": size,
                "kind": kind,
                "strategy": name.replace("_", "-"),
                "groups": len(table),
                "ndcg_mean": float(mean[0]),
                "ndcg_min": float(mean[1]),
                "precision_mean": float(mean[2]),
                "precision_min": float(mean[3]),
                "ci95": {
                    "ndcg_mean": float(half[0]),
                    "ndcg_min": float(half[1]),
                    "precision_mean": float(half[2]),
                    "precision_min": float(half[3]),
                },
            }
        )
    return {"dataset": ml.name, "folds": list(folds), "k": k, "groups": rows}
