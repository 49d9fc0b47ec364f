"""`python -m bot bench`: event-loop stalls during refits, store throughput, query latencies."""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from bot.engine import Engine, fit_in_process
from bot.refit import ProcessFitRunner
from bot.settings import Settings
from bot.store import Store, bench_writes
from recommender.bench import SYNTHETIC, synthetic_matrix

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


async def _engine(settings: Settings, runner: object) -> tuple[Engine, Store]:
    store = await Store.open(settings.database_path)
    engine = Engine(settings, store, runner)  # type: ignore[arg-type]
    await engine.start(periodic=False)
    return engine, store


async def _stall(settings: Settings, runner: object) -> float:
    """Worst tick delay (ms) while the engine refits with `runner`, ratings arriving meanwhile."""
    engine, store = await _engine(settings, runner)
    try:
        users = [10**17 + k for k in range(20)]
        movie_ids = engine.catalog.movie_ids[:200].tolist()
        for k, user in enumerate(users):
            for m in movie_ids[k : k + 10]:
                await engine.rate(user, int(m), 4.0)
        with Ticker() as ticker:
            task = engine.refit()
            while not task.done():
                await engine.rate(users[0], int(movie_ids[50]), 3.5)
                await asyncio.sleep(0.02)
            if not await task:
                raise RuntimeError("refit failed during the benchmark; see the log")
        return ticker.worst * 1000
    finally:
        await engine.close()
        await store.close()


def _pcts(samples: list[float]) -> dict[str, float]:
    arr = np.asarray(samples)
    return {"p50": round(float(np.median(arr)), 3), "p99": round(float(np.percentile(arr, 99)), 3)}


async def _latencies(settings: Settings) -> dict[str, dict[str, float]]:
    """Recommend and fold-in latency for Discord users of a served ml-100k model."""
    engine, store = await _engine(settings, fit_in_process)
    try:
        rng = np.random.default_rng(0)
        ids = engine.catalog.movie_ids
        rec, fold = [], []
        for k in range(200):
            user = 10**17 + k
            for m in rng.choice(ids, 20, replace=False):
                await engine.rate(user, int(m), float(rng.integers(1, 11)) / 2)
            t0 = time.perf_counter()
            await engine.recommend(user, 10)
            rec.append((time.perf_counter() - t0) * 1000)
            rated = rng.choice(ids, 20, replace=False)
            stars = rng.integers(1, 11, 20) / 2
            t0 = time.perf_counter()
            engine.model.fold_in(-user, rated, stars)  # type: ignore[union-attr]
            fold.append((time.perf_counter() - t0) * 1000)
        return {"recommend_ms": _pcts(rec), "fold_in_ms": _pcts(fold)}
    finally:
        await engine.close()
        await store.close()


async def run_bench(settings: Settings, sizes: tuple[str, ...] = ("ml-100k", "1M")):
    """Everything `python -m bot bench` reports, as one dict."""
    result: dict[str, object] = {}
    stalls: dict[str, float] = {}
    thread_stalls: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="moviebot-bench-") as tmp:
        root = Path(tmp)
        for size in sizes:
            if size == "ml-100k":
                base = replace(settings, data_dir=root / "d100k", database_path=root / "a.db")
            else:
                synthetic = root / "synthetic"
                write_synthetic_dataset(synthetic / "ml-latest", size)
                base = replace(
                    settings,
                    dataset="ml-latest",
                    movielens_dir=synthetic,
                    data_dir=root / f"d{size}",
                    database_path=root / f"{size}.db",
                )
            log.info("measuring loop stalls while refitting %s", size)
            stalls[size] = round(await _stall(base, ProcessFitRunner()), 2)
            thread_base = replace(base, database_path=root / f"{size}-thread.db")
            thread_stalls[size] = round(await _stall(thread_base, fit_in_process), 2)
        result["loop_stall_ms"] = stalls
        result["loop_stall_ms_thread_worker"] = thread_stalls
        log.info("measuring store throughput")
        result["store_writes_per_s"] = round(await bench_writes(root / "writes.db", 50, 5000), 1)
        log.info("measuring recommend and fold-in latency")
        lat_settings = replace(settings, data_dir=root / "d100k", database_path=root / "lat.db")
        result.update(await _latencies(lat_settings))
    return result
