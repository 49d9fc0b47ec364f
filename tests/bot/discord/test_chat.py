"""Talking to the bot end to end: mentions and DMs against the Discord emulator."""

from __future__ import annotations

import re

import pytest

from bot.core.club_movies import AlreadyKnown
from bot.discord.text import NOT_YOURS
from bot.emulator import Message
from tests.bot.conftest import Harness

pytestmark = pytest.mark.asyncio(loop_scope="module")

SE7EN, ALIEN, PULP, SHAWSHANK, HAMLET_96, HAMLET_48, HEAT, CASABLANCA = 3, 6, 8, 9, 10, 11, 16, 17
HELP_HINT = "se7en 4.5"


async def replies(
    h: Harness, sent: Message, count: int = 1, timeout: float = 10.0
) -> list[Message]:
    """The bot's replies to one message (waits for at least `count`), oldest first."""

    def found() -> list[Message] | None:
        hits = [
            m
            for m in h.emu.messages(sent.channel_id)
            if m.author_id == h.emu.bot_user_id and m.reference_id == sent.id
        ]
        return hits if len(hits) >= count else None

    return await h.emu.wait_until(found, timeout, f"{count} bot replies to {sent.id}")


async def say(h: Harness, user: int, text: str) -> Message:
    """Mention the bot in #general; returns its reply to exactly that message."""
    sent = await h.emu.send_message(h.channel, user, text, mention_bot=True)
    return (await replies(h, sent))[0]


async def dm(h: Harness, user: int, text: str) -> Message:
    """DM the bot; returns its reply."""
    sent = await h.emu.send_dm(user, text)
    return (await replies(h, sent))[0]


def titles(message: Message) -> list[str]:
    """Bold movie titles listed in the first embed."""
    return re.findall(r"\*\*(.+?)\*\*", message.embeds[0]["description"])


async def test_rating_in_free_words(harness: Harness):
    user = harness.new_member("freewords")
    store = harness.store
    reply = await say(harness, user, "I'd give the shawshank redemption 5 stars")
    assert "Rated **The Shawshank Redemption (1994)**: ★★★★★ 5" in reply.content
    assert await store.ratings.get_rating(user, SHAWSHANK) == 5.0
    reply = await say(harness, user, "se7en 4.5")
    assert "Seven (Se7en) (1995)" in reply.content and "4.5" in reply.content
    assert await store.ratings.get_rating(user, SE7EN) == 4.5
    reply = await say(harness, user, "alien ★★★")
    assert await store.ratings.get_rating(user, ALIEN) == 3.0
    assert "You've rated 3 movies" in reply.content
    reply = await say(harness, user, "alien 9/10")  # changing a rating says what it was
    assert await store.ratings.get_rating(user, ALIEN) == 4.5
    assert "(was 3)" in reply.content
    assert not reply.ephemeral and not reply.buttons
    assert harness.bot.services.models.model.has_user(-user)


async def test_misspelled_title(harness: Harness):
    user = harness.new_member("typo")
    reply = await say(harness, user, "pulp fictoin 4")
    assert "Rated **Pulp Fiction (1994)**: ★★★★ 4" in reply.content
    assert await harness.store.ratings.get_rating(user, PULP) == 4.0


async def test_ambiguous_title_did_you_mean(harness: Harness):
    user, other = harness.new_member("hamletfan"), harness.new_member("nosy")
    store = harness.store
    sent = await harness.emu.send_message(harness.channel, user, "hamlet 4", mention_bot=True)
    (ask,) = await replies(harness, sent)
    assert "Which movie did you mean by “hamlet”?" in ask.content
    assert [b.label for b in ask.buttons] == ["Hamlet (1996)", "Hamlet (1948)"]
    assert await store.ratings.get_rating(user, HAMLET_96) is None
    # somebody else cannot pick for the author
    denied = await harness.click(ask, "Hamlet (1948)", other)
    answer = await denied.final()
    assert answer is not None and answer.ephemeral and answer.content == NOT_YOURS
    assert await store.ratings.get_rating(other, HAMLET_48) is None
    assert await store.ratings.get_rating(user, HAMLET_48) is None
    # the author picks; the question is resolved and the rating stored
    picked = await harness.click(ask, "Hamlet (1948)", user)
    edited = await picked.final()
    assert edited is not None and edited.content == "**Hamlet (1948)** it is."
    assert edited.buttons == []
    _, done = await replies(harness, sent, 2)
    assert "Rated **Hamlet (1948)**: ★★★★ 4" in done.content
    assert await store.ratings.get_rating(user, HAMLET_48) == 4.0
    assert await store.ratings.get_rating(user, HAMLET_96) is None


