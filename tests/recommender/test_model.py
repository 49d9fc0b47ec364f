"""The fitted model's API, run for every model variant on one deterministic fixture."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.config import ALSConfig, RankingConfig
from recommender.data import Ratings
from recommender.groups import GROUP_STRATEGIES, group_stars
from recommender.model import ALSModel, support_floor, top_n
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
        ids, scores = model.recommend(2, n=5)
        assert len(ids) == 5 and len(scores) == 5
        stars = model.predict(2, ids)
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

    def test_with_user_makes_a_new_user_count_at_once(self, model: ALSModel):
        user = 123456789012345678  # a Discord snowflake
        assert not model.has_user(user)
        folded = model.with_user(
            user, np.array([1, 2, 3, 4, 38, 39]), np.array([5, 5, 4.5, 5, 1, 0.5])
        )
        ids, _ = folded.recommend(user, n=5)
        assert np.all(ids <= 20) and not np.isin(ids, [1, 2, 3, 4]).any()
        refolded = folded.with_user(user, np.array([38, 39, 35, 1, 2]), np.array([5, 5, 5, 1, 1]))
        ids, _ = refolded.recommend(user, n=5)
        assert np.all(ids > 20)
        removed = refolded.without_user(user)
        assert not removed.has_user(user)
        with pytest.raises(ValueError, match="unknown user"):
            removed.recommend(user)

    def test_with_and_without_user_leave_the_original_untouched(self, model: ALSModel):
        user = 555
        before = model.recommend(2, n=8)
        folded = model.with_user(user, np.array([1, 2, 3]), np.array([5.0, 5.0, 4.0]))
        assert folded.has_user(user) and not model.has_user(user)
        assert folded.factors is model.factors and folded.user_items is model.user_items
        refitted = folded.with_user(2, np.array([38, 39, 40]), np.array([5.0, 5.0, 5.0]))
        np.testing.assert_array_equal(model.rated_items(2), folded.rated_items(2))
        np.testing.assert_array_equal(refitted.rated_items(2), [38, 39, 40])
        gone = refitted.without_user(user).without_user(2)
        assert not gone.has_user(user) and not gone.has_user(2)
        assert refitted.has_user(user) and folded.has_user(user) and model.has_user(2)
        for kept in (model, folded):
            after = kept.recommend(2, n=8)
            np.testing.assert_array_equal(after[0], before[0])
            np.testing.assert_array_equal(after[1], before[1])
        with pytest.raises(ValueError, match="unknown user"):
            model.recommend(user)

    def test_recommend_scores_are_the_sorted_rank_scores(self, model: ALSModel):
        ids, scores = model.recommend(2, n=10)
        assert len(ids) == 10 and np.all(np.diff(scores) <= 0)
        stars = model.predict(2, ids)
        idx = model.items.numbers(ids)
        pref = model.preference_scores(2)
        if pref is None:
            counts = model.item_counts
            prior = model.ranking.popularity_weight * np.log1p(counts) / np.log1p(counts.max())
            expected = stars + prior[idx]
        else:
            counts = model.item_counts
            penalty = model.ranking.popularity_penalty * np.log1p(counts) / np.log1p(counts.max())
            n = model.rated_count(2)
            penalty *= n / (n + model.ranking.penalty_ratings)  # in full only for seasoned raters
            expected = pref[idx] + model.ranking.stars_weight * stars - penalty[idx]
        np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-6)
        # the scores are not the stars (the old contract) for a model that ranks by more
        assert not np.allclose(scores, stars)

    def test_recommend_batch_matches_recommend(self, model: ALSModel):
        snowflake = 987654321
        folded = model.with_user(snowflake, np.array([21, 22, 23, 24]), np.array([5, 5, 4, 1.0]))
        folded = folded.with_user(4, np.array([1, 2, 3]), np.array([1.0, 1.0, 5.0]))
        users = [2, snowflake, 3, 4, 2]
        ids, scores = folded.recommend_batch(users, 6)
        assert ids.shape == scores.shape == (len(users), 6)
        for row, user in enumerate(users):
            want_ids, want_scores = folded.recommend(user, 6)
            np.testing.assert_array_equal(ids[row], want_ids)
            np.testing.assert_allclose(scores[row], want_scores, rtol=1e-5, atol=1e-6)
        rated = model.rated_items(3)
        best, _ = model.recommend(3, 5, exclude_rated=False)
        ids, _ = model.recommend_batch(np.array([3]), 5, exclude_rated=False, exclude=best[:2])
        want, _ = model.recommend(3, 5, exclude_rated=False, exclude=best[:2])
        np.testing.assert_array_equal(ids[0], want)
        assert not np.isin(best[:2], ids).any()
        assert np.isin(rated, model.recommend_batch([3], 40, exclude_rated=False)[0]).any()

    def test_recommend_batch_pads_short_rows_and_rejects_unknown_users(self, model: ALSModel):
        folded = model.with_user(77, np.array([1, 2]), np.array([5.0, 4.0]))
        ids, scores = folded.recommend_batch([2, 77], 45)  # more than there are movies
        for row, user in enumerate([2, 77]):
            want, _ = folded.recommend(user, 45)
            assert 0 < len(want) < 45
            np.testing.assert_array_equal(ids[row, : len(want)], want)
            assert np.all(ids[row, len(want) :] == -1)
            assert np.all(np.isneginf(scores[row, len(want) :]))
            assert np.all(np.isfinite(scores[row, : len(want)]))
        with pytest.raises(ValueError, match="unknown user"):
            model.without_user(2).recommend_batch([3, 2], 5)
        with pytest.raises(ValueError, match="unknown user"):
            model.recommend_batch([999_999], 5)
        assert model.recommend_batch([2, 3], 0)[0].shape == (2, 0)

    def test_group_least_misery_avoids_what_anyone_dislikes(self, model: ALSModel):
        ids, _ = model.recommend_group([2, 3], n=3, strategy="least_misery")
        group, member = model.predict_group([2, 3], ids, "least_misery")
        assert member.shape == (2, len(ids))
        np.testing.assert_allclose(group, member.min(axis=0), rtol=1e-6)
        avg_ids, _ = model.recommend_group([2, 3], n=3, strategy="average")
        avg_group, avg_member = model.predict_group([2, 3], avg_ids, "average")
        np.testing.assert_allclose(avg_group, avg_member.mean(axis=0), rtol=1e-6)
        rated = np.union1d(model.rated_items(2), model.rated_items(3))
        assert not np.isin(np.concatenate([ids, avg_ids]), rated).any()
        # the fair pick is at least as good for the unhappiest member as the average pick
        assert group[0] >= avg_member.min(axis=0)[0] - 1e-6

    @pytest.mark.parametrize("strategy", GROUP_STRATEGIES)
    def test_predict_group_agrees_with_recommend_group(self, model: ALSModel, strategy: str):
        ids, scores = model.recommend_group([2, 3, 4], n=8, strategy=strategy)  # type: ignore[arg-type]
        assert 0 < len(ids) <= 8 and np.all(np.diff(scores) <= 1e-9)
        group, member = model.predict_group([2, 3, 4, 3], ids, strategy)  # type: ignore[arg-type]
        np.testing.assert_array_equal(member[1], model.predict(3, ids))
        assert member.shape == (3, len(ids))
        np.testing.assert_allclose(group, group_stars(member, strategy), rtol=1e-6)  # type: ignore[arg-type]
        rated = np.concatenate([model.rated_items(u) for u in (2, 3, 4)])
        assert not np.isin(ids, rated).any()
        excluded, _ = model.recommend_group([2, 3, 4], 8, strategy, exclude=ids[:3])  # type: ignore[arg-type]
        assert not np.isin(ids[:3], excluded).any()

    def test_rated_count_and_preference_scores(self, model: ALSModel):
        assert model.rated_count(2) == len(model.rated_items(2)) == 24
        folded = model.with_user(31, np.array([1, 2, 3]), np.array([5.0, 5.0, 4.0]))
        assert folded.rated_count(31) == 3
        pref = model.preference_scores(2)
        if model.config.implicit_factors == 0:
            assert pref is None and folded.preference_scores(31) is None
            return
        assert pref is not None and pref.shape == (len(model.items),)
        rated = np.isin(model.items.ids, model.rated_items(2))
        assert pref[rated].mean() > pref[~rated].mean() + 0.3  # it learned who watched what
        with pytest.raises(ValueError, match="unknown user"):
            model.preference_scores(999_999)

    def test_group_input_checks(self, model: ALSModel):
        with pytest.raises(ValueError, match="strategy"):
            model.recommend_group([2, 3], strategy="dictator")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="at least one"):
            model.recommend_group([])
        single, _ = model.recommend_group([2, 2], n=3)
        assert len(single) == 3
        with pytest.raises(ValueError, match="strategy"):
            model.predict_group([2], [1], strategy="dictator")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="at least one"):
            model.predict_group([], [1])

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


# The toy fixture has 40 movies: MovieLens's preference penalty (30) would drown its Gram.
class TestDefaultModel(ModelContract):
    config = ALSConfig(factors=8, iterations=10, reg=0.5, implicit_reg=1.0)


class TestExplicitOnlyModel(ModelContract):
    config = ALSConfig(factors=8, iterations=10, reg=0.5, implicit_factors=0)


class TestFloat64Model(ModelContract):
    config = ALSConfig(
        factors=4, iterations=10, reg=0.5, implicit_reg=1.0, dtype="float64", reg_exponent=1.0
    )


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


def test_top_n_ranks_finite_scores_best_first():
    scores = np.array([0.5, -np.inf, 3.0, np.nan, 1.0, 2.0])
    np.testing.assert_array_equal(top_n(scores, 3), [2, 5, 4])
    np.testing.assert_array_equal(top_n(scores, 10), [2, 5, 4, 0])
    assert len(top_n(scores, 0)) == 0
    assert len(top_n(np.full(4, -np.inf), 2)) == 0


def test_support_floor_fits_the_data_density():
    dense = np.array([100, 50, 5, 3, 1, 1, 0])
    assert support_floor(dense, RankingConfig()) == 20  # 90 % of ratings sit on 50+: cap wins
    sparse = np.array([10, 10, 10, 2, 2, 2, 2, 2, 0])
    assert support_floor(sparse, RankingConfig()) == 2  # 90 % needs the movies with 2
    assert support_floor(sparse, RankingConfig(support_share=0.7)) == 10
    assert support_floor(sparse, RankingConfig(support_share=0)) == 10  # min_support, capped
    assert support_floor(np.zeros(3, dtype=np.int64), RankingConfig()) == 20
    with pytest.raises(ValueError, match="support_share"):
        RankingConfig(support_share=1.5)


def test_shown_stars_bend_below_the_top_and_keep_the_order():
    model = ALSModel.fit(taste_fixture(), ALSConfig(factors=2, iterations=2))
    knee = model.ranking.shown_knee
    raw = np.array([0.2, 1.0, 3.5, knee, 4.6, 5.0, 5.5, 7.0])
    shown = model.shown_stars(raw)
    low = model.rating_range[0]
    np.testing.assert_allclose(shown[:4], [low, max(low, 1.0), 3.5, knee])  # floor clipped
    assert np.all(np.diff(shown[1:]) > 0)  # above the floor, strictly increasing
    assert shown[-1] < model.ranking.shown_ceiling <= 5.0


def test_sparse_movies_can_be_picked_but_are_never_more_like_this():
    rng = np.random.default_rng(5)
    users, items, stars = [], [], []
    for u in range(1, 61):
        for m in range(1, 11):  # ten movies everyone rated
            users.append(u)
            items.append(m)
            stars.append(float(rng.integers(1, 6)))
    for m in range(11, 41):  # thirty movies five people rated each
        for u in rng.choice(np.arange(1, 61), 5, replace=False):
            users.append(int(u))
            items.append(m)
            stars.append(float(rng.integers(1, 6)))
    model = ALSModel.fit(
        Ratings.build(users, items, stars),
        ALSConfig(factors=2, iterations=3, implicit_reg=1.0),
        ranking=RankingConfig(min_support=20),
    )
    assert model.support_floor == 5 and model.similar_floor == 20
    ids, _ = model.recommend(1, n=10)
    assert len(ids) == 10 and np.all(ids > 10)  # only sparse movies are left to pick
    similar, _ = model.similar_items(1, n=40)
    assert set(similar.tolist()) == set(range(2, 11))
