"""Explicit-feedback ALS with biases and count-scaled regularization, batched in NumPy.

Model: r_ui ≈ mu + b_u + c_i + x_u·y_i. Each half-step solves, for every row at once,
the exact ridge problem min Σ_j (t_j - z_j·w)² + λ n^α |x|² + λ_b n^α b², with
z_j = [1, y_j], w = [b, x], t_j = r_uj - mu - c_j. The batched row solves live in
`recommender.solvers`, the settings in `recommender.config`; this module holds the training
loop and fold-in.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from recommender.config import ALSConfig
from recommender.solvers import (
    CGSolver,
    ExplicitSolver,
    GaussianPrior,
    GaussianRowSampler,
    Job,
    Plan,
    PreferenceSolver,
    Solver,
    half_step,
    half_steps,
)

log = logging.getLogger(__name__)


@dataclass
class Factors:
    """What a fit produces: global mean, biases and latent factors of both sides."""

    mu: float
    user_bias: np.ndarray
    user_factors: np.ndarray
    item_bias: np.ndarray
    item_factors: np.ndarray
    loss_history: list[float] = field(default_factory=list)
    pref_user: np.ndarray | None = None
    pref_item: np.ndarray | None = None
    # a sampled model's priors: fold-in then gives the posterior mean instead of a ridge solve
    user_prior: GaussianPrior | None = None
    item_prior: GaussianPrior | None = None


def to_csr(
    users: np.ndarray, items: np.ndarray, ratings: np.ndarray, shape: tuple[int, int]
) -> sp.csr_matrix:
    """Users×items CSR from index arrays (ratings must be finite, indices in range)."""
    if len(users) and (users.min() < 0 or items.min() < 0):
        raise ValueError("indices must be non-negative")
    if not np.isfinite(ratings).all():
        raise ValueError("ratings must be finite")
    m = sp.csr_matrix(
        (np.asarray(ratings, np.float32), (np.asarray(users), np.asarray(items))), shape=shape
    )
    m.sum_duplicates()
    m.sort_indices()
    return m


class ALSTrainer:
    """Runs ALS on one users×items rating matrix; separated from the fitted model."""

    def __init__(self, config: ALSConfig | None = None) -> None:
        self.config = config or ALSConfig()

    def fit(
        self,
        matrix: sp.csr_matrix,
        init: Factors | None = None,
        track_loss: bool = False,
        callback: Callable[[int, float, Factors], None] | None = None,
    ) -> Factors:
        """Fit biases and factors; `init` warm-starts from earlier factors of the same shape."""
        cfg = self.config
        dt = np.dtype(cfg.dtype)
        if not sp.issparse(matrix) or matrix.ndim != 2:
            raise ValueError("matrix must be a 2-D scipy.sparse matrix")
        if matrix.nnz == 0:
            raise ValueError("cannot fit on an empty rating matrix")
        r = sp.csr_matrix(matrix, dtype=dt)
        if not np.isfinite(r.data).all():
            raise ValueError("ratings must be finite")
        n_users, n_items = r.shape
        mu = float(r.data.mean())
        f = self._initial(n_users, n_items, mu, dt, init)
        user_plan = Plan(r, cfg.factors, dt)
        item_plan = Plan(r.T.tocsr(), cfg.factors, dt)
        threads = cfg.n_threads()
        pool = ThreadPoolExecutor(threads) if threads > 1 else None
        # many small solves at once: BLAS threads would only fight the chunk threads
        blas = threadpool_limits(limits=1, user_api="blas")
        try:
            for it in range(cfg.iterations):
                t0 = time.perf_counter()
                # the preference model is independent of the rating model, so each side's
                # rows of both are solved in one pass (same results as one model after the other)
                sides = (
                    (user_plan, f.item_factors, f.item_bias, f.user_factors, f.user_bias),
                    (item_plan, f.user_factors, f.user_bias, f.item_factors, f.item_bias),
                )
                prefs = ((f.pref_item, f.pref_user), (f.pref_user, f.pref_item))
                for (plan, fixed, fixed_bias, out, out_bias), (pref_fixed, pref_out) in zip(
                    sides, prefs, strict=True
                ):
                    solve: Solver
                    if cfg.solver == "cg":
                        solve = CGSolver(fixed, fixed_bias, mu, cfg, (out_bias, out))
                    else:
                        solve = ExplicitSolver(fixed, fixed_bias, mu, cfg)
                    jobs: list[Job] = [(solve, out, out_bias)]
                    if pref_fixed is not None and pref_out is not None:
                        warm = pref_out if cfg.solver == "cg" else None
                        jobs.append((PreferenceSolver(pref_fixed, cfg, warm), pref_out, None))
                    half_steps(plan, jobs, pool)
                loss = objective(r, f, cfg) if track_loss else float("nan")
                f.loss_history.append(loss)
                log.debug("iteration %d: %.3fs loss %.4f", it + 1, time.perf_counter() - t0, loss)
                if callback is not None:
                    callback(it, loss, f)
        finally:
            blas.restore_original_limits()
            if pool is not None:
                pool.shutdown()
        return f

    def _initial(
        self, n_users: int, n_items: int, mu: float, dt: np.dtype, init: Factors | None
    ) -> Factors:
        """Random small factors, or copies of `init` when warm-starting."""
        cfg = self.config
        k, kp = cfg.factors, cfg.implicit_factors
        if init is not None:
            if init.user_factors.shape != (n_users, k) or init.item_factors.shape != (n_items, k):
                raise ValueError("warm-start factors do not match the matrix shape and factors")
            has_pref = init.pref_user is not None and init.pref_item is not None
            if kp and not (has_pref and init.pref_user.shape == (n_users, kp)):  # type: ignore[union-attr]
                raise ValueError("warm-start preference factors do not match")
            return Factors(
                mu,
                init.user_bias.astype(dt),
                init.user_factors.astype(dt),
                init.item_bias.astype(dt),
                init.item_factors.astype(dt),
                pref_user=init.pref_user.astype(dt) if kp else None,  # type: ignore[union-attr]
                pref_item=init.pref_item.astype(dt) if kp else None,  # type: ignore[union-attr]
            )
        rng = np.random.default_rng(cfg.seed)

        def rand(rows: int, cols: int, scale: float) -> np.ndarray:
            return (rng.standard_normal((rows, cols)) * scale).astype(dt)

        return Factors(
            mu,
            np.zeros(n_users, dt),
            rand(n_users, k, cfg.init_scale),
            np.zeros(n_items, dt),
            rand(n_items, k, cfg.init_scale),
            pref_user=rand(n_users, kp, 0.01) if kp else None,
            pref_item=rand(n_items, kp, 0.01) if kp else None,
        )

    def item_solvers(self, factors: Factors) -> tuple[Solver, Solver | None]:
        """The user-side solvers for fixed item factors; build once per model, reuse per fold-in."""
        explicit = _explicit(factors.item_factors, factors.item_bias, factors, self.config, "user")
        pref = None
        if factors.pref_item is not None:
            pref = PreferenceSolver(factors.pref_item, self.config)
        return explicit, pref

    def user_solvers(self, factors: Factors) -> tuple[Solver, Solver | None]:
        """The item-side solvers for fixed user factors (the mirror of `item_solvers`)."""
        explicit = _explicit(factors.user_factors, factors.user_bias, factors, self.config, "item")
        pref = None
        if factors.pref_user is not None:
            pref = PreferenceSolver(factors.pref_user, self.config)
        return explicit, pref

    def fold_in(
        self,
        factors: Factors,
        items: np.ndarray,
        ratings: np.ndarray,
        solvers: tuple[Solver, Solver | None] | None = None,
    ) -> Fold:
        """Solve one user's bias, vector and preference vector exactly as a half-step would."""
        solvers = solvers or self.item_solvers(factors)
        return _fold(factors.item_factors, factors.pref_item, items, ratings, solvers, "item")

    def fold_in_item(
        self,
        factors: Factors,
        users: np.ndarray,
        ratings: np.ndarray,
        solvers: tuple[Solver, Solver | None] | None = None,
    ) -> Fold:
        """Solve one item's bias, vector and preference vector from (user index, stars) pairs
        exactly as an item half-step would, against `factors`' user side."""
        solvers = solvers or self.user_solvers(factors)
        return _fold(factors.user_factors, factors.pref_user, users, ratings, solvers, "user")


