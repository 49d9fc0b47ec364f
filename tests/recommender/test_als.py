"""ALS trainer: recovery of planted structure, monotone loss, fold-in equivalence, input checks."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recommender.als import ALSTrainer, Factors, to_csr
from recommender.config import ALSConfig
from recommender.solvers import ExplicitSolver, Plan, half_step


def planted(n_users=120, n_items=80, rank=3, density=0.3, noise=0.0, seed=0):
    """A sparse sample of a low-rank-plus-biases matrix; returns (train csr, full dense)."""
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((n_users, rank)) * 0.6
    v = rng.standard_normal((n_items, rank)) * 0.6
    full = 3.5 + rng.normal(0, 0.3, (n_users, 1)) + rng.normal(0, 0.3, (1, n_items)) + u @ v.T
    mask = rng.random(full.shape) < density
    rows, cols = np.nonzero(mask)
    vals = full[rows, cols] + rng.normal(0, noise, len(rows))
    return to_csr(rows, cols, vals.astype(np.float32), full.shape), full


def test_recovers_planted_low_rank_matrix():
    train, full = planted()
    cfg = ALSConfig(factors=3, iterations=30, reg=0.01, reg_bias=0.01, implicit_factors=0)
    f = ALSTrainer(cfg).fit(train)
    pred = f.mu + f.user_bias[:, None] + f.item_bias[None, :] + f.user_factors @ f.item_factors.T
    unseen = train.toarray() == 0
    rmse_unseen = np.sqrt(np.mean((pred - full)[unseen] ** 2))
    baseline = np.sqrt(np.mean((full.mean() - full)[unseen] ** 2))
    assert rmse_unseen < 0.1 * baseline


@pytest.mark.parametrize(
    ("exponent", "solver"), [(0.0, "exact"), (0.5, "exact"), (1.0, "exact"), (0.5, "cg")]
)
def test_training_loss_never_increases(exponent, solver):
    train, _ = planted(noise=0.3, seed=3)
    cfg = ALSConfig(
        factors=5, iterations=12, reg=0.5, reg_exponent=exponent, dtype="float64", solver=solver
    )
    f = ALSTrainer(cfg).fit(train, track_loss=True)
    losses = np.array(f.loss_history)
    assert np.all(np.diff(losses) <= 1e-9 * losses[:-1])
    assert losses[-1] < losses[0]


def test_fold_in_matches_a_full_half_step():
    train, _ = planted(seed=5)
    cfg = ALSConfig(factors=4, iterations=5, dtype="float64")
    f = ALSTrainer(cfg).fit(train)
    bias = np.zeros(train.shape[0])
    vec = np.zeros((train.shape[0], 4))
    solver = ExplicitSolver(f.item_factors, f.item_bias, f.mu, cfg)
    half_step(Plan(train, 4, np.dtype("float64")), solver, None, vec, bias)
    for user in (0, 17, 99):
        row = train[user]
        fold = ALSTrainer(cfg).fold_in(f, row.indices, row.data)
        np.testing.assert_allclose(fold.bias, bias[user], rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(fold.vector, vec[user], rtol=1e-8, atol=1e-10)


def test_fit_is_deterministic_and_threads_do_not_change_results():
    train, _ = planted(seed=9)
    a = ALSTrainer(ALSConfig(factors=6, iterations=4, threads=1)).fit(train)
    b = ALSTrainer(ALSConfig(factors=6, iterations=4, threads=2)).fit(train)
    np.testing.assert_array_equal(a.item_factors, b.item_factors)
    np.testing.assert_array_equal(a.pref_user, b.pref_user)
    assert a.item_factors.dtype == np.float32


def test_warm_start_continues_from_previous_factors():
    train, _ = planted(noise=0.2, seed=11)
    cfg = ALSConfig(factors=4, iterations=10, dtype="float64")
    trainer = ALSTrainer(cfg)
    full = trainer.fit(train, track_loss=True)
    first = ALSTrainer(ALSConfig(factors=4, iterations=5, dtype="float64")).fit(train)
    second = ALSTrainer(ALSConfig(factors=4, iterations=5, dtype="float64")).fit(
        train, init=first, track_loss=True
    )
    np.testing.assert_allclose(second.item_factors, full.item_factors, atol=1e-8)
    with pytest.raises(ValueError, match="warm-start"):
        ALSTrainer(ALSConfig(factors=5)).fit(train, init=first)


def test_rows_without_ratings_get_zero_factors():
    m = sp.csr_matrix(np.array([[5, 0, 3], [0, 0, 0], [4, 1, 0]], dtype=np.float32))
    f = ALSTrainer(ALSConfig(factors=2, iterations=3)).fit(m)
    assert f.user_bias[1] == 0 and not f.user_factors[1].any()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"factors": 0}, "factors"),
        ({"reg": -1}, "regularization"),
        ({"dtype": "int8"}, "dtype"),
        ({"implicit_alpha": -1}, "implicit"),
        ({"solver": "magic"}, "solver"),
    ],
)
def test_bad_config_is_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ALSConfig(**kwargs)


def test_bad_input_is_rejected():
    trainer = ALSTrainer(ALSConfig(factors=2, iterations=1))
    with pytest.raises(ValueError, match="empty"):
        trainer.fit(sp.csr_matrix((3, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="sparse"):
        trainer.fit(np.ones((3, 3)))
    bad = sp.csr_matrix(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="finite"):
        trainer.fit(bad)
    train, _ = planted()
    f = trainer.fit(train)
    with pytest.raises(ValueError, match="out of range"):
        trainer.fold_in(f, np.array([10_000]), np.array([4.0]))
    with pytest.raises(ValueError, match="once"):
        trainer.fold_in(f, np.array([1, 1]), np.array([4.0, 3.0]))
    with pytest.raises(ValueError, match="finite"):
        trainer.fold_in(f, np.array([1]), np.array([np.inf]))
    empty = trainer.fold_in(f, np.array([], dtype=int), np.array([]))
    assert empty.bias == 0.0 and not empty.vector.any()


def test_cg_with_enough_steps_reaches_the_exact_solution():
    train, _ = planted(noise=0.2, seed=13)
    exact = ALSTrainer(
        ALSConfig(factors=4, iterations=6, dtype="float64", implicit_factors=4, solver="exact")
    ).fit(train)
    cg = ALSTrainer(
        ALSConfig(
            factors=4, iterations=6, dtype="float64", implicit_factors=4, solver="cg", cg_steps=12
        )
    ).fit(train)
    np.testing.assert_allclose(cg.item_factors, exact.item_factors, atol=1e-6)
    np.testing.assert_allclose(cg.pref_user, exact.pref_user, atol=1e-6)


def test_cg_few_steps_stays_close_to_exact_fit_quality():
    train, full = planted(noise=0.3, seed=17)
    errors = {}
    for solver in ("exact", "cg"):
        f = ALSTrainer(ALSConfig(factors=3, iterations=15, reg=0.1, solver=solver)).fit(train)
        pred = (
            f.mu + f.user_bias[:, None] + f.item_bias[None, :] + f.user_factors @ f.item_factors.T
        )
        errors[solver] = float(np.sqrt(np.mean((pred - full) ** 2)))
    assert errors["cg"] < errors["exact"] * 1.05


@pytest.mark.parametrize("n_ratings", [1, 3, 5, 6, 7, 12])
def test_batched_solvers_match_a_dense_reference(n_ratings):
    """Woodbury (fewer ratings than factors) and Gram paths both equal a dense solve."""
    rng = np.random.default_rng(n_ratings)
    cfg = ALSConfig(factors=5, reg=0.7, reg_bias=0.3, dtype="float64")
    n_items = 20
    items = rng.standard_normal((n_items, 5))
    bias = rng.standard_normal(n_items) * 0.2
    cols = rng.choice(n_items, n_ratings, replace=False)
    stars = rng.integers(1, 6, n_ratings).astype(float)
    row = to_csr(np.zeros(n_ratings, int), cols, stars, (1, n_items))
    factors = ALSTrainer(cfg)
    fit = factors.fold_in(Factors(3.5, np.zeros(1), np.zeros((1, 5)), bias, items), cols, stars)
    z = np.hstack([np.ones((n_ratings, 1)), items[row.indices]])
    scale = n_ratings**cfg.reg_exponent
    a = z.T @ z + np.diag([cfg.reg_bias * scale] + [cfg.reg * scale] * 5)
    expected = np.linalg.solve(a, z.T @ (row.data - 3.5 - bias[row.indices]))
    np.testing.assert_allclose([fit.bias, *fit.vector], expected, rtol=1e-9, atol=1e-10)
