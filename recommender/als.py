"""Explicit-feedback ALS with biases and count-scaled regularization, batched in NumPy.

Model: r_ui ≈ mu + b_u + c_i + x_u·y_i. Each half-step solves, for every row at once,
the exact ridge problem min Σ_j (t_j - z_j·w)² + λ n^α |x|² + λ_b n^α b², with
z_j = [1, y_j], w = [b, x], t_j = r_uj - mu - c_j. Rows are grouped by rating count into
chunks so one padded gather, one batched Gram product and one batched solve serve
thousands of rows; chunks run on a thread pool with single-threaded BLAS.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

log = logging.getLogger(__name__)

CHUNK_ELEMENTS = 1 << 18  # padded (rows × width × factors) per chunk: a few MB, cache-friendly


@dataclass(frozen=True)
class ALSConfig:
    """Hyperparameters; defaults chosen by RMSE on ml-100k fold u1 only (see README)."""

    factors: int = 32
    iterations: int = 15
    reg: float = 1.2
    reg_bias: float = 0.5
    reg_exponent: float = 0.5
    init_scale: float = 0.1
    implicit_factors: int = 32
    implicit_reg: float = 1.0
    implicit_alpha: float = 5.0
    solver: str = "exact"
    cg_steps: int = 3
    seed: int = 42
    dtype: str = "float32"
    threads: int = 0

    def __post_init__(self) -> None:
        if self.factors < 1 or self.iterations < 0:
            raise ValueError("factors must be >= 1 and iterations >= 0")
        if self.implicit_factors < 0 or self.implicit_alpha < 0 or self.implicit_reg < 0:
            raise ValueError("implicit_factors, implicit_alpha and implicit_reg must be >= 0")
        if self.reg < 0 or self.reg_bias < 0 or self.init_scale <= 0:
            raise ValueError("regularization must be >= 0 and init_scale > 0")
        if self.solver not in ("exact", "cg") or self.cg_steps < 1:
            raise ValueError("solver must be 'exact' or 'cg', with cg_steps >= 1")
        if self.dtype not in ("float32", "float64"):
            raise ValueError("dtype must be float32 or float64")

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON metadata."""
        return asdict(self)

    def n_threads(self) -> int:
        """Worker threads for chunk solves (0 = one per core)."""
        return self.threads if self.threads > 0 else max(1, os.cpu_count() or 1)


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


@dataclass
class _Chunk:
    rows: np.ndarray  # (B,) row indices
    cols: np.ndarray  # (B, L) column indices, padded with n_cols (a zero row)
    values: np.ndarray  # (B, L) ratings, padded with 0
    counts: np.ndarray  # (B,) ratings per row