def _explicit(
    fixed: np.ndarray, fixed_bias: np.ndarray, factors: Factors, cfg: ALSConfig, side: str
) -> Solver:
    """The ridge solver, or the posterior mean under `side`'s prior when the model has one."""
    prior = factors.user_prior if side == "user" else factors.item_prior
    if prior is None:
        return ExplicitSolver(fixed, fixed_bias, factors.mu, cfg)
    return GaussianRowSampler(
        fixed, fixed_bias, factors.mu, prior.mean, prior.precision, prior.noise_precision, None
    )


def _fold(
    fixed: np.ndarray,
    fixed_pref: np.ndarray | None,
    cols: np.ndarray,
    ratings: np.ndarray,
    solvers: tuple[Solver, Solver | None],
    side: str,
) -> Fold:
    """One row solved against a fixed side by the same solvers a half-step uses (1-row plan)."""
    cols = np.asarray(cols, dtype=np.int64)
    ratings = np.asarray(ratings, dtype=np.float64)
    if cols.shape != ratings.shape or cols.ndim != 1:
        raise ValueError(f"{side}s and ratings must be 1-D arrays of equal length")
    n_cols, k = fixed.shape
    if len(cols) and (cols.min() < 0 or cols.max() >= n_cols):
        raise ValueError(f"{side} index out of range")
    if not np.isfinite(ratings).all():
        raise ValueError("ratings must be finite")
    if len(np.unique(cols)) != len(cols):
        raise ValueError(f"each {side} may appear once")
    dt = fixed.dtype
    pref = None if fixed_pref is None else np.zeros((1, fixed_pref.shape[1]), dt)
    if len(cols) == 0:
        return Fold(0.0, np.zeros(k, dt), None if pref is None else pref[0])
    entries = (ratings, (np.zeros(len(cols), np.int64), cols))
    row = sp.csr_matrix(entries, shape=(1, n_cols)).astype(dt)
    row.sort_indices()
    plan = Plan(row, k, dt)
    bias = np.zeros(1, dt)
    vec = np.zeros((1, k), dt)
    explicit, preference = solvers
    half_step(plan, explicit, None, vec, bias)
    if pref is not None and preference is not None:
        half_step(plan, preference, None, pref)
    return Fold(float(bias[0]), vec[0], None if pref is None else pref[0])


