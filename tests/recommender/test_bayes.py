"""Bayesian ALS: the sampler's pieces against closed forms, reproducibility, the served model."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp

from recommender.als import ALSTrainer, to_csr
from recommender.bayes import fit_bayes, sample_normal_wishart, sample_wishart
from recommender.config import ALSConfig
from recommender.model import ALSModel
from recommender.solvers import GaussianRowSampler, Plan
from recommender.vocab import Vocabulary
from tests.recommender.test_model import ModelContract, taste_fixture

# one user's three ratings against four fixed movies with two factors each
FIXED = np.array([[0.5, -1.0], [1.5, 0.2], [-0.3, 0.8], [0.9, 0.9]])
FIXED_BIAS = np.array([0.2, -0.4, 0.1, 0.3])
COLS, STARS, MU = np.array([0, 1, 3]), np.array([4.0, 2.0, 5.0]), 3.5
PRIOR_MEAN = np.array([0.1, -0.2, 0.3])
PRIOR_PRECISION = np.array([[2.0, 0.3, 0.0], [0.3, 1.5, 0.2], [0.0, 0.2, 1.0]])
ALPHA = 1.7


def _posterior() -> tuple[np.ndarray, np.ndarray]:
    """The conditional's mean and covariance in closed form, for [bias, factors]."""
    z = np.hstack([np.ones((3, 1)), FIXED[COLS]])
    t = STARS - MU - FIXED_BIAS[COLS]
    precision = PRIOR_PRECISION + ALPHA * z.T @ z
    cov = np.linalg.inv(precision)
    return cov @ (PRIOR_PRECISION @ PRIOR_MEAN + ALPHA * z.T @ t), cov


def _draws(n: int, noise: np.ndarray | None) -> np.ndarray:
    """n draws of the same row: n identical users in one batched call."""
    rows = np.repeat(np.arange(n), len(COLS))
    m = sp.csr_matrix((np.tile(STARS, n), (rows, np.tile(COLS, n))), shape=(n, len(FIXED)))
    plan = Plan(m, 2, np.dtype(np.float64))
    sampler = GaussianRowSampler(FIXED, FIXED_BIAS, MU, PRIOR_MEAN, PRIOR_PRECISION, ALPHA, noise)
    out = np.zeros((n, 3))
    for chunk in plan.chunks:
        bias, fac = sampler(chunk)
        out[chunk.rows, 0], out[chunk.rows, 1:] = bias, fac
    return out


def test_row_draws_match_the_analytic_conditional() -> None:
    mean, cov = _posterior()
    n = 40_000
    draws = _draws(n, np.random.default_rng(0).standard_normal((n, 3)))
    se = np.sqrt(np.diag(cov) / n)
    assert np.all(np.abs(draws.mean(0) - mean) < 5 * se)
    np.testing.assert_allclose(np.cov(draws.T), cov, atol=0.03 * np.abs(cov).max())


def test_row_without_noise_is_the_conditional_mean() -> None:
    mean, _ = _posterior()
    np.testing.assert_allclose(_draws(3, None), np.tile(mean, (3, 1)), atol=1e-12)


def test_cross_features_move_into_the_targets() -> None:
    """A row's fixed features times the other side's weights on them act as a known offset."""
    own = np.array([[0.4, -0.2]])  # the user's fixed features
    weights = np.arange(8.0).reshape(4, 2) / 10  # each movie's weights on them
    m = sp.csr_matrix((STARS, (np.zeros(3, int), COLS)), shape=(1, 4))
    chunk = Plan(m, 2, np.dtype(np.float64)).chunks[0]
    args = (FIXED, FIXED_BIAS, MU, PRIOR_MEAN, PRIOR_PRECISION, ALPHA, None)
    with_cross = GaussianRowSampler(*args, cross=(own, weights))(chunk)
    shifted = replace(chunk, values=chunk.values - weights[COLS] @ own[0])
    plain = GaussianRowSampler(*args)(shifted)
    np.testing.assert_allclose(with_cross[0], plain[0])
    np.testing.assert_allclose(with_cross[1], plain[1])