class _Plan:
    """Rows of one side grouped into padded chunks of similar rating count."""

    def __init__(self, matrix: sp.csr_matrix, factors: int, dtype: np.dtype) -> None:
        self.n_rows, self.n_cols = matrix.shape
        counts = np.diff(matrix.indptr)
        self.counts = counts
        order = np.argsort(counts, kind="stable")
        order = order[counts[order] > 0]
        self.empty = np.flatnonzero(counts == 0)
        self.chunks: list[_Chunk] = []
        width = factors + 1
        sorted_counts = counts[order]
        start = 0
        while start < len(order):
            # rows are sorted by count, so a chunk's width is the count of its last row
            window = max(1, CHUNK_ELEMENTS // (width * max(1, int(sorted_counts[start]))))
            ends = np.arange(start + 1, min(len(order), start + window) + 1)
            cost = (ends - start) * sorted_counts[ends - 1] * width
            stop = start + max(1, int(np.searchsorted(cost, CHUNK_ELEMENTS, side="right")))
            rows = order[start:stop]
            self.chunks.append(self._pad(matrix, rows, int(counts[rows[-1]]), dtype))
            start = stop

    def _pad(self, m: sp.csr_matrix, rows: np.ndarray, width: int, dtype: np.dtype) -> _Chunk:
        starts = m.indptr[rows]
        n = m.indptr[rows + 1] - starts
        offs = np.arange(width)
        valid = offs[None, :] < n[:, None]
        src = np.where(valid, starts[:, None] + offs[None, :], 0)
        cols = np.where(valid, m.indices[src], self.n_cols).astype(np.int32)
        vals = np.where(valid, m.data[src], 0).astype(dtype)
        return _Chunk(rows, cols, vals, n.astype(dtype))


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


class _ExplicitSolver:
    """Exact biased ridge solves against a fixed side: rows get (bias, factors)."""

    def __init__(self, fixed: np.ndarray, fixed_bias: np.ndarray, mu: float, cfg: ALSConfig):
        dt = fixed.dtype
        self.z_pad = np.zeros((len(fixed) + 1, fixed.shape[1] + 1), dtype=dt)
        self.z_pad[:-1, 0] = 1.0
        self.z_pad[:-1, 1:] = fixed
        self.bias_pad = np.append(fixed_bias, 0).astype(dt)
        self.mu, self.cfg = mu, cfg

    def __call__(self, chunk: _Chunk) -> tuple[np.ndarray, np.ndarray]:
        cfg = self.cfg
        g = self.z_pad[chunk.cols]  # (B, L, K+1); padded entries are zero rows
        t = chunk.values - self.mu - self.bias_pad[chunk.cols]
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


class _PreferenceSolver:
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
        if self.alpha > 0 and cfg.implicit_reg > 0:
            self.base_inv = np.linalg.inv(gram.astype(np.float64))

    def __call__(self, chunk: _Chunk) -> tuple[None, np.ndarray]:
        g = self.y_pad[chunk.cols]
        b = (1.0 + self.alpha) * g.sum(axis=1)
        if self.warm is not None:

            def apply(p: np.ndarray) -> np.ndarray:
                return p @ self.base + self.alpha * _gram_times(g, p)

            return None, _cg(apply, b, self.warm[chunk.rows], self.cg_steps)
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


def _gram_times(g: np.ndarray, p: np.ndarray) -> np.ndarray:
    """GᵀG p per row without forming GᵀG: two batched matrix-vector products."""
    q = np.matmul(g, p[:, :, None])
    return np.matmul(g.transpose(0, 2, 1), q)[:, :, 0]


def _cg(
    apply: Callable[[np.ndarray], np.ndarray], b: np.ndarray, w0: np.ndarray, steps: int
) -> np.ndarray:
    """A few conjugate-gradient steps per row from a warm start (each never raises the loss)."""
    w = w0.astype(b.dtype, copy=True)
    r = b - apply(w)
    p = r.copy()
    rs = np.einsum("ij,ij->i", r, r)
    for _ in range(steps):
        ap = apply(p)
        denom = np.einsum("ij,ij->i", p, ap)
        alpha = np.divide(rs, denom, out=np.zeros_like(rs), where=denom > 0)
        w += alpha[:, None] * p
        r -= alpha[:, None] * ap
        rs_new = np.einsum("ij,ij->i", r, r)
        beta = np.divide(rs_new, rs, out=np.zeros_like(rs), where=rs > 0)
        p = r + beta[:, None] * p
        rs = rs_new
    return w


class _CGSolver:
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
        self.exact = _ExplicitSolver(fixed, fixed_bias, mu, cfg)
        self.cur_bias, self.cur = current
        self.cfg = cfg

    def __call__(self, chunk: _Chunk) -> tuple[np.ndarray, np.ndarray]:
        cfg, ex = self.cfg, self.exact
        g = ex.z_pad[chunk.cols]
        t = chunk.values - ex.mu - ex.bias_pad[chunk.cols]
        scale = chunk.counts**cfg.reg_exponent
        d = np.repeat((cfg.reg * scale)[:, None], g.shape[2], axis=1).astype(g.dtype)
        d[:, 0] = cfg.reg_bias * scale
        b = np.matmul(g.transpose(0, 2, 1), t[:, :, None])[:, :, 0]
        w0 = np.hstack([self.cur_bias[chunk.rows, None], self.cur[chunk.rows]])
        w = _cg(lambda p: d * p + _gram_times(g, p), b, w0, cfg.cg_steps)
        return w[:, 0], w[:, 1:]


Solver = Callable[[_Chunk], tuple[np.ndarray | None, np.ndarray]]


def _half_step(
    plan: _Plan,
    solve: Solver,
    pool: ThreadPoolExecutor | None,
    out_factors: np.ndarray,
    out_bias: np.ndarray | None = None,
) -> None:
    """Re-solve every row of one side with `solve`, chunk by chunk, in place."""

    def run(chunk: _Chunk) -> None:
        bias, fac = solve(chunk)
        out_factors[chunk.rows] = fac
        if out_bias is not None and bias is not None:
            out_bias[chunk.rows] = bias

    if pool is None:
        for chunk in plan.chunks:
            run(chunk)
    else:
        list(pool.map(run, plan.chunks))
    out_factors[plan.empty] = 0.0
    if out_bias is not None:
        out_bias[plan.empty] = 0.0


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
        user_plan = _Plan(r, cfg.factors, dt)
        item_plan = _Plan(r.T.tocsr(), cfg.factors, dt)
        threads = cfg.n_threads()
        pool = ThreadPoolExecutor(threads) if threads > 1 else None
        # many small solves at once: BLAS threads would only fight the chunk threads
        blas = threadpool_limits(limits=1, user_api="blas")
        try:
            for it in range(cfg.iterations):
                t0 = time.perf_counter()
                sides = (
                    (user_plan, f.item_factors, f.item_bias, f.user_factors, f.user_bias),
                    (item_plan, f.user_factors, f.user_bias, f.item_factors, f.item_bias),
                )
                for plan, fixed, fixed_bias, out, out_bias in sides:
                    if cfg.solver == "cg":
                        solve = _CGSolver(fixed, fixed_bias, mu, cfg, (out_bias, out))
                    else:
                        solve = _ExplicitSolver(fixed, fixed_bias, mu, cfg)
                    _half_step(plan, solve, pool, out, out_bias)
                if f.pref_user is not None and f.pref_item is not None:
                    for plan, fixed, out in (
                        (user_plan, f.pref_item, f.pref_user),
                        (item_plan, f.pref_user, f.pref_item),
                    ):
                        warm = out if cfg.solver == "cg" else None
                        _half_step(plan, _PreferenceSolver(fixed, cfg, warm), pool, out)
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
        explicit = _ExplicitSolver(factors.item_factors, factors.item_bias, factors.mu, self.config)
        pref = None
        if factors.pref_item is not None:
            pref = _PreferenceSolver(factors.pref_item, self.config)
        return explicit, pref

    def fold_in(
        self,
        factors: Factors,
        items: np.ndarray,
        ratings: np.ndarray,
        solvers: tuple[Solver, Solver | None] | None = None,
    ) -> UserFold:
        """Solve one user's bias, vector and preference vector exactly as a half-step would."""
        items = np.asarray(items, dtype=np.int64)
        ratings = np.asarray(ratings, dtype=np.float64)
        if items.shape != ratings.shape or items.ndim != 1:
            raise ValueError("items and ratings must be 1-D arrays of equal length")
        n_items, k = factors.item_factors.shape
        if len(items) and (items.min() < 0 or items.max() >= n_items):
            raise ValueError("item index out of range")
        if not np.isfinite(ratings).all():
            raise ValueError("ratings must be finite")
        if len(np.unique(items)) != len(items):
            raise ValueError("each item may appear once")
        dt = factors.item_factors.dtype
        pref = None if factors.pref_item is None else np.zeros((1, factors.pref_item.shape[1]), dt)
        if len(items) == 0:
            return UserFold(0.0, np.zeros(k, dt), None if pref is None else pref[0])
        row = sp.csr_matrix(
            (ratings, (np.zeros(len(items), np.int64), items)), shape=(1, n_items)
        ).astype(dt)
        row.sort_indices()
        plan = _Plan(row, k, dt)
        bias = np.zeros(1, dt)
        vec = np.zeros((1, k), dt)
        explicit, preference = solvers or self.item_solvers(factors)
        _half_step(plan, explicit, None, vec, bias)
        if pref is not None and preference is not None:
            _half_step(plan, preference, None, pref)
        return UserFold(float(bias[0]), vec[0], None if pref is None else pref[0])


@dataclass(frozen=True)
class UserFold:
    """One user's solved state: rating bias and vector, and preference vector."""

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