@dataclass(frozen=True)
class Fold:
    """One folded-in row's solved state: rating bias and vector, and preference vector."""

    bias: float
    vector: np.ndarray
    preference: np.ndarray | None


def predict_entries(f: Factors, users: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Predictions for (user index, item index) pairs, chunked to bound memory."""
    out = np.empty(len(users), dtype=f.user_factors.dtype)
    step = 1 << 20
    for s in range(0, len(users), step):
        u, i = users[s : s + step], items[s : s + step]
        out[s : s + step] = (
            f.mu
            + f.user_bias[u]
            + f.item_bias[i]
            + np.einsum("ij,ij->i", f.user_factors[u], f.item_factors[i])
        )
    return out


def objective(r: sp.csr_matrix, f: Factors, cfg: ALSConfig) -> float:
    """The regularized squared loss that each half-step minimizes exactly."""
    coo = r.tocoo()
    resid = coo.data.astype(np.float64) - predict_entries(f, coo.row, coo.col)
    nu = np.diff(r.indptr).astype(np.float64) ** cfg.reg_exponent
    ni = np.bincount(r.indices, minlength=r.shape[1]).astype(np.float64) ** cfg.reg_exponent
    nu[np.diff(r.indptr) == 0] = 0
    ni[np.bincount(r.indices, minlength=r.shape[1]) == 0] = 0
    reg = cfg.reg * (
        nu @ (f.user_factors.astype(np.float64) ** 2).sum(1)
        + ni @ (f.item_factors.astype(np.float64) ** 2).sum(1)
    )
    reg_b = cfg.reg_bias * (
        nu @ f.user_bias.astype(np.float64) ** 2 + ni @ f.item_bias.astype(np.float64) ** 2
    )
    return float(resid @ resid + reg + reg_b)
