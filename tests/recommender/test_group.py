"""Group strategies on synthetic tastes: "fair" never picks a movie someone would dislike."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.config import ALSConfig
from recommender.data import Ratings
from recommender.model import ALSModel, GroupStrategy

CAMP_A = np.arange(1, 21)  # e.g. action: camp A loves these, camp B hates them
CAMP_B = np.arange(21, 41)
SHARED = np.arange(41, 56)  # crowd-pleasers everybody rates 3.5-4
DISLIKE = 3.0
A_FAN, B_FAN, A_FAN2, B_FAN2, MIXED = -1, -2, -3, -4, -5


def camp_stars(rng: np.random.Generator, camp: str, items: np.ndarray) -> np.ndarray:
    """Stars a member of one camp gives: 4.5-5 to their camp, 1-1.5 to the other, ~3.8 shared."""
    loved = CAMP_A if camp == "a" else CAMP_B
    stars = np.where(np.isin(items, loved), 4.75, 1.25)
    stars = np.where(np.isin(items, SHARED), 3.8, stars)
    return np.clip(np.round((stars + rng.normal(0, 0.3, len(items))) * 2) / 2, 0.5, 5.0)


RATED: dict[int, np.ndarray] = {}  # what each group member rated (filled by the fixture)


@pytest.fixture(scope="module")
def model() -> ALSModel:
    """A model fitted on 80 crowd members split into two camps."""
    rng = np.random.default_rng(3)
    users, items, stars = [], [], []
    all_items = np.concatenate([CAMP_A, CAMP_B, SHARED])
    for u in range(1, 81):
        seen = rng.choice(all_items, 35, replace=False)
        users += [u] * len(seen)
        items += seen.tolist()
        stars += camp_stars(rng, "a" if u % 2 else "b", seen).tolist()
    fitted = ALSModel.fit(
        Ratings.build(users, items, stars),
        ALSConfig(factors=4, iterations=12, implicit_factors=4, reg=0.3, threads=1),
    )
    members = {A_FAN: "a", B_FAN: "b", A_FAN2: "a", B_FAN2: "b"}
    for key, camp in members.items():
        seen = np.concatenate([rng.choice(CAMP_A, 4, False), rng.choice(CAMP_B, 4, False)])
        fitted = fitted.with_user(key, seen, camp_stars(rng, camp, seen))
        RATED[key] = seen
    mixed = np.concatenate([rng.choice(CAMP_A, 3, False), rng.choice(SHARED, 3, False)])
    fitted = fitted.with_user(MIXED, mixed, camp_stars(rng, "a", mixed))
    RATED[MIXED] = mixed
    return fitted


def group_picks(
    model: ALSModel, group: list[int], n: int, strategy: GroupStrategy
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The group's top-n ids, their group stars and each member's stars (as the bot shows)."""
    ids, _ = model.recommend_group(group, n, strategy)
    group_stars, member_stars = model.predict_group(group, ids, strategy)
    return ids, group_stars, member_stars


def candidate_stars(model: ALSModel, group: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Every movie the group could be offered (supported, rated by nobody) and members' stars."""
    counts = model.item_counts
    supported = counts >= min(model.ranking.min_support, int(counts.max()))
    rated = np.isin(model.items.ids, np.concatenate([RATED[u] for u in group]))
    ids = model.items.ids[supported & ~rated]
    return ids, np.vstack([model.predict(u, ids) for u in group])


def test_the_synthetic_camps_really_disagree(model: ALSModel):
    a_loves = model.predict(A_FAN, CAMP_A).mean()
    b_on_a = model.predict(B_FAN, CAMP_A).mean()
    assert a_loves > 4.0 > DISLIKE > b_on_a
    assert model.predict(B_FAN, CAMP_B).mean() > 4.0 > DISLIKE > model.predict(A_FAN, CAMP_B).mean()
    assert model.predict(A_FAN, SHARED).min() >= DISLIKE
    assert model.predict(B_FAN, SHARED).min() >= DISLIKE


@pytest.mark.parametrize(
    "group",
    [[A_FAN, B_FAN], [A_FAN, B_FAN, MIXED], [A_FAN, A_FAN2, B_FAN], [B_FAN, B_FAN2, A_FAN, MIXED]],
)
def test_fair_never_picks_a_movie_someone_dislikes(model: ALSModel, group: list[int]):
    ids, member_stars = candidate_stars(model, group)
    acceptable = int((member_stars.min(axis=0) >= DISLIKE).sum())
    assert 5 <= acceptable < len(ids)  # alternatives exist, and so do movies someone dislikes
    n = 8
    picks, scores, stars = group_picks(model, group, n, "least_misery")
    assert len(picks) == n
    for rank, movie in enumerate(picks.tolist()):
        assert movie in ids  # never a movie any member rated
        lowest = float(stars[:, rank].min())
        assert scores[rank] == pytest.approx(lowest)
        if rank < acceptable:
            assert lowest >= DISLIKE, f"pick {rank} ({movie}) leaves someone at {lowest:.2f}"
    for k, user in enumerate(group):  # the reported member stars are the members' predictions
        assert stars[k] == pytest.approx(model.predict(user, picks), abs=1e-5)


@pytest.mark.parametrize("group", [[A_FAN, B_FAN], [A_FAN, A_FAN2, B_FAN]])
def test_most_pleasure_can_pick_what_someone_dislikes(model: ALSModel, group: list[int]):
    picks, scores, stars = group_picks(model, group, 5, "most_pleasure")
    assert scores == pytest.approx(stars.max(axis=0))
    assert any(float(stars[:, k].min()) < DISLIKE for k in range(len(picks)))
    fair, fair_scores, _ = group_picks(model, group, 5, "least_misery")
    assert fair_scores.min() >= DISLIKE
    assert set(fair.tolist()) != set(picks.tolist())


def test_average_scores_are_means(model: ALSModel):
    group = [A_FAN, B_FAN, MIXED]
    picks, scores, stars = group_picks(model, group, 5, "average")
    assert scores == pytest.approx(stars.mean(axis=0), abs=1e-5)
    assert stars.shape == (3, len(picks))
