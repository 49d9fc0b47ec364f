"""The services against a real SQLite store and real fits (in a worker thread or process)."""

from __future__ import annotations

import asyncio
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bot.core.keys import MemberKeys
from bot.core.model_server import DatasetMismatch, fit_in_thread
from bot.core.refit import FitJob, FitResult, ProcessFitRunner
from bot.core.services import Services
from bot.settings import Settings
from bot.store import Store
from recommender.config import ALSConfig
from recommender.priors import ItemSide
from recommender.snapshot import load_model
from tests.bot.conftest import eventually

ALICE, BOB, CAROL = 111111111111111111, 222222222222222222, 333333333333333333


def make_settings(tmp_path: Path, ml_dir: Path, **over) -> Settings:
    base = Settings(
        dataset="ml-100k",
        database_path=tmp_path / "bot.db",
        data_dir=tmp_path / "data",
        movielens_dir=ml_dir,
        als=ALSConfig(factors=4, iterations=6, implicit_factors=4, reg=0.5),
        refit_interval=3600,
    )
    return replace(base, **over)


class CountingRunner:
    """Runs fits for real (in a thread) and counts them; can be held at a gate."""

    def __init__(self) -> None:
        self.calls = 0
        self.gate: asyncio.Event | None = None
        self.started = asyncio.Event()

    async def __call__(self, job: FitJob) -> FitResult:
        self.calls += 1
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        return await fit_in_thread(job)


@pytest.fixture
async def engine(tmp_path: Path, ml100k_dir: Path, store: Store):
    e = Services.build(make_settings(tmp_path, ml100k_dir), store, CountingRunner())
    await e.start(periodic=False)
    yield e
    await e.close()


async def test_cold_start_then_instant_fold_in(engine: Services):
    picks, cold = await engine.queries.recommend(ALICE, 5)
    assert cold and len(picks) == 5
    assert all(p.reason is None for p in picks)
    se7en = engine.queries.resolve("se7en").movie.movie_id
    before = engine.models.generation
    result = await engine.ratings.rate(ALICE, se7en, 5)
    assert result.previous is None and result.rated_count == 1
    picks, cold = await engine.queries.recommend(ALICE, 5)
    assert not cold and se7en not in [p.movie.movie_id for p in picks]
    assert engine.models.generation == before  # no refit needed: folded in
    assert engine.models.model.has_user(MemberKeys.key(ALICE))
    again = await engine.ratings.rate(ALICE, se7en, 3.5)
    assert again.previous == 5 and again.rated_count == 1


async def test_fold_in_changes_predictions_in_the_rated_direction(engine: Services):
    movies = [m.movie_id for m in engine.queries.search("filler movie", 12)]
    for m in movies[:6]:
        await engine.ratings.rate(ALICE, m, 5)
    high = await engine.queries.predict(ALICE, movies[0])
    for m in movies[:6]:
        await engine.ratings.rate(ALICE, m, 0.5)
    low = await engine.queries.predict(ALICE, movies[0])
    assert high is not None and low is not None and high > low


async def test_reasons_name_a_rated_movie(engine: Services):
    for title, stars in (("toy story", 5), ("star wars", 4.5), ("fargo", 5), ("heat", 1)):
        await engine.ratings.rate(ALICE, engine.queries.resolve(title).movie.movie_id, stars)
    picks, _ = await engine.queries.recommend(ALICE, 8)
    reasons = [p.reason for p in picks if p.reason]
    assert reasons and all(r.startswith("because you rated ") and "★" in r for r in reasons)


@pytest.mark.parametrize("stars", [0, 5.5, 3.3, -1, math.nan, math.inf, "x"])
async def test_bad_stars_rejected_and_nothing_written(engine: Services, stars):
    with pytest.raises(ValueError, match="stars"):
        await engine.ratings.rate(ALICE, 1, stars)
    assert await engine.models.store.ratings.count_user_ratings(ALICE) == 0


