"""The fitted model's API, run for every model variant on one deterministic fixture."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.als import ALSConfig
from recommender.data import Ratings
from recommender.model import ALSModel, RankingConfig
from recommender.vocab import Vocabulary


def taste_fixture(seed: int = 0) -> Ratings:
    """Two taste camps over 40 movies: camp A loves 1..20 and hates 21..40, camp B the reverse."""
    rng = np.random.default_rng(seed)
    users, items, stars = [], [], []
    for u in range(1, 81):
        camp = u % 2
        for m in rng.choice(np.arange(1, 41), 24, replace=False):
            liked = (m <= 20) == (camp == 0)
            users.append(u)
            items.append(int(m))
            stars.append(float(np.clip(rng.normal(4.5 if liked else 1.5, 0.4), 1, 5)))
    return Ratings.build(users, items, np.round(np.array(stars) * 2) / 2)


class ModelContract:
    """Behaviour every model variant must show; subclasses say how to build the model."""

    config: ALSConfig

    @pytest.fixture(scope="class")
    @classmethod
    def model(cls) -> ALSModel:
        items = Vocabulary(np.arange(1, 43))  # 41 and 42 have no ratings at all
        ranking = RankingConfig(min_support=5)
        return ALSModel.fit(taste_fixture(), cls.config, items=items, ranking=ranking)

    def test_recommend_excludes_rated_and_respects_n(self, model: ALSModel):
        ids, stars = model.recommend(2, n=5)
        assert len(ids) == 5 and len(stars) == 5
        assert not np.isin(ids, model.rated_items(2)).any()
        assert np.all((stars >= 1) & (stars <= 5))
        with_rated, _ = model.recommend(2, n=40, exclude_rated=False)
        assert np.isin(model.rated_items(2), with_rated).any()

    def test_recommend_fits_the_users_camp(self, model: ALSModel):
        ids, _ = model.recommend(2, n=5)  # camp A (even ids) loves movies 1..20
        assert np.all(ids <= 20)
        ids, _ = model.recommend(3, n=5)
        assert np.all(ids > 20)

    def test_predict_separates_loved_from_hated(self, model: ALSModel):
        preds = model.predict(2, [1, 2, 3, 38, 39, 40])
        assert preds[:3].min() > preds[3:].max() + 1.5

    def test_unsupported_movies_are_never_recommended(self, model: ALSModel):
        ids, _ = model.recommend(2, n=50, exclude_rated=False)
        assert not np.isin(ids, [41, 42]).any()
        sim, _ = model.similar_items(1, n=50)
        assert not np.isin(sim, [41, 42, 1]).any()

    def test_similar_items_come_from_the_same_camp(self, model: ALSModel):
        ids, sims = model.similar_items(5, n=5)
        assert np.all(ids <= 20)
        assert np.all(np.diff(sims) <= 1e-6) and sims[0] <= 1.0 + 1e-6

    def test_fold_in_makes_a_new_user_count_at_once(self, model: ALSModel):
        user = 123456789012345678  # a Discord snowflake
        assert not model.has_user(user)
        model.fold_in(user, np.array([1, 2, 3, 4, 38, 39]), np.array([5, 5, 4.5, 5, 1, 0.5]))
        ids, _ = model.recommend(user, n=5)
        assert np.all(ids <= 20) and not np.isin(ids, [1, 2, 3, 4]).any()
        model.fold_in(user, np.array([38, 39, 35, 1, 2]), np.array([5, 5, 5, 1, 1]))
        ids, _ = model.recommend(user, n=5)
        assert np.all(ids > 20)
        model.remove_user(user)
        assert not model.has_user(user)
        with pytest.raises(ValueError, match="unknown user"):
            model.recommend(user)

    def test_group_least_misery_avoids_what_anyone_dislikes(self, model: ALSModel):
        ids, group, member = model.recommend_group([2, 3], n=3, strategy="least_misery")
        assert member.shape == (2, len(ids))
        np.testing.assert_allclose(group, member.min(axis=0), rtol=1e-6)
        avg_ids, avg_group, avg_member = model.recommend_group([2, 3], n=3, strategy="average")
        np.testing.assert_allclose(avg_group, avg_member.mean(axis=0), rtol=1e-6)
        rated = np.union1d(model.rated_items(2), model.rated_items(3))
        assert not np.isin(np.concatenate([ids, avg_ids]), rated).any()
        # the fair pick is at least as good for the unhappiest member as the average pick
        assert group[0] >= avg_member.min(axis=0)[0] - 1e-6

    def test_group_input_checks(self, model: ALSModel):
        with pytest.raises(ValueError, match="strategy"):
            model.recommend_group([2, 3], strategy="dictator")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="at least one"):
            model.recommend_group([])
        single, _, _ = model.recommend_group([2, 2], n=3)
        assert len(single) == 3

    def test_explain_names_the_ratings_that_drove_a_prediction(self, model: ALSModel):
        target = next(m for m in range(1, 21) if m not in model.rated_items(2))
        reasons = model.explain(2, target, n=3)
        assert len(reasons) == 3
        assert all(m in model.rated_items(2) for m, _ in reasons)
        assert reasons[0][1] >= reasons[1][1] >= reasons[2][1]
        assert reasons[0][0] <= 20  # a loved movie of the same camp pushed it up

    def test_explain_terms_sum_to_the_learned_part(self, model: ALSModel):
        rated = model.rated_items(4)
        everything = model.explain(4, 7, n=len(rated))
        stars = model.user_items[model.users.index(4)].data
        fold = model.recalculate_user(rated, stars)
        learned = fold.bias + fold.vector @ model.factors.item_factors[model.items.index(7)]
        assert sum(c for _, c in everything) == pytest.approx(float(learned), abs=1e-3)

    def test_popular_is_a_cold_start_list(self, model: ALSModel):
        ids, means = model.popular(5)
        assert len(ids) == 5 and np.all(np.diff(means) <= 0)
        ids2, _ = model.popular(5, exclude=ids[:2])
        assert not np.isin(ids[:2], ids2).any()

    def test_unknown_ids_raise_value_error(self, model: ALSModel):
        with pytest.raises(ValueError):
            model.recommend(999_999)
        with pytest.raises(ValueError):
            model.similar_items(999)
        with pytest.raises(ValueError):
            model.predict(2, [999])
        with pytest.raises(ValueError):
            model.recommend(2, n=-1)


class TestDefaultModel(ModelContract):
    config = ALSConfig(factors=8, iterations=10, reg=0.5)


class TestExplicitOnlyModel(ModelContract):
    config = ALSConfig(factors=8, iterations=10, reg=0.5, implicit_factors=0)


class TestFloat64Model(ModelContract):
    config = ALSConfig(factors=4, iterations=10, reg=0.5, dtype="float64", reg_exponent=1.0)


def test_warm_start_refit_keeps_known_rows_close():
    ratings = taste_fixture()
    cfg = ALSConfig(factors=6, iterations=8, reg=0.5)
    first = ALSModel.fit(ratings, cfg)
    extra = Ratings.build([999] * 3, [1, 2, 3], [5.0, 5.0, 4.0])
    second = ALSModel.fit(ratings.concat(extra), ALSConfig(factors=6, iterations=1), init=first)
    assert second.has_user(999) and len(second.users) == len(first.users) + 1
    row_old, row_new = first.users.index(2), second.users.index(2)
    drift = np.abs(second.factors.user_factors[row_new] - first.factors.user_factors[row_old])
    assert drift.max() < 0.5
