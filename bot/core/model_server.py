"""The model server: the serving model, instant fold-in of members, refits in a worker, swap.

Members live in the model under keys from `MemberKeys`. The serving model is never changed
in place: a fold-in or a removal makes a new model object sharing the fitted arrays, and
the reference is replaced with no await in between, so a reader always sees one whole model.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import numpy as np

from bot.core.keys import MemberKeys
from bot.core.published import drop_published, publish_file, same_snapshot
from bot.core.refit import (
    HANDOFF_NAME,
    FitJob,
    FitResult,
    ProcessFitRunner,
    WorkerError,
    promote_snapshot,
    remove_leftovers,
    run_fit,
    snapshot_matches,
    write_member_ratings,
)
from bot.settings import Settings
from bot.store.backend import StoreBackend
from bot.store.cluster import ClusterLink
from bot.store.schema import CLUB_MOVIE_IDS, RatingArrays
from recommender.data import Catalog
from recommender.datasets import id_space, load_dataset, rating_counts
from recommender.model import ALSModel
from recommender.movielens import MovieLens
from recommender.snapshot import SnapshotError, load_model
from recommender.titles import TitleIndex

log = logging.getLogger(__name__)

FitRunner = Callable[[FitJob], Awaitable[FitResult]]
MAX_BACKOFF = 3600.0
CLUSTER_TICK = 2.0  # seconds between looks at the fitting role and published snapshots


class DatasetMismatch(RuntimeError):
    """The database was made with another MovieLens dataset than the one configured."""


class InitialFitFailed(RuntimeError):
    """No snapshot could be used and the first fit failed: there is no model to serve."""


class ModelServer:
    """Serves one fitted model plus folded-in members. `await start()`, use, `await close()`."""

    def __init__(self, settings: Settings, store: StoreBackend, runner: FitRunner | None = None):
        self.settings = settings
        self.store = store
        self.runner: FitRunner = runner or ProcessFitRunner()
        self.ml: MovieLens | None = None
        self.titles: TitleIndex | None = None
        self._catalog: Catalog | None = None
        self._dataset_counts: np.ndarray | None = None  # ratings per dataset movie (title ties)
        self._club: frozenset[int] = frozenset()
        self._model: ALSModel | None = None
        self.generation = 0  # fitted models served so far (fold-ins do not count)
        self._seq = 0
        self._fit_seq = 0
        self._dirty: dict[int, int] = {}  # member id -> seq of its last change
        self._club_dirty: dict[int, int] = {}  # club movie id -> seq of its last rating change
        self._forgotten: dict[int, int] = {}
        self._refit_task: asyncio.Task[bool] | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self.failures = 0  # refits failed in a row (drives the retry backoff)
        self.checks = 0  # times the refit loop decided whether a refit was due
        self.last_error: str | None = None  # why the latest refit failed
        self._next_refit_at: float | None = None
        self._locks: dict[int, asyncio.Lock] = {}
        self._purge_due = False  # a member was forgotten: refit soon, whatever the change count
        self._carried = 0  # changes from before this process started, not yet in a fit
        # Several processes on one PostgreSQL database (DATABASE_URL): one fits and publishes
        # snapshots, the others load them; members' vectors follow their change numbers.
        self._cluster = ClusterLink(settings.database_url) if settings.database_url else None
        self._version = 0  # the published snapshot version serving (0: none)
        self._member_seq: dict[int, int] = {}  # member -> change number their vector reflects
        self._requests: set[asyncio.Task[None]] = set()
        self._loaded = asyncio.Event()  # set whenever a published snapshot starts serving
        self._club_reload = asyncio.Lock()  # reloads of the club's movies, one after the other

    # ------------------------------------------------------------------ lifecycle
    @property
    def model(self) -> ALSModel:
        """The serving model; RuntimeError before the first model is ready."""
        if self._model is None:
            raise RuntimeError("the model is not ready yet")
        return self._model

    @property
    def catalog(self) -> Catalog:
        """The dataset's movies plus the club's own (after start)."""
        if self._catalog is None:
            raise RuntimeError("model server not started")
        return self._catalog

    @property
    def club_movies(self) -> frozenset[int]:
        """Ids of the movies the club added."""
        return self._club

    async def load_club_movies(self) -> None:
        """(Re)build the catalog and title index with the club's movies from the store."""
        if self.ml is None:
            raise RuntimeError("model server not started")
        club = await self.store.club_movies.all()
        catalog = self.ml.catalog.with_movies(
            [c.movie_id for c in club], [c.title for c in club], [list(c.genres) for c in club]
        )
        if self._dataset_counts is None:  # once: a bincount over every MovieLens rating
            self._dataset_counts = rating_counts(self.ml)
        counts = np.concatenate([self._dataset_counts, np.zeros(len(club), np.int64)])
        self.titles = await asyncio.to_thread(TitleIndex, catalog, counts)
        self._catalog, self._club = catalog, frozenset(c.movie_id for c in club)

    @property
    def snapshot_path(self) -> Path:
        """Where the serving model's snapshot lives."""
        return self.settings.model_dir / f"{self.settings.dataset}.npz"

    async def start(self, periodic: bool = True) -> None:
        """Load data and a matching snapshot (or fit one), fold in members, then serve."""
        s = self.settings
        bound = await self.store.bind_dataset(s.dataset)
        if id_space(bound) != id_space(s.dataset):
            hint = (
                f"`python -m bot migrate-ids` moves it to {s.dataset}'s ids"
                if bound == "ml-100k" and id_space(s.dataset) == "movielens"
                else f"use DATASET={bound} or another DATABASE_PATH"
            )
            raise DatasetMismatch(
                f"{s.database_path} holds ratings of {bound} movies, but DATASET is {s.dataset}, "
                f"which numbers movies differently: {hint}."
            )
        if self._cluster is not None:
            self._cluster.on_model = self._wake.set
            self._cluster.on_refit = self._refit_requested
            self._cluster.on_club = lambda: self._request(self._club_changed_elsewhere())
            await self._cluster.connect()
        self.ml = await asyncio.to_thread(load_dataset, s.dataset, s.data_dir, s.movielens_dir)
        await self.load_club_movies()
        await self._serve_first_model()
        self._schedule_next()
        if periodic:
            self._loop_task = asyncio.create_task(self._refit_loop(), name="refit-loop")

    async def _serve_first_model(self) -> None:
        """Alone or fitting for all: the snapshot on disk, else a first fit. Otherwise: the
        newest published snapshot, waiting for one (or for the fitting role to be free)."""
        while not await self._leading():
            if await self._follow():
                return
            self._wake.clear()
            await _wait(self._wake, CLUSTER_TICK)
        model = await self._load_snapshot()
        if model is None:
            if not await self._refit_now():
                raise InitialFitFailed(f"the first model fit failed: {self.last_error}")
            return
        self._model = await self._synced(model)
        self.generation += 1
        # changes made before a restart still count toward the next refit
        self._carried = await self.store.fits.changes_since_fit()
        await self._publish_serving()

    async def _leading(self) -> bool:
        """Whether this process fits (always, alone); taking the role, when free, clears what
        a killed fitter left in the model folder."""
        if self._cluster is None:
            await asyncio.to_thread(remove_leftovers, self.settings.model_dir)
            return True
        was = self._cluster.leading
        if not await self._cluster.try_lead():
            return False
        if not was:
            log.info("this process fits the model for every process on this database")
            await asyncio.to_thread(remove_leftovers, self.settings.model_dir)
        return True

    async def _synced(self, model: ALSModel) -> ALSModel:
        """`_sync_members`, remembering the members' change numbers read before their ratings
        (a change after that shows as a newer number: `refresh` folds it in)."""
        seqs = await self.store.shared.member_seqs() if self._cluster is not None else {}
        model = await self._sync_members(model)
        self._member_seq = seqs
        return model

    async def _follow(self) -> bool:
        """Serve the newest published snapshot if it is newer than the serving one; loaded
        in a thread and brought up to date with the store, so the event loop never stalls."""
        latest = await self.store.shared.latest(self.settings.dataset)
        if latest is None or latest.version <= self._version:
            return False
        path = self.settings.model_dir / latest.file
        if not path.exists():
            log.warning("published snapshot %s is not in MODEL_DIR (shared with the fitting "
                        "process?); waiting for the next one", path)  # fmt: skip
            self._version = latest.version
            return False
        model = await self._load_snapshot(path)
        if model is None:
            self._version = latest.version  # fitted on other data or settings: keep serving
            return False
        await self.load_club_movies()  # the club may have added movies through another process
        model = await self._synced(model)
        self._model, self._version = model, latest.version
        self.generation += 1
        self._loaded.set()
        self._carried, self._fit_seq = 0, self._seq  # changes since the data it was fitted on
        log.info("serving published snapshot version %d", latest.version)
        return True

    async def _publish_serving(self) -> None:
        """Fitting for several processes: publish the serving snapshot unless the newest
        published one is the same fit."""
        if self._cluster is None or not self._cluster.leading:
            return
        latest = await self.store.shared.latest(self.settings.dataset)
        if latest is not None:
            published = self.settings.model_dir / latest.file
            if await asyncio.to_thread(same_snapshot, published, self.snapshot_path):
                self._version = latest.version
                return
        await self._publish()

    async def _publish(self) -> None:
        """Give the serving snapshot its own published name and record it as the newest
        version (the other processes hear of it at COMMIT); older published files go."""
        s = self.settings
        name = await asyncio.to_thread(publish_file, self.snapshot_path)
        self._version = await self.store.shared.publish(s.dataset, name)
        await asyncio.to_thread(drop_published, s.model_dir, s.dataset, name)
        log.info("published snapshot version %d as %s", self._version, name)

    def _refit_requested(self, payload: str) -> None:
        """Another process asked for a refit (a /refit, or "purge" after a /forgetme)."""
        if self._cluster is None or not self._cluster.leading:
            return
        if payload == "purge":
            self._purge_due = True
            self.refit_soon(self.settings.purge_refit_delay)
        else:
            self.refit()

    async def refresh(self, *members: int) -> None:
        """Make these members' vectors reflect their latest committed ratings, which another
        process may have written (a no-op for a process alone on its database)."""
        if self._cluster is None or self._model is None:
            return
        for member in map(int, members):
            seq = await self.store.shared.member_seq(member)
            if self._member_seq.get(member, 0) == seq:
                continue
            async with self.member_lock(member):
                # read before the ratings, `seq` is never newer than what they reflect
                if self._member_seq.get(member, 0) == seq:
                    continue  # folded in meanwhile, while this waited for the lock
                ids, stars = await self._member_ratings(member)
                self._model = _with_member(self.model, member, ids, stars)
                self._member_seq[member] = seq

    async def _load_snapshot(self, path: Path | None = None) -> ALSModel | None:
        """A snapshot on disk (the serving one unless given) if it was fitted on this data
        with these settings."""
        path = path or self.snapshot_path
        if not path.exists():
            return None
        base = self.ml.ratings.fingerprint() if self.ml else ""
        try:
            if not snapshot_matches(path, base, self.settings.als):
                log.warning("snapshot %s was fitted on other data or settings; refitting", path)
                return None
            return await asyncio.to_thread(load_model, path)
        except (SnapshotError, OSError, ValueError) as exc:
            log.warning("snapshot %s is unreadable (%s); refitting", path, exc)
            return None

    async def close(self) -> None:
        """Stop the refit loop and wait for a running refit to end."""
        for task in (self._loop_task, self._refit_task, *self._requests):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._cluster is not None:
            await self._cluster.close()

    async def _sync_members(self, model: ALSModel) -> ALSModel:
        """Make a freshly loaded model agree with the store: club movies (which the folds
        need), members, then the club movies again now that all their raters are in."""
        model = self.with_genres(model)
        ratings = await self.store.ratings.all_ratings()
        model = self._solve_club(_without_removed(model, self._club), ratings)
        current = {int(u) for u in np.unique(ratings.users)}
        for member in MemberKeys.members_in(model.users.ids):
            if member not in current:
                model = model.without_user(MemberKeys.key(member))
        for member in current:
            model, _ = await self._fold(model, member)
        return self._solve_club(model, ratings)

    def with_genres(self, model: ALSModel) -> ALSModel:
        """`model` knowing each movie's genres from the catalog, for "more like this"."""
        return model.with_genres(np.array([self._genres(m) for m in model.items.ids.tolist()]))

    def _genres(self, movie: int) -> int:
        """A movie's genre bitmask in the catalog (0 when the catalog does not have it)."""
        catalog = self.catalog
        return int(catalog.genre_masks[catalog.row(movie)]) if movie in catalog else 0

    def _side_of(self, movie: int) -> tuple[int, int]:
        """A movie's genre bitmask and release year (0 when unknown): what a sparse movie's
        prior is predicted from."""
        catalog = self.catalog
        year = int(catalog.years[catalog.row(movie)]) if movie in catalog else 0
        return self._genres(movie), year

    def _solve_club(self, model: ALSModel, ratings: RatingArrays) -> ALSModel:
        """`model` with every club movie solved from these ratings (the snapshot may predate
        their latest ones)."""
        users, movies, stars = ratings
        for movie in sorted(self._club):
            rated = movies == movie
            model = _with_item(
                model, movie, users[rated].tolist(), stars[rated].tolist(), *self._side_of(movie)
            )
        return model

    def drop_missing_club_items(self) -> None:
        """Stop serving club movies that were removed or merged away."""
        if self._model is not None:
            self._model = _without_removed(self._model, self._club)

    async def _new_club_items(self, model: ALSModel, start_seq: int) -> ALSModel:
        """A freshly fitted `model` with the club movies added or rated while it was fitted
        solved again (the fit solved the rest), and those removed meanwhile dropped."""
        model = _without_removed(model, self._club)
        fitted = set(model.items.ids.tolist())
        stale = [m for m in self._club if m not in fitted or self._club_dirty.get(m, 0) > start_seq]
        for movie in sorted(stale):
            raters = await self.store.ratings.movie_ratings(movie)
            model = _with_item(model, movie, *raters, *self._side_of(movie))
        return model

    async def _fold(self, model: ALSModel, member: int) -> tuple[ALSModel, int]:
        """`model` with one member re-solved from all their committed ratings, and their count."""
        ids, stars = await self._member_ratings(member)
        return _with_member(model, member, ids, stars), len(ids)

    async def _member_ratings(self, member: int) -> tuple[np.ndarray, np.ndarray]:
        """A member's committed ratings of movies in this catalog, as (movie ids, stars)."""
        rows = await self.store.ratings.user_ratings(member)
        ids = np.array([r.movie_id for r in rows], dtype=np.int64)
        stars = np.array([r.stars for r in rows], dtype=np.float32)
        known = self.in_catalog(ids)
        return ids[known], stars[known]

    def in_catalog(self, movie_ids: np.ndarray) -> np.ndarray:
        """Which ids this dataset's catalog has; ratings of others wait in the store (a bigger
        dataset of the same id space may have them)."""
        ids = np.asarray(movie_ids, dtype=np.int64)
        catalog = self.catalog
        if len(ids) > 1000:  # a whole table (refits): one vectorised pass
            return np.isin(ids, catalog.movie_ids)
        return np.fromiter((m in catalog for m in ids.tolist()), dtype=bool, count=len(ids))

    # -------------------------------------------------------------------- changes
    def member_lock(self, member: int) -> asyncio.Lock:
        """One lock per member: a commit and its fold-in never interleave with another change."""
        return self._locks.setdefault(int(member), asyncio.Lock())

    async def changed(self, member: int, movie_id: int | None = None) -> int:
        """Count a committed change and fold the member in (and the movie, when it is one
        the club added); returns their number of ratings.

        Call holding `member_lock(member)`, right after the change committed.
        """
        return await self.changed_many(member, () if movie_id is None else (int(movie_id),))

    async def changed_many(self, member: int, movie_ids: Sequence[int] = ()) -> int:
        """`changed` for a change touching several movies (an import): one count, one fold
        of the member, and each of the movies that the club added solved around it."""
        self._seq += 1
        self._dirty[int(member)] = self._seq
        seq = await self.store.shared.member_seq(member) if self._cluster is not None else 0
        ids, stars = await self._member_ratings(int(member))
        club = sorted({int(m) for m in movie_ids if int(m) in self._club})
        raters = {}
        for movie in club:
            self._club_dirty[movie] = self._seq
            raters[movie] = await self.store.ratings.movie_ratings(movie)
        if self._model is not None:  # no await between reading and replacing the model
            model = self._model
            for movie in club:  # the items must exist before the member's fold uses them
                model = _with_item(model, movie, *raters[movie], *self._side_of(movie))
            model = _with_member(model, int(member), ids, stars)
            for movie in club:  # and be solved again now that a new rater is known too
                model = _with_item(model, movie, *raters[movie], *self._side_of(movie))
            self._model = model
            if self._cluster is not None:
                self._member_seq[int(member)] = seq
        return len(ids)

    def forgotten(self, member: int) -> None:
        """Drop a member whose data was deleted from the serving model, and purge soon.

        Call holding `member_lock(member)`, right after the deletion committed.
        """
        self._seq += 1
        self._forgotten[int(member)] = self._seq
        self._dirty.pop(int(member), None)
        self._member_seq.pop(int(member), None)
        if self._model is not None:
            self._model = self._model.without_user(MemberKeys.key(member))
        if self._cluster is not None and not self._cluster.leading:
            self._request(self._cluster.request_refit("purge"))  # its files: its purge
            return
        self._purge_due = True
        self.refit_soon(self.settings.purge_refit_delay)

    async def _club_changed_elsewhere(self) -> None:
        """Another process added, renamed, merged or removed a club movie: know it here too."""
        async with self._club_reload:
            try:
                await self.load_club_movies()
                self.drop_missing_club_items()
            except Exception:
                log.exception("could not reload the club's movies")

    def _request(self, request: Awaitable[None]) -> None:
        """Run a request to the fitting process, or a reload, in the background (kept until
        done)."""
        task = asyncio.ensure_future(request)
        self._requests.add(task)
        task.add_done_callback(self._requests.discard)

    # ---------------------------------------------------------------------- refit
    @property
    def pending_changes(self) -> int:
        """Rating changes since the data of the serving model was taken (across restarts)."""
        return self._carried + self._seq - self._fit_seq

    async def changes_pending(self) -> int:
        """Rating changes not yet in a fit: with several processes on one database, counted
        in the database (changes through any process); alone, this process's own count."""
        if self._cluster is not None:
            return await self.store.fits.changes_since_fit()
        return self.pending_changes

    @property
    def purge_due(self) -> bool:
        """Whether a forgotten member may still be in the snapshot on disk."""
        return self._purge_due

    @property
    def next_refit_in(self) -> float | None:
        """Seconds until the refit loop next checks (None before start)."""
        if self._next_refit_at is None:
            return None
        return max(0.0, self._next_refit_at - time.time())

    @property
    def refitting(self) -> bool:
        """Whether a refit is running now."""
        return self._refit_task is not None and not self._refit_task.done()

    def refit(self) -> asyncio.Task[bool]:
        """Start a refit, or return the one already running (only one at a time). A process
        that does not fit asks the one that does, and waits for the snapshot it publishes."""
        if self._refit_task is None or self._refit_task.done():
            leading = self._cluster is None or self._cluster.leading
            work = self._refit_now() if leading else self._refit_elsewhere()
            self._refit_task = asyncio.create_task(work, name="refit")
        return self._refit_task

    async def _refit_elsewhere(self) -> bool:
        """Ask the fitting process for a refit; True once its next snapshot serves here."""
        assert self._cluster is not None
        generation = self.generation
        await self._cluster.request_refit()
        while self.generation == generation:
            if self._cluster.leading:  # the fitting process went away and this one took over
                return await self._refit_now()
            self._loaded.clear()
            await _wait(self._loaded, CLUSTER_TICK)
        return True

    def refit_soon(self, delay: float = 0.0) -> None:
        """Have the refit loop check within `delay` seconds (sooner if already due)."""
        self._next_refit_at = min(self._next_refit_at or math.inf, time.time() + delay)
        self._wake.set()

    async def _refit_now(self) -> bool:
        """Fit in the worker, swap the model, fold in what changed meanwhile; never raises."""
        t0 = time.perf_counter()
        fit_id: int | None = None
        error: str | None = None
        handoff = self.settings.model_dir / HANDOFF_NAME
        try:
            start_seq = self._seq
            purge = self._purge_due
            seqs = await self.store.shared.member_seqs() if self._cluster is not None else {}
            club = int((await self.store.ratings.stats())["ratings"])
            fit_id = await self.store.fits.fit_started(
                club + (len(self.ml.ratings) if self.ml else 0)
            )
            users, items, stars = await self.store.ratings.all_ratings()
            known = self.in_catalog(items)
            users, items, stars = users[known], items[known], stars[known]
            await asyncio.to_thread(
                write_member_ratings, handoff, MemberKeys.keys(users), items, stars
            )
            result = await self.runner(self._job(handoff))
            model = await asyncio.to_thread(load_model, result.snapshot)
            await self._swap(model, start_seq)
            if self._cluster is not None:
                self._member_seq = seqs  # changes made through other processes: refresh
            await asyncio.to_thread(promote_snapshot, result.snapshot, self.snapshot_path)
            if self._cluster is not None and self._cluster.leading:
                await self._publish()
            await self.store.fits.fit_finished(fit_id, result.rmse, result.seconds, "ok", None)
            fit_id = None  # logged as done: a cancellation from here on must not relog it
            if purge and not any(q > start_seq for q in self._forgotten.values()):
                self._purge_due = False
                await self.store.scrub()
                log.info("purge refit done: forgotten members are gone from the model files")
            self.failures = 0
            log.info("refit done in %.1fs, rmse %.4f", result.seconds, result.rmse or math.nan)
        except asyncio.CancelledError:
            # the cancellation must go on whatever happens here: a refit loop that swallowed
            # it (as an error from this log) would keep `close()` waiting forever
            if fit_id is not None:
                with contextlib.suppress(Exception):
                    elapsed = time.perf_counter() - t0
                    await self.store.fits.fit_finished(fit_id, None, elapsed, "failed", "cancelled")
            raise
        except Exception as exc:
            error = str(exc) if isinstance(exc, WorkerError) else f"{type(exc).__name__}: {exc}"
            self.last_error = error
            if self._model is None:
                log.error("the first model fit failed: %s", error, exc_info=True)
            else:
                log.exception("refit failed; the previous model keeps serving")
            self.failures += 1
            if fit_id is not None:
                with contextlib.suppress(Exception):
                    elapsed = time.perf_counter() - t0
                    await self.store.fits.fit_finished(fit_id, None, elapsed, "failed", error)
        finally:
            handoff.unlink(missing_ok=True)  # it holds every member's ratings: never keep it
        self._schedule_next()
        return error is None

    def _job(self, handoff: Path) -> FitJob:
        """The worker's job: it writes a candidate snapshot, promoted only after the swap."""
        s = self.settings
        club = sorted(self._club)
        return FitJob(
            s.dataset,
            s.data_dir,
            s.movielens_dir,
            handoff,
            s.als,
            self.snapshot_path.with_name(f"{s.dataset}.next.npz"),
            self.snapshot_path if self._model is not None else None,
            s.refit_memory_limit_mb,
            tuple(club),
            tuple(self._side_of(m) for m in club),
            s.als_engine,
            s.spark_master,
        )

    async def _swap(self, model: ALSModel, start_seq: int) -> None:
        """Serve the new model after replaying every change made since its data was read.

        Club movies changed meanwhile are solved again and members re-folded, in turns, until
        no member changed after their last fold; removals of members forgotten meanwhile
        happen right before the swap, with no await in between.
        """
        model = self.with_genres(model)
        folded: dict[int, int] = {}
        while True:  # club movies first (folds need them), again once their raters are in
            model = await self._new_club_items(model, start_seq)
            todo = [u for u, q in self._dirty.items() if q > start_seq and folded.get(u, -1) < q]
            if not todo:
                break
            for member in todo:
                async with self.member_lock(member):
                    seq = self._dirty.get(member, 0)
                    model, _ = await self._fold(model, member)
                    folded[member] = seq
        for member, seq in self._forgotten.items():
            if seq > start_seq and self._dirty.get(member, -1) < seq:
                model = model.without_user(MemberKeys.key(member))
        self._model = model
        self.generation += 1
        self._fit_seq = start_seq
        self._carried = 0
        self._dirty = {u: q for u, q in self._dirty.items() if q > start_seq}
        self._forgotten = {u: q for u, q in self._forgotten.items() if q > start_seq}
        self._club_dirty = {m: q for m, q in self._club_dirty.items() if q > start_seq}

    def _schedule_next(self) -> None:
        delay = self.settings.refit_interval
        if self.failures:
            delay = min(MAX_BACKOFF, 30.0 * 2 ** (self.failures - 1))
        self._next_refit_at = time.time() + delay

    async def _refit_loop(self) -> None:
        """Refit when due and enough ratings changed (or to retry a failure, with backoff).
        Of several processes on one database only the fitting one does; the others load
        the snapshots it publishes, and take over the role when it is free."""
        while True:
            wait = 1.0 if self._next_refit_at is None else self._next_refit_at - time.time()
            if self._cluster is not None:
                wait = min(wait, CLUSTER_TICK)
            self._wake.clear()
            await _wait(self._wake, max(0.0, min(wait, 60.0)))
            if self._cluster is not None:
                try:
                    if not await self._leading():
                        await self._follow()
                        continue
                except Exception:
                    log.exception("following the published snapshots failed; trying again")
                    continue
            if self._next_refit_at is None or time.time() < self._next_refit_at:
                continue
            try:
                enough = await self.changes_pending() >= self.settings.refit_min_changes
                due = self.failures > 0 or self._purge_due or enough
                if due and not self.refitting:
                    await self.refit()
                else:
                    self._schedule_next()
            except Exception:  # the loop must outlive any single failure
                log.exception("refit check failed; trying again later")
                self._schedule_next()
            self.checks += 1


