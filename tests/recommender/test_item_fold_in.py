"""Item fold-in: club movies become real items of the serving model as soon as they are rated."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.als import ALSTrainer
from recommender.config import ALSConfig, RankingConfig
from recommender.model import ALSModel
from recommender.vocab import Vocabulary
from tests.recommender.test_model import taste_fixture

CLUB = 100_001  # a movie MovieLens lacks
SNOWFLAKE = 123456789012345678  # a Discord member folded in after the fit
CAMP_A_RATERS = np.arange(2, 41, 2)  # camp A (even ids) loves movies 1..20
CAMP_B_RATERS = np.arange(1, 40, 2)
UNSEEN_A = np.arange(42, 81, 2)  # fitted users who never rate the club movie
UNSEEN_B = np.arange(41, 80, 2)
MIN_SUPPORT = 5


def fit(config: ALSConfig) -> ALSModel:
    """The two-camp fixture fitted over movies 1..40."""
    items = Vocabulary(np.arange(1, 41))
    # who watched what is random here, so only stars tell the camps apart: weigh them up
    ranking = RankingConfig(min_support=MIN_SUPPORT, stars_weight=0.5)
    return ALSModel.fit(taste_fixture(), config, items=items, ranking=ranking)


def club_ratings(a: np.ndarray = CAMP_A_RATERS, b: np.ndarray = CAMP_B_RATERS):
    """Camp A gives the club movie 5 stars, camp B 1 star: (user ids, stars)."""
    return np.concatenate([a, b]), np.concatenate([np.full(len(a), 5.0), np.full(len(b), 1.0)])


@pytest.fixture(
    scope="module",
    params=[
        ALSConfig(factors=8, iterations=10, reg=0.5, implicit_reg=1.0),
        ALSConfig(factors=8, iterations=10, reg=0.5, implicit_factors=0),
        ALSConfig(
            factors=4, iterations=10, reg=0.5, implicit_reg=1.0, dtype="float64", reg_exponent=1.0
        ),
    ],
    ids=["default", "explicit-only", "float64"],
)
def model(request: pytest.FixtureRequest) -> ALSModel:
    return fit(request.param)


@pytest.fixture(scope="module")
def exact_model() -> ALSModel:
    """Ends every sweep with exact item solves, so re-solving an item reproduces the fit."""
    return fit(ALSConfig(factors=6, iterations=10, reg=0.5, solver="exact", dtype="float64"))


def item_half_step(
    model: ALSModel,
    bias: np.ndarray,
    vectors: np.ndarray,
    pref: np.ndarray | None,
    rows: np.ndarray,
    stars: np.ndarray,
) -> tuple[float, np.ndarray, np.ndarray | None]:
    """One item's ALS half-step as dense normal equations against the given user side."""
    cfg, mu = model.config, model.factors.mu
    z = np.hstack([np.ones((len(rows), 1)), vectors[rows]])
    scale = len(rows) ** cfg.reg_exponent
    a = z.T @ z + np.diag([cfg.reg_bias * scale] + [cfg.reg * scale] * vectors.shape[1])
    w = np.linalg.solve(a, z.T @ (stars - mu - bias[rows]))
    if pref is None:
        return w[0], w[1:], None
    seen = pref[rows]
    gram = pref.T @ pref + cfg.implicit_reg * np.eye(pref.shape[1])
    p = np.linalg.solve(
        gram + cfg.implicit_alpha * seen.T @ seen, (1 + cfg.implicit_alpha) * seen.sum(0)
    )
    return w[0], w[1:], p


def item_row(model: ALSModel, movie_id: int) -> tuple[float, np.ndarray, np.ndarray | None]:
    """A movie's (bias, factor vector, preference vector) in this model."""
    f, row = model.factors, model.items.index(movie_id)
    return (
        float(f.item_bias[row]),
        f.item_factors[row],
        None if f.pref_item is None else f.pref_item[row],
    )


