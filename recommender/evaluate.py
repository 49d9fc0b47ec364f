"""Accuracy (RMSE/MAE) and top-N ranking quality on the canonical ml-100k folds, on a
seeded random 5-fold split for datasets that ship without folds, or on a per-user temporal
split (each user's latest ratings held out)."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommender.config import ALSConfig, RankingConfig
from recommender.data import Ratings, bit_count
from recommender.model import ALSModel, FitEngine
from recommender.movielens import MovieLens, dataset_format, load_fold
from recommender.priors import ItemSide
from recommender.vocab import Vocabulary

log = logging.getLogger(__name__)

FOLDS = ("u1", "u2", "u3", "u4", "u5")
CANONICAL_SPLIT = "u1..u5"
RANDOM_SPLIT = "random5"
RANDOM_FOLDS = 5
TEMPORAL_SPLIT = "temporal"
# Each user's latest fifth of ratings is their test part (the future the model must predict).
TEMPORAL_SHARE = 0.2
# Training ratings of a test movie, as the bins that per-support RMSE is reported in.
SUPPORT_BINS = ((0, 0), (1, 4), (5, 19), (20, None))
# Fixed so random5 figures are reproducible run to run and comparable across code changes.
SPLIT_SEED = 20180926
RANKERS = ("model", "popularity")


def error_metrics(model: ALSModel, test: Ratings) -> tuple[float, float]:
    """RMSE and MAE of clipped predictions on held-out ratings (unknown users get mu + biases)."""
    f = model.factors
    u = model.users.numbers(test.users, missing="negative")
    i = model.items.numbers(test.items)
    known = u >= 0
    pred = f.mu + f.item_bias[i]
    uk, ik = u[known], i[known]
    pred[known] += f.user_bias[uk] + np.einsum("ij,ij->i", f.user_factors[uk], f.item_factors[ik])
    pred = np.clip(pred, *model.rating_range)
    err = pred.astype(np.float64) - test.ratings
    return float(np.sqrt(np.mean(err**2))), float(np.mean(np.abs(err)))


def ranking_scores(
    top: np.ndarray, relevant: sp.csr_matrix, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-user precision@k and binary NDCG@k of top-k index lists against relevant sets."""
    hits = np.zeros(top.shape, dtype=bool)
    for r in range(top.shape[0]):
        rel = relevant.indices[relevant.indptr[r] : relevant.indptr[r + 1]]
        hits[r] = np.isin(top[r], rel)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = hits.astype(np.float64) @ discounts
    n_rel = np.minimum(np.diff(relevant.indptr), k)
    idcg = np.cumsum(discounts)[np.maximum(n_rel, 1) - 1]
    return hits.sum(1) / k, dcg / idcg


def held_out_liked(model: ALSModel, test: Ratings, threshold: float) -> sp.csr_matrix:
    """Fitted user row × item: 1 where the user rated the movie >= threshold in `test`
    (users the model does not know are left out)."""
    liked = test.ratings >= threshold
    u = model.users.numbers(test.users[liked], missing="negative")
    i = model.items.numbers(test.items[liked])
    keep = u >= 0
    matrix = sp.csr_matrix(
        (np.ones(int(keep.sum())), (u[keep], i[keep])), shape=(len(model.users), len(model.items))
    )
    matrix.sum_duplicates()
    return matrix


def genre_diversity(top: np.ndarray, genre_masks: np.ndarray) -> float:
    """Mean intra-list genre distance: 1 - Jaccard of two movies' genres, over all pairs of
    each list (index rows, -1 padding ignored), averaged over lists."""
    per_list = []
    for row in top:
        masks = genre_masks[row[row >= 0]].astype(np.int64)
        if len(masks) < 2:
            continue
        both = np.bitwise_and.outer(masks, masks)
        either = np.bitwise_or.outer(masks, masks)
        inter, union = bit_count(both), bit_count(either)
        jaccard = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
        pairs = np.triu_indices(len(masks), 1)
        per_list.append(float(np.mean(1.0 - jaccard[pairs])))
    return float(np.mean(per_list)) if per_list else 0.0


def list_metrics(top: np.ndarray, counts: np.ndarray, genre_masks: np.ndarray) -> dict[str, float]:
    """What a set of top-k lists (item indices, -1 padding) trades for precision.

    - diversity: mean intra-list genre distance (0 = one genre mix, 1 = nothing shared);
    - popularity_rank: mean rank of the listed movies by training rating count (1 = the
      most rated), a novelty figure: higher means less obvious picks;
    - coverage: share of the movies rated in training that appear in at least one list.
    """
    listed = top[top >= 0]
    order = np.argsort(-counts, kind="stable")
    rank = np.empty(len(counts), dtype=np.int64)
    rank[order] = np.arange(1, len(counts) + 1)
    rated = counts > 0
    shown = np.zeros(len(counts), dtype=bool)
    shown[listed] = True
    return {
        "diversity": genre_diversity(top, genre_masks),
        "popularity_rank": float(rank[listed].mean()) if len(listed) else 0.0,
        "coverage": float((shown & rated).sum() / max(int(rated.sum()), 1)),
    }


