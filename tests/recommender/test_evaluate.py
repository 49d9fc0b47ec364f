"""Evaluation metrics on hand-checked cases, and the accuracy targets on the real folds."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recommender.evaluate import (
    RANDOM_SPLIT,
    SPLIT_SEED,
    evaluate,
    genre_diversity,
    has_canonical_folds,
    list_metrics,
    random_folds,
    ranking_scores,
    split_folds,
)
from recommender.movielens import load_movielens


def test_ranking_scores_by_hand():
    top = np.array([[0, 1, 2], [3, 4, 5]])
    relevant = sp.csr_matrix(np.array([[1, 0, 1, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1]]))
    precision, ndcg = ranking_scores(top, relevant, 3)
    np.testing.assert_allclose(precision, [2 / 3, 0])
    dcg = 1 + 1 / np.log2(4)
    idcg = 1 + 1 / np.log2(3) + 1 / np.log2(4)
    np.testing.assert_allclose(ndcg, [dcg / idcg, 0])


def test_genre_diversity_by_hand():
    # genres as bits: 0b011 and 0b001 share 1 of 2 (distance 1/2); 0b100 shares nothing
    masks = np.array([0b011, 0b001, 0b100])
    pairs = [1 - 1 / 2, 1.0, 1.0]
    assert genre_diversity(np.array([[0, 1, 2]]), masks) == pytest.approx(np.mean(pairs))
    assert genre_diversity(np.array([[0, 0, -1]]), masks) == 0.0  # same genres, padding skipped
    assert genre_diversity(np.array([[2, -1, -1]]), masks) == 0.0  # no pair to compare


def test_list_metrics_by_hand():
    counts = np.array([50, 10, 30, 0, 5])  # popularity ranks: 1, 3, 2, 5, 4
    masks = np.ones(5, dtype=np.int64)
    got = list_metrics(np.array([[0, 2], [4, -1]]), counts, masks)
    assert got["popularity_rank"] == pytest.approx((1 + 2 + 4) / 3)
    assert got["coverage"] == pytest.approx(3 / 4)  # movie 3 was never rated: not counted
    assert got["diversity"] == 0.0


def test_evaluate_on_fixture_has_the_documented_shape(ml100k_dir):
    ml = load_movielens("ml-100k", ml100k_dir / "ml-100k")
    result = evaluate(ml, ("u1",))
    (fold,) = result["folds"]
    assert fold["fold"] == "u1" and 0 < fold["rmse"] < 2 and fold["mae"] <= fold["rmse"]
    assert result["ranking"]["k"] == 10
    assert set(result["ranking"]) == {"k", "model", "popularity"}
    assert result["params"]["factors"] == 32


def test_real_folds_meet_the_accuracy_and_ranking_targets(real_ml100k):
    result = evaluate(real_ml100k)
    assert len(result["folds"]) == 5
    assert result["rmse_mean"] <= 0.91
    ranking = result["ranking"]
    assert ranking["model"]["precision"] > 1.5 * ranking["popularity"]["precision"]
    assert ranking["model"]["ndcg"] > 1.5 * ranking["popularity"]["ndcg"]
    assert ranking["model"]["precision"] >= 0.30
    assert ranking["model"]["coverage"] > 5 * ranking["popularity"]["coverage"]
    assert ranking["model"]["popularity_rank"] > 5 * ranking["popularity"]["popularity_rank"]


def test_canonical_fold_names_are_refused_without_canonical_folds(ml100k_dir):
    from dataclasses import replace

    ml = load_movielens("ml-100k", ml100k_dir / "ml-100k")
    with pytest.raises(ValueError, match="folds"):
        evaluate(replace(ml, name="ml-1m"), ("u1",))
    with pytest.raises(ValueError, match="random5"):
        evaluate(ml, ("u1", RANDOM_SPLIT))


def test_random_folds_are_seeded_and_balanced():
    fold = random_folds(103)
    assert np.array_equal(fold, random_folds(103, seed=SPLIT_SEED))
    assert not np.array_equal(fold, random_folds(103, seed=SPLIT_SEED + 1))
    assert sorted(np.bincount(fold).tolist()) == [20, 20, 21, 21, 21]
    assert not np.array_equal(fold[:25], np.arange(25) % 5)  # shuffled, not dealt in order


def test_random_split_partitions_the_ratings(latest_small_dir):
    ml = load_movielens("ml-latest-small", latest_small_dir / "ml-latest-small")
    assert not has_canonical_folds(ml)
    splits = split_folds(ml, (RANDOM_SPLIT,))
    assert [name for name, _, _ in splits] == ["r1", "r2", "r3", "r4", "r5"]

    def keys(r):
        return r.users.astype(np.int64) * 100_000 + r.items

    everything = np.sort(keys(ml.ratings))
    assert len(np.unique(everything)) == len(everything)  # (user, movie) names a rating
    tests = np.concatenate([keys(test) for _, _, test in splits])
    assert np.array_equal(np.sort(tests), everything)  # each rating in exactly one test fold
    for _, train, test in splits:
        assert abs(len(test) - len(everything) / 5) < 1
        assert np.array_equal(np.sort(np.concatenate([keys(train), keys(test)])), everything)


def test_evaluate_without_canonical_folds_uses_random5(latest_small_dir):
    ml = load_movielens("ml-latest-small", latest_small_dir / "ml-latest-small")
    result = evaluate(ml)
    assert result["split"] == RANDOM_SPLIT and result["seed"] == SPLIT_SEED
    assert [f["fold"] for f in result["folds"]] == ["r1", "r2", "r3", "r4", "r5"]
    assert result["rmse_mean"] == pytest.approx(np.mean([f["rmse"] for f in result["folds"]]))
    assert evaluate(ml)["folds"][0]["rmse"] == result["folds"][0]["rmse"]  # same seed, same split


def test_real_100k_has_canonical_folds_and_keeps_them(real_ml100k):
    assert has_canonical_folds(real_ml100k)
    result = evaluate(real_ml100k, ("u1",))
    assert result["split"] == "u1..u5" and result["seed"] is None