async def test_missing_stars_star_buttons(harness: Harness):
    user, other = harness.new_member("heatfan"), harness.new_member("heatnosy")
    store = harness.store
    ask = await say(harness, user, "heat")
    assert ask.content == "How many stars for **Heat (1995)**?"
    assert [b.label for b in ask.buttons] == ["★", "★★", "★★★", "★★★★", "★★★★★"]
    (menu,) = ask.selects
    assert [v for _, v in menu.options] == [str(k / 2) for k in range(1, 11)]
    denied = await (await harness.click(ask, "★", other)).final()
    assert denied is not None and denied.ephemeral and denied.content == NOT_YOURS
    assert await store.ratings.get_rating(user, HEAT) is None
    done = await (await harness.click(ask, "★★★★", user)).final()
    assert done is not None and done.content.startswith("Rated **Heat (1995)**: ★★★★ 4")
    assert done.buttons == [] and done.selects == []
    assert await store.ratings.get_rating(user, HEAT) == 4.0
    assert await store.ratings.get_rating(other, HEAT) is None


async def test_missing_stars_half_star_menu(harness: Harness):
    user = harness.new_member("halfstar")
    ask = await say(harness, user, "casablanca")
    assert "Casablanca (1942)" in ask.content
    inter = await harness.emu.select(ask, ask.selects[0].custom_id, ["3.5"], user_id=user)
    done = await inter.final()
    assert done is not None and "Rated **Casablanca (1942)**: ★★★½ 3.5" in done.content
    assert await harness.store.ratings.get_rating(user, CASABLANCA) == 3.5


async def test_toy_story_2_rates_toy_story(harness: Harness):
    user = harness.new_member("toys")
    reply = await say(harness, user, "toy story 2")
    assert "Rated **Toy Story (1995)**: ★★ 2" in reply.content
    assert await harness.store.ratings.get_rating(user, 1) == 2.0


async def test_recommend_matches_slash_recommend(harness: Harness):
    user = harness.new_member("picky")
    for text in ("se7en 5", "alien 4.5", "babe 1", "casablanca 2"):
        await say(harness, user, text)
    pointer = await say(harness, user, "recommend me something")
    assert pointer.content == "I sent your picks to you in a direct message."
    chat = await harness.emu.next_dm(user)  # personal picks never go to the channel
    slash = await harness.run("recommend", user, count=5)
    assert chat.embeds[0]["title"] == "Picks for picky" == slash.embeds[0]["title"]
    assert len(titles(chat)) == 5
    assert titles(chat) == titles(slash)
    assert chat.embeds[0]["description"] == slash.embeds[0]["description"]
    rated = {"Seven (Se7en) (1995)", "Alien (1979)", "Babe (1995)", "Casablanca (1942)"}
    assert not rated & set(titles(chat))


async def test_similar_matches_slash_similar(harness: Harness):
    user = harness.new_member("alike")
    chat = await say(harness, user, "something like alien")
    slash = await harness.run("similar", user, movie=f"m:{ALIEN}", count=8)
    assert chat.embeds[0]["title"] == "More like Alien (1979)" == slash.embeds[0]["title"]
    assert len(titles(chat)) == 8
    assert titles(chat) == titles(slash)
    assert "Alien (1979)" not in titles(chat)


async def test_what_did_i_rate_in_guild_goes_to_dm(harness: Harness):
    user = harness.new_member("private")
    await say(harness, user, "jaws 4")
    await say(harness, user, "fargo 2.5")
    reply = await say(harness, user, "what did I rate")
    assert reply.content == "I sent your ratings to you in a direct message."
    assert "Jaws" not in reply.text and "Fargo" not in reply.text
    private = await harness.emu.next_dm(user)
    assert private.content.startswith("Your latest ratings (2 in all):")
    assert "★★★★ 4 · Jaws (1975)" in private.content
    assert "★★½ 2.5 · Fargo (1996)" in private.content


async def test_what_did_i_rate_in_dm_answers_directly(harness: Harness):
    user = harness.new_member("dmrater")
    await dm(harness, user, "babe 3")
    reply = await dm(harness, user, "what did I rate?")
    assert reply.channel_id == harness.emu.dm_channel_id(user)
    assert reply.content.startswith("Your latest ratings (1 in all):")
    assert "Babe (1995)" in reply.content


async def test_what_did_i_rate_with_nothing_rated(harness: Harness):
    reply = await say(harness, harness.new_member("blank"), "what did I rate")
    assert "haven't rated anything yet" in reply.content