async def test_unknown_movie_rejected_and_nothing_written(engine: Services):
    with pytest.raises(ValueError, match="unknown movie"):
        await engine.ratings.rate(ALICE, 99999, 4)
    assert await engine.models.store.ratings.count_user_ratings(ALICE) == 0


async def test_duplicate_movie_ids_rate_the_canonical_movie(engine: Services):
    result = await engine.ratings.rate(ALICE, 51, 4)  # the fixture's duplicate "Chasing Amy" id
    assert result.movie.movie_id == 13
    assert (await engine.queries.rated_ids(ALICE)).tolist() == [13]


async def test_refit_swaps_and_keeps_ratings_that_arrive_mid_refit(engine: Services):
    runner = engine.models.runner
    assert isinstance(runner, CountingRunner)
    await engine.ratings.rate(ALICE, 1, 5)
    old = engine.models.generation
    runner.gate = asyncio.Event()
    runner.started.clear()
    task = engine.models.refit()
    assert engine.models.refit() is task  # only one at a time
    await runner.started.wait()
    await engine.ratings.rate(BOB, 2, 4)  # arrives during the fit
    await engine.ratings.rate(ALICE, 3, 2)
    runner.gate.set()
    assert await task
    assert engine.models.generation == old + 1
    assert engine.models.model.has_user(MemberKeys.key(BOB))
    assert set(engine.models.model.rated_items(MemberKeys.key(ALICE)).tolist()) == {1, 3}
    assert engine.models.pending_changes == 2  # the mid-refit ratings count toward the next fit
    status = await engine.queries.status()
    assert status.last_fit_status == "ok" and status.last_fit_rmse is not None
    assert status.discord_ratings == 3 and status.discord_raters == 2


async def test_failed_refit_keeps_the_old_model_and_backs_off(tmp_path, ml100k_dir, store):
    runner = CountingRunner()
    engine = Services.build(make_settings(tmp_path, ml100k_dir), store, runner)
    await engine.start(periodic=False)
    await engine.ratings.rate(ALICE, 1, 5)
    old = engine.models.model

    async def broken(job: FitJob) -> FitResult:
        raise MemoryError("worker ran out of memory")

    engine.models.runner = broken
    assert not await engine.models.refit()
    assert engine.models.model is old and engine.models.model.has_user(MemberKeys.key(ALICE))
    last = await store.fits.last_fit()
    assert last.status == "failed" and "out of memory" in last.error
    status = await engine.queries.status()
    assert status.next_refit_in_s is not None and status.next_refit_in_s <= 31
    await engine.close()


async def test_worker_process_crash_keeps_old_model(tmp_path, ml100k_dir, store):
    settings = make_settings(tmp_path, ml100k_dir)
    engine = Services.build(settings, store, CountingRunner())
    await engine.start(periodic=False)
    old = engine.models.model
    engine.models.settings = replace(settings, refit_memory_limit_mb=64)  # too small to even start
    engine.models.runner = ProcessFitRunner()
    assert not await engine.models.refit()
    assert engine.models.model is old
    assert (await store.fits.last_fit()).status == "failed"
    await engine.close()


async def test_real_worker_process_fit(tmp_path, ml100k_dir, store):
    engine = Services.build(make_settings(tmp_path, ml100k_dir), store, ProcessFitRunner())
    await engine.start(periodic=False)
    await engine.ratings.rate(CAROL, 5, 4.5)
    assert await engine.models.refit()
    assert engine.models.model.has_user(MemberKeys.key(CAROL))
    await engine.close()


