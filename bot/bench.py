"""`python -m bot bench`: event-loop stalls during refits, store throughput, query latencies."""

from __future__ import annotations

import asyncio
import logging
import os
import resource
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from bot.core.keys import MemberKeys
from bot.core.model_server import FitRunner, fit_in_thread
from bot.core.refit import ProcessFitRunner
from bot.core.services import Services
from bot.settings import Settings
from bot.store import Store
from recommender.bench import SYNTHETIC, latency_summary, synthetic_matrix

log = logging.getLogger(__name__)


class Ticker:
    """A 10 ms ticker on the event loop that records how late each tick fires."""

    def __init__(self, period: float = 0.01) -> None:
        self.period = period
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(self.period)
            self.worst = max(self.worst, loop.time() - start - self.period)

    def __enter__(self) -> Ticker:
        self.worst = 0.0
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()


def write_synthetic_dataset(folder: Path, size: str) -> None:
    """A synthetic power-law dataset in ml-latest's CSV layout, so refits take the real path."""
    matrix = synthetic_matrix(*SYNTHETIC[size]).tocoo()
    folder.mkdir(parents=True, exist_ok=True)
    n_items = matrix.shape[1]
    with (folder / "movies.csv").open("w") as f:
        f.write("movieId,title,genres\n")
        f.writelines(
            f"{i},Synthetic Movie {i} ({1950 + i % 70}),Drama\n" for i in range(1, n_items + 1)
        )
    with (folder / "links.csv").open("w") as f:
        f.write("movieId,imdbId,tmdbId\n")
    table = np.column_stack(
        [matrix.row + 1, matrix.col + 1, matrix.data, np.full(matrix.nnz, 1_000_000_000)]
    )
    with (folder / "ratings.csv").open("w") as f:
        f.write("userId,movieId,rating,timestamp\n")
        np.savetxt(f, table, fmt=["%d", "%d", "%.1f", "%d"], delimiter=",")


@asynccontextmanager
async def _services(settings: Settings, runner: FitRunner) -> AsyncIterator[Services]:
    """Started services on their own store (no periodic refits); closed on exit."""
    async with Store(settings.database_path) as store:
        services = Services.build(settings, store, runner)
        await services.start(periodic=False)
        try:
            yield services
        finally:
            await services.close()


async def _stall(settings: Settings, runner: FitRunner) -> float:
    """Worst tick delay (ms) while refitting with `runner`, ratings arriving meanwhile."""
    async with _services(settings, runner) as services:
        rate = services.ratings.rate
        users = [10**17 + k for k in range(20)]
        movie_ids = services.models.catalog.movie_ids[:200].tolist()
        for k, user in enumerate(users):
            for m in movie_ids[k : k + 10]:
                await rate(user, int(m), 4.0)
        with Ticker() as ticker:
            task = services.models.refit()
            while not task.done():
                await rate(users[0], int(movie_ids[50]), 3.5)
                await asyncio.sleep(0.02)
            if not await task:
                raise RuntimeError("refit failed during the benchmark; see the log")
        return ticker.worst * 1000


async def _latencies(settings: Settings) -> dict[str, dict[str, float]]:
    """Recommend and fold-in latency for members of a served ml-100k model."""
    async with _services(settings, fit_in_thread) as services:
        rng = np.random.default_rng(0)
        ids = services.models.catalog.movie_ids
        rec, fold = [], []
        for k in range(200):
            user = 10**17 + k
            for m in rng.choice(ids, 20, replace=False):
                await services.ratings.rate(user, int(m), float(rng.integers(1, 11)) / 2)
            t0 = time.perf_counter()
            await services.queries.recommend(user, 10)
            rec.append((time.perf_counter() - t0) * 1000)
            rated = rng.choice(ids, 20, replace=False)
            stars = rng.integers(1, 11, 20) / 2
            t0 = time.perf_counter()
            services.models.model.with_user(MemberKeys.key(user), rated, stars)
            fold.append((time.perf_counter() - t0) * 1000)
        return {"recommend_ms": latency_summary(rec, 3), "fold_in_ms": latency_summary(fold, 3)}


_STARS = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0)
_BASE_USER = 1_100_000_000_000_000_000  # snowflake-sized ids, unlikely to clash with real ones


