"""Members' lists against a real store and model: the list rules, picks that respect them,
picks from a watchlist, and what movie nights can ask for."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.services import Services
from bot.store import Store
from tests.bot.core.test_model_server import CountingRunner, make_settings

ALICE, BOB, CAROL = 111111111111111111, 222222222222222222, 333333333333333333
GUILD = 444444444444444444


@pytest.fixture
async def engine(tmp_path: Path, ml100k_dir: Path, store: Store):
    built = Services.build(make_settings(tmp_path, ml100k_dir), store, CountingRunner())
    await built.start(periodic=False)
    yield built
    await built.close()


async def rate_some(engine: Services, member: int) -> None:
    for movie, stars in ((1, 5.0), (7, 4.0), (15, 4.5), (20, 2.0), (25, 3.0)):
        await engine.ratings.rate(member, movie, stars)


async def test_watchlist_and_not_interested_exclude_each_other_and_seen_clears_the_watchlist(
    engine: Services,
):
    lists = engine.lists
    assert await lists.add(ALICE, "watchlist", 6) is True
    assert await lists.add(ALICE, "not_interested", 6) is True
    assert await lists.lists_with(ALICE, 6) == {"not_interested"}
    await lists.add(ALICE, "watchlist", 6)
    assert await lists.lists_with(ALICE, 6) == {"watchlist"}
    await lists.add(ALICE, "seen", 6)
    assert await lists.lists_with(ALICE, 6) == {"seen"}
    assert await lists.counts(ALICE) == {"watchlist": 0, "seen": 1, "not_interested": 0}
    with pytest.raises(ValueError, match="unknown movie"):
        await lists.add(ALICE, "watchlist", 999_999)


async def test_seen_list_leaves_out_movies_rated_since(engine: Services):
    await engine.lists.add(ALICE, "seen", 6)
    await engine.lists.add(ALICE, "seen", 7)
    await engine.ratings.rate(ALICE, 7, 4.0)
    assert [e.movie.movie_id for e in await engine.lists.entries(ALICE, "seen")] == [6]


async def test_picks_never_show_seen_or_not_interested_movies(engine: Services):
    await rate_some(engine, ALICE)
    first, cold = await engine.queries.recommend(ALICE, 5)
    assert not cold
    top, second = first[0].movie.movie_id, first[1].movie.movie_id
    await engine.lists.add(ALICE, "not_interested", top)
    await engine.lists.add(ALICE, "seen", second)
    after, _ = await engine.queries.recommend(ALICE, 5)
    shown = [p.movie.movie_id for p in after]
    assert top not in shown and second not in shown and len(shown) == 5
    await engine.lists.remove(ALICE, "not_interested", top)  # undo
    again, _ = await engine.queries.recommend(ALICE, 5)
    assert top in [p.movie.movie_id for p in again]


async def test_newcomers_popular_list_respects_not_interested_too(engine: Services):
    popular, cold = await engine.queries.recommend(BOB, 3)
    assert cold
    await engine.lists.add(BOB, "not_interested", popular[0].movie.movie_id)
    after, _ = await engine.queries.recommend(BOB, 3)
    assert popular[0].movie.movie_id not in [p.movie.movie_id for p in after]


async def test_picks_from_a_watchlist_rank_only_its_movies_best_first(engine: Services):
    await rate_some(engine, ALICE)
    watch = {2, 3, 8, 1}  # 1 is rated: never picked again
    for movie in watch:
        await engine.lists.add(ALICE, "watchlist", movie)
    picks, cold = await engine.queries.recommend(
        ALICE, 10, only=await engine.lists.movies(ALICE, "watchlist")
    )
    assert not cold
    assert {p.movie.movie_id for p in picks} == {2, 3, 8}
    stars = [p.stars for p in picks]
    assert stars == sorted(stars, reverse=True)
    newcomer, cold = await engine.queries.recommend(CAROL, 10, only={2, 3})
    assert cold and {p.movie.movie_id for p in newcomer} == {2, 3}
    assert await engine.queries.recommend(CAROL, 10, only=set()) == ([], True)


async def test_movie_nights_can_ask_for_members_lists_and_the_server_list(engine: Services):
    lists = engine.lists
    await lists.add(ALICE, "watchlist", 2)
    await lists.add(BOB, "watchlist", 2)
    await lists.add(BOB, "watchlist", 3)
    await lists.add(CAROL, "not_interested", 4)
    assert await lists.watchlist([ALICE, BOB]) == {2: 2, 3: 1}
    assert await lists.not_interested([ALICE, CAROL]) == {4}
    assert await lists.not_interested([ALICE, BOB]) == set()
    assert await lists.add_to_server_list(GUILD, 5, ALICE) is True
    assert await lists.add_to_server_list(GUILD, 5, BOB) is False
    await lists.add_to_server_list(GUILD, 6, BOB)
    entries = await lists.server_list(GUILD)
    assert [(e.movie.movie_id, e.added_by) for e in entries] == [(5, ALICE), (6, BOB)]
    assert await lists.remove_from_server_list(GUILD, 5) is True
    assert [e.movie.movie_id for e in await lists.server_list(GUILD)] == [6]