async def _wait(event: asyncio.Event, seconds: float) -> None:
    """Until `event` is set or `seconds` pass. Not `asyncio.wait_for`: on Python 3.11 it
    swallows a cancellation that arrives just as the event is set, and `close()` then waits
    on a refit loop that never ends."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()


def _with_member(model: ALSModel, member: int, ids: np.ndarray, stars: np.ndarray) -> ALSModel:
    """`model` with the member's row solved from these ratings (removed when there are none)."""
    key = MemberKeys.key(member)
    return model.with_user(key, ids, stars) if len(ids) else model.without_user(key)


def _without_removed(model: ALSModel, club: frozenset[int]) -> ALSModel:
    """`model` without the club movies that are no longer the club's."""
    for movie in model.items.ids[model.items.ids >= CLUB_MOVIE_IDS].tolist():
        if movie not in club:
            model = model.without_item(movie)
    return model


def _with_item(
    model: ALSModel,
    movie: int,
    members: list[int],
    stars: list[float],
    genres: int = 0,
    year: int = 0,
) -> ALSModel:
    """`model` with a club movie solved from its raters (dropped while nobody rated it),
    pulled toward what its genres and year predict while it has few ratings."""
    if not members:
        return model.without_item(movie) if movie in model.items else model
    keys = MemberKeys.keys(np.asarray(members, dtype=np.int64))
    return model.with_item(movie, keys, np.asarray(stars, dtype=np.float32), genres, year)


def fit_in_thread(job: FitJob) -> Awaitable[FitResult]:
    """Runner that fits in a worker thread instead of a process (benchmark comparison)."""
    return asyncio.to_thread(run_fit, job)
