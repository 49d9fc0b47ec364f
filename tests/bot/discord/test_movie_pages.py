"""Movie pages on today's default dataset: TMDB posters and where to stream when a key is set,
links only without one, and nothing breaks when TMDB misbehaves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
import pytest_asyncio

from bot.discord.render import duration
from bot.emulator.state import CREATE_EVENTS
from tests.bot.conftest import GUILD, Harness, modern_harness
from tests.bot.tmdb import fake_tmdb
from tests.bot.tmdb.fake_tmdb import API_KEY, FakeTmdb

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def tmdb() -> AsyncIterator[FakeTmdb]:
    fake = FakeTmdb()
    await fake.start()
    yield fake
    await fake.close()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def harness(
    tmp_path_factory: pytest.TempPathFactory, tmdb: FakeTmdb
) -> AsyncIterator[Harness]:
    """The bot on an ml-latest-small lookalike, with a TMDB key pointing at the fake server."""
    root = tmp_path_factory.mktemp("pages")
    over = {"tmdb_api_key": API_KEY, "tmdb_api_base": tmdb.base_url, "tmdb_region": "DE"}
    async with modern_harness(root, **over) as h:
        yield h


def on_tmdb(monkeypatch: pytest.MonkeyPatch, tmdb_id: int, title: str, released: str) -> None:
    """Put one more film on the fake TMDB for this test (Drama/History/Thriller, a poster)."""
    movie = fake_tmdb._movie(
        tmdb_id,
        title,
        released,
        imdb_id=None,
        poster_path=f"/poster-{tmdb_id}.jpg",
        runtime=120,
        genres=[(18, "Drama"), (36, "History"), (53, "Thriller")],
        overview=f"The story of {title}.",
    )
    monkeypatch.setitem(fake_tmdb.MOVIES, tmdb_id, movie)


async def test_the_matrix_is_found_and_shows_its_poster_overview_and_trailer(
    harness: Harness, tmdb: FakeTmdb
):
    user = harness.new_member()
    page = await harness.run("movie", user, movie="the matrix")
    (embed,) = page.embeds
    assert embed["title"] == "The Matrix (1999)" and page.ephemeral
    assert embed["thumbnail"]["url"].startswith("https://image.tmdb.org/t/p/")
    assert embed["description"]  # the overview
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Runtime"] == "136 min"
    assert "[Trailer](https://www.youtube.com/watch?v=vKQi3bBA1y8)" in fields["Links"]
    assert tmdb.count("/movie/603") == 1  # the id came from links.csv: no search


async def test_where_to_stream_follows_the_region_with_justwatch_credit(harness: Harness):
    user = harness.new_member()
    page = await harness.run("movie", user, movie="m:2959")
    (embed,) = page.embeds
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Stream it on"].startswith("[Amazon Prime Video, WOW](")  # DE, by priority
    assert "locale=DE" in fields["Stream it on"] and "JustWatch" in embed["footer"]["text"]


async def test_inception_has_no_tmdb_id_in_links_and_is_found_by_imdb_id(
    harness: Harness, tmdb: FakeTmdb
):
    user = harness.new_member()
    page = await harness.run("movie", user, movie="inception")
    assert page.embeds[0]["title"] == "Inception (2010)"
    assert tmdb.count("/find/tt1375666") == 1  # no tmdbId in links.csv: found by IMDb id


async def test_a_tmdb_outage_leaves_links_and_never_an_error(harness: Harness, tmdb: FakeTmdb):
    user = harness.new_member()
    tmdb.fail("unavailable")
    try:
        page = await harness.run("movie", user, movie="m:1", timeout=30)
    finally:
        tmdb.heal()
    (embed,) = page.embeds
    assert embed["title"] == "Toy Story (1995)" and "thumbnail" not in embed
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert "[IMDb](" in fields["Links"] and "went wrong" not in (page.content or "")


async def test_status_and_unknown_titles_say_what_the_catalog_covers(harness: Harness):
    user = harness.new_member()
    status = await harness.run("status", user)
    fields = {f["name"]: f["value"] for f in status.embeds[0]["fields"]}
    assert fields["Catalog"] == "36 movies up to 2019 (ml-latest-small)"
    missing = await harness.run("rate", user, movie="oppenheimer", stars=4.0)
    assert "I know 36 movies up to 2019" in missing.content


async def test_a_club_movie_takes_its_genres_from_tmdb_and_shows_its_poster(
    harness: Harness, tmdb: FakeTmdb, monkeypatch: pytest.MonkeyPatch
):
    on_tmdb(monkeypatch, 872585, "Oppenheimer", "2023-07-19")
    user = harness.new_member()
    ask = await harness.run("rate", user, movie="Oppenheimer 2023", stars=5.0)
    label = next(b.label for b in ask.buttons if b.label.startswith("Add “"))
    done = await (await harness.click(ask, label, user)).final()
    assert done is not None and done.content.startswith("Rated **Oppenheimer (2023)**")
    page = await harness.run("movie", user, movie="oppenheimer")
    (embed,) = page.embeds
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Genres"] == "Drama, Thriller"  # TMDB's History has no MovieLens name
    assert embed["thumbnail"]["url"].endswith("/poster-872585.jpg")
    assert fields["Runtime"] == "120 min"


async def test_a_title_without_its_year_is_offered_with_tmdbs_year(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
):
    on_tmdb(monkeypatch, 666277, "Past Lives", "2023-06-02")
    user = harness.new_member()
    ask = await harness.run("rate", user, movie="past lives", stars=4.5)
    assert "Add it to the club's movies" in ask.content
    assert [b.label for b in ask.buttons][-1] == "Add “Past Lives (2023)” to the club"
    done = await (await harness.click(ask, "Add “Past Lives (2023)” to the club", user)).final()
    assert done is not None and done.content.startswith("Rated **Past Lives (2023)**: ★★★★½")
    page = await harness.run("movie", user, movie="past lives")
    fields = {f["name"]: f["value"] for f in page.embeds[0]["fields"]}
    assert fields["Genres"] == "Drama, Thriller"


async def test_a_lookup_during_an_outage_is_tried_again_once_tmdb_is_back(
    harness: Harness, tmdb: FakeTmdb, monkeypatch: pytest.MonkeyPatch
):
    on_tmdb(monkeypatch, 965150, "Aftersun", "2022-10-21")
    user = harness.new_member()
    tmdb.fail("unavailable", path="/search/movie")  # the club movie is found by search only
    try:
        ask = await harness.run("rate", user, movie="Aftersun 2022", stars=4.0)
        await (await harness.click(ask, "Add “Aftersun (2022)” to the club", user)).final()
        during = await harness.run("movie", user, movie="aftersun", timeout=30)
    finally:
        tmdb.heal()
    assert "thumbnail" not in during.embeds[0]
    after = await harness.run("movie", user, movie="aftersun")
    assert after.embeds[0]["thumbnail"]["url"].endswith("/poster-965150.jpg")


async def test_a_scheduled_movie_night_lasts_the_movies_runtime(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
):
    members = [harness.new_member(f"night{k}") for k in range(2)]
    for k, member in enumerate(members):
        for movie in range(100 + 5 * k, 105 + 5 * k):
            await harness.bot.services.ratings.rate(member, movie, 4.0 + (movie % 2) / 2)
    picker = await harness.run("movienight start", members[0])
    chosen = await harness.emu.select(
        picker, picker.selects[0].custom_id, [members[1]], user_id=members[0]
    )
    (poll,) = await chosen.wait_followups(1, timeout=15)
    catalog = harness.bot.services.models.catalog
    runtimes = {}
    linked = []  # options with a TMDB id; each gets a page with a runtime
    for k, button in enumerate(poll.buttons[:-1]):
        movie = catalog.movie(int(button.custom_id.rsplit(":", 1)[1]))
        tmdb_id = int(catalog.tmdb_ids[catalog.row(movie.movie_id)])
        if tmdb_id <= 0:
            continue
        linked.append(k)
        if tmdb_id not in fake_tmdb.MOVIES:
            page = fake_tmdb._movie(
                tmdb_id,
                movie.display[:-7],
                f"{movie.year}-01-01",
                imdb_id=None,
                poster_path=None,
                runtime=97,
                genres=[(18, "Drama")],
                overview="",
            )
            monkeypatch.setitem(fake_tmdb.MOVIES, tmdb_id, page)
        runtimes[movie.display] = fake_tmdb.MOVIES[tmdb_id]["runtime"]
    ticked = poll.buttons[linked[0]].custom_id  # one vote makes a linked movie the winner
    await (await harness.emu.click(poll, ticked, user_id=members[0])).final(10)
    poll = harness.emu.message(poll.id)
    closing = await harness.emu.click(poll, poll.buttons[-1].custom_id, user_id=members[0])
    (announcement,) = await closing.wait_followups(1)
    role = harness.emu.grant(GUILD, harness.emu.bot_user_id, CREATE_EVENTS)
    try:
        button = announcement.button("Schedule it").custom_id
        opened = await harness.emu.click(announcement, button, user_id=members[0])
        assert (await opened.response()).type == 9
        submitted = await harness.emu.submit_modal(opened, {"when": "in 1d", "where": ""})
        _, public = await submitted.wait_followups(2)
    finally:
        harness.emu.revoke(GUILD, harness.emu.bot_user_id, role.id)
    (event,) = harness.emu.scheduled_events(GUILD)
    title = event["name"].removeprefix("Movie night: ")
    runtime = runtimes[title]
    assert runtime != harness.settings.night_runtime / 60  # not the default length
    start = datetime.fromisoformat(event["scheduled_start_time"])
    assert datetime.fromisoformat(event["scheduled_end_time"]) - start == timedelta(minutes=runtime)
    shown = duration(runtime * 60)
    assert f"\nRuntime: {shown}\n" in event["description"]
    assert public.content.split("\n")[0].endswith(f"· {shown}.")
