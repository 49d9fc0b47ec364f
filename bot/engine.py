"""The engine: owns Discord ratings, keeps a fitted model serving, refits in the background.

No Discord imports: slash commands and chat call these coroutines. Discord users live in the
model under negated snowflakes, so they can never collide with MovieLens user ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.engine_queries import LIKED_STARS, EngineQueries, GroupPick, Pick, Status, model_key
from bot.refit import FitJob, FitResult, ProcessFitRunner, run_fit, snapshot_matches
from bot.refit import promote_snapshot as _promote
from bot.refit import write_discord_ratings as _write_discord
from bot.settings import Settings
from bot.store import Store, validate_stars
from recommender.data import Catalog, Movie
from recommender.datasets import load_dataset, rating_counts
from recommender.elicitation import Elicitor
from recommender.model import ALSModel
from recommender.movielens import MovieLens
from recommender.snapshot import SnapshotError, load_model
from recommender.titles import TitleIndex

log = logging.getLogger(__name__)

__all__ = [
    "LIKED_STARS",
    "MAX_BACKOFF",
    "DatasetMismatch",
    "Engine",
    "FitRunner",
    "GroupPick",
    "Pick",
    "RateResult",
    "Status",
    "fit_in_process",
    "model_key",
    "validate_stars",
]


class DatasetMismatch(RuntimeError):
    """The database was made with another MovieLens dataset than the one configured."""


FitRunner = Callable[[FitJob], Awaitable[FitResult]]
MAX_BACKOFF = 3600.0
FORGET_REFIT_DELAY = 10.0  # seconds: a forgotten user leaves the snapshot files this soon


@dataclass(frozen=True)
class RateResult:
    """The outcome of a committed rating."""

    movie: Movie
    stars: float
    previous: float | None
    rated_count: int


class Engine(EngineQueries):
    """Ratings + model lifecycle. Create, `await start()`, use, `await close()`."""

    def __init__(self, settings: Settings, store: Store, fit_runner: FitRunner | None = None):
        self.settings = settings
        self.store = store
        self._runner: FitRunner = fit_runner or ProcessFitRunner()
        self.ml: MovieLens | None = None
        self.model: ALSModel | None = None
        self.titles: TitleIndex | None = None
        self._seq = 0
        self._fit_seq = 0
        self._dirty: dict[int, int] = {}  # discord id -> seq of its last change
        self._forgotten: dict[int, int] = {}
        self._refit_task: asyncio.Task[bool] | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._failures = 0
        self._next_refit_at: float | None = None
        self._elicitor: Elicitor | None = None
        self._locks: dict[int, asyncio.Lock] = {}
        self._purge_due = False  # a user was forgotten: refit soon, whatever the change count
        self._carried = 0  # changes from before this process started, not yet in a fit

    # ------------------------------------------------------------------ lifecycle
    @property
    def catalog(self) -> Catalog:
        """The movie catalog (after start)."""
        if self.ml is None:
            raise RuntimeError("engine not started")
        return self.ml.catalog

    @property
    def snapshot_path(self) -> Path:
        """Where the serving model's snapshot lives."""
        return self.settings.model_dir / f"{self.settings.dataset}.npz"

    async def start(self, periodic: bool = True) -> None:
        """Load data and a matching snapshot (or fit one), fold in Discord users, then serve."""
        s = self.settings
        bound = await self.store.bind_dataset(s.dataset)
        if bound != s.dataset:
            raise DatasetMismatch(
                f"{s.database_path} holds ratings of {bound} movies, but DATASET is {s.dataset}; "
                f"movie ids differ between datasets. Use DATASET={bound} or another DATABASE_PATH."
            )
        self.ml = await asyncio.to_thread(load_dataset, s.dataset, s.data_dir, s.movielens_dir)
        self.titles = await asyncio.to_thread(TitleIndex, self.ml.catalog, rating_counts(self.ml))
        base = self.ml.ratings.fingerprint()
        model = None
        if self.snapshot_path.is_file() and snapshot_matches(self.snapshot_path, base, s.als):
            try:
                model = await asyncio.to_thread(load_model, self.snapshot_path)
            except (SnapshotError, OSError) as exc:
                log.warning("snapshot %s unusable, refitting: %s", self.snapshot_path, exc)
        elif self.snapshot_path.exists():
            log.warning("snapshot %s does not match data/settings; refitting", self.snapshot_path)
        if model is None:
            if not await self._refit_now():
                raise RuntimeError("initial model fit failed; see the log")
        else:
            self.model = model
            await self._sync_discord_users(model)
            # changes made before a restart still count toward the next refit
            self._carried = await self.store.changes_since_fit()
        self._schedule_next()
        if periodic:
            self._loop_task = asyncio.create_task(self._refit_loop(), name="refit-loop")

    async def close(self) -> None:
        """Stop the refit loop and wait for a running refit to end."""
        for task in (self._loop_task, self._refit_task):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _sync_discord_users(self, model: ALSModel) -> None:
        """Make a freshly loaded model agree with the store: fold in or remove Discord users."""
        users, _, _ = await self.store.all_ratings()
        current = {int(u) for u in np.unique(users)}
        for key in model.users.ids[model.users.ids < 0].tolist():
            if -key not in current:
                model.remove_user(key)
        for user in current:
            await self._fold(model, user)

    async def _fold(self, model: ALSModel, user: int) -> int:
        """Re-solve one Discord user from all their committed ratings; returns their count."""
        rows = await self.store.user_ratings(user)
        if not rows:
            model.remove_user(model_key(user))
            return 0
        ids = np.array([r.movie_id for r in rows], dtype=np.int64)
        stars = np.array([r.stars for r in rows], dtype=np.float32)
        model.fold_in(model_key(user), ids, stars)
        return len(rows)

    # -------------------------------------------------------------------- ratings
    def _user_lock(self, user: int) -> asyncio.Lock:
        """One lock per user: a commit and its fold-in never interleave with another change."""
        return self._locks.setdefault(int(user), asyncio.Lock())

    async def rate(self, user: int, movie_id: int, stars: float, source: str = "slash"):
        """Validate, commit, then fold in at once; returns a RateResult."""
        stars = validate_stars(stars)
        movie = self.movie(int(movie_id))
        async with self._user_lock(user):
            change = await self.store.rate(int(user), movie.movie_id, stars, source)
            count = await self._changed(user)
        return RateResult(movie, stars, change.previous, count)

    async def unrate(self, user: int, movie_id: int) -> bool:
        """Remove one rating; True if there was one."""
        async with self._user_lock(user):
            removed = await self.store.unrate(int(user), self.catalog.canonical(int(movie_id)))
            if removed:
                await self._changed(user)
        return removed

    async def forget_user(self, user: int) -> int:
        """Delete everything about a user from the store and the serving model at once, and
        refit soon so no snapshot on disk keeps them either."""
        async with self._user_lock(user):
            deleted = await self.store.forget_user(int(user))
            self._seq += 1
            self._forgotten[int(user)] = self._seq
            self._dirty.pop(int(user), None)
            if self.model is not None:
                self.model.remove_user(model_key(user))
        self._purge_due = True
        self._next_refit_at = min(self._next_refit_at or math.inf, time.time() + FORGET_REFIT_DELAY)
        return deleted

    async def _changed(self, user: int) -> int:
        """Count a change and fold the user in; returns their number of ratings."""
        self._seq += 1
        self._dirty[int(user)] = self._seq
        if self.model is not None:
            return await self._fold(self.model, int(user))
        return await self.store.count_user_ratings(int(user))

    # ---------------------------------------------------------------------- refit
    @property
    def pending_changes(self) -> int:
        """Rating changes since the data of the serving model was taken (across restarts)."""
        return self._carried + self._seq - self._fit_seq

    @property
    def refitting(self) -> bool:
        """Whether a refit is running now."""
        return self._refit_task is not None and not self._refit_task.done()

    def refit(self) -> asyncio.Task[bool]:
        """Start a refit, or return the one already running (only one at a time)."""
        if not self.refitting:
            self._refit_task = asyncio.create_task(self._refit_now(), name="refit")
        return self._refit_task  # type: ignore[return-value]

    async def _refit_now(self) -> bool:
        """Fit in the worker, swap the model, fold in what changed meanwhile; never raises."""
        t0 = time.perf_counter()
        fit_id: int | None = None
        error: str | None = None
        handoff = self.settings.model_dir / "discord-ratings.npz"
        try:
            start_seq = self._seq
            purge = self._purge_due
            club = int((await self.store.stats())["ratings"])
            fit_id = await self.store.fit_started(club + (len(self.ml.ratings) if self.ml else 0))
            users, items, stars = await self.store.all_ratings()
            keys = -np.asarray(users, dtype=np.int64)
            await asyncio.to_thread(
                _write_discord, handoff, keys, np.asarray(items), np.asarray(stars)
            )
            result = await self._runner(self._job(handoff))
            model = await asyncio.to_thread(load_model, result.snapshot)
            await self._swap(model, start_seq)
            await asyncio.to_thread(_promote, result.snapshot, self.snapshot_path)
            if purge and not any(q > start_seq for q in self._forgotten.values()):
                self._purge_due = False
            await self.store.fit_finished(fit_id, result.rmse, result.seconds, "ok", None)
            self._failures = 0
            log.info("refit done in %.1fs, rmse %.4f", result.seconds, result.rmse or math.nan)
        except asyncio.CancelledError:
            if fit_id is not None:
                elapsed = time.perf_counter() - t0
                await self.store.fit_finished(fit_id, None, elapsed, "failed", "cancelled")
            raise
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.exception("refit failed; the previous model keeps serving")
            self._failures += 1
            if fit_id is not None:
                with contextlib.suppress(Exception):
                    elapsed = time.perf_counter() - t0
                    await self.store.fit_finished(fit_id, None, elapsed, "failed", error)
        finally:
            handoff.unlink(missing_ok=True)  # it holds every Discord rating: never keep it
        self._schedule_next()
        return error is None

    def _job(self, handoff: Path) -> FitJob:
        """The worker's job: it writes a candidate snapshot, promoted only after the swap."""
        s = self.settings
        return FitJob(
            s.dataset,
            s.data_dir,
            s.movielens_dir,
            handoff,
            s.als,
            self.snapshot_path.with_name(f"{s.dataset}.next.npz"),
            self.snapshot_path if self.model is not None else None,
            s.refit_memory_limit_mb,
        )

    async def _swap(self, model: ALSModel, start_seq: int) -> None:
        """Serve the new model after replaying every change made since its data was read.

        Users are re-folded until none changed after their last fold; removals of users
        forgotten meanwhile happen right before the swap, with no await in between.
        """
        folded: dict[int, int] = {}
        while True:
            todo = [u for u, q in self._dirty.items() if q > start_seq and folded.get(u, -1) < q]
            if not todo:
                break
            for user in todo:
                async with self._user_lock(user):
                    seq = self._dirty.get(user, 0)
                    await self._fold(model, user)
                    folded[user] = seq
        for user, seq in self._forgotten.items():
            if seq > start_seq and self._dirty.get(user, -1) < seq:
                model.remove_user(model_key(user))
        self.model = model
        self._fit_seq = start_seq
        self._carried = 0
        self._dirty = {u: q for u, q in self._dirty.items() if q > start_seq}
        self._forgotten = {u: q for u, q in self._forgotten.items() if q > start_seq}

    def _schedule_next(self) -> None:
        delay = self.settings.refit_interval
        if self._failures:
            delay = min(MAX_BACKOFF, 30.0 * 2 ** (self._failures - 1))
        self._next_refit_at = time.time() + delay

    async def _refit_loop(self) -> None:
        """Refit when due and enough ratings changed (or to retry a failure, with backoff)."""
        while True:
            wait = 1.0 if self._next_refit_at is None else self._next_refit_at - time.time()
            await asyncio.sleep(max(0.05, min(wait, 60.0)))
            if self._next_refit_at is None or time.time() < self._next_refit_at:
                continue
            try:
                enough = self.pending_changes >= self.settings.refit_min_changes
                due = self._failures > 0 or self._purge_due or enough
                if due and not self.refitting:
                    await self.refit()
                else:
                    self._schedule_next()
            except Exception:  # the loop must outlive any single failure
                log.exception("refit check failed; trying again later")
                self._schedule_next()


def fit_in_process(job: FitJob) -> Awaitable[FitResult]:
    """Runner that fits in a worker thread instead of a process (benchmark comparison)."""
    return asyncio.to_thread(run_fit, job)