async def test_snapshot_is_reused_and_corrupt_one_replaced(tmp_path, ml100k_dir, store):
    settings = make_settings(tmp_path, ml100k_dir)
    first = CountingRunner()
    e1 = Services.build(settings, store, first)
    await e1.start(periodic=False)
    await e1.ratings.rate(ALICE, 1, 5)
    await e1.close()
    assert first.calls == 1

    second = CountingRunner()
    e2 = Services.build(settings, store, second)
    await e2.start(periodic=False)
    assert second.calls == 0  # matching snapshot loaded
    assert e2.models.model.has_user(MemberKeys.key(ALICE))  # folded in from the store at start-up
    await e2.close()

    e2.models.snapshot_path.write_bytes(b"not a snapshot at all")
    third = CountingRunner()
    e3 = Services.build(settings, store, third)
    await e3.start(periodic=False)
    assert third.calls == 1 and e3.models.model is not None
    await e3.close()

    changed = replace(settings, als=ALSConfig(factors=5, iterations=3, implicit_factors=4))
    fourth = CountingRunner()
    e4 = Services.build(changed, store, fourth)
    await e4.start(periodic=False)
    assert fourth.calls == 1  # hyperparameters changed: refit
    await e4.close()


async def test_forget_user_removes_from_model_now_and_from_later_fits(engine: Services):
    await engine.ratings.rate(ALICE, 1, 5)
    await engine.ratings.rate(ALICE, 2, 4)
    assert await engine.models.refit()
    assert MemberKeys.key(ALICE) in engine.models.model.users
    assert await engine.ratings.forget(ALICE) >= 2
    assert not engine.models.model.has_user(MemberKeys.key(ALICE))
    _, cold = await engine.queries.recommend(ALICE, 3)
    assert cold
    assert await engine.models.refit()
    assert MemberKeys.key(ALICE) not in engine.models.model.users


async def test_group_and_similar_and_explain(engine: Services):
    for m, s in ((1, 5), (2, 5), (3, 1)):
        await engine.ratings.rate(ALICE, m, s)
    for m, s in ((1, 1), (4, 5), (5, 5)):
        await engine.ratings.rate(BOB, m, s)
    picks, missing = await engine.queries.recommend_group([ALICE, BOB, CAROL, BOB], 3)
    assert missing == [CAROL]
    assert len(picks) == 3
    for p in picks:
        assert set(p.member_stars) == {ALICE, BOB}
        mean = sum(p.member_stars.values()) / 2  # the default, average without misery
        assert p.score == pytest.approx(mean, rel=1e-5)
        assert p.movie.movie_id not in (1, 2, 3, 4, 5)
    sims = engine.queries.similar(1, 4)
    assert len(sims) == 4 and all(m.movie_id != 1 for m, _ in sims)
    reasons = await engine.queries.explain(ALICE, 7)
    assert reasons and {m.movie_id for m, _ in reasons} <= {1, 2, 3}
    avg, count = engine.queries.movie_stats(1)
    assert count > 0 and 1 <= avg <= 5
    assert engine.queries.genre_candidates("comedy") is not None
    with pytest.raises(ValueError, match="unknown genre"):
        engine.queries.genre_candidates("space opera")


async def test_periodic_refit_runs_when_changes_accumulate(tmp_path, ml100k_dir, store):
    runner = CountingRunner()
    settings = make_settings(tmp_path, ml100k_dir, refit_interval=0.2, refit_min_changes=2)
    engine = Services.build(settings, store, runner)
    await engine.start()
    assert runner.calls == 1
    await eventually(lambda: engine.models.checks >= 2, "two refit checks")
    assert runner.calls == 1  # nothing changed: no refit
    await engine.ratings.rate(ALICE, 1, 5)
    await engine.ratings.rate(ALICE, 2, 5)
    await eventually(lambda: runner.calls == 2 and not engine.models.refitting, "the refit")
    assert runner.calls == 2 and engine.models.pending_changes == 0
    await engine.close()