def raters_of(model: ALSModel, movie_id: int) -> tuple[np.ndarray, np.ndarray]:
    """The fitted (user ids, stars) of one movie."""
    column = model.user_items[:, model.items.index(movie_id)].tocoo()
    return model.users.ids[column.row], column.data.astype(np.float64)


def test_new_item_is_predicted_by_taste(model: ALSModel):
    club = model.with_item(CLUB, *club_ratings())
    a = np.array([club.predict(int(u), [CLUB])[0] for u in UNSEEN_A])
    b = np.array([club.predict(int(u), [CLUB])[0] for u in UNSEEN_B])
    assert a.min() > b.max() + 1.5
    assert club.items.ids[-1] == CLUB and len(club.items) == len(model.items) + 1
    assert club.item_counts[-1] == 40 and club.item_means[-1] == pytest.approx(3.0)


def test_new_item_is_recommended_and_similar_once_supported(model: ALSModel):
    few = model.with_item(CLUB, *club_ratings(CAMP_A_RATERS[: MIN_SUPPORT - 1], CAMP_B_RATERS[:0]))
    assert CLUB not in few.similar_items(1, n=50)[0]
    assert CLUB not in few.recommend(int(UNSEEN_A[0]), n=50)[0]
    club = few.with_item(CLUB, *club_ratings())
    assert CLUB in club.similar_items(1, n=5)[0]
    ids, sims = club.similar_items(CLUB, n=10)
    assert np.all(ids <= 20) and sims[-1] > 0.5
    for user in UNSEEN_A:
        ids, _ = club.recommend(int(user), n=10)
        assert CLUB in ids and np.all(ids[: list(ids).index(CLUB)] <= 20)


def test_raters_have_it_rated_and_are_never_offered_it(model: ALSModel):
    folded = model.with_user(SNOWFLAKE, np.array([1, 2, 3]), np.array([5.0, 5.0, 4.5]))
    folded = folded.with_user(4, np.array([1, 5, 38]), np.array([5.0, 4.0, 1.0]))
    users, stars = club_ratings()
    club = folded.with_item(CLUB, np.append(users, SNOWFLAKE), np.append(stars, 5.0))
    raters = [*users.tolist(), SNOWFLAKE]
    for user in raters:
        assert CLUB in club.rated_items(user)
        assert CLUB not in club.recommend(user, n=50)[0]
    assert club.rated_count(2) == model.rated_count(2) + 1
    assert club.rated_count(4) == 4 and club.rated_count(SNOWFLAKE) == 4
    ids, _ = club.recommend_batch(raters, 50)
    assert not np.isin(ids, CLUB).any()
    for row, user in enumerate(raters):
        np.testing.assert_array_equal(ids[row, ids[row] >= 0], club.recommend(user, 50)[0])
    assert CLUB not in club.recommend_group([2, int(UNSEEN_A[0])], n=50)[0]
    assert CLUB in club.recommend_group([int(UNSEEN_A[0]), int(UNSEEN_A[1])], n=5)[0]
    target = next(m for m in range(1, 21) if m not in club.rated_items(2))
    reasons = club.explain(2, target, n=club.rated_count(2))
    assert CLUB in [m for m, _ in reasons]
    # a later re-solve without a rater takes the movie out of their rated items
    fewer = club.with_item(CLUB, *club_ratings(CAMP_A_RATERS[1:]))
    assert CLUB not in fewer.rated_items(2) and CLUB in fewer.rated_items(6)
    assert CLUB in fewer.recommend(2, n=50)[0]


