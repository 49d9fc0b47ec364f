"""Batched row solves for ALS: rows grouped by rating count into padded chunks, each chunk
solved at once (exact ridge via Gram + LAPACK or Woodbury, or warm-started conjugate gradient).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.linalg import solve_triangular

from recommender.config import ALSConfig

# Padded (rows × width × factors) elements per chunk. Measured at 1M ratings: 1 << 20 beats
# 1 << 18 by 1.2× on one thread and 2× on two (fewer NumPy calls per row, so the chunk
# threads rarely wait for the GIL; at 1 << 18 two threads were slower than one).
CHUNK_ELEMENTS = 1 << 20


@dataclass
class Chunk:
    """Rows of similar rating count, padded to one width so they solve as one batch."""

    rows: np.ndarray  # (B,) row indices
    cols: np.ndarray  # (B, L) column indices, padded with n_cols (a zero row)
    values: np.ndarray  # (B, L) ratings, padded with 0
    counts: np.ndarray  # (B,) ratings per row


class Plan:
    """Rows of one side grouped into padded chunks of similar rating count."""

    def __init__(
        self,
        matrix: sp.csr_matrix,
        factors: int,
        dtype: np.dtype,
        chunk_elements: int = CHUNK_ELEMENTS,
    ) -> None:
        self.n_rows, self.n_cols = matrix.shape
        counts = np.diff(matrix.indptr)
        self.counts = counts
        order = np.argsort(counts, kind="stable")
        order = order[counts[order] > 0]
        self.empty = np.flatnonzero(counts == 0)
        self.chunks: list[Chunk] = []
        width = factors + 1
        sorted_counts = counts[order]
        start = 0
        while start < len(order):
            # rows are sorted by count, so a chunk's width is the count of its last row
            window = max(1, chunk_elements // (width * max(1, int(sorted_counts[start]))))
            ends = np.arange(start + 1, min(len(order), start + window) + 1)
            cost = (ends - start) * sorted_counts[ends - 1] * width
            stop = start + max(1, int(np.searchsorted(cost, chunk_elements, side="right")))
            rows = order[start:stop]
            self.chunks.append(self._pad(matrix, rows, int(counts[rows[-1]]), dtype))
            start = stop

    def _pad(self, m: sp.csr_matrix, rows: np.ndarray, width: int, dtype: np.dtype) -> Chunk:
        starts = m.indptr[rows]
        n = m.indptr[rows + 1] - starts
        offs = np.arange(width)
        valid = offs[None, :] < n[:, None]
        src = np.where(valid, starts[:, None] + offs[None, :], 0)
        cols = np.where(valid, m.indices[src], self.n_cols).astype(np.int32)
        vals = np.where(valid, m.data[src], 0).astype(dtype)
        return Chunk(rows, cols, vals, n.astype(dtype))


def _solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched SPD solves in float64 (OpenBLAS's float64 LAPACK is faster here, and exact)."""
    w = np.linalg.solve(a.astype(np.float64), b.astype(np.float64))[:, :, 0]
    return w.astype(a.dtype, copy=False)


def _woodbury_diagonal(g: np.ndarray, t: np.ndarray, d: np.ndarray) -> np.ndarray:
    """(D + GᵀG)⁻¹Gᵀt through an L×L system (Woodbury): cheaper when L < K, and exact."""
    g64 = g.astype(np.float64)
    gd = g64 / d[:, None, :]
    m = gd @ g64.transpose(0, 2, 1)
    diag = np.arange(m.shape[1])
    m[:, diag, diag] += 1.0
    y = (g64.transpose(0, 2, 1) @ t.astype(np.float64)[:, :, None])[:, :, 0] / d
    s = np.linalg.solve(m, g64 @ y[:, :, None])
    return y - (g64.transpose(0, 2, 1) @ s)[:, :, 0] / d


