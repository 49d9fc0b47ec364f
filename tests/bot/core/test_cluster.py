"""Several model servers on one real PostgreSQL database, as several bot processes run them:
exactly one fits and publishes, the others load each snapshot and follow members' changes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.core.keys import MemberKeys
from bot.core.services import Services
from bot.store import Store
from recommender.snapshot import load_model
from tests.bot.conftest import eventually
from tests.bot.core.test_model_server import CountingRunner, make_settings

ALICE, BOB = 111111111111111111, 222222222222222222


@dataclass
class Process:
    """One bot process's services over its own store connection to the shared database."""

    services: Services
    runner: CountingRunner

    @property
    def leading(self) -> bool:
        cluster = self.services.models._cluster
        return cluster is not None and cluster.leading


async def start(
    stack: AsyncExitStack, tmp_path: Path, ml_dir: Path, url: str, name: str, **over: Any
) -> Process:
    """Start a process's services (its own data folder, the shared MODEL_DIR)."""
    settings = make_settings(
        tmp_path / name,
        ml_dir,
        database_url=url,
        models_path=tmp_path / "shared-models",
        refit_interval=3600,
        **over,
    )
    store = await Store.open(url)
    stack.push_async_callback(store.close)
    runner = CountingRunner()
    services = Services.build(settings, store, runner)
    await services.start()
    stack.push_async_callback(services.close)
    return Process(services, runner)


@pytest.fixture
async def two(
    tmp_path: Path, ml100k_dir: Path, postgres_url: str
) -> AsyncIterator[tuple[Process, Process]]:
    """A first process (it fits the first model) and a second that starts after it."""
    async with AsyncExitStack() as stack:
        first = await start(stack, tmp_path, ml100k_dir, postgres_url, "a")
        second = await start(stack, tmp_path, ml100k_dir, postgres_url, "b")
        yield first, second


async def test_one_process_fits_and_the_other_loads_what_it_publishes(two) -> None:
    first, second = two
    assert first.leading and not second.leading
    assert first.runner.calls == 1 and second.runner.calls == 0
    assert second.services.models.model.meta == first.services.models.model.meta
    published = sorted(p.name for p in first.services.models.settings.model_dir.glob("*.npz"))
    assert len([p for p in published if ".published-" in p]) == 1

    assert await first.services.models.refit()
    await eventually(
        lambda: second.services.models.model.meta == first.services.models.model.meta,
        "the second process to serve the new snapshot",
        timeout=30,
    )
    assert first.runner.calls == 2 and second.runner.calls == 0
    published = [p for p in first.services.models.settings.model_dir.glob("*.published-*.npz")]
    assert len(published) == 1  # older published snapshots are gone


async def test_a_rating_through_one_process_shows_in_the_others_answers(two) -> None:
    first, second = two
    for movie, stars in ((1, 5.0), (2, 1.0), (3, 4.5), (6, 5.0), (7, 4.0)):
        await first.services.ratings.rate(ALICE, movie, stars)
    picks, cold = await second.services.queries.recommend(ALICE, 5)
    assert not cold and picks
    for movie in (8, 9, 14):
        mine = await first.services.queries.predict(ALICE, movie)
        theirs = await second.services.queries.predict(ALICE, movie)
        assert theirs == pytest.approx(mine, abs=1e-5)
    await first.services.ratings.rate(ALICE, 8, 0.5)  # a change, then an unrate
    await first.services.ratings.unrate(ALICE, 6)
    assert await second.services.queries.predict(ALICE, 14) == pytest.approx(
        await first.services.queries.predict(ALICE, 14), abs=1e-5
    )
    assert second.services.models.model.has_user(MemberKeys.key(ALICE))
    await first.services.ratings.forget(ALICE)
    _, cold = await second.services.queries.recommend(ALICE, 5)
    assert cold and not second.services.models.model.has_user(MemberKeys.key(ALICE))


async def test_a_refit_asked_for_elsewhere_runs_in_the_fitting_process(two) -> None:
    first, second = two
    await second.services.ratings.rate(BOB, 3, 4.0)
    assert await asyncio.wait_for(second.services.models.refit(), 60)
    assert first.runner.calls == 2 and second.runner.calls == 0
    assert second.services.models.model.meta == first.services.models.model.meta


async def test_the_fitting_role_passes_on_when_the_fitter_stops(
    tmp_path: Path, ml100k_dir: Path, postgres_url: str
) -> None:
    async with AsyncExitStack() as stack:
        async with AsyncExitStack() as first_stack:
            first = await start(first_stack, tmp_path, ml100k_dir, postgres_url, "a")
            second = await start(stack, tmp_path, ml100k_dir, postgres_url, "b")
            assert first.leading and not second.leading
        await eventually(lambda: second.leading, "the second process to take over", timeout=30)
        assert await asyncio.wait_for(second.services.models.refit(), 60)
        assert second.runner.calls == 1
        third = await start(stack, tmp_path, ml100k_dir, postgres_url, "c")
        assert not third.leading and third.runner.calls == 0
        assert third.services.models.model.meta == second.services.models.model.meta


async def test_forgetting_through_another_process_purges_the_published_files(
    tmp_path: Path, ml100k_dir: Path, postgres_url: str
) -> None:
    async with AsyncExitStack() as stack:
        first = await start(stack, tmp_path, ml100k_dir, postgres_url, "a", purge_refit_delay=0)
        second = await start(stack, tmp_path, ml100k_dir, postgres_url, "b", purge_refit_delay=0)
        for movie in (1, 2, 3):
            await second.services.ratings.rate(BOB, movie, 4.0)
        assert await asyncio.wait_for(second.services.models.refit(), 60)
        model_dir = first.services.models.settings.model_dir
        (published,) = model_dir.glob("*.published-*.npz")
        assert load_model(published).has_user(MemberKeys.key(BOB))

        await second.services.ratings.forget(BOB)
        assert not second.services.models.model.has_user(MemberKeys.key(BOB))
        await eventually(
            lambda: (
                first.runner.calls == 3
                and not first.services.models.purge_due
                and not first.services.models.refitting
            ),
            "the fitting process to refit without the forgotten member",
            timeout=60,
        )
        files = list(model_dir.glob("*.npz"))
        assert files and all(not load_model(f).has_user(MemberKeys.key(BOB)) for f in files)
        assert not second.services.models.purge_due


async def test_a_club_movie_added_through_one_process_can_be_rated_in_the_other(two) -> None:
    first, second = two
    added = await first.services.clubs.add("Brand New Picture (2026)", ALICE)
    models = second.services.models
    await eventually(lambda: added.movie_id in models.catalog, "the club movie in the other")
    found = models.titles.resolve("brand new picture").movie
    assert found is not None and found.movie_id == added.movie_id
    rated = await second.services.ratings.rate(BOB, added.movie_id, 4.5)
    assert rated.movie.title == added.title and rated.previous is None
    assert added.movie_id in models.model.items

    await first.services.clubs.rename(added.movie_id, "Brand New Picture, Final Cut (2026)")
    await eventually(
        lambda: "Final Cut" in models.catalog.movie(added.movie_id).title, "the new title there"
    )
    await first.services.clubs.remove(added.movie_id)
    await eventually(lambda: added.movie_id not in models.catalog, "the removal there")
    assert added.movie_id not in models.model.items


async def test_status_counts_changes_made_through_every_process(two) -> None:
    first, second = two
    for movie in (1, 2, 3):
        await first.services.ratings.rate(ALICE, movie, 4.0)
    await second.services.ratings.rate(BOB, 4, 2.5)
    for process in (first, second):
        assert (await process.services.queries.status()).pending_changes == 4