def test_with_user_accepts_the_new_item(model: ALSModel):
    club = model.with_item(CLUB, *club_ratings())
    folded = club.with_user(SNOWFLAKE, np.array([CLUB, 1, 2, 3]), np.array([5.0, 5.0, 5.0, 4.5]))
    assert CLUB in folded.rated_items(SNOWFLAKE)
    ids, _ = folded.recommend(SNOWFLAKE, n=5)
    assert CLUB not in ids and np.all(ids <= 20)
    # its factors teach a user who rated only it: loving it pulls camp-A movies up
    fan = club.with_user(SNOWFLAKE, np.array([CLUB]), np.array([5.0]))
    camp_a = fan.predict(SNOWFLAKE, np.arange(1, 21)).mean()
    assert camp_a > fan.predict(SNOWFLAKE, np.arange(21, 41)).mean() + 1.0
    fresh = ALSTrainer(club.config).fold_in(club.factors, [len(model.items), 37], [5.0, 1.0])
    fold = club.recalculate_user(np.array([CLUB, 38]), np.array([5.0, 1.0]))
    np.testing.assert_allclose(fold.vector, fresh.vector, rtol=1e-6)


def test_unknown_and_removed_users_are_ignored(model: ALSModel):
    users, stars = club_ratings()
    base = model.with_item(CLUB, users, stars)
    noisy = model.with_item(CLUB, np.append(users, [999_999, 31415]), np.append(stars, [1.0, 5.0]))
    np.testing.assert_allclose(noisy.factors.item_factors[-1], base.factors.item_factors[-1])
    assert noisy.item_counts[-1] == base.item_counts[-1] == 40
    without_2 = model.without_user(2).with_item(CLUB, users, stars)
    assert without_2.item_counts[-1] == 39
    with pytest.raises(ValueError, match="once"):
        model.with_item(CLUB, np.array([2, 2]), np.array([5.0, 4.0]))
    with pytest.raises(ValueError, match="equal length"):
        model.with_item(CLUB, np.array([2, 4]), np.array([5.0]))


def test_the_original_model_is_unchanged(model: ALSModel):
    before = {
        name: getattr(model.factors, name).copy()
        for name in ("item_bias", "item_factors", "pref_item", "user_factors")
        if getattr(model.factors, name) is not None
    }
    counts, unit = model.item_counts.copy(), model._unit_items.copy()
    recs = model.recommend(2, n=10)
    resolved = model.with_item(7, np.array([1, 3, 5]), np.array([5.0, 5.0, 5.0]))
    assert resolved.item_counts[6] == 3 and model.item_counts[6] != 3
    assert not np.allclose(resolved.factors.item_factors[6], model.factors.item_factors[6])
    club = model.with_item(CLUB, *club_ratings())
    gone = club.without_item(5)
    for name, array in before.items():
        np.testing.assert_array_equal(getattr(model.factors, name), array)
        assert len(getattr(club.factors, name)) >= len(array)
    assert club.factors.item_factors is not model.factors.item_factors
    assert club.factors.user_factors is model.factors.user_factors
    np.testing.assert_array_equal(model.item_counts, counts)
    np.testing.assert_array_equal(model._unit_items, unit)
    assert len(model.items) == 40 and model.user_items.shape == (80, 40)
    assert club.user_items.shape == (80, 41) and gone.user_items.shape == (80, 40)
    np.testing.assert_array_equal(model.recommend(2, n=10)[0], recs[0])
    np.testing.assert_array_equal(model.recommend(2, n=10)[1], recs[1])
    assert CLUB not in model.items and CLUB not in model.rated_items(2)
    with pytest.raises(ValueError):
        model.predict(2, [CLUB])


