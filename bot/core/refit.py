"""Model refits in a worker process: the event loop never waits on ALS, and an out-of-memory
fit takes down only the worker. Big arrays travel through files, not pickles."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import resource
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

from recommender.atomic import atomic_write
from recommender.config import ALSConfig
from recommender.data import Ratings
from recommender.datasets import load_dataset
from recommender.evaluate import error_metrics
from recommender.model import ALSModel
from recommender.movielens import MovieLens
from recommender.priors import ItemSide
from recommender.snapshot import load_model, metadata_path, read_metadata, save_model
from recommender.spark_engine import DEFAULT_MASTER
from recommender.vocab import Vocabulary

log = logging.getLogger(__name__)

HOLDOUT_FRACTION = 0.02


@dataclass(frozen=True)
class FitJob:
    """Everything a worker needs to produce a snapshot; all of it cheap to pickle."""

    dataset: str
    data_dir: Path
    movielens_dir: Path | None
    member_ratings: Path
    config: ALSConfig
    snapshot: Path
    warm_start: Path | None = None
    memory_limit_mb: int = 0
    club_movies: tuple[int, ...] = ()  # movie ids the club added: items next to the catalog's
    club_side: tuple[tuple[int, int], ...] = ()  # (genre bitmask, year) per club movie
    engine: str = "numpy"  # ALS_ENGINE: "numpy" fits here, "spark" on SPARK_MASTER
    spark_master: str = DEFAULT_MASTER


@dataclass(frozen=True)
class FitResult:
    """What a finished fit reports back: where the snapshot is and how it scored."""

    snapshot: Path
    ratings_used: int
    rmse: float | None
    seconds: float


def write_member_ratings(
    path: Path, keys: np.ndarray, items: np.ndarray, stars: np.ndarray
) -> None:
    """Hand the members' ratings (under their model keys) to the worker as an .npz file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(
        path,
        lambda tmp: np.savez(
            tmp, users=keys.astype(np.int64), items=items.astype(np.int32), stars=stars
        ),
    )


def promote_snapshot(candidate: Path, serving: Path) -> None:
    """Make a fitted candidate snapshot (and its JSON sidecar) the serving one, atomically."""
    os.replace(metadata_path(candidate), metadata_path(serving))
    os.replace(candidate, serving)


def blend(base: Ratings, member_keys: np.ndarray, items: np.ndarray, stars: np.ndarray) -> Ratings:
    """MovieLens rows plus members' rows (under their model keys), weight 1 each."""
    extra = Ratings.build(member_keys.astype(np.int64), items, stars)
    return base.concat(extra)


def run_fit(job: FitJob) -> FitResult:
    """Worker entry point: load data, hold out 2% of MovieLens, fit, score, snapshot."""
    start = time.perf_counter()
    if job.memory_limit_mb > 0:
        limit = job.memory_limit_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    ml = load_dataset(job.dataset, job.data_dir, job.movielens_dir, progress=False)
    with np.load(job.member_ratings) as z:
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
    items = Vocabulary(np.concatenate([ml.catalog.movie_ids, np.asarray(job.club_movies, int)]))
    if job.engine == "spark":
        side = _item_side(ml, job)
        model, rmse = _fit_on_spark(job, train, items, side, d_users, ml.ratings.subset(held))
    else:
        model = ALSModel.fit(train, job.config, items=items, init=init, side=_item_side(ml, job))
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


def _item_side(ml: MovieLens, job: FitJob) -> ItemSide:
    """Genres and years of the catalog's movies, then of the club's (the job carries those)."""
    side = ItemSide.from_catalog(ml.catalog, ml.catalog.movie_ids)
    club = np.asarray(job.club_side, np.int64).reshape(-1, 2)
    if len(club) != len(job.club_movies):
        club = np.zeros((len(job.club_movies), 2), np.int64)
    return ItemSide(
        np.concatenate([side.genres, club[:, 0]]), np.concatenate([side.years, club[:, 1]])
    )


def _fit_on_spark(
    job: FitJob,
    train: Ratings,
    items: Vocabulary,
    side: ItemSide,
    members: np.ndarray,
    held: Ratings,
) -> tuple[ALSModel, float]:
    """Fit on Spark; only the members' user rows leave it, so the held-out MovieLens
    ratings are scored in Spark."""
    from recommender.spark_engine import SparkEngine

    keys = np.unique(members)
    with SparkEngine(job.config, keep=lambda ids: np.isin(ids, keys), master=job.spark_master) as e:
        model = ALSModel.fit(train, job.config, items=items, side=side, engine=e)
        rmse, _ = e.error_metrics(held, model)
    return model, rmse


