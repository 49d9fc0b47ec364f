"""Club movies: a film the dataset lacks is added once, rated by anyone, recommended like any
other, and managed by server managers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot.store.schema import CLUB_MOVIE_IDS
from tests.bot.conftest import ADMIN, GUILD, Harness, modern_harness

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def harness(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Harness]:
    async with modern_harness(tmp_path_factory.mktemp("club")) as h:
        yield h


async def add_and_rate(harness: Harness, user: int, typed: str, stars: float) -> str:
    """/rate a title the catalog lacks, press the add button; returns the final reply text."""
    ask = await harness.run("rate", user, movie=typed, stars=stars)
    assert "Add it to the club's movies" in ask.content, ask.content
    label = next(b.label for b in ask.buttons if b.label.startswith("Add “"))
    done = await (await harness.click(ask, label, user)).final()
    assert done is not None
    return done.content


async def test_a_missing_film_is_added_rated_and_then_found_by_everyone(harness: Harness):
    ann, ben, cat = (harness.new_member(n) for n in ("ann", "ben", "cat"))
    missing = await harness.run("rate", ann, movie="oppenheimer", stars=5.0)
    assert "type it with its year" in missing.content and not missing.buttons
    assert await add_and_rate(harness, ann, "oppenheimer 2023", 5.0) == (
        "Rated **Oppenheimer (2023)**: ★★★★★ 5\nYou have rated 1 movie."
    )
    for member, stars in ((ben, 4.5), (cat, 4.0)):
        reply = await harness.run("rate", member, movie="oppenheimer", stars=stars)
        assert reply.content.startswith("Rated **Oppenheimer (2023)**")  # found, no question
    club = next(iter(harness.bot.services.models.club_movies))
    assert club >= CLUB_MOVIE_IDS
    assert club in harness.bot.services.models.model.items  # folded in as an item at once
    page = await harness.run("movie", ann, movie="oppenheimer")
    fields = {f["name"]: f["value"] for f in page.embeds[0]["fields"]}
    assert fields["Average"] == "4.50★ from 3 ratings"
    assert "themoviedb.org/search/movie?query=Oppenheimer" in fields["Links"]
    similar = await harness.run("similar", ben, movie="oppenheimer", count=5)
    assert similar.embeds[0]["title"] == "More like Oppenheimer (2023)"
    assert similar.embeds[0]["description"] != "No similar movies found."
    assert await harness.bot.services.models.refit()  # the next fit keeps it as an item
    assert club in harness.bot.services.models.model.items
    choices = await harness.emu.autocomplete(
        "rate", {"movie": "oppen"}, "movie", user_id=ann, guild_id=GUILD
    )
    assert [c["name"] for c in choices][:1] == ["Oppenheimer (2023)"]


async def test_two_members_adding_the_same_film_get_one_movie(harness: Harness):
    first, second = harness.new_member(), harness.new_member()
    ask = await harness.run("rate", second, movie="Aftersun 2022", stars=4.0)  # asked first
    assert await add_and_rate(harness, first, "Aftersun 2022", 5.0) == (
        "Rated **Aftersun (2022)**: ★★★★★ 5\nYou have rated 1 movie."
    )
    label = next(b.label for b in ask.buttons if b.label.startswith("Add “"))
    late = await (await harness.click(ask, label, second)).final()
    assert late is not None and late.content.startswith("Rated **Aftersun (2022)**")
    titles = [c.title for c in await harness.store.club_movies.all()]
    assert titles.count("Aftersun (2022)") == 1


async def test_adding_is_rate_limited_per_member(harness: Harness):
    user = harness.new_member()
    for name in ("Saltburn", "Nope", "Nomadland", "Minari", "Tenet"):
        assert (await add_and_rate(harness, user, f"{name} 2021", 3.0)).startswith("Rated")
    ask = await harness.run("rate", user, movie="Petite Maman 2021", stars=3.0)
    label = next(b.label for b in ask.buttons if b.label.startswith("Add “"))
    refused = await (await harness.click(ask, label, user)).final()
    assert refused is not None and "You can add 5 movies a day" in refused.content


async def test_managers_rename_merge_and_remove_club_movies(harness: Harness):
    user = harness.new_member()
    await add_and_rate(harness, user, "Barbie 2023", 4.0)
    not_admin = await harness.emu.slash(
        "clubmovie rename",
        {"movie": "barbie", "title": "Barbie (2023)"},
        user_id=user,
        guild_id=GUILD,
        check_permissions=False,
    )
    assert "Manage Server" in (await not_admin.final()).content
    renamed = await harness.run("clubmovie rename", ADMIN, movie="barbie", title="Barbie!! (2023)")
    assert renamed.content == "Renamed **Barbie (2023)** to **Barbie!! (2023)**."
    dataset = await harness.run("clubmovie remove", ADMIN, movie="m:2571")
    assert "comes with the dataset" in dataset.content
    merged = await harness.run("clubmovie merge", ADMIN, movie="barbie", into="m:2959")
    assert merged.content.endswith("1 rating moved.")
    assert await harness.store.ratings.get_rating(user, 2959) == 4.0
    await add_and_rate(harness, user, "Tar 2022", 2.0)
    removed = await harness.run("clubmovie remove", ADMIN, movie="tar")
    assert removed.content.endswith("and 1 rating of it.")
    assert not any("Tar" in t for t in harness.bot.services.models.catalog.titles)
    assert await harness.store.ratings.count_user_ratings(user) == 1  # only the merged one


async def test_forgetting_the_adder_keeps_the_movie_but_not_who_added_it(harness: Harness):
    user = harness.new_member()
    await add_and_rate(harness, user, "Past Lives 2023", 4.5)
    await harness.bot.services.ratings.forget(user)
    club = await harness.store.club_movies.all()
    past = next(c for c in club if c.title == "Past Lives (2023)")
    assert past.added_by is None


async def test_a_club_movie_can_be_picked_for_a_movie_night_of_those_who_have_not_seen_it(
    harness: Harness,
):
    raters = [harness.new_member(f"fan{k}") for k in range(3)]
    await add_and_rate(harness, raters[0], "Decision to Leave 2022", 5.0)
    for member in raters[1:]:
        await harness.run("rate", member, movie="decision to leave", stars=5.0)
    queries = harness.bot.services.queries
    film = next(
        m
        for m in harness.bot.services.models.club_movies
        if queries.movie(m).display == "Decision to Leave (2022)"
    )
    group = [harness.new_member(), harness.new_member()]
    for member in group:
        for movie in (2571, 2959):
            await harness.bot.services.ratings.rate(member, movie, 4.5)
    picks, _ = await queries.recommend_group(group, 60)
    assert film in [p.movie.movie_id for p in picks]  # eligible although only 3 rated it
    picks, _ = await queries.recommend_group([*group, raters[0]], 60)
    assert film not in [p.movie.movie_id for p in picks]  # never for someone who saw it