def test_without_item_forgets_the_movie(model: ALSModel):
    folded = model.with_user(SNOWFLAKE, np.array([1, 2, 3]), np.array([5.0, 5.0, 4.5]))
    users, stars = club_ratings()
    club = folded.with_item(CLUB, np.append(users, SNOWFLAKE), np.append(stars, 5.0))
    gone = club.without_item(CLUB)
    for m in (gone, gone.without_item(2)):  # a fitted movie, later ones move down an index
        with pytest.raises(ValueError):
            m.predict(2, [CLUB])
        with pytest.raises(ValueError):
            m.similar_items(CLUB)
        assert CLUB not in m.items and CLUB not in m.similar_items(1, n=50)[0]
        for user in (2, 42, 43, SNOWFLAKE):
            assert CLUB not in m.rated_items(user)
            assert CLUB not in m.recommend(user, n=50, exclude_rated=False)[0]
    np.testing.assert_array_equal(gone.rated_items(2), model.rated_items(2))
    kept = np.array([m for m in range(1, 41) if m != 2])
    for before, after in ((folded, gone.without_item(2)), (club, club.without_item(2))):
        for user in (2, 4, SNOWFLAKE):
            np.testing.assert_allclose(after.predict(user, kept), before.predict(user, kept))
            want = [m for m in before.rated_items(user) if m != 2]
            np.testing.assert_array_equal(np.sort(after.rated_items(user)), np.sort(want))
        np.testing.assert_array_equal(after.item_counts[:39], np.delete(model.item_counts, 1))
        ids, _ = after.recommend_batch([2, 4], 45, exclude_rated=False)
        assert not np.isin(ids, 2).any()
    # the club movie outlives the removal of a fitted movie, for predictions and rated lists
    still = club.without_item(2)
    assert CLUB in still.rated_items(2) and CLUB not in still.recommend_batch([2], 45)[0]
    np.testing.assert_allclose(still.predict(42, [CLUB]), club.predict(42, [CLUB]))


def test_resolving_a_fitted_item_with_its_ratings_reproduces_the_fit(exact_model: ALSModel):
    for movie in (1, 7, 33):
        users, stars = raters_of(exact_model, movie)
        again = exact_model.with_item(movie, users, stars)
        bias, vector, pref = item_row(again, movie)
        fit_bias, fit_vector, fit_pref = item_row(exact_model, movie)
        assert bias == pytest.approx(fit_bias, abs=1e-8)
        np.testing.assert_allclose(vector, fit_vector, atol=1e-8)
        np.testing.assert_allclose(pref, fit_pref, atol=1e-8)
        assert again.item_counts[again.items.index(movie)] == len(users)


def test_with_item_is_an_exact_half_step_against_the_current_user_side(exact_model: ALSModel):
    model, f = exact_model, exact_model.factors
    mine = (np.array([1, 2, 3, 38]), np.array([5.0, 5.0, 4.5, 1.0]))
    refit = (np.array([21, 22, 1]), np.array([5.0, 4.0, 1.0]))
    current = model.with_user(SNOWFLAKE, *mine).with_user(2, *refit).without_user(3)
    users = np.array([2, 3, 4, 5, 6, 7, SNOWFLAKE])
    stars = np.array([5.0, 1.0, 4.5, 2.0, 4.0, 3.5, 5.0])
    club = current.with_item(CLUB, users, stars)
    # the current user side written out: folded-in states replace or extend the fitted rows
    bias = np.append(f.user_bias, 0.0)
    vectors = np.vstack([f.user_factors, np.zeros(f.user_factors.shape[1])])
    pref = np.vstack([f.pref_user, np.zeros(f.pref_user.shape[1])])
    for row, fold in (
        (model.users.index(2), model.recalculate_user(*refit)),
        (-1, model.recalculate_user(*mine)),
    ):
        bias[row], vectors[row], pref[row] = fold.bias, fold.vector, fold.preference
    gone = model.users.index(3)
    bias[gone], vectors[gone], pref[gone] = 0.0, 0.0, 0.0
    rows = np.array([model.users.index(u) for u in (2, 4, 5, 6, 7)] + [len(model.users)])
    want = item_half_step(model, bias, vectors, pref, rows, np.delete(stars, 1))
    got = item_row(club, CLUB)
    assert got[0] == pytest.approx(want[0], abs=1e-9)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(got[2], want[2], rtol=1e-8, atol=1e-10)