async def test_dm_rating_works(harness: Harness):
    user = harness.new_member("dmuser")
    reply = await dm(harness, user, "se7en 4.5")
    assert "Rated **Seven (Se7en) (1995)**: ★★★★½ 4.5" in reply.content
    assert await harness.store.ratings.get_rating(user, SE7EN) == 4.5
    ask = await dm(harness, user, "hamlet 2")
    assert [b.label for b in ask.buttons] == ["Hamlet (1996)", "Hamlet (1948)"]


async def test_guild_message_without_mention_is_ignored(harness: Harness):
    user = harness.new_member("quiet")
    silent = await harness.emu.send_message(harness.channel, user, "se7en 4", mention_bot=False)
    loud = await harness.emu.send_message(harness.channel, user, "hi", mention_bot=True)
    await replies(harness, loud)  # processed after the unmentioned message
    bot_replies = [
        m
        for m in harness.emu.messages(harness.channel)
        if m.author_id == harness.emu.bot_user_id and m.reference_id == silent.id
    ]
    assert bot_replies == []
    assert await harness.store.ratings.get_rating(user, SE7EN) is None


async def club_movie(h: Harness, typed: str) -> int:
    """Add a film the fixture lacks as a club movie (once per module); returns its id."""
    try:
        return (await h.bot.services.clubs.add(typed, h.new_member())).movie_id
    except AlreadyKnown as known:
        return known.movie.movie_id


@pytest.mark.parametrize(
    ("text", "opener"),
    [
        ("thanks", "You're welcome!"),
        ("good morning", "Hi smalltalker!"),
        ("how are you?", "Doing great"),
        ("lol", "😄"),
        ("hi", "Hi smalltalker!"),
        ("", "Hi smalltalker!"),
        ("🍿🎬", "🍿"),
        ("hello there how are you doing today my good friend bot", "Doing great"),
        ("who's coming to movie night?", "I'm not sure what you mean."),
        ("the quick brown fox jumps over the lazy dog twice", "I'm not sure what you mean."),
    ],
)
async def test_small_talk_gets_a_short_friendly_answer(harness: Harness, text: str, opener: str):
    # films named like small talk exist, and still are not what these messages mean
    for film in ("Good Morning (1971)", "To Wong Foo, Thanks for Everything! Julie Newmar (1995)"):
        await club_movie(harness, film)
    await club_movie(harness, "LOL (2012)")
    user = harness.new_member("smalltalker")
    reply = await say(harness, user, text)
    assert reply.content.startswith(opener)
    assert all(f"`{e}`" in reply.content for e in ("se7en 4.5", "something like alien"))
    assert len(reply.content) < 200
    assert not reply.buttons and not reply.selects
    assert "stars for" not in reply.content and "Which movie" not in reply.content
    assert await harness.store.ratings.count_user_ratings(user) == 0


async def test_greeting_with_stars_rates_the_film(harness: Harness):
    good_morning = await club_movie(harness, "Good Morning (1971)")
    user = harness.new_member("earlybird")
    reply = await say(harness, user, "good morning 4")
    assert reply.content.startswith("Rated **Good Morning (1971)**: ★★★★ 4")
    assert await harness.store.ratings.get_rating(user, good_morning) == 4.0


@pytest.mark.parametrize("text", ["help", "what's new?", "what can you do"])
async def test_help_lists_what_chat_understands(harness: Harness, text: str):
    reply = await say(harness, harness.new_member(), text)
    assert reply.content.startswith("I'm the movie club bot.")
    for phrase in ("se7en 4.5", "recommend me something", "unrate alien", "forget me", "/onboard"):
        assert phrase in reply.content
    assert len(reply.content) < 600 and not reply.buttons


