"""End to end: watchlists, "seen it" and "not interested" from /movie, picks, /similar and chat;
/watchlist and /myratings show them and undo them; /recommend from:watchlist."""

from __future__ import annotations

import pytest

from bot.emulator import Interaction, Message
from tests.bot.conftest import Harness

pytestmark = pytest.mark.asyncio(loop_scope="module")

ALIEN, HEAT = 6, 16


async def answered(inter: Interaction) -> Message:
    message = await inter.final(10)
    assert message is not None
    return message


async def select(harness: Harness, message: Message, custom_id: str, movie: int, user: int):
    inter = await harness.emu.select(message, custom_id, [str(movie)], user_id=user)
    return await answered(inter)


def pick_ids(message: Message) -> list[int]:
    """The movie ids of a picks message, from its watchlist menu."""
    menu = next(s for s in message.selects if s.custom_id == "pk:w")
    return [int(value) for _, value in menu.options]


async def rate_a_few(harness: Harness, user: int) -> None:
    for movie, stars in ((1, 5.0), (8, 4.0), (15, 4.5), (20, 2.0)):
        await harness.run("rate", user, movie=f"m:{movie}", stars=stars)


async def test_movie_page_watchlist_button_adds_shows_and_undoes(harness: Harness):
    user = harness.new_member("wl")
    page = await harness.run("movie", user, movie="m:6")
    assert [b.label for b in page.buttons] == ["Watchlist +", "Seen it", "Not interested"]
    added = await answered(await harness.click(page, "Watchlist +", user))
    assert added.ephemeral
    assert added.content.startswith("Added **Alien (1979)** to your watchlist.")
    assert [b.label for b in added.buttons] == ["Undo"]
    assert await harness.store.lists.movies(user, "watchlist") == {ALIEN}
    again = await harness.run("movie", user, movie="m:6")
    assert again.buttons[0].label == "On your watchlist ✓"
    fields = {f["name"]: f["value"] for f in again.embeds[0]["fields"]}
    assert fields["Your lists"] == "watchlist"
    undone = await answered(await harness.click(added, "Undo", user))
    assert undone.id == added.id and undone.content == "Took **Alien (1979)** off your watchlist."
    assert await harness.store.lists.movies(user, "watchlist") == set()


async def test_picks_not_interested_hides_the_movie_and_myratings_undoes_it(harness: Harness):
    user = harness.new_member("ni")
    await rate_a_few(harness, user)
    picks = await harness.run("recommend", user, count=5)
    assert [s.placeholder for s in picks.selects] == [
        "📋 Add to my watchlist…",
        "👁 Seen it…",
        "🙅 Not interested…",
    ]
    top = pick_ids(picks)[0]
    reply = await select(harness, picks, "pk:n", top, user)
    assert "I won't suggest" in reply.content and reply.ephemeral
    after = await harness.run("recommend", user, count=5)
    assert top not in pick_ids(after)

    listing = await harness.run("myratings", user, show="not_interested")
    assert listing.embeds[0]["title"] == "Your not interested movies"
    assert harness.bot.services.queries.movie(top).display in listing.embeds[0]["description"]
    (menu,) = listing.selects
    undone = await select(harness, listing, menu.custom_id, top, user)
    assert undone.content.startswith("Took **") and "Nothing here" not in undone.content
    assert undone.embeds[0]["description"].startswith("You have no not interested movies")
    back = await harness.run("recommend", user, count=5)
    assert top in pick_ids(back)


async def test_seen_it_offers_stars_and_a_star_rates_it(harness: Harness):
    user = harness.new_member("seen")
    await rate_a_few(harness, user)
    picks = await harness.run("recommend", user, count=5)
    movie = pick_ids(picks)[1]
    question = await select(harness, picks, "pk:s", movie, user)
    assert "as seen: it won't come up in your picks again" in question.content
    labels = [b.label for b in question.buttons]
    assert labels[:5] == ["★", "★★", "★★★", "★★★★", "★★★★★"]
    assert labels[5:10] == ["½", "★½", "★★½", "★★★½", "★★★★½"] and labels[-1] == "Undo"
    seen = await harness.run("myratings", user, show="seen")
    assert harness.bot.services.queries.movie(movie).display in seen.embeds[0]["description"]
    rated = await answered(await harness.click(question, "★★★★½", user))
    assert rated.content.startswith("Rated **") and "★★★★½ 4.5" in rated.content
    assert await harness.store.ratings.get_rating(user, movie) == 4.5
    assert movie not in pick_ids(await harness.run("recommend", user, count=5))
    seen = await harness.run("myratings", user, show="seen")  # rated now: no longer "seen"
    assert seen.embeds[0]["description"].startswith("You have no seen movies")


