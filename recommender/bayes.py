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
from recommender.solvers import GaussianPrior, GaussianRowSampler, Plan, PreferenceSolver, half_step

log = logging.getLogger(__name__)


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
    scaled by 1/√S) so that x_u·y_i is their average product. With `bayes_implicit`, each
    side also weighs the other side's preference factors (who rated what, as fixed
    features), served as extra factor columns. `on_sample(mu, users, items)` sees every
    averaged sweep's served [bias, factors] rows.
    """
    dt = np.dtype(cfg.dtype)
    r = sp.csr_matrix(matrix, dtype=np.float64)
    if r.nnz == 0:
        raise ValueError("cannot fit on an empty rating matrix")
    n_users, n_items = r.shape
    k = cfg.bayes_factors
    mu = float(r.data.mean())
    rng = np.random.default_rng(cfg.seed)
    threads = cfg.n_threads()
    pool = ThreadPoolExecutor(threads) if threads > 1 else None
    blas = threadpool_limits(limits=1, user_api="blas")
    try:
        pref_user, pref_item = _fit_preference(r, cfg, pool)
        feat_u, feat_i = np.zeros((n_users, 0)), np.zeros((n_items, 0))
        if cfg.bayes_implicit and pref_user is not None and pref_item is not None:
            feat_u, feat_i = pref_user.astype(np.float64), pref_item.astype(np.float64)

        def start(n: int, width: int) -> np.ndarray:
            w = np.zeros((n, 1 + k + width))
            w[:, 1 : 1 + k] = rng.standard_normal((n, k)) * cfg.init_scale
            return w

        # users: [b_u, x_u, weights on movie features]; movies: [c_i, y_i, weights on user ones]
        users, items = start(n_users, feat_i.shape[1]), start(n_items, feat_u.shape[1])

        def served(u: np.ndarray, i: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            """[bias, factors] rows of both sides whose dot products are the predictions."""
            su = np.hstack([u, feat_u])
            si = np.hstack([i[:, : 1 + k], feat_i, i[:, 1 + k :]])
            return su, si

        user_plan = Plan(r, users.shape[1], np.dtype(np.float64))
        item_plan = Plan(r.T.tocsr(), items.shape[1], np.dtype(np.float64))
        rated_u = np.diff(r.indptr) > 0
        rated_i = np.bincount(r.indices, minlength=n_items) > 0
        alpha = cfg.bayes_noise if cfg.bayes_noise > 0 else 2.0  # sampled: starts at BPMF's 2
        samples, keep = cfg.bayes_samples, cfg.bayes_keep
        stride = samples // max(keep, 1)
        kept_u: list[np.ndarray] = []
        kept_i: list[np.ndarray] = []
        sum_u, sum_i = (np.zeros_like(a) for a in served(users, items))
        moments = [_Moments(sum_u.shape[1]), _Moments(sum_i.shape[1])]
        noise_sum = 0.0
        coo = r.tocoo()
        for sweep in range(cfg.bayes_burn_in + samples):
            t0 = time.perf_counter()
            for plan, out, other, own_feat, other_feat, rated in (
                (user_plan, users, items, feat_u, feat_i, rated_u),
                (item_plan, items, users, feat_i, feat_u, rated_i),
            ):
                mean, precision = sample_normal_wishart(out[rated], cfg.bayes_beta, rng)
                noise = rng.standard_normal(out.shape)
                fixed = np.hstack([other[:, 1 : 1 + k], other_feat])
                cross = (own_feat, other[:, 1 + k :])
                sampler = GaussianRowSampler(
                    fixed, other[:, 0], mu, mean, precision, alpha, noise, cross
                )
                half_step(plan, sampler, pool, out[:, 1:], bias := np.zeros(len(out)))
                out[:, 0] = bias
                out[~rated] = 0.0
            su, si = served(users, items)
            if cfg.bayes_noise <= 0:
                pred = mu + su[coo.row, 0] + si[coo.col, 0]
                pred += np.einsum("ij,ij->i", su[coo.row, 1:], si[coo.col, 1:])
                resid = coo.data - pred
                # Gamma(1, 1) prior on the noise precision, conjugate to the residuals
                alpha = rng.gamma(1.0 + r.nnz / 2, 1.0 / (1.0 + resid @ resid / 2))
            kept = sweep - cfg.bayes_burn_in
            if kept >= 0:
                sum_u += su
                sum_i += si
                moments[0].add(su[rated_u])
                moments[1].add(si[rated_i])
                noise_sum += alpha
                if on_sample is not None:
                    on_sample(mu, su, si)
                back = samples - 1 - kept
                if keep and back % stride == 0 and back // stride < keep:
                    kept_u.append(su[:, 1:])
                    kept_i.append(si[:, 1:])
            seconds = time.perf_counter() - t0
            log.debug("sweep %d: %.3fs noise precision %.3f", sweep + 1, seconds, alpha)
    finally:
        blas.restore_original_limits()
        if pool is not None:
            pool.shutdown()
    mean_u, mean_i = sum_u / samples, sum_i / samples
    if kept_u:
        scale = 1.0 / np.sqrt(len(kept_u))
        fac_u, fac_i = np.hstack(kept_u) * scale, np.hstack(kept_i) * scale
    else:
        fac_u, fac_i = mean_u[:, 1:], mean_i[:, 1:]
    return Factors(
        mu,
        mean_u[:, 0].astype(dt),
        fac_u.astype(dt),
        mean_i[:, 0].astype(dt),
        fac_i.astype(dt),
        pref_user=pref_user,
        pref_item=pref_item,
        user_prior=moments[0].prior(noise_sum / samples),
        item_prior=moments[1].prior(noise_sum / samples),
    )


class _Moments:
    """Running first and second moments of sampled rows, for the fold-in prior."""

    def __init__(self, width: int) -> None:
        self.n, self.s1, self.s2 = 0, np.zeros(width), np.zeros((width, width))

    def add(self, rows: np.ndarray) -> None:
        """Count one sweep's rows."""
        self.n += len(rows)
        self.s1 += rows.sum(axis=0)
        self.s2 += rows.T @ rows

    def prior(self, noise_precision: float) -> GaussianPrior:
        """The rows' population Gaussian (over rows and samples) as a prior."""
        mean = self.s1 / max(self.n, 1)
        cov = self.s2 / max(self.n, 1) - np.outer(mean, mean)
        cov[np.diag_indices_from(cov)] += 1e-6
        return GaussianPrior(mean, np.linalg.inv(cov), float(noise_precision))


def _fit_preference(
    r: sp.csr_matrix, cfg: ALSConfig, pool: ThreadPoolExecutor | None
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The preference model exactly as `ALSTrainer.fit` runs it (same start, same sweeps)."""
    if cfg.implicit_factors == 0:
        return None, None
    dt = np.dtype(cfg.dtype)
    f = ALSTrainer(cfg)._initial(r.shape[0], r.shape[1], 0.0, dt, None)
    assert f.pref_user is not None and f.pref_item is not None
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
    return f.pref_user, f.pref_item
