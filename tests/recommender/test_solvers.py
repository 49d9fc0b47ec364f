"""Batched conjugate-gradient solvers: the same iterates as textbook CG on each row's normal
equations, whatever the chunking or the number of chunk threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from recommender.als import ALSTrainer
from recommender.config import ALSConfig
from recommender.solvers import CGSolver, Plan, PreferenceSolver, half_step
from tests.recommender.test_als import planted

F64 = np.dtype("float64")


def textbook_cg(a: np.ndarray, b: np.ndarray, w: np.ndarray, steps: int) -> np.ndarray:
    """Plain CG on one dense system from w, as written in any textbook."""
    w = w.copy()
    r = b - a @ w
    p = r.copy()
    for _ in range(steps):
        ap = a @ p
        alpha = (r @ r) / (p @ ap)
        w = w + alpha * p
        r_new = r - alpha * ap
        p = r_new + (r_new @ r_new) / (r @ r) * p
        r = r_new
    return w


def side_state(k: int, seed: int):
    """A rating matrix and random fixed/current factors of both models for one user half-step."""
    train, _ = planted(n_users=60, n_items=40, density=0.25, seed=seed)
    rng = np.random.default_rng(seed)
    fixed = rng.standard_normal((40, k)) * 0.3
    fixed_bias = rng.standard_normal(40) * 0.2
    cur = rng.standard_normal((60, k)) * 0.3
    cur_bias = rng.standard_normal(60) * 0.2
    return train, fixed, fixed_bias, cur, cur_bias


@pytest.mark.parametrize("k", [3, 12])
def test_rating_cg_takes_textbook_steps_on_each_rows_normal_equations(k):
    train, fixed, fixed_bias, cur, cur_bias = side_state(k, seed=1)
    cfg = ALSConfig(factors=k, cg_steps=3, reg=0.7, reg_bias=0.3, dtype="float64")
    mu = float(train.data.mean())
    out, out_bias = np.zeros_like(cur), np.zeros_like(cur_bias)
    solver = CGSolver(fixed, fixed_bias, mu, cfg, (cur_bias, cur))
    half_step(Plan(train, k, F64), solver, None, out, out_bias)
    z = np.hstack([np.ones((40, 1)), fixed])
    for user in range(60):
        cols, vals = train[user].indices, train[user].data.astype(np.float64)
        n = len(cols) ** cfg.reg_exponent
        a = z[cols].T @ z[cols] + np.diag([cfg.reg_bias * n] + [cfg.reg * n] * k)
        b = z[cols].T @ (vals - mu - fixed_bias[cols])
        want = textbook_cg(a, b, np.r_[cur_bias[user], cur[user]], 3)
        np.testing.assert_allclose(np.r_[out_bias[user], out[user]], want, rtol=1e-9, atol=1e-11)


def test_preference_cg_takes_textbook_steps_on_each_rows_normal_equations():
    k = 6
    train, fixed, _, cur, _ = side_state(k, seed=2)
    cfg = ALSConfig(implicit_factors=k, implicit_reg=3.0, implicit_alpha=5.0, dtype="float64")
    out = np.zeros_like(cur)
    half_step(Plan(train, k, F64), PreferenceSolver(fixed, cfg, warm=cur), None, out)
    base = fixed.T @ fixed + cfg.implicit_reg * np.eye(k)
    for user in range(60):
        seen = fixed[train[user].indices]
        a = base + cfg.implicit_alpha * seen.T @ seen
        b = (1 + cfg.implicit_alpha) * seen.sum(axis=0)
        want = textbook_cg(a, b, cur[user], cfg.cg_steps)
        np.testing.assert_allclose(out[user], want, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("chunk_elements", [1, 200, 5_000])
def test_half_steps_do_not_depend_on_chunking_or_threads(chunk_elements):
    k = 5
    train, fixed, fixed_bias, cur, cur_bias = side_state(k, seed=3)
    cfg = ALSConfig(factors=k, implicit_factors=k, dtype="float64")
    mu = float(train.data.mean())

    def run(plan: Plan, pool: ThreadPoolExecutor | None) -> list[np.ndarray]:
        out, out_bias, pref = np.zeros_like(cur), np.zeros_like(cur_bias), np.zeros_like(cur)
        half_step(plan, CGSolver(fixed, fixed_bias, mu, cfg, (cur_bias, cur)), pool, out, out_bias)
        half_step(plan, PreferenceSolver(fixed, cfg, warm=cur), pool, pref)
        return [out, out_bias, pref]

    whole = run(Plan(train, k, F64, chunk_elements=1 << 30), None)
    plan = Plan(train, k, F64, chunk_elements=chunk_elements)
    assert len(plan.chunks) > 1
    with ThreadPoolExecutor(2) as pool:
        for got, want in zip(run(plan, pool), whole, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_one_thread_and_two_fit_the_same_model():
    train, _ = planted(noise=0.2, seed=4)
    fits = [
        ALSTrainer(ALSConfig(factors=4, iterations=4, dtype="float64", threads=n)).fit(train)
        for n in (1, 2)
    ]
    for name in ("user_factors", "item_factors", "user_bias", "pref_user", "pref_item"):
        np.testing.assert_allclose(getattr(fits[0], name), getattr(fits[1], name), rtol=1e-10)