def snapshot_matches(path: Path, base_fingerprint: str, config: ALSConfig) -> bool:
    """Whether a snapshot was fitted on this MovieLens data with these hyperparameters.

    OSError or ValueError when its metadata cannot be read.
    """
    meta = read_metadata(path)
    return meta.get("base_fingerprint") == base_fingerprint and meta.get("config") == (
        config.to_dict()
    )


class WorkerError(RuntimeError):
    """The refit worker failed or died; the message says how."""


WORKER_NICENESS = 10  # how much lower the refit worker's CPU priority is than the bot's
HANDOFF_NAME = "discord-ratings.npz"  # every member's ratings, for the worker: never kept


def remove_leftovers(model_dir: Path) -> None:
    """Delete what a killed bot or worker left: the ratings hand-off, candidates, temp files."""
    if not model_dir.is_dir():
        return
    for path in model_dir.iterdir():
        name = path.name
        stale = name == HANDOFF_NAME or ".next." in name or (name.startswith(".") and "tmp" in name)
        if stale and path.is_file():
            path.unlink(missing_ok=True)
            log.info("removed leftover %s", path)


def _die_with_parent(parent: int) -> None:
    """Exit this worker as soon as the bot that started it is gone (killed or crashed)."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(3)


def _failure_text(job: FitJob, exc: BaseException) -> str:
    """What a failed fit reports; under a memory cap, out-of-memory signs name the setting."""
    text = f"{type(exc).__name__}: {exc}"
    short_of_memory = isinstance(exc, MemoryError) or "can't start new thread" in str(exc)
    if job.memory_limit_mb and short_of_memory:
        return (
            f"the refit worker ran out of memory ({text}): the fit needs more than "
            f"REFIT_MEMORY_LIMIT_MB={job.memory_limit_mb}; raise it, or set 0 for no limit"
        )
    return text


def _worker_main(job: FitJob, conn: Connection, parent: int) -> None:
    """Child process entry: run the fit and send back (ok, result or error text)."""
    threading.Thread(target=_die_with_parent, args=(parent,), daemon=True).start()
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)  # on a busy machine the bot's answers come before the refit
    try:
        conn.send((True, run_fit(job)))
    except BaseException as exc:  # report everything, MemoryError included
        conn.send((False, _failure_text(job, exc)))
    finally:
        conn.close()


class ProcessFitRunner:
    """Runs each fit in a fresh spawned process, so memory is returned after every refit.

    Starting the child (fork/exec of a large parent) and waiting for it happen on helper
    threads, so the event loop never blocks; cancelling the refit kills the child at once.
    """

    def __init__(self) -> None:
        self._context = multiprocessing.get_context("spawn")
        self.process: multiprocessing.process.BaseProcess | None = None  # the latest child

    async def __call__(self, job: FitJob) -> FitResult:
        """Fit in a child process; WorkerError if the child fails or dies."""
        receive, send = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=_worker_main, args=(job, send, os.getpid()), daemon=True
        )
        self.process = process
        try:
            await asyncio.to_thread(process.start)
            send.close()  # the child holds the only writer: its death ends our recv
            try:
                ok, payload = await asyncio.to_thread(_receive, receive, process)
            except WorkerError as exc:
                if not job.memory_limit_mb:
                    raise
                raise WorkerError(
                    f"{exc}; REFIT_MEMORY_LIMIT_MB={job.memory_limit_mb} may be too small for "
                    "the worker to start or fit: raise it, or set 0 for no limit"
                ) from None
        except BaseException:
            if process.is_alive():
                process.kill()
            raise
        finally:
            receive.close()
            if process.pid is not None:  # never started: nothing to wait for
                await asyncio.to_thread(process.join, 10)
        if not ok:
            raise WorkerError(str(payload))
        return payload


def _receive(conn: Connection, process: multiprocessing.process.BaseProcess) -> tuple:
    """Block (on a helper thread) for the child's answer; a dead child is a WorkerError."""
    try:
        return conn.recv()
    except (EOFError, OSError):
        process.join(5)
        raise WorkerError(f"refit worker died (exit code {process.exitcode})") from None
