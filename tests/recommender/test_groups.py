"""Group rules on hand-made matrices: the stars shown, the misery rule, the balanced order."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.group_evaluation import evaluate_groups
from recommender.groups import balanced_order, group_stars, shortlist


def test_group_stars_apply_each_strategy():
    member = np.array([[1.0, 5.0, 4.0], [3.0, 2.0, 4.0]])
    np.testing.assert_array_equal(group_stars(member, "least_misery"), [1, 2, 4])
    np.testing.assert_array_equal(group_stars(member, "average"), [2, 3.5, 4])
    np.testing.assert_array_equal(group_stars(member, "average_without_misery"), [2, 3.5, 4])
    np.testing.assert_array_equal(group_stars(member, "most_pleasure"), [3, 5, 4])
    with pytest.raises(ValueError, match="strategy"):
        group_stars(member, "dictator")  # type: ignore[arg-type]


def test_balanced_order_serves_the_second_member_before_the_mean_would():
    scores = np.array([[1.0, 0.9, 0.8, 0.0], [0.3, 0.3, 0.3, 0.95]])
    order, gains = balanced_order(scores, 3)
    np.testing.assert_array_equal(order[:2], [0, 3])  # by the mean, 3 would come last
    assert np.all(np.diff(gains) <= 0)
    assert len(balanced_order(scores, 0)[0]) == 0


def test_average_without_misery_drops_what_one_member_would_hate():
    scores = np.array([[0.9, 0.5, 0.4, 0.3], [0.9, 0.5, 0.4, 0.3]])
    stars = np.array([[5.0, 4.0, 3.5, 3.5], [1.5, 4.0, 3.5, 3.5]])  # movie 0: a misery
    top, _ = shortlist(scores, stars, 2, "average_without_misery")
    assert 0 not in top.tolist()
    top, _ = shortlist(scores, stars, 2, "least_misery")
    assert 0 not in top.tolist()
    assert 0 in shortlist(scores, stars, 2, "average")[0].tolist()
    assert shortlist(scores, stars, 1, "most_pleasure")[0].tolist() == [0]
    # with too few alternatives the misery stays rather than an empty list
    assert len(shortlist(scores, stars, 4, "average_without_misery")[0]) == 4


def test_ineligible_movies_never_appear():
    scores = np.array([[0.9, -np.inf, 0.4], [0.8, -np.inf, 0.2]])
    stars = np.full((2, 3), 4.0)
    for strategy in ("average_without_misery", "least_misery", "most_pleasure", "average"):
        top, _ = shortlist(scores, stars, 3, strategy)  # type: ignore[arg-type]
        assert sorted(top.tolist()) == [0, 2]


def test_default_strategy_beats_popularity_and_least_misery_on_real_groups(real_ml100k):
    result = evaluate_groups(real_ml100k, ("u1",), groups_per_fold=25)
    rows = result["groups"]
    assert {(r["size"], r["kind"]) for r in rows} == {
        (s, k) for s in (3, 5, 8) for k in ("random", "similar", "divergent")
    }

    def overall(strategy: str, metric: str) -> float:
        return float(np.mean([r[metric] for r in rows if r["strategy"] == strategy]))

    default = "average-without-misery"
    for metric in ("ndcg_mean", "ndcg_min", "precision_mean", "precision_min"):
        assert overall(default, metric) > overall("popularity", metric), metric
    assert overall(default, "ndcg_mean") > overall("least-misery", "ndcg_mean")
    assert overall(default, "ndcg_min") >= overall("least-misery", "ndcg_min") - 0.01
    assert all(r["groups"] == 25 and r["ci95"]["ndcg_mean"] > 0 for r in rows)
