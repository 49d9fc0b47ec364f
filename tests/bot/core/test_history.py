"""Import planning, one-transaction commits and exports, against a real store and model."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from pathlib import Path

import pytest

from bot.core.history_files import read_history
from bot.core.keys import MemberKeys
from bot.core.services import Services
from bot.store import Store
from bot.store.schema import CLUB_MOVIE_IDS
from tests.bot.conftest import write_modern_latest_small
from tests.bot.core.test_model_server import CountingRunner, make_settings
from tests.bot.history_builders import (
    imdb_ratings,
    import_format,
    lb_ratings,
    letterboxd_zip,
)

ALICE, BOB = 111111111111111111, 222222222222222222
MATRIX, FIGHT_CLUB, INCEPTION, TOY_STORY, SHAWSHANK = 2571, 2959, 79132, 1, 318
MATRIX_FILE = lb_ratings([("The Matrix", 1999, 4.5)])


@pytest.fixture
async def services(tmp_path: Path):
    """Services on a tiny ml-latest-small of recent films, with a store on the real clock (the
    club movie limit counts a day back from now)."""
    ml = tmp_path / "movielens"
    write_modern_latest_small(ml / "ml-latest-small")
    settings = replace(make_settings(tmp_path, ml), dataset="ml-latest-small")
    async with Store(settings.database_path) as store:
        built = Services.build(settings, store, CountingRunner())
        await built.start(periodic=False)
        yield built
        await built.close()


def export_zip() -> bytes:
    return letterboxd_zip(
        ratings=[
            ("The Matrix", 1999, 4.5),
            ("Fight Club", 1999, 2.0),
            ("Inceptoin", 2010, 5.0),  # a typo: unsure
            ("Past Lives", 2023, 4.0),  # unknown
        ],
        watched=[("The Matrix", 1999), ("Toy Story", 1995), ("Aftersun", 2022)],
        watchlist=[("The Shawshank Redemption", 1994)],
        diary=[("Fight Club", 1999, 4.0, "2020-01-01")],  # ratings.csv wins over the diary
    )


async def test_a_plan_saves_nothing_and_sorts_rows_into_sure_unsure_and_unknown(
    services: Services,
):
    plan = await services.history.plan(ALICE, read_history("lb.zip", export_zip()))
    assert plan.final_ratings() == {MATRIX: 4.5, FIGHT_CLUB: 2.0}
    assert [(u.row.title, [m.movie_id for m in u.candidates]) for u in plan.unsure] == [
        ("Inceptoin", [INCEPTION])
    ]
    assert sorted(r.label for r in plan.unknown) == ["Aftersun (2022)", "Past Lives (2023)"]
    assert plan.final_lists() == {"seen": {TOY_STORY}, "watchlist": {SHAWSHANK}}
    assert plan.counts() == {
        "new": 2, "changed": 0, "same": 0, "conflicts": 0, "seen": 1, "watchlist": 1,
    }  # fmt: skip
    assert await services.queries.rating_count(ALICE) == 0
    plan.unsure[0].choice = 0
    assert plan.final_ratings()[INCEPTION] == 5.0


async def test_commit_is_one_change_one_fold_and_a_second_import_changes_nothing(
    services: Services,
):
    models = services.models
    file = read_history("lb.zip", export_zip())
    plan = await services.history.plan(ALICE, file)
    plan.unsure[0].choice = 0
    pending, generation = models.pending_changes, models.generation
    result = await services.history.commit(plan)
    assert (result.written.added, result.written.listed, result.rated_count) == (3, 2, 3)
    assert models.pending_changes == pending + 1  # counted once for the next refit
    assert models.generation == generation and models.model.has_user(MemberKeys.key(ALICE))
    stars = models.model.predict(MemberKeys.key(ALICE), [MATRIX])
    assert stars.shape == (1,)
    seq = await services.models.store.ratings.change_seq()
    again = await services.history.plan(ALICE, file)
    again.unsure[0].choice = 0
    assert again.changes == 0
    second = await services.history.commit(again)
    assert second.written.changed == 0 and second.written.listed == 0
    assert await services.models.store.ratings.change_seq() == seq
    assert models.pending_changes == pending + 1


async def test_discord_ratings_are_kept_unless_the_member_chooses_the_files(
    services: Services,
):
    await services.ratings.rate(ALICE, MATRIX, 1.0, "slash")
    plan = await services.history.plan(ALICE, read_history("r.csv", MATRIX_FILE))
    assert plan.conflicts() == [(MATRIX, 1.0, 4.5)]
    assert plan.changes == 0
    kept = await services.history.commit(plan)
    assert kept.written.kept == 1 and await services.queries.rating(ALICE, MATRIX) == 1.0
    plan = await services.history.plan(ALICE, read_history("r.csv", MATRIX_FILE))
    plan.overwrite = True
    assert plan.changes == 1
    await services.history.commit(plan)
    assert await services.queries.rating(ALICE, MATRIX) == 4.5


async def test_unknown_movies_become_club_movies_up_to_the_daily_limit(services: Services):
    titles = [(f"New Film {k}", 2023, 4.0) for k in range(7)]
    plan = await services.history.plan(ALICE, read_history("r.csv", lb_ratings(titles)))
    assert len(plan.addable()) == 7 and plan.adds_left == 5
    plan.add_unknown = True
    result = await services.history.commit(plan)
    assert len(result.written.club_movie_ids) == 5 and result.rated_count == 5
    club = await services.models.store.club_movies.all()
    assert [c.title for c in club] == [f"New Film {k} (2023)" for k in range(5)]
    assert CLUB_MOVIE_IDS in services.models.model.items  # solved from Alice's rating
    assert services.queries.resolve("New Film 3 (2023)").movie is not None
    assert await services.clubs.adds_left(ALICE) == 0


async def test_progress_is_reported_for_ten_thousand_rows(services: Services):
    rows = [(f"Filler Film {k % 30}", 1990 + k % 30, 3.0 + (k % 2) / 2) for k in range(10_000)]
    seen: list[tuple[int, int]] = []

    async def progress(done: int, total: int) -> None:
        seen.append((done, total))

    plan = await services.history.plan(ALICE, read_history("r.csv", lb_ratings(rows)), progress)
    assert seen[0] == (500, 10_000) and seen[-1] == (10_000, 10_000) and len(seen) == 20
    assert len(plan.final_ratings()) == 30


async def test_export_round_trips_through_forget_and_import(services: Services):
    file = read_history(
        "imdb.csv",
        imdb_ratings(
            [
                ("tt0133093", "The Matrix", 1999, 9, "movie"),
                ("tt0137523", "Fight Club", 1999, 3, "movie"),
            ]
        ),
    )
    await services.history.commit(await services.history.plan(ALICE, file))
    await services.ratings.rate(ALICE, TOY_STORY, 3.5, "slash")
    store = services.models.store
    await store.lists.add(ALICE, "watchlist", SHAWSHANK)
    await store.lists.add(ALICE, "seen", INCEPTION)
    await store.lists.add(ALICE, "not_interested", 100)
    before = {r.movie_id: r.stars for r in await store.ratings.user_ratings(ALICE)}
    files = dict(await services.history.export(ALICE))
    assert sorted(files) == ["not-interested.csv", "ratings.csv", "watchlist.csv"]
    table = list(csv.reader(io.StringIO(files["ratings.csv"].decode())))
    assert table[0] == ["Title", "Year", "tmdbID", "imdbID", "Rating10", "WatchedDate"]
    assert ["The Matrix", "1999", "603", "tt0133093", "9", ""] in table
    assert ["Toy Story", "1995", "862", "tt0114709", "7", ""] in table
    assert ["Inception", "2010", "", "tt1375666", "", ""] in table  # seen, not rated
    await services.ratings.forget(ALICE)
    for name, data in files.items():
        plan = await services.history.plan(ALICE, read_history(name, data))
        assert not plan.unsure and not plan.unknown
        await services.history.commit(plan)
    assert {r.movie_id: r.stars for r in await store.ratings.user_ratings(ALICE)} == before
    assert await store.lists.movies(ALICE, "watchlist") == {SHAWSHANK}
    assert await store.lists.movies(ALICE, "seen") == {INCEPTION}
    assert await store.lists.movies(ALICE, "not_interested") == {100}


async def test_import_format_matches_by_tmdb_id(services: Services):
    data = import_format([("Whatever", 1999, "550", "", 8, "")])
    plan = await services.history.plan(BOB, read_history("x.csv", data))
    assert plan.final_ratings() == {FIGHT_CLUB: 4.0}