async def bench_writes(
    path: str | Path, writers: int = 50, total: int = 5000, **store_options: Any
) -> float:
    """Acknowledged ratings per second with `writers` concurrent users, each awaiting every rate.

    Each writer rates its own movies one after the other (like a user clicking through
    onboarding), so the only parallelism is across writers: exactly what group commit batches.
    """
    if writers < 1 or total < 1:
        raise ValueError("writers and total must be at least 1")
    per_writer = [total // writers + (1 if k < total % writers else 0) for k in range(writers)]

    async def one_writer(store: Store, k: int) -> None:
        for j in range(per_writer[k]):
            await store.ratings.rate(_BASE_USER + k, j + 1, _STARS[(j + k) % len(_STARS)], "import")

    async with Store(path, **store_options) as store:
        batches_before = store.db.batches_committed
        start = time.perf_counter()
        await asyncio.gather(*(one_writer(store, k) for k in range(writers)))
        seconds = time.perf_counter() - start
        batches = store.db.batches_committed - batches_before
    rate = total / seconds if seconds > 0 else float("inf")
    log.info(
        "bench_writes: %d ratings by %d writers in %.3fs = %.0f/s (%d commits, %.1f per commit)",
        total,
        writers,
        seconds,
        rate,
        batches,
        total / max(batches, 1),
    )
    return rate


def _rss_mb() -> float:
    """This process's resident memory now, in MB (Linux)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


async def scale_footprint(settings: Settings, size: str = "32M") -> dict[str, object]:
    """What one bot process needs at `size` synthetic ratings: load and first fit, a refit,
    and the memory of the serving process and of the fit worker.

    The dataset has the nominal shape (32M: ml-32m's 200,000 users x 87,585 movies), written
    in ml-latest's CSV layout so the bot takes its real loading and fitting path.
    """
    with tempfile.TemporaryDirectory(prefix="moviebot-scale-") as tmp:
        root = Path(tmp)
        write_synthetic_dataset(root / "synthetic" / "ml-latest", size)
        base = replace(
            settings,
            dataset="ml-latest",
            movielens_dir=root / "synthetic",
            data_dir=root / "data",
            database_path=root / "scale.db",
            database_url=None,
        )
        async with Store(base.database_path) as store:
            services = Services.build(base, store, ProcessFitRunner())
            t0 = time.perf_counter()
            await services.start(periodic=False)
            started = time.perf_counter() - t0
            try:
                serving = _rss_mb()
                t0 = time.perf_counter()
                if not await services.models.refit():
                    raise RuntimeError("refit failed during the benchmark; see the log")
                refit = time.perf_counter() - t0
            finally:
                await services.close()
    worker_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "size": size,
        "ratings": SYNTHETIC[size][0],
        "load_and_first_fit_s": round(started, 1),
        "refit_s": round(refit, 1),
        "serving_rss_mb": round(serving),
        "fit_worker_peak_rss_mb": round(worker_peak),
    }


async def run_bench(settings: Settings, sizes: tuple[str, ...] = ("ml-100k", "1M")):
    """Everything `python -m bot bench` reports, as one dict."""
    result: dict[str, object] = {}
    stalls: dict[str, float] = {}
    thread_stalls: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="moviebot-bench-") as tmp:
        root = Path(tmp)
        for size in sizes:
            if size == "ml-100k":
                base = replace(
                    settings,
                    dataset="ml-100k",
                    data_dir=root / "d100k",
                    database_path=root / "a.db",
                    database_url=None,
                )
            else:
                synthetic = root / "synthetic"
                write_synthetic_dataset(synthetic / "ml-latest", size)
                base = replace(
                    settings,
                    dataset="ml-latest",
                    movielens_dir=synthetic,
                    data_dir=root / f"d{size}",
                    database_path=root / f"{size}.db",
                    database_url=None,
                )
            log.info("measuring loop stalls while refitting %s", size)
            stalls[size] = round(await _stall(base, ProcessFitRunner()), 2)
            thread_base = replace(base, database_path=root / f"{size}-thread.db")
            thread_stalls[size] = round(await _stall(thread_base, fit_in_thread), 2)
        result["loop_stall_ms"] = stalls
        result["loop_stall_ms_thread_worker"] = thread_stalls
        log.info("measuring store throughput")
        result["store_writes_per_s"] = round(await bench_writes(root / "writes.db", 50, 5000), 1)
        log.info("measuring recommend and fold-in latency")
        lat_settings = replace(
            settings,
            dataset="ml-100k",
            data_dir=root / "d100k",
            database_path=root / "lat.db",
            database_url=None,
        )
        result.update(await _latencies(lat_settings))
    return result
