"""Bayesian ALS: the biased rating model fitted by Gibbs sampling (BPMF, Salakhutdinov & Mnih
2008) instead of ridge solves, with the preference model still fitted by ALS.

Each user's (b_u, x_u) and each movie's (c_i, y_i) has a Gaussian prior N(m, Λ⁻¹) whose mean
and precision have a Normal-Wishart hyperprior, sampled anew every sweep; given the other side,
every row's conditional is Gaussian with precision Λ + α ZᵀZ, and the rows of a padded chunk
are drawn at once from their batched Cholesky factors. The posterior mean of a prediction
is the average over samples of mu + b_u + c_i + x_u·y_i; the biases average exactly, and the
average of the products over S kept samples is one dot product of the S samples laid side by
side and scaled by 1/√S, so the served model is an ordinary (wider) `Factors`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from recommender.als import ALSTrainer, Factors
from recommender.config import ALSConfig
from recommender.solvers import Chunk, Plan, PreferenceSolver, half_step

log = logging.getLogger(__name__)


class GaussianRowSampler:
    """Draws rows (bias, factors) from their Gaussian conditionals against a fixed side.

    For a row with partners z_j = [1, y_j] and targets t_j = r_j - mu - c_j, the conditional
    has precision P = Λ + α Σ z_j z_jᵀ and mean P⁻¹(Λm + α Σ z_j t_j); a draw is
    L⁻ᵀ(L⁻¹b + ε) with P = LLᵀ and ε the row's standard normal noise (drawn up front, so
    results do not depend on which thread solves which chunk).
    """

    def __init__(
        self,
        fixed: np.ndarray,
        fixed_bias: np.ndarray,
        mu: float,
        prior_mean: np.ndarray,
        prior_precision: np.ndarray,
        noise_precision: float,
        noise: np.ndarray | None,
    ) -> None:
        self.z_pad = np.zeros((len(fixed) + 1, fixed.shape[1] + 1))
        self.z_pad[:-1, 0] = 1.0
        self.z_pad[:-1, 1:] = fixed
        self.bias_pad = np.append(fixed_bias, 0.0)
        self.mu, self.alpha = mu, noise_precision
        self.precision = prior_precision
        self.shift = prior_precision @ prior_mean
        self.noise = noise

    def __call__(self, chunk: Chunk) -> tuple[np.ndarray, np.ndarray]:
        g = self.z_pad[chunk.cols]  # (B, L, K+1); padded entries are zero rows
        t = chunk.values - self.mu - self.bias_pad[chunk.cols]
        gt = g.transpose(0, 2, 1)
        a = self.alpha * np.matmul(gt, g) + self.precision
        b = self.alpha * np.matmul(gt, t[:, :, None])[:, :, 0] + self.shift
        chol = np.linalg.cholesky(a)
        half = np.linalg.solve(chol, b[:, :, None])
        if self.noise is not None:
            half += self.noise[chunk.rows][:, :, None]
        w = np.linalg.solve(chol.transpose(0, 2, 1), half)[:, :, 0]
        return w[:, 0], w[:, 1:]


def sample_wishart(scale: np.ndarray, df: float, rng: np.random.Generator) -> np.ndarray:
    """One draw from Wishart(scale, df) by the Bartlett decomposition (mean df · scale)."""
    d = len(scale)
    lower = np.linalg.cholesky(scale)
    a = np.tril(rng.standard_normal((d, d)), -1)
    a[np.diag_indices(d)] = np.sqrt(rng.chisquare(df - np.arange(d)))
    la = lower @ a
    return la @ la.T


def sample_normal_wishart(
    rows: np.ndarray, beta0: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(mean, precision) of the rows' prior, drawn from the Normal-Wishart posterior given the
    rows, with hyperprior mean 0, W0 = I, ν0 = dimension and `beta0` pseudo-rows at the mean."""
    n, d = rows.shape
    mean = rows.mean(axis=0) if n else np.zeros(d)
    centred = rows - mean
    scatter = centred.T @ centred
    beta, nu = beta0 + n, d + n
    w_inv = np.eye(d) + scatter + (beta0 * n / beta) * np.outer(mean, mean)
    w = np.linalg.inv(w_inv)
    precision = sample_wishart((w + w.T) / 2, nu, rng)
    cov_chol = np.linalg.cholesky(np.linalg.inv(beta * precision))
    return n * mean / beta + cov_chol @ rng.standard_normal(d), precision