async def test_similar_offers_a_watchlist_menu_to_whoever_reads_it(harness: Harness):
    asker, reader = harness.new_member("asker"), harness.new_member("reader")
    similar = await harness.run("similar", asker, movie="m:6", count=5)
    assert not similar.ephemeral
    (menu,) = similar.selects
    assert menu.custom_id == "pk:w" and len(menu.options) == 5
    first = int(menu.options[0][1])
    reply = await select(harness, similar, "pk:w", first, reader)
    assert reply.ephemeral and "to your watchlist" in reply.content
    assert await harness.store.lists.movies(reader, "watchlist") == {first}
    assert await harness.store.lists.movies(asker, "watchlist") == set()


async def test_watchlist_pages_and_removes_and_recommend_from_it(harness: Harness):
    user = harness.new_member("pager")
    empty = await harness.run("recommend", user, **{"from": "watchlist"})
    assert empty.content.startswith("Your watchlist is empty")
    movies = list(range(21, 33))
    for movie in movies:
        await harness.bot.services.lists.add(user, "watchlist", movie)
    page = await harness.run("watchlist", user)
    assert page.ephemeral and page.embeds[0]["title"] == "Your watchlist"
    assert page.embeds[0]["footer"]["text"].startswith("12 movies")
    assert [b.label for b in page.buttons] == ["◀ Prev", "Next ▶"]
    second = await answered(await harness.click(page, "Next ▶", user))
    assert second.embeds[0]["description"].startswith("`11.`")
    (menu,) = second.selects
    gone = int(menu.options[0][1])
    after = await select(harness, second, menu.custom_id, gone, user)
    assert after.content.startswith("Took **") and "off your watchlist" in after.content
    assert gone not in await harness.store.lists.movies(user, "watchlist")

    await rate_a_few(harness, user)
    picks = await harness.run("recommend", user, count=20, **{"from": "watchlist"})
    assert picks.embeds[0]["title"] == "From your watchlist"
    assert set(pick_ids(picks)) == set(movies) - {gone}
    assert "11 on your watchlist" in picks.embeds[0]["footer"]["text"]


async def test_chat_adds_shows_and_removes_watchlist_movies(harness: Harness):
    user = harness.new_member("chatty")
    added = await harness.chat(user, "add alien to my watchlist")
    assert added.content == "Added **Alien (1979)** to your watchlist (1 movie)."
    again = await harness.chat(user, "please put Alien on my watchlist")
    assert again.content == "**Alien (1979)** is already on your watchlist."
    shown = await harness.chat(user, "what's on my watchlist?")
    assert shown.content == "I sent your watchlist to you in a direct message."
    dm = await harness.emu.next_dm(user)
    assert dm.content == "Your watchlist (1 movie):\n• Alien (1979)"
    nope = await harness.chat(user, "not interested in heat")
    assert nope.content == "Got it: I won't suggest **Heat (1995)** to you again."
    assert await harness.store.lists.movies(user, "not_interested") == {HEAT}
    removed = await harness.chat(user, "take alien off my watchlist")
    assert removed.content == "Took **Alien (1979)** off your watchlist."
    assert await harness.store.lists.movies(user, "watchlist") == set()


async def test_list_buttons_work_after_a_restart_from_their_custom_id(harness: Harness):
    user = harness.new_member("restart")
    page = await harness.run("movie", user, movie="m:16")
    inter = await harness.emu.forge_click(page.id, "ls:+n:16", user_id=user)
    reply = await answered(inter)
    assert "I won't suggest **Heat (1995)**" in reply.content
    assert await harness.store.lists.movies(user, "not_interested") == {HEAT}


async def test_forget_me_deletes_lists_too(harness: Harness):
    user = harness.new_member("gone")
    await harness.bot.services.lists.add(user, "watchlist", ALIEN)
    await harness.bot.services.lists.add(user, "not_interested", HEAT)
    question = await harness.run("forgetme", user)
    await answered(await harness.click(question, "Delete everything", user))
    assert await harness.store.lists.counts(user) == {}
