"""Evaluation metrics on hand-checked cases, and the accuracy targets on the real folds."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recommender.evaluate import _ranking_scores, evaluate


def test_ranking_scores_by_hand():
    top = np.array([[0, 1, 2], [3, 4, 5]])
    relevant = sp.csr_matrix(np.array([[1, 0, 1, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1]]))
    precision, ndcg = _ranking_scores(top, relevant, 3)
    np.testing.assert_allclose(precision, [2 / 3, 0])
    dcg = 1 + 1 / np.log2(4)
    idcg = 1 + 1 / np.log2(3) + 1 / np.log2(4)
    np.testing.assert_allclose(ndcg, [dcg / idcg, 0])


def test_evaluate_on_fixture_has_the_documented_shape(ml100k_dir):
    from recommender.movielens import load_movielens

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
    u1 = result["folds"][0]
    assert u1["model"]["precision"] >= 0.30  # implicit's ALS on u1, as measured in the issue


def test_evaluate_refuses_datasets_without_folds(real_ml100k):
    from dataclasses import replace

    with pytest.raises(ValueError, match="folds"):
        evaluate(replace(real_ml100k, name="ml-1m"))