def fit_bayes(
    matrix: sp.csr_matrix,
    cfg: ALSConfig,
    on_sample: Callable[[float, np.ndarray, np.ndarray], None] | None = None,
) -> Factors:
    """Gibbs-sample the biased rating model and fit the preference model by ALS.

    Returns posterior-mean biases with the posterior-mean factors (`bayes_keep` = 0), or with
    `bayes_keep` samples spread evenly over the averaged sweeps, laid side by side (each
    scaled by 1/√S) so that x_u·y_i is their average product. `on_sample(mu, users, items)`
    sees every averaged sweep's [bias, factors] rows.
    """
    dt = np.dtype(cfg.dtype)
    r = sp.csr_matrix(matrix, dtype=np.float64)
    if r.nnz == 0:
        raise ValueError("cannot fit on an empty rating matrix")
    n_users, n_items = r.shape
    k = cfg.bayes_factors
    mu = float(r.data.mean())
    rng = np.random.default_rng(cfg.seed)
    user_plan = Plan(r, k, np.dtype(np.float64))
    item_plan = Plan(r.T.tocsr(), k, np.dtype(np.float64))
    users = np.hstack([np.zeros((n_users, 1)), rng.standard_normal((n_users, k)) * cfg.init_scale])
    items = np.hstack([np.zeros((n_items, 1)), rng.standard_normal((n_items, k)) * cfg.init_scale])
    rated_u = np.diff(r.indptr) > 0
    rated_i = np.bincount(r.indices, minlength=n_items) > 0
    alpha = cfg.bayes_noise if cfg.bayes_noise > 0 else 2.0
    samples, keep = cfg.bayes_samples, cfg.bayes_keep
    stride = samples // max(keep, 1)
    kept_u: list[np.ndarray] = []
    kept_i: list[np.ndarray] = []
    sum_u, sum_i = np.zeros_like(users), np.zeros_like(items)
    threads = cfg.n_threads()
    pool = ThreadPoolExecutor(threads) if threads > 1 else None
    blas = threadpool_limits(limits=1, user_api="blas")
    coo = r.tocoo()
    try:
        for sweep in range(cfg.bayes_burn_in + samples):
            t0 = time.perf_counter()
            for plan, out, other, rated in (
                (user_plan, users, items, rated_u),
                (item_plan, items, users, rated_i),
            ):
                mean, precision = sample_normal_wishart(out[rated], cfg.bayes_beta, rng)
                noise = rng.standard_normal(out.shape)
                sampler = GaussianRowSampler(
                    other[:, 1:], other[:, 0], mu, mean, precision, alpha, noise
                )
                half_step(plan, sampler, pool, out[:, 1:], bias := np.zeros(len(out)))
                out[:, 0] = bias
                out[~rated] = 0.0
            if cfg.bayes_noise <= 0:
                resid = coo.data - (
                    mu
                    + users[coo.row, 0]
                    + items[coo.col, 0]
                    + np.einsum("ij,ij->i", users[coo.row, 1:], items[coo.col, 1:])
                )
                alpha = rng.gamma(1.0 + r.nnz / 2, 1.0 / (1.0 + resid @ resid / 2))
            kept = sweep - cfg.bayes_burn_in
            if kept >= 0:
                sum_u += users
                sum_i += items
                if on_sample is not None:
                    on_sample(mu, users, items)
                back = samples - 1 - kept
                if keep and back % stride == 0 and back // stride < keep:
                    kept_u.append(users[:, 1:].copy())
                    kept_i.append(items[:, 1:].copy())
            seconds = time.perf_counter() - t0
            log.debug("sweep %d: %.3fs noise precision %.3f", sweep + 1, seconds, alpha)
        mean_u, mean_i = sum_u / samples, sum_i / samples
        if kept_u:
            scale = 1.0 / np.sqrt(len(kept_u))
            fac_u, fac_i = np.hstack(kept_u) * scale, np.hstack(kept_i) * scale
        else:
            fac_u, fac_i = mean_u[:, 1:], mean_i[:, 1:]
        factors = Factors(
            mu, mean_u[:, 0].astype(dt), fac_u.astype(dt), mean_i[:, 0].astype(dt), fac_i.astype(dt)
        )
        _fit_preference(r, cfg, factors, pool)
    finally:
        blas.restore_original_limits()
        if pool is not None:
            pool.shutdown()
    return factors


def _fit_preference(
    r: sp.csr_matrix, cfg: ALSConfig, f: Factors, pool: ThreadPoolExecutor | None
) -> None:
    """The preference model exactly as `ALSTrainer.fit` runs it (same start, same sweeps)."""
    if cfg.implicit_factors == 0:
        return
    dt = np.dtype(cfg.dtype)
    start = ALSTrainer(cfg)._initial(r.shape[0], r.shape[1], f.mu, dt, None)
    f.pref_user, f.pref_item = start.pref_user, start.pref_item
    rd = sp.csr_matrix(r, dtype=dt)
    user_plan = Plan(rd, cfg.factors, dt)
    item_plan = Plan(rd.T.tocsr(), cfg.factors, dt)
    for _ in range(cfg.iterations):
        for plan, fixed, out in (
            (user_plan, f.pref_item, f.pref_user),
            (item_plan, f.pref_user, f.pref_item),
        ):
            warm = out if cfg.solver == "cg" else None
            half_step(plan, PreferenceSolver(fixed, cfg, warm), pool, out)