async def test_forget_during_a_running_fit_is_honoured_and_purged_from_disk(engine: Services):
    runner = engine.models.runner
    assert isinstance(runner, CountingRunner)
    await engine.ratings.rate(ALICE, 1, 5)
    await engine.ratings.rate(BOB, 2, 4)
    assert await engine.models.refit()
    runner.gate = asyncio.Event()
    runner.started.clear()
    task = engine.models.refit()
    await runner.started.wait()
    await engine.ratings.forget(ALICE)  # the running fit still has ALICE's ratings
    await engine.ratings.rate(BOB, 3, 2)
    runner.gate.set()
    assert await task
    assert not engine.models.model.has_user(MemberKeys.key(ALICE))
    assert set(engine.models.model.rated_items(MemberKeys.key(BOB)).tolist()) == {2, 3}
    handoff = engine.models.settings.model_dir / "discord-ratings.npz"
    assert not handoff.exists()  # every Discord rating was in it: never left on disk
    runner.gate = None
    assert engine.models.purge_due  # the snapshot on disk may still hold ALICE: refit soon
    assert await engine.models.refit()
    assert not engine.models.purge_due
    on_disk = load_model(engine.models.snapshot_path)
    assert MemberKeys.key(ALICE) not in on_disk.users and MemberKeys.key(BOB) in on_disk.users


async def test_refit_bookkeeping_failure_keeps_serving_and_the_loop_alive(
    tmp_path, ml100k_dir, store
):
    runner = CountingRunner()
    settings = make_settings(tmp_path, ml100k_dir, refit_interval=0.1)
    engine = Services.build(settings, store, runner)
    await engine.start()
    old = engine.models.generation
    real = store.fits.fit_started
    calls = 0

    async def flaky(ratings_used: int) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("disk full")
        return await real(ratings_used)

    store.fits.fit_started = flaky  # fault injection into the bookkeeping, not the engine
    await engine.ratings.rate(ALICE, 1, 5)
    assert not await engine.models.refit()
    assert engine.models.generation == old
    assert engine.models.model.has_user(MemberKeys.key(ALICE))
    engine.models.refit_soon(0)  # retry now instead of after the 30 s backoff
    await eventually(
        lambda: runner.calls >= 2 and not engine.models.refitting and engine.models.failures == 0,
        "the retried refit",
    )
    assert runner.calls >= 2 and engine.models.failures == 0  # the loop retried and succeeded
    await engine.close()


async def test_closing_during_a_refit_kills_the_worker(tmp_path, ml100k_dir, store):
    settings = make_settings(tmp_path, ml100k_dir)
    engine = Services.build(settings, store, CountingRunner())
    await engine.start(periodic=False)
    served = engine.models.snapshot_path.read_bytes()
    runner = ProcessFitRunner()
    engine.models.runner = runner
    engine.models.settings = replace(settings, als=replace(settings.als, iterations=100_000))
    task = engine.models.refit()
    await eventually(
        lambda: runner.process is not None and runner.process.is_alive(), "the worker to start"
    )
    await engine.close()
    assert task.cancelled()
    assert runner.process.exitcode == -9  # killed, not finished
    assert engine.models.snapshot_path.read_bytes() == served  # nothing half-fitted was promoted
    assert (await store.fits.last_fit()).status == "failed"


async def test_changes_before_a_restart_still_count_toward_a_refit(tmp_path, ml100k_dir, store):
    settings = make_settings(tmp_path, ml100k_dir, refit_min_changes=2)
    first = Services.build(settings, store, CountingRunner())
    await first.start(periodic=False)
    await first.ratings.rate(ALICE, 1, 5)
    await first.ratings.rate(ALICE, 2, 4)
    assert first.models.pending_changes == 2
    await first.close()
    again = Services.build(settings, store, CountingRunner())
    await again.start(periodic=False)  # the matching snapshot is loaded, no fit
    assert again.models.pending_changes == 2
    assert await again.models.refit()
    assert again.models.pending_changes == 0
    await again.close()


async def test_a_database_stays_bound_to_its_dataset(tmp_path, ml100k_dir, store):
    settings = make_settings(tmp_path, ml100k_dir)
    engine = Services.build(settings, store, CountingRunner())
    await engine.start(periodic=False)
    await engine.ratings.rate(ALICE, 1, 5)
    await engine.close()
    other = Services.build(replace(settings, dataset="ml-latest-small"), store, CountingRunner())
    with pytest.raises(DatasetMismatch, match="holds ratings of ml-100k movies"):
        await other.start(periodic=False)
    assert await store.ratings.get_rating(ALICE, 1) == 5  # nothing was touched


