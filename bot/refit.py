"""Model refits in a worker process: the event loop never waits on ALS, and an out-of-memory
fit takes down only the worker. Big arrays travel through files, not pickles."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recommender.als import ALSConfig
from recommender.data import Ratings
from recommender.datasets import load_dataset
from recommender.evaluate import error_metrics
from recommender.model import ALSModel
from recommender.snapshot import load_model, metadata_path, read_metadata, save_model
from recommender.vocab import Vocabulary

log = logging.getLogger(__name__)

HOLDOUT_FRACTION = 0.02


@dataclass(frozen=True)
class FitJob:
    """Everything a worker needs to produce a snapshot; all of it cheap to pickle."""

    dataset: str
    data_dir: Path
    movielens_dir: Path | None
    discord_ratings: Path
    config: ALSConfig
    snapshot: Path
    warm_start: Path | None = None
    memory_limit_mb: int = 0


@dataclass(frozen=True)
class FitResult:
    """What a finished fit reports back: where the snapshot is and how it scored."""

    snapshot: Path
    ratings_used: int
    rmse: float | None
    seconds: float


def write_discord_ratings(path: Path, users: np.ndarray, items: np.ndarray, stars: np.ndarray):
    """Hand the Discord ratings to the worker as an .npz file (atomic)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
    np.savez(tmp, users=users.astype(np.int64), items=items.astype(np.int32), stars=stars)
    os.replace(tmp, path)


def promote_snapshot(candidate: Path, serving: Path) -> None:
    """Make a fitted candidate snapshot (and its JSON sidecar) the serving one, atomically."""
    os.replace(metadata_path(candidate), metadata_path(serving))
    os.replace(candidate, serving)


def blend(base: Ratings, discord_users: np.ndarray, items: np.ndarray, stars: np.ndarray):
    """MovieLens rows plus Discord rows (model keys are negated snowflakes), weight 1 each."""
    extra = Ratings.build(discord_users.astype(np.int64), items, stars)
    return base.concat(extra)


def run_fit(job: FitJob) -> FitResult:
    """Worker entry point: load data, hold out 2% of MovieLens, fit, score, snapshot."""
    start = time.perf_counter()
    if job.memory_limit_mb > 0:
        limit = job.memory_limit_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    ml = load_dataset(job.dataset, job.data_dir, job.movielens_dir, progress=False)
    with np.load(job.discord_ratings) as z:
        d_users, d_items, d_stars = z["users"], z["items"], z["stars"]
    rng = np.random.default_rng(job.config.seed)
    held = rng.random(len(ml.ratings)) < HOLDOUT_FRACTION
    train = blend(ml.ratings.subset(~held), d_users, d_items, d_stars)
    init = None
    if job.warm_start is not None and job.warm_start.is_file():
        try:
            init = load_model(job.warm_start, expect_config=job.config)
        except (ValueError, OSError) as exc:
            log.warning("not warm-starting from %s: %s", job.warm_start, exc)
    items = Vocabulary(ml.catalog.movie_ids)
    model = ALSModel.fit(train, job.config, items=items, init=init)
    rmse, _ = error_metrics(model, ml.ratings.subset(held))
    seconds = time.perf_counter() - start
    save_model(
        model,
        job.snapshot,
        extra={
            "base_fingerprint": ml.ratings.fingerprint(),
            "dataset": job.dataset,
            "rmse": rmse,
            "discord_ratings": len(d_users),
            "total_seconds": round(seconds, 3),
        },
    )
    return FitResult(job.snapshot, len(train), rmse, seconds)


def snapshot_matches(path: Path, base_fingerprint: str, config: ALSConfig) -> bool:
    """Whether a snapshot was fitted on this MovieLens data with these hyperparameters."""
    try:
        meta = read_metadata(path)
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable snapshot %s: %s", path, exc)
        return False
    return meta.get("base_fingerprint") == base_fingerprint and meta.get("config") == (
        config.to_dict()
    )


class ProcessFitRunner:
    """Runs each fit in a fresh spawned process, so memory is returned after every refit."""

    def __init__(self) -> None:
        self._context = multiprocessing.get_context("spawn")

    async def __call__(self, job: FitJob) -> FitResult:
        """Fit in a child process; raises if the child fails or dies.

        Starting the child (fork/exec of a large parent) happens on a helper thread so the
        event loop never waits for it.
        """
        return await asyncio.to_thread(self._fit_blocking, job)

    def _fit_blocking(self, job: FitJob) -> FitResult:
        with ProcessPoolExecutor(max_workers=1, mp_context=self._context) as pool:
            return pool.submit(run_fit, job).result()