async def test_unrate_by_chat(harness: Harness):
    user = harness.new_member("unrater")
    store = harness.store
    await say(harness, user, "alien 4")
    await say(harness, user, "heat 3")
    reply = await say(harness, user, "unrate alien")
    assert reply.content == "Removed your rating of **Alien (1979)**."
    assert await store.ratings.get_rating(user, ALIEN) is None
    assert await store.ratings.get_rating(user, HEAT) == 3.0
    again = await say(harness, user, "remove my rating of alien")
    assert again.content == "You hadn't rated **Alien (1979)**."
    which = await say(harness, user, "unrate")
    assert which.content.startswith("Which rating should I remove?") and not which.buttons
    unknown = await say(harness, user, "unrate oppenheimer (2023)")  # nothing to add here
    assert unknown.content.startswith("I don't know a movie called “oppenheimer (2023)”")
    assert "`what did I rate`" in unknown.content and not unknown.buttons
    # an ambiguous title is asked about first; only the picked film loses its rating
    await harness.bot.services.ratings.rate(user, HAMLET_48, 2.0, "chat")
    await harness.bot.services.ratings.rate(user, HAMLET_96, 5.0, "chat")
    sent = await harness.emu.send_message(
        harness.channel, user, "remove hamlet from my ratings", mention_bot=True
    )
    (ask,) = await replies(harness, sent)
    assert "Which movie did you mean by “hamlet”?" in ask.content
    assert await store.ratings.get_rating(user, HAMLET_48) == 2.0
    await (await harness.click(ask, "Hamlet (1948)", user)).final()
    _, done = await replies(harness, sent, 2)
    assert done.content == "Removed your rating of **Hamlet (1948)**."
    assert await store.ratings.get_rating(user, HAMLET_48) is None
    assert await store.ratings.get_rating(user, HAMLET_96) == 5.0


async def test_forget_me_by_chat_asks_privately_first(harness: Harness):
    user, other = harness.new_member("forgetful"), harness.new_member("bystander")
    store = harness.store
    for text in ("se7en 4", "jaws 3", "babe 5"):
        await say(harness, user, text)
    pointer = await say(harness, user, "forget me")
    assert pointer.content == "I sent you a direct message to confirm."
    assert not pointer.buttons
    ask = await harness.emu.next_dm(user)  # the same question as /forgetme, in private
    slash = await harness.run("forgetme", user)
    assert ask.content == slash.content and "all 3 of your ratings" in ask.content
    assert [b.label for b in ask.buttons] == ["Delete everything", "Cancel"]
    assert await store.ratings.count_user_ratings(user) == 3  # nothing deleted yet
    cancelled = await (await harness.click(ask, "Cancel", user)).final()
    assert cancelled is not None and "Nothing was changed" in cancelled.content
    assert await store.ratings.count_user_ratings(user) == 3
    # in a DM the question comes right back; confirming deletes everything
    ask = await dm(harness, user, "please delete all my data")
    assert ask.content == slash.content
    denied = await (await harness.click(ask, "Delete everything", other)).response()
    assert denied.content == NOT_YOURS
    assert await store.ratings.count_user_ratings(user) == 3
    done = await (await harness.click(ask, "Delete everything", user)).final()
    assert done is not None and done.content.startswith("Done. I deleted everything about you")
    assert done.buttons == []
    assert await store.ratings.count_user_ratings(user) == 0
    assert not harness.bot.services.models.model.has_user(-user)


async def test_out_of_range_stars_say_why_and_ask(harness: Harness):
    user = harness.new_member("generous")
    ask = await say(harness, user, "se7en 6 stars")
    assert ask.content == (
        "Stars go from ½ to 5 (not 6). How many stars for **Seven (Se7en) (1995)**?"
    )
    assert await harness.store.ratings.get_rating(user, SE7EN) is None
    done = await (await harness.click(ask, "★★★★★", user)).final()
    assert done is not None and done.content.startswith("Rated **Seven (Se7en) (1995)**: ★★★★★")
    assert await harness.store.ratings.get_rating(user, SE7EN) == 5.0
    zero = await say(harness, user, "jaws 0 stars")
    assert zero.content.startswith("Stars go from ½ to 5 (not 0).")
    bare = await say(harness, user, "10 stars")
    assert bare.content.startswith("Stars go from ½ to 5 (not 10).") and "se7en 4.5" in bare.content


@pytest.mark.parametrize("text", ["asdkjh qwe zxc", "zzzzqqqq 4", "x" * 1900])
async def test_unknown_titles_get_a_short_hint(harness: Harness, text: str):
    reply = await say(harness, harness.new_member(), text)
    assert HELP_HINT in reply.content
    assert len(reply.content) < 400


async def test_cold_start_picks_offer_rate_more(harness: Harness):
    user, other = harness.new_member("coldstart"), harness.new_member("passerby")
    reply = await say(harness, user, "recommend me something")
    assert reply.embeds[0]["title"] == "Popular, well-loved movies"
    assert [b.label for b in reply.buttons] == ["Rate more movies"]
    for clicker in (user, other):  # anyone may use it; each gets a private card of their own
        card = await (await harness.click(reply, "Rate more movies", clicker)).final()
        assert card is not None and card.ephemeral and card.id != reply.id
        assert card.buttons[0].custom_id.startswith(f"rc:o:{clicker}:")
    assert harness.emu.message(reply.id).embeds == reply.embeds  # the public reply stays