def test_wishart_draws_have_mean_df_times_scale_and_bartlett_variance() -> None:
    scale = np.array([[1.0, 0.4], [0.4, 0.5]])
    df, n = 6.0, 20_000
    rng = np.random.default_rng(1)
    draws = np.stack([sample_wishart(scale, df, rng) for _ in range(n)])
    np.testing.assert_allclose(draws.mean(0), df * scale, rtol=0.03)
    # Var(W_ij) = df (s_ij² + s_ii s_jj)
    var = df * (scale**2 + np.outer(np.diag(scale), np.diag(scale)))
    np.testing.assert_allclose(draws.var(0), var, rtol=0.08)


def test_normal_wishart_posterior_recovers_the_rows_distribution() -> None:
    rng = np.random.default_rng(2)
    true_mean = np.array([1.0, -0.5, 0.25])
    true_cov = np.array([[0.5, 0.1, 0.0], [0.1, 0.3, 0.05], [0.0, 0.05, 0.2]])
    rows = rng.multivariate_normal(true_mean, true_cov, 20_000)
    draws = [sample_normal_wishart(rows, 2.0, rng) for _ in range(200)]
    means, precisions = zip(*draws, strict=True)
    np.testing.assert_allclose(np.mean(means, 0), true_mean, atol=0.02)
    expected = np.linalg.inv(true_cov)
    np.testing.assert_allclose(np.mean(precisions, 0), expected, rtol=0.05, atol=0.05)


def test_normal_wishart_with_no_rows_is_the_hyperprior() -> None:
    rng = np.random.default_rng(3)
    means, precisions = zip(
        *(sample_normal_wishart(np.zeros((0, 2)), 2.0, rng) for _ in range(4000)), strict=True
    )
    np.testing.assert_allclose(np.mean(precisions, 0), 2 * np.eye(2), atol=0.1)  # ν0 W0
    # with ν0 = d the mean's spread E[(β0Λ)⁻¹] is unbounded: check its centre by the median
    np.testing.assert_allclose(np.median(means, 0), 0.0, atol=0.05)


SMALL = ALSConfig(
    model="bayes", bayes_factors=4, bayes_burn_in=5, bayes_samples=20, factors=8, iterations=5
)


def _matrix() -> sp.csr_matrix:
    r = taste_fixture()
    users, items = Vocabulary.from_values(r.users), Vocabulary.from_values(r.items)
    return to_csr(
        users.numbers(r.users), items.numbers(r.items), r.ratings, (len(users), len(items))
    )


def test_fit_is_reproducible_with_a_seed_and_any_thread_count() -> None:
    m = _matrix()
    a = fit_bayes(m, replace(SMALL, threads=1))
    b = fit_bayes(m, replace(SMALL, threads=2))
    c = fit_bayes(m, replace(SMALL, seed=7, threads=1))
    np.testing.assert_array_equal(a.user_factors, b.user_factors)
    np.testing.assert_array_equal(a.item_bias, b.item_bias)
    assert not np.array_equal(a.user_factors, c.user_factors)


@pytest.mark.parametrize("implicit", [0, 3])
def test_served_samples_average_their_predictions_exactly(implicit: int) -> None:
    m = _matrix()
    seen: list[tuple[np.ndarray, np.ndarray]] = []
    f = fit_bayes(
        m,
        replace(SMALL, bayes_keep=SMALL.bayes_samples, implicit_factors=implicit),
        lambda mu, u, i: seen.append((u.copy(), i.copy())),
    )
    assert len(seen) == SMALL.bayes_samples
    width = 4 + 2 * implicit  # factors, weights on the other side's features, own features
    assert f.user_factors.shape == (m.shape[0], width * SMALL.bayes_samples)
    expected = np.mean([u[:, :1] + i[:, 0] + u[:, 1:] @ i[:, 1:].T for u, i in seen], axis=0)
    got = f.user_bias[:, None] + f.item_bias + f.user_factors @ f.item_factors.T
    np.testing.assert_allclose(got, expected, atol=1e-4)
    mean = fit_bayes(m, replace(SMALL, implicit_factors=implicit))
    assert mean.user_factors.shape == (m.shape[0], width)
    averaged = np.mean([u[:, 1:] for u, _ in seen], 0)
    np.testing.assert_allclose(mean.user_factors, averaged, atol=1e-5)