class ExplicitSolver:
    """Exact biased ridge solves against a fixed side: rows get (bias, factors)."""

    def __init__(self, fixed: np.ndarray, fixed_bias: np.ndarray, mu: float, cfg: ALSConfig):
        dt = fixed.dtype
        self.z_pad = np.zeros((len(fixed) + 1, fixed.shape[1] + 1), dtype=dt)
        self.z_pad[:-1, 0] = 1.0
        self.z_pad[:-1, 1:] = fixed
        self.bias_pad = np.append(fixed_bias, 0).astype(dt)
        self.mu, self.cfg = mu, cfg

    def __call__(self, chunk: Chunk) -> tuple[np.ndarray, np.ndarray]:
        cfg = self.cfg
        g = np.take(self.z_pad, chunk.cols, axis=0)  # (B, L, K+1); padding gathers zero rows
        t = chunk.values - self.mu - np.take(self.bias_pad, chunk.cols)
        gt = g.transpose(0, 2, 1)
        scale = chunk.counts.astype(np.float64) ** cfg.reg_exponent
        d = np.repeat((cfg.reg * scale)[:, None], g.shape[2], axis=1)
        d[:, 0] = cfg.reg_bias * scale
        if g.shape[1] < g.shape[2] and (d > 0).all():
            w = _woodbury_diagonal(g, t, d).astype(g.dtype)
        else:
            a = np.matmul(gt, g)
            b = np.matmul(gt, t[:, :, None])  # padded t is multiplied by zero rows
            diag = np.arange(a.shape[1])
            a[:, diag, diag] += d.astype(a.dtype)
            w = _solve(a, b)
        return w[:, 0], w[:, 1:]


class PreferenceSolver:
    """Implicit "who watches what" solves (Hu, Koren & Volinsky 2008) against a fixed side.

    Every unrated movie is a weak 0, every rated one a 1 with confidence 1 + alpha; the
    shared Gram YᵀY makes the unrated part free, so only rated entries are gathered.
    """

    def __init__(self, fixed: np.ndarray, cfg: ALSConfig, warm: np.ndarray | None = None):
        self.warm, self.cg_steps = warm, cfg.cg_steps
        self.y_pad = np.vstack([fixed, np.zeros((1, fixed.shape[1]), fixed.dtype)])
        gram = fixed.T @ fixed
        gram[np.diag_indices_from(gram)] += cfg.implicit_reg
        self.base = gram
        self.alpha = cfg.implicit_alpha
        self.base_inv: np.ndarray | None = None
        if warm is None and self.alpha > 0 and cfg.implicit_reg > 0:  # only exact solves use it
            self.base_inv = np.linalg.inv(gram.astype(np.float64))

    def __call__(self, chunk: Chunk) -> tuple[None, np.ndarray]:
        g = np.take(self.y_pad, chunk.cols, axis=0)
        if self.warm is not None:
            # residual of the warm start, b - A w0 = Gᵀ((1 + α) - α G w0) - P w0, in two products
            w0 = self.warm[chunk.rows]
            seen = (1.0 + self.alpha) - self.alpha * _times(g, w0)
            r0 = _times_t(g, seen) - w0 @ self.base

            def apply(p: np.ndarray) -> np.ndarray:
                return p @ self.base + self.alpha * _gram_times(g, p)

            return None, _cg(apply, r0, w0, self.cg_steps)
        b = (1.0 + self.alpha) * _row_sums(g)
        if self.base_inv is not None and g.shape[1] < g.shape[2]:
            return None, self._woodbury(g, b).astype(g.dtype)
        gt = g.transpose(0, 2, 1)
        a = self.base[None, :, :] + self.alpha * np.matmul(gt, g)
        return None, _solve(a, b[:, :, None])

    def _woodbury(self, g: np.ndarray, b: np.ndarray) -> np.ndarray:
        """(P + αGᵀG)⁻¹b through an L×L system when a row has fewer ratings than factors."""
        p_inv = self.base_inv
        g64 = g.astype(np.float64)
        gp = g64 @ p_inv  # (B, L, K)
        m = gp @ g64.transpose(0, 2, 1)
        diag = np.arange(m.shape[1])
        m[:, diag, diag] += 1.0 / self.alpha
        y = b.astype(np.float64) @ p_inv  # (B, K)
        s = np.linalg.solve(m, (g64 @ y[:, :, None]))
        return y - (gp.transpose(0, 2, 1) @ s)[:, :, 0]