async def test_club_movies_added_or_rated_during_a_refit_are_served_after_the_swap(
    engine: Services,
):
    runner = engine.models.runner
    assert isinstance(runner, CountingRunner)
    early = await engine.clubs.add("Aftersun 2022", ALICE)  # in the fit, still unrated
    runner.gate = asyncio.Event()
    runner.started.clear()
    task = engine.models.refit()
    await runner.started.wait()
    await engine.ratings.rate(ALICE, early.movie_id, 5)
    await engine.ratings.rate(BOB, early.movie_id, 4)
    late = await engine.clubs.add("Past Lives 2023", BOB)  # not in the fit at all
    await engine.ratings.rate(BOB, late.movie_id, 4.5)
    runner.gate.set()
    assert await task
    model = engine.models.model
    for movie, raters in ((early.movie_id, 2), (late.movie_id, 1)):
        assert model.item_counts[model.items.index(movie)] == raters
    assert set(model.rated_items(MemberKeys.key(BOB)).tolist()) == {early.movie_id, late.movie_id}


async def test_group_picks_leave_out_hidden_movies_and_favour_watchlists(engine: Services):
    for m, s in ((1, 5), (2, 5), (3, 1)):
        await engine.ratings.rate(ALICE, m, s)
    for m, s in ((1, 1), (4, 5), (5, 5)):
        await engine.ratings.rate(BOB, m, s)
    before, _ = await engine.queries.recommend_group([ALICE, BOB], 3)
    first, second = before[0].movie.movie_id, before[1].movie.movie_id
    await engine.lists.add(ALICE, "not_interested", first)
    await engine.lists.add(BOB, "seen", second)
    after, _ = await engine.queries.recommend_group(
        [ALICE, BOB], 3, exclude=[before[2].movie.movie_id]
    )
    shown = [p.movie.movie_id for p in after]
    assert len(shown) == 3 and not {first, second, before[2].movie.movie_id} & set(shown)
    longer, _ = await engine.queries.recommend_group([ALICE, BOB], 30)
    wanted = longer[-1].movie.movie_id  # the group's 30th choice
    await engine.lists.add(BOB, "watchlist", wanted)
    favoured, _ = await engine.queries.recommend_group([ALICE, BOB], 30)
    ranks = [p.movie.movie_id for p in favoured]
    assert wanted in ranks and ranks.index(wanted) < 29


async def test_club_movies_with_few_ratings_lean_on_their_genres(engine: Services, store: Store):
    drama = await store.club_movies.add("Quiet Drama (2023)", ("Drama",), ALICE)
    horror = await store.club_movies.add("Loud Horror (2023)", ("Horror",), ALICE)
    await engine.models.load_club_movies()
    for movie in (drama, horror):  # the same single rating: only the genres differ
        await engine.ratings.rate(ALICE, movie.movie_id, 3)

    def biases() -> tuple[float, float]:
        model = engine.models.model
        assert model.side_prior is not None
        return tuple(
            float(model.factors.item_bias[model.items.index(m.movie_id)]) for m in (drama, horror)
        )

    model = engine.models.model
    catalog = engine.models.catalog
    side = ItemSide.from_catalog(catalog, np.array([drama.movie_id, horror.movie_id]))
    assert side.genres.tolist() == [catalog.genre_mask("Drama"), catalog.genre_mask("Horror")]
    prior = side.features(np.ones(2)) @ model.side_prior.coef  # what one rating's prior says
    folded = biases()
    assert abs(folded[0] - folded[1]) > 1e-3
    assert np.sign(folded[0] - folded[1]) == np.sign(prior[0, 0] - prior[1, 0])
    assert await engine.models.refit()  # the worker's fit knows the club's genres too
    refitted = biases()
    assert np.sign(refitted[0] - refitted[1]) == np.sign(prior[0, 0] - prior[1, 0])