def ranking_metrics(
    model: ALSModel,
    test: Ratings,
    k: int = 10,
    threshold: float = 4.0,
    genre_masks: np.ndarray | None = None,
) -> dict[str, dict[str, float]]:
    """Precision@k and NDCG@k for the model and a popularity baseline (train items excluded),
    with diversity, novelty and coverage of the lists when `genre_masks` (per item) is given."""
    relevant = held_out_liked(model, test, threshold)
    rows = np.flatnonzero(np.diff(relevant.indptr) > 0)
    relevant = relevant[rows]
    top_ids, _ = model.recommend_batch(model.users.ids[rows], k)
    model_top = model.items.numbers(top_ids, missing="negative").reshape(top_ids.shape)
    pop = model.item_counts.astype(np.float64)
    pop_scores = np.repeat(pop[None, :], len(rows), axis=0)
    seen = model.user_items[rows]
    pop_scores[np.repeat(np.arange(len(rows)), np.diff(seen.indptr)), seen.indices] = -np.inf
    pop_top = np.argsort(-pop_scores, axis=1, kind="stable")[:, :k]
    out = {}
    for name, top in zip(RANKERS, (model_top, pop_top), strict=True):
        p, n = ranking_scores(top, relevant, k)
        out[name] = {"precision": float(p.mean()), "ndcg": float(n.mean())}
        if genre_masks is not None:
            out[name].update(list_metrics(top, model.item_counts, genre_masks))
    return out


def similar_metrics(
    model: ALSModel,
    test: Ratings,
    genre_masks: np.ndarray,
    k: int = 10,
    threshold: float = 4.0,
    seeds_per_user: int = 5,
) -> dict[str, float]:
    """How good "more like this" lists are, from held-out taste.

    For each test user, up to `seeds_per_user` movies they liked in training (stars >=
    threshold, above the support floor; seeded choice) each get their top-k similar list:

    - hit_rate: share of lists holding a movie the user liked in the held-out part;
    - precision: share of listed movies the user liked in the held-out part;
    - genre_agreement: mean Jaccard of a listed movie's genres with its seed's.
    """
    held = held_out_liked(model, test, threshold)
    liked = model.user_items.multiply(model.user_items >= threshold).tocsr()
    rng = np.random.default_rng(SPLIT_SEED)
    hits, precision, agreement = [], [], []
    supported = model.item_counts >= model.similar_floor
    for user in np.flatnonzero(np.diff(held.indptr) > 0):
        seeds = liked.indices[liked.indptr[user] : liked.indptr[user + 1]]
        seeds = seeds[supported[seeds]]
        wanted = held.indices[held.indptr[user] : held.indptr[user + 1]]
        for seed in rng.choice(seeds, min(seeds_per_user, len(seeds)), replace=False):
            ids, _ = model.similar_items(int(model.items.ids[seed]), k)
            listed = model.items.numbers(ids)
            found = np.isin(listed, wanted)
            hits.append(found.any())
            precision.append(found.sum() / k)
            shared = bit_count(genre_masks[listed] & genre_masks[seed])
            either = bit_count(genre_masks[listed] | genre_masks[seed])
            agreement.append(float(np.mean(shared / np.maximum(either, 1))) if len(ids) else 0.0)
    return {
        "hit_rate": float(np.mean(hits)) if hits else 0.0,
        "precision": float(np.mean(precision)) if precision else 0.0,
        "genre_agreement": float(np.mean(agreement)) if agreement else 0.0,
    }


def random_folds(n_ratings: int, n_folds: int = RANDOM_FOLDS, seed: int = SPLIT_SEED) -> np.ndarray:
    """Test-fold number (0..n_folds-1) of each rating: a seeded shuffle dealt round-robin, so
    every rating is in exactly one test fold and fold sizes differ by at most one."""
    fold = np.empty(n_ratings, dtype=np.int8)
    fold[np.random.default_rng(seed).permutation(n_ratings)] = np.arange(n_ratings) % n_folds
    return fold


def temporal_test_mask(ratings: Ratings, share: float = TEMPORAL_SHARE) -> np.ndarray:
    """True for each user's latest `share` of ratings (rounded half up): by timestamp, ties by
    movie id then row, so the split is the same on every run and any row order of equal data."""
    if not 0.0 < share < 1.0:
        raise ValueError("share must be between 0 and 1")
    order = np.lexsort((np.arange(len(ratings)), ratings.items, ratings.timestamps, ratings.users))
    users = ratings.users[order]
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
    sizes = np.diff(np.r_[starts, len(order)])
    n_test = np.floor(sizes * share + 0.5).astype(np.int64)
    position = np.arange(len(order)) - np.repeat(starts, sizes)
    test = np.zeros(len(ratings), dtype=bool)
    test[order] = position >= np.repeat(sizes - n_test, sizes)
    return test