def _row_sums(g: np.ndarray) -> np.ndarray:
    """Σ_l g[b, l, :] as one batched product with ones (5× NumPy's strided sum over axis 1)."""
    return np.matmul(np.ones((1, g.shape[1]), g.dtype), g)[:, 0, :]


SHORT_ROWS = 8  # below this many entries per row NumPy's batched matmul is slow; einsum is not


def _times(g: np.ndarray, p: np.ndarray) -> np.ndarray:
    """G p per row: (B, L, K) × (B, K) -> (B, L)."""
    if g.shape[1] < SHORT_ROWS:
        return np.einsum("blk,bk->bl", g, p)
    return np.matmul(g, p[:, :, None])[:, :, 0]


def _times_t(g: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Gᵀ q per row: (B, L, K) × (B, L) -> (B, K)."""
    if g.shape[1] < SHORT_ROWS:
        return np.einsum("blk,bl->bk", g, q)
    return np.matmul(q[:, None, :], g)[:, 0, :]


def _gram_times(g: np.ndarray, p: np.ndarray) -> np.ndarray:
    """GᵀG p per row without forming GᵀG: two batched matrix-vector products."""
    return _times_t(g, _times(g, p))


def _cg(
    apply: Callable[[np.ndarray], np.ndarray], r0: np.ndarray, w0: np.ndarray, steps: int
) -> np.ndarray:
    """A few conjugate-gradient steps per row from a warm start w0 whose residual b - A w0 is
    r0 (callers form it in fewer products than b and A w0 apart; each step never raises the
    loss)."""
    w = w0.astype(r0.dtype, copy=True)
    r = r0
    p = r.copy()
    rs = np.einsum("ij,ij->i", r, r)
    for step in range(steps):
        ap = apply(p)
        denom = np.einsum("ij,ij->i", p, ap)
        alpha = np.divide(rs, denom, out=np.zeros_like(rs), where=denom > 0)
        w += alpha[:, None] * p
        if step == steps - 1:  # the last step's residual and direction are never used
            break
        ap *= alpha[:, None]
        r -= ap
        rs_new = np.einsum("ij,ij->i", r, r)
        beta = np.divide(rs_new, rs, out=np.zeros_like(rs), where=rs > 0)
        p *= beta[:, None]
        p += r
        rs = rs_new
    return w


class CGSolver:
    """Explicit biased rows by warm-started conjugate gradient (the `cg` solver): cost grows
    with ratings × factors instead of ratings × factors² + factors³."""

    def __init__(
        self,
        fixed: np.ndarray,
        fixed_bias: np.ndarray,
        mu: float,
        cfg: ALSConfig,
        current: tuple[np.ndarray, np.ndarray],
    ) -> None:
        self.exact = ExplicitSolver(fixed, fixed_bias, mu, cfg)
        self.cur_bias, self.cur = current
        self.cfg = cfg

    def __call__(self, chunk: Chunk) -> tuple[np.ndarray, np.ndarray]:
        cfg, ex = self.cfg, self.exact
        g = np.take(ex.z_pad, chunk.cols, axis=0)
        t = chunk.values - ex.mu - np.take(ex.bias_pad, chunk.cols)
        scale = chunk.counts**cfg.reg_exponent
        d = np.repeat((cfg.reg * scale)[:, None], g.shape[2], axis=1).astype(g.dtype)
        d[:, 0] = cfg.reg_bias * scale
        w0 = np.hstack([self.cur_bias[chunk.rows, None], self.cur[chunk.rows]])
        # residual of the warm start, Gᵀt - (D + GᵀG) w0 = Gᵀ(t - G w0) - D w0, in two products
        r0 = _times_t(g, t - _times(g, w0)) - d * w0
        w = _cg(lambda p: d * p + _gram_times(g, p), r0, w0, cfg.cg_steps)
        return w[:, 0], w[:, 1:]


@dataclass(frozen=True)
class GaussianPrior:
    """A side's rows' Gaussian prior over [bias, factors] and the rating noise precision: what
    a sampled model needs to fold a row in as its posterior mean."""

    mean: np.ndarray
    precision: np.ndarray
    noise_precision: float


class GaussianRowSampler:
    """Draws rows (bias, factors) from their Gaussian conditionals against a fixed side.

    For a row with partners z_j = [1, y_j] and targets t_j = r_j - mu - c_j, the conditional
    has precision P = Λ + α Σ z_j z_jᵀ and mean P⁻¹(Λm + α Σ z_j t_j); a draw is
    L⁻ᵀ(L⁻¹b + ε) with P = LLᵀ and ε the row's standard normal noise (drawn up front, so
    results do not depend on which thread solves which chunk).

    `cross` = (this side's fixed features, the other side's weights on them) moves their
    product into the targets; the other side's own fixed features ride along in `fixed`.
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
        cross: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        self.cross = None
        if cross is not None and cross[0].shape[1]:
            own, coefs = cross
            self.cross = (own, np.vstack([coefs, np.zeros((1, coefs.shape[1]))]))
        self.z_pad = np.zeros((len(fixed) + 1, fixed.shape[1] + 1))
        self.z_pad[:-1, 0] = 1.0
        self.z_pad[:-1, 1:] = fixed
        self.bias_pad = np.append(fixed_bias, 0.0)
        self.mu, self.alpha = mu, noise_precision
        self.precision = prior_precision
        self.shift = prior_precision @ prior_mean
        self.noise = noise

    def __call__(self, chunk: Chunk) -> tuple[np.ndarray, np.ndarray]:
        g = np.take(self.z_pad, chunk.cols, axis=0)  # (B, L, K+1); padding gathers zero rows
        t = chunk.values - self.mu - np.take(self.bias_pad, chunk.cols)
        if self.cross is not None:  # the other side's weights on this row's fixed features
            own, coefs = self.cross
            t = t - np.einsum("blp,bp->bl", np.take(coefs, chunk.cols, axis=0), own[chunk.rows])
        gt = g.transpose(0, 2, 1)
        a = self.alpha * np.matmul(gt, g) + self.precision
        b = self.alpha * np.matmul(gt, t[:, :, None])[:, :, 0] + self.shift
        chol = np.linalg.cholesky(a)
        half = solve_triangular(chol, b[:, :, None], lower=True)
        if self.noise is not None:
            half += self.noise[chunk.rows][:, :, None]
        w = solve_triangular(chol, half, lower=True, trans="T")[:, :, 0]
        return w[:, 0], w[:, 1:]


