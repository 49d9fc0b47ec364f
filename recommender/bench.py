"""Benchmarks: ALS seconds per iteration and peak memory, title search and recommend latency.

Each ALS size runs in its own child process so its peak RSS is its own.
"""

from __future__ import annotations

import json
import logging
import resource
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from recommender.als import ALSTrainer, to_csr
from recommender.config import ALSConfig
from recommender.data import Catalog
from recommender.peers import TIMERS, installed, missing_message

log = logging.getLogger(__name__)

SYNTHETIC = {  # ratings, users, movies
    "1M": (1_000_000, 6_000, 4_000),
    "10M": (10_000_000, 70_000, 10_000),
    "25M": (25_000_000, 160_000, 60_000),
    "32M": (32_000_000, 200_000, 87_585),  # ml-32m's shape
}
ML32M_TITLES = 87_585


def synthetic_matrix(n_ratings: int, n_users: int, n_items: int, seed: int = 0) -> sp.csr_matrix:
    """Power-law users×movies ratings (1..5 from a planted low-rank taste), `n_ratings` distinct
    (user, movie) pairs."""
    rng = np.random.default_rng(seed)
    user_w = rng.pareto(1.2, n_users) + 1
    item_w = 1.0 / np.arange(1, n_items + 1) ** 0.9
    keys = np.empty(0, dtype=np.int64)
    while len(keys) < n_ratings:
        draw = int((n_ratings - len(keys)) * 1.5) + 1000
        u = rng.choice(n_users, draw, p=user_w / user_w.sum()).astype(np.int64)
        i = rng.choice(n_items, draw, p=item_w / item_w.sum()).astype(np.int64)
        keys = np.unique(np.concatenate([keys, u * n_items + i]))
        if len(keys) >= 0.9 * n_users * n_items:
            raise ValueError("synthetic matrix too dense for the requested size")
    keys = rng.permutation(keys)[:n_ratings]
    users, items = (keys // n_items).astype(np.int32), (keys % n_items).astype(np.int32)
    taste_u = rng.standard_normal((n_users, 4)).astype(np.float32)
    taste_i = rng.standard_normal((n_items, 4)).astype(np.float32)
    raw = np.einsum("ij,ij->i", taste_u[users], taste_i[items]) * 0.5 + 3.5
    stars = np.clip(np.rint(raw + rng.normal(0, 0.7, n_ratings)), 1, 5).astype(np.float32)
    return to_csr(users, items, stars, (n_users, n_items))


def bench_matrix(size: str, data_dir: Path) -> sp.csr_matrix:
    """The users×movies ratings of a benchmark size: a synthetic name or a MovieLens dataset."""
    if size in SYNTHETIC:
        return synthetic_matrix(*SYNTHETIC[size])
    from recommender.datasets import load_dataset

    ml = load_dataset(size, data_dir, progress=False)
    r = ml.ratings
    users = np.unique(r.users, return_inverse=True)[1]
    items = np.searchsorted(ml.catalog.movie_ids, r.items)
    return to_csr(users, items, r.ratings, (int(users.max()) + 1, len(ml.catalog)))


def seconds_per_iteration(matrix: sp.csr_matrix, cfg: ALSConfig) -> float:
    """Median wall time of one iteration after the first (one-time setup such as chunking
    excluded, the first iteration warms caches)."""
    stamps = [time.perf_counter()]
    ALSTrainer(cfg).fit(matrix, callback=lambda *_: stamps.append(time.perf_counter()))
    gaps = np.diff(stamps[1:]) if len(stamps) > 2 else np.diff(stamps)
    return float(np.median(gaps))


def bayes_timing(matrix: sp.csr_matrix, cfg: ALSConfig, sweeps: int) -> dict[str, float]:
    """Median seconds per Gibbs sweep of `model=bayes`, and what a default-length fit costs
    (its preference model plus burn-in and averaged sweeps at that median)."""
    from recommender.bayes import fit_bayes

    stamps: list[float] = []
    short = replace(cfg, model="bayes", bayes_burn_in=0, bayes_samples=sweeps + 1)
    start = time.perf_counter()
    fit_bayes(matrix, short, on_sample=lambda *_: stamps.append(time.perf_counter()))
    per_sweep = float(np.median(np.diff(stamps)))
    preference = stamps[0] - start - per_sweep  # everything before the first sweep ended
    full = preference + (cfg.bayes_burn_in + cfg.bayes_samples) * per_sweep
    return {"seconds_per_sweep_bayes": per_sweep, "seconds_fit_bayes": full}


def _als_one(
    size: str,
    factors: int,
    iterations: int,
    data_dir: Path,
    peers: tuple[str, ...] = (),
    bayes: bool = False,
    threads: int = 0,
) -> dict[str, object]:
    """Time a fit of one size in this process (called in a child); `peers` are timed on the
    same matrix in the same process, as seconds per iteration and our time over theirs."""
    matrix = bench_matrix(size, data_dir)
    default = ALSConfig(factors=factors, iterations=iterations, implicit_factors=0, threads=threads)
    timings = {
        "seconds_per_iteration": seconds_per_iteration(matrix, default),
        "seconds_per_iteration_exact": seconds_per_iteration(
            matrix, replace(default, solver="exact")
        ),
        "seconds_per_iteration_with_preference": seconds_per_iteration(
            matrix, replace(default, implicit_factors=ALSConfig().implicit_factors)
        ),
    }
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for name in peers:
        peer = TIMERS[name](matrix, default)
        timings[f"{name}_seconds_per_iteration"] = peer
        timings[f"ratio_cg_to_{name}"] = timings["seconds_per_iteration"] / peer
        timings[f"ratio_fit_to_{name}"] = timings["seconds_per_iteration_with_preference"] / peer
    if bayes:
        timings.update(bayes_timing(matrix, replace(default, implicit_factors=32), iterations))
    return {
        "dataset": size,
        "factors": factors,
        "threads": default.n_threads(),
        "ratings": int(matrix.nnz),
        **{key: round(value, 4) for key, value in timings.items()},
        "peak_rss_mb": round(peak, 1),
    }


def engine_bench(
    sizes: list[str], data_dir: Path, repeats: int = 3, master: str = "local[*]", keep: int = 100
) -> list[dict[str, object]]:
    """Whole-fit seconds (default ALSConfig, preference factors included) of the NumPy engine
    and the Spark engine, alternating, median of `repeats`; Spark keeps `keep` users' rows
    (a club) and its session starts once, before the first timed fit (its seconds reported)."""
    from recommender.spark_engine import SparkEngine, spark_session

    config = ALSConfig()
    start = time.perf_counter()
    session = spark_session(master)
    startup = time.perf_counter() - start
    rows = []
    try:
        for size in sizes:
            matrix = bench_matrix(size, data_dir)
            user_ids = np.arange(matrix.shape[0])
            engine = SparkEngine(config, session, keep=lambda ids: ids < keep)
            timings: dict[str, list[float]] = {"numpy": [], "spark": []}
            for _ in range(repeats):
                for name in ("numpy", "spark"):
                    t0 = time.perf_counter()
                    if name == "numpy":
                        ALSTrainer(config).fit(matrix)
                    else:
                        engine.fit(matrix, user_ids)
                    timings[name].append(time.perf_counter() - t0)
                    log.info("%s %s: %.2fs", size, name, timings[name][-1])
            engine.close()
            numpy_s, spark_s = (float(np.median(timings[n])) for n in ("numpy", "spark"))
            rows.append(
                {
                    "dataset": size,
                    "ratings": int(matrix.nnz),
                    "numpy_seconds": round(numpy_s, 2),
                    "spark_seconds": round(spark_s, 2),
                    "spark_over_numpy": round(spark_s / numpy_s, 1),
                    "repeats": repeats,
                    "spark_startup_seconds": round(startup, 2),
                }
            )
    finally:
        session.stop()
    return rows


def latency_summary(samples_ms: list[float] | np.ndarray, digits: int = 4) -> dict[str, float]:
    """Median and 99th percentile of latency samples, rounded: the one latency report format."""
    arr = np.asarray(samples_ms, dtype=np.float64)
    if arr.size == 0:
        raise ValueError("no latency samples")
    return {
        "p50": round(float(np.median(arr)), digits),
        "p99": round(float(np.percentile(arr, 99)), digits),
    }


def synthetic_catalog(n: int, words: list[str], seed: int = 0) -> Catalog:
    """A catalog of `n` plausible titles built from real title words (ml-32m-sized search)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 6, n)
    pool = np.asarray(words)
    titles = [
        " ".join(pool[rng.integers(0, len(pool), k)]).title() + f" ({rng.integers(1920, 2024)})"
        for k in lengths
    ]
    return Catalog.build(list(range(1, n + 1)), titles, [[] for _ in range(n)])


def latency_bench(dataset: str, data_dir: Path) -> dict[str, object]:
    """Title search latency on an ml-32m-sized catalog and recommend latency on ml-100k."""
    from recommender.datasets import fit_full, load_dataset, title_index
    from recommender.titles import TitleIndex, normalize

    ml = load_dataset(dataset, data_dir, progress=False)
    words = sorted({w for t in ml.catalog.titles for w in normalize(t).split() if w.isalpha()})
    big = synthetic_catalog(ML32M_TITLES, words)
    index = TitleIndex(big, np.random.default_rng(1).pareto(1.0, len(big)))
    queries = ["the usual suspects", "shawshenk", "pulp fictoin", "alien", "star wars 1977"]
    queries += [t.rsplit(" (", 1)[0].lower()[:-1] for t in big.titles[:: len(big) // 95][:95]]
    search_ms = []
    for q in queries * 3:
        t0 = time.perf_counter()
        index.search(q, 25)
        search_ms.append((time.perf_counter() - t0) * 1000)
    small = title_index(ml)
    small_ms = []
    for q in queries:
        t0 = time.perf_counter()
        small.search(q, 25)
        small_ms.append((time.perf_counter() - t0) * 1000)
    model = fit_full(ml)
    rec_ms = []
    for user in model.users.ids[:500]:
        t0 = time.perf_counter()
        model.recommend(int(user), 10)
        rec_ms.append((time.perf_counter() - t0) * 1000)
    return {
        "search_ms": latency_summary(search_ms),
        "search_titles": len(big),
        "search_ms_ml100k": latency_summary(small_ms),
        "recommend_ms": latency_summary(rec_ms),
    }


def available_peers(requested: list[str]) -> list[str]:
    """The requested peers that are installed here; each missing one is logged as such."""
    found = []
    for name in requested:
        if name not in TIMERS:
            raise ValueError(f"unknown peer {name!r}; known: {', '.join(TIMERS)}")
        if installed(name):
            found.append(name)
        else:
            log.warning("%s", missing_message(name))
    return found


def run_bench(
    dataset: str,
    data_dir: Path,
    sizes: list[str],
    factors: list[int],
    iterations: int = 3,
    peers: list[str] | None = None,
    bayes: bool = False,
    latency: bool = True,
    threads: int = 0,
) -> dict[str, object]:
    """Run every ALS size × factors in a child process, then the latency benchmarks here.

    `peers` (implicit, lenskit) are timed in the same child on the same matrix when installed;
    the result's `missing_peers` lists those that were asked for but are not installed.
    """
    wanted = list(peers or [])
    found = available_peers(wanted)
    als = []
    for size in sizes:
        for k in factors:
            code = (
                "import json,sys; from pathlib import Path; from recommender.bench import _als_one;"
                f"print(json.dumps(_als_one({size!r}, {k}, {iterations}, "
                f"Path({str(data_dir)!r}), {tuple(found)!r}, {bayes!r}, {threads!r})))"
            )
            log.info("benchmarking ALS on %s with %d factors", size, k)
            out = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=False
            )
            if out.returncode != 0:
                log.error("bench %s/%d failed: %s", size, k, out.stderr.strip()[-2000:])
                als.append({"dataset": size, "factors": k, "error": out.stderr.strip()[-300:]})
                continue
            row = json.loads(out.stdout.strip().splitlines()[-1])
            log.info("%s", row)
            als.append(row)
    result: dict[str, object] = {
        "als": als,
        "peers": found,
        "missing_peers": [name for name in wanted if name not in found],
        "blas": blas_info(),
    }
    if latency:
        result.update(latency_bench(dataset, data_dir))
    return result


def blas_info() -> list[dict[str, object]]:
    """The BLAS libraries NumPy loaded here: library, version, kernel (architecture)."""
    from threadpoolctl import threadpool_info

    keys = ("internal_api", "version", "architecture", "threading_layer", "num_threads")
    return [{k: lib.get(k) for k in keys} for lib in threadpool_info() if lib["user_api"] == "blas"]
