"""Reasons name a liked movie genuinely close to the pick, or nothing (real ML-100K)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bot.core.model_server import fit_in_thread
from bot.core.queries import REASON_RANK
from bot.core.services import Services
from bot.store import Store
from recommender.config import ALSConfig
from tests.bot.core.test_model_server import make_settings
from tests.conftest import real_movielens_dir

MEMBER = 123456789012345678
LIKES = {
    "Empire Strikes Back, The (1980)": 5.0,
    "Dumb & Dumber (1994)": 4.0,
    "Bram Stoker's Dracula (1992)": 4.0,
    "Sleepless in Seattle (1993)": 4.5,
    "Babe (1995)": 4.0,
}


@pytest.fixture
async def services(tmp_path: Path):
    folder = real_movielens_dir()
    if folder is None:
        pytest.skip("real MovieLens 100K absent: set MOVIELENS_DIR to a folder with ml-100k/")
    settings = replace(make_settings(tmp_path, folder), als=ALSConfig())
    async with Store(settings.database_path) as store:
        started = Services.build(settings, store, fit_in_thread)
        await started.start(periodic=False)
        yield started
        await started.close()


async def test_return_of_the_jedi_is_explained_by_empire_and_no_reason_is_far_fetched(
    services: Services,
):
    queries = services.queries
    ids = {queries.movie(m).title: m for m in services.models.catalog.movie_ids.tolist()}
    for title, stars in LIKES.items():
        await services.ratings.rate(MEMBER, ids[title], stars)
    picks, cold = await queries.recommend(MEMBER, 50)
    assert not cold
    by_title = {p.movie.title: p for p in picks}
    assert by_title["Return of the Jedi (1983)"].reason == (
        "because you rated The Empire Strikes Back (1980) 5★"
    )
    named = {queries.movie(ids[t]).display: ids[t] for t in LIKES}
    model = services.models.model
    for pick in picks:
        if pick.reason is None:
            continue
        cited = pick.reason.removeprefix("because you rated ").rsplit(" ", 1)[0]
        close, _ = model.similar_items(pick.movie.movie_id, REASON_RANK)
        assert named[cited] in close.tolist(), (pick.movie.title, pick.reason)
    assert any(p.reason is None for p in picks)  # it says nothing rather than something odd