Solver = Callable[[Chunk], tuple[np.ndarray | None, np.ndarray]]


Job = tuple[Solver, np.ndarray, np.ndarray | None]  # solver, its output factors and biases


def half_step(
    plan: Plan,
    solve: Solver,
    pool: ThreadPoolExecutor | None,
    out_factors: np.ndarray,
    out_bias: np.ndarray | None = None,
) -> None:
    """Re-solve every row of one side with `solve`, chunk by chunk, in place."""
    half_steps(plan, [(solve, out_factors, out_bias)], pool)


def half_steps(plan: Plan, jobs: list[Job], pool: ThreadPoolExecutor | None) -> None:
    """Re-solve every row of one side for several independent models (the rating and the
    preference model), all their chunks in one pool pass so the threads stay evenly busy."""

    def run(task: tuple[Chunk, Job]) -> None:
        chunk, (solve, out_factors, out_bias) = task
        bias, fac = solve(chunk)
        out_factors[chunk.rows] = fac
        if out_bias is not None and bias is not None:
            out_bias[chunk.rows] = bias

    tasks = [(chunk, job) for job in jobs for chunk in plan.chunks]
    if pool is None:
        for task in tasks:
            run(task)
    else:
        list(pool.map(run, tasks))
    for _, out_factors, out_bias in jobs:
        out_factors[plan.empty] = 0.0
        if out_bias is not None:
            out_bias[plan.empty] = 0.0