def test_preference_model_is_the_als_one() -> None:
    m = _matrix()
    bayes = fit_bayes(m, SMALL)
    als = ALSTrainer(replace(SMALL, model="als")).fit(m)
    np.testing.assert_allclose(bayes.pref_item, als.pref_item, atol=1e-5)
    np.testing.assert_allclose(bayes.pref_user, als.pref_user, atol=1e-5)


def test_config_rejects_bad_bayes_settings() -> None:
    with pytest.raises(ValueError):
        ALSConfig(model="gibbs")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ALSConfig(bayes_keep=5, bayes_samples=4)
    with pytest.raises(ValueError):
        ALSConfig(bayes_noise=-1)
    assert ALSConfig().model == "als"


class TestBayesModel(ModelContract):
    config = replace(SMALL, reg=0.5, implicit_reg=1.0, bayes_samples=40)

    def test_explain_terms_sum_to_the_learned_part(self, model: ALSModel) -> None:
        """Under the prior N(m, Λ⁻¹) the ratings explain what the prior mean does not."""
        rated = model.rated_items(4)
        everything = model.explain(4, 7, n=len(rated))
        stars = model.user_items[model.users.index(4)].data
        fold = model.recalculate_user(rated, stars)
        zi = np.concatenate([[1.0], model.factors.item_factors[model.items.index(7)]])
        learned = fold.bias + fold.vector @ zi[1:]
        assert model.factors.user_prior is not None
        prior_part = zi @ model.factors.user_prior.mean
        assert sum(c for _, c in everything) == pytest.approx(learned - prior_part, abs=1e-3)

    def test_fold_in_is_the_posterior_mean_under_the_prior(self, model: ALSModel) -> None:
        f = model.factors
        assert f.user_prior is not None
        rated = model.rated_items(4)
        stars = model.user_items[model.users.index(4)].data.astype(np.float64)
        p = f.user_prior
        z = np.hstack([np.ones((len(rated), 1)), f.item_factors[model.items.numbers(rated)]])
        t = stars - f.mu - f.item_bias[model.items.numbers(rated)]
        a = p.precision + p.noise_precision * z.T @ z
        w = np.linalg.solve(a, p.precision @ p.mean + p.noise_precision * z.T @ t)
        fold = model.recalculate_user(rated, stars)
        np.testing.assert_allclose([fold.bias, *fold.vector], w, atol=1e-4)

    def test_snapshot_keeps_the_fold_in_prior(self, model: ALSModel, tmp_path) -> None:
        from recommender.snapshot import load_model, save_model

        loaded = load_model(save_model(model, tmp_path / "bayes.npz"))
        for side in ("user_prior", "item_prior"):
            saved, back = getattr(model.factors, side), getattr(loaded.factors, side)
            np.testing.assert_array_equal(saved.precision, back.precision)
            np.testing.assert_array_equal(saved.mean, back.mean)
            assert saved.noise_precision == back.noise_precision


@pytest.mark.realdata
def test_real_u1_rmse_meets_the_target(real_ml100k) -> None:
    from recommender.evaluate import error_metrics
    from recommender.movielens import load_fold

    train, test = load_fold(real_ml100k.path, "u1", real_ml100k.catalog)
    items = Vocabulary(real_ml100k.catalog.movie_ids)
    model = ALSModel.fit(train, ALSConfig(model="bayes"), items=items)
    rmse, _ = error_metrics(model, test)
    assert rmse <= 0.905