def error_by_support(model: ALSModel, test: Ratings) -> list[dict[str, Any]]:
    """RMSE of the test ratings grouped by how many training ratings their movie had: where
    sparse and unseen movies cost accuracy."""
    counts = model.item_counts[model.items.numbers(test.items)]
    out = []
    for lo, hi in SUPPORT_BINS:
        inside = (counts >= lo) & (counts <= (np.inf if hi is None else hi))
        rmse = error_metrics(model, test.subset(inside))[0] if inside.any() else float("nan")
        label = f"{lo}" if hi == lo else f"{lo}+" if hi is None else f"{lo}-{hi}"
        out.append({"support": label, "share": float(inside.mean()), "rmse": rmse})
    return out


def has_canonical_folds(ml: MovieLens) -> bool:
    """Whether the dataset is ml-100k with all five uN.base/uN.test files on disk."""
    return dataset_format(ml.name) == "100k" and all(
        (ml.path / f"{fold}.{part}").is_file() for fold in FOLDS for part in ("base", "test")
    )


def split_folds(ml: MovieLens, folds: tuple[str, ...]) -> list[tuple[str, Ratings, Ratings]]:
    """(fold name, train, test) for canonical fold names, ("random5",) or ("temporal",)."""
    if folds == (TEMPORAL_SPLIT,):
        test = temporal_test_mask(ml.ratings)
        return [("t1", ml.ratings.subset(~test), ml.ratings.subset(test))]
    if folds == (RANDOM_SPLIT,):
        fold_of = random_folds(len(ml.ratings))
        return [
            (f"r{k + 1}", ml.ratings.subset(fold_of != k), ml.ratings.subset(fold_of == k))
            for k in range(RANDOM_FOLDS)
        ]
    for whole in (RANDOM_SPLIT, TEMPORAL_SPLIT):
        if whole in folds:
            raise ValueError(f"{whole} cannot be combined with other folds")
    if dataset_format(ml.name) != "100k":
        raise ValueError(f"the canonical folds exist only for ml-100k; use {RANDOM_SPLIT}")
    return [(fold, *load_fold(ml.path, fold, ml.catalog)) for fold in folds]


def evaluate(
    ml: MovieLens,
    folds: tuple[str, ...] | None = None,
    config: ALSConfig | None = None,
    ranking: RankingConfig | None = None,
    k: int = 10,
    engine: FitEngine | None = None,
) -> dict[str, object]:
    """Fit on each fold's training part and score its test part: errors, fit time, ranking.

    `folds`: canonical ml-100k names (u1..u5), ("random5",), a random 5-fold split of all
    ratings seeded with SPLIT_SEED, or ("temporal",), each user's latest fifth of ratings
    as one test part; None picks u1..u5 when the dataset has them, else random5.
    """
    if folds is None:
        folds = FOLDS if has_canonical_folds(ml) else (RANDOM_SPLIT,)
    split = folds[0] if folds in ((RANDOM_SPLIT,), (TEMPORAL_SPLIT,)) else CANONICAL_SPLIT
    if split == RANDOM_SPLIT:
        log.info("%s has no canonical folds: random 5-fold split, seed %d", ml.name, SPLIT_SEED)
    config = config or ALSConfig()
    items = Vocabulary(ml.catalog.movie_ids)
    side = ItemSide.from_catalog(ml.catalog, items.ids)
    genre_masks = side.genres
    rows: list[dict[str, Any]] = []
    splits = split_folds(ml, folds)
    for fold, train, test in splits:
        start = time.perf_counter()
        model = ALSModel.fit(train, config, items=items, ranking=ranking, side=side, engine=engine)
        model = model.with_genres(genre_masks)
        seconds = time.perf_counter() - start
        rmse, mae = error_metrics(model, test)
        ranks = ranking_metrics(model, test, k, genre_masks=genre_masks)
        # the first round's "more like this" (factor cosine alone) as the reference
        factors_only = replace(
            model, ranking=replace(model.ranking, similar_corating=0.0), item_genres=None
        )
        similar = {
            "model": similar_metrics(model, test, genre_masks, k),
            "factors_only": similar_metrics(factors_only, test, genre_masks, k),
        }
        log.info("fold %s: rmse %.4f mae %.4f fit %.2fs %s", fold, rmse, mae, seconds, ranks)
        row = {"fold": fold, "rmse": rmse, "mae": mae, "fit_seconds": round(seconds, 3)}
        row["by_support"] = error_by_support(model, test)
        rows.append({**row, **ranks, "similar": similar})
    return {
        "split": split,
        "seed": SPLIT_SEED if split == RANDOM_SPLIT else None,
        "folds": rows,
        "rmse_mean": float(np.mean([r["rmse"] for r in rows])),
        "mae_mean": float(np.mean([r["mae"] for r in rows])),
        "params": {**config.to_dict(), **(ranking or RankingConfig()).to_dict()},
        "ranking": {"k": k, **_means([{n: r[n] for n in RANKERS} for r in rows])},
        "similar": {"k": k, **_means([r["similar"] for r in rows])},
    }


def _means(parts: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Metric means over folds, per method: [{method: {metric: value}}] -> {method: means}."""
    return {
        name: {metric: float(np.mean([p[name][metric] for p in parts])) for metric in values}
        for name, values in parts[0].items()
    }
