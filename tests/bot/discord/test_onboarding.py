"""/onboard end to end: one card at a time, ratings stored at once, progress survives restarts."""

from __future__ import annotations

import pytest

from bot.discord.cards import ONBOARDING_GOAL
from bot.discord.text import NOT_YOURS
from bot.emulator import Interaction, Message
from tests.bot.conftest import store_of
from tests.bot.restartable import RestartableHarness, restartable_fixture

pytestmark = pytest.mark.asyncio(loop_scope="module")

STARS = ["★", "★★", "★★★", "★★★★", "★★★★★"]
CONTROLS = ["+½", "Haven't seen it", "Done"]


harness = restartable_fixture("onboard")


def card_movie(card: Message) -> int:
    """The movie a card asks about (from its buttons' custom ids)."""
    ids = {b.custom_id.split(":")[3] for b in card.buttons if b.custom_id}
    assert len(ids) == 1, ids
    return int(ids.pop())


async def press(h: RestartableHarness, card: Message, action: str, user: int) -> Interaction:
    """Click the card button with this action (`3`, `3h`, `t0`, `k`, `d`) as `user`."""
    current = h.emu.message(card.id)
    for button in current.buttons:
        if button.custom_id and button.custom_id.split(":")[-1] == action:
            return await h.emu.click(current, button.custom_id, user_id=user)
    raise KeyError(f"no {action!r} button on {current!r}")


async def answer(h: RestartableHarness, card: Message, action: str, user: int) -> Message:
    """Click and return the card as it looks afterwards."""
    message = await (await press(h, card, action, user)).final()
    assert message is not None
    return message


def footer(card: Message) -> str:
    """The card's progress line."""
    return card.embeds[0]["footer"]["text"]


async def test_card_shows_one_movie_with_controls(harness: RestartableHarness):
    user = harness.new_member("first")
    card = await harness.run("onboard", user)
    assert card.ephemeral and len(card.embeds) == 1
    assert [b.label for b in card.buttons] == STARS + CONTROLS
    movie = harness.bot.services.queries.movie(card_movie(card))
    assert card.embeds[0]["title"] == movie.title
    assert footer(card) == f"Rated here: 0/{ONBOARDING_GOAL}"
    assert all(b.custom_id.startswith(f"rc:o:{user}:{movie.movie_id}:") for b in card.buttons)


async def test_each_click_stores_the_rating_at_once(harness: RestartableHarness):
    user = harness.new_member("instant")
    store, services = harness.store, harness.bot.services
    card = await harness.run("onboard", user)
    first = card_movie(card)
    assert not services.models.model.has_user(-user)
    card = await answer(harness, card, "4", user)
    assert await store.ratings.get_rating(user, first) == 4.0
    assert (await store.ratings.user_ratings(user))[0].source == "onboarding"
    assert services.models.model.has_user(-user)
    title = services.queries.movie(first).display
    assert footer(card) == f"Saved {title}: ★★★★ 4 · Rated here: 1/{ONBOARDING_GOAL}"
    second = card_movie(card)
    assert second != first
    card = await answer(harness, card, "1", user)
    assert await store.ratings.get_rating(user, second) == 1.0
    assert await store.ratings.count_user_ratings(user) == 2


async def test_half_star_toggle(harness: RestartableHarness):
    user = harness.new_member("halves")
    store = harness.store
    card = await harness.run("onboard", user)
    movie = card_movie(card)
    toggled = await answer(harness, card, "t0", user)
    assert card_movie(toggled) == movie  # same movie, nothing stored yet
    assert [b.label for b in toggled.buttons][:6] == [
        "★½",
        "★★½",
        "★★★½",
        "★★★★½",
        "★★★★★",
        "+½ on",
    ]
    assert await store.ratings.get_rating(user, movie) is None
    back = await answer(harness, toggled, "t1", user)
    assert [b.label for b in back.buttons] == STARS + CONTROLS
    await answer(harness, back, "t0", user)
    after = await answer(harness, back, "3h", user)  # ★★★ with +½ on
    assert await store.ratings.get_rating(user, movie) == 3.5
    assert "★★★½ 3.5" in footer(after)
    assert [b.label for b in after.buttons] == STARS + CONTROLS  # the next card starts whole
    await answer(harness, after, "t0", user)
    nxt = card_movie(after)
    await answer(harness, after, "5h", user)  # five stars stays five
    assert await store.ratings.get_rating(user, nxt) == 5.0


async def test_other_members_cannot_press_the_card(harness: RestartableHarness):
    owner, other = harness.new_member("owner"), harness.new_member("intruder")
    card = await harness.run("onboard", owner)
    movie = card_movie(card)
    for action in ("5", "t0", "k", "d"):
        reply = await (await press(harness, card, action, other)).final()
        assert reply is not None and reply.ephemeral and reply.content == NOT_YOURS
    assert await harness.store.ratings.get_rating(owner, movie) is None
    assert await harness.store.ratings.get_rating(other, movie) is None
    assert movie not in await harness.store.skips.skipped(owner)
    assert harness.emu.message(card.id).buttons == card.buttons  # untouched
    assert (await harness.bot.services.cards.load(owner, "o"))["rated"] == 0


async def test_ten_ratings_then_first_recommendations(harness: RestartableHarness):
    user, other = harness.new_member("completer"), harness.new_member("peer")
    store = harness.store
    # a movie rated elsewhere is never asked about
    peek = await harness.run("onboard", other)
    already = card_movie(peek)
    await harness.run("rate", user, movie=f"m:{already}", stars=2.0)
    card = await harness.run("onboard", user)
    shown: list[int] = []
    skipped: set[int] = set()
    plan = ["k", "5", "4", "k", "3", "2", "1", "k", "4", "5", "3", "2", "4"]
    for step, action in enumerate(plan):
        movie = card_movie(card)
        assert movie not in shown and movie != already
        shown.append(movie)
        if action == "k":
            skipped.add(movie)
        card = await answer(harness, card, action, user)
        if step < len(plan) - 1:
            rated = sum(1 for a in plan[: step + 1] if a != "k")
            assert footer(card).endswith(f"Rated here: {rated}/{ONBOARDING_GOAL}")
    assert await store.skips.skipped(user) == skipped
    assert await store.ratings.count_user_ratings(user) == ONBOARDING_GOAL + 1
    assert f"That's {ONBOARDING_GOAL} ratings" in card.content
    (embed,) = card.embeds
    assert embed["title"] == "Your first recommendations"
    assert embed["description"].count("\n`") + 1 == 5
    rated_ids = {r.movie_id for r in await store.ratings.user_ratings(user)}
    assert rated_ids == (set(shown) - skipped) | {already}
    rated_titles = {harness.bot.services.queries.movie(m).display for m in rated_ids}
    assert not any(f"**{t}**" in embed["description"] for t in rated_titles)
    assert await store.sessions.load_session(user) is None
    assert [b.label for b in card.buttons] == ["Rate more movies"]
    # "Rate more" opens a new private card, leaving the recommendations in place
    more = await (await harness.click(card, "Rate more movies", user)).final()
    assert more is not None and more.ephemeral and more.id != card.id
    assert card_movie(more) not in [*shown, already]
    assert footer(more) == f"Rated here: 0/{ONBOARDING_GOAL}"
    assert harness.emu.message(card.id).embeds == card.embeds


async def test_done_ends_the_session(harness: RestartableHarness):
    user = harness.new_member("quitter")
    store = harness.store
    card = await harness.run("onboard", user)
    card = await answer(harness, card, "4", user)
    card = await answer(harness, card, "2", user)
    assert await store.sessions.load_session(user) is not None
    done = await answer(harness, card, "d", user)
    assert done.content == "Thanks! You rated 2 movies. Try `/recommend` for your picks."
    assert done.embeds == [] and done.buttons == []
    assert await store.sessions.load_session(user) is None
    assert await store.ratings.count_user_ratings(user) == 2  # the ratings stay
    again = await harness.run("onboard", user)
    assert footer(again) == f"Rated here: 0/{ONBOARDING_GOAL}"


async def test_onboard_again_resumes(harness: RestartableHarness):
    user = harness.new_member("resumer")
    card = await harness.run("onboard", user)
    for action in ("3", "k", "4", "5"):
        card = await answer(harness, card, action, user)
    again = await harness.run("onboard", user)
    assert again.id != card.id
    assert footer(again) == f"Welcome back: 3 rated so far · Rated here: 3/{ONBOARDING_GOAL}"
    await answer(harness, again, "2", user)
    assert (await harness.bot.services.cards.load(user, "o"))["rated"] == 4


async def test_similar_cards_do_not_reset_onboarding(harness: RestartableHarness):
    user = harness.new_member("explorer")
    card = await harness.run("onboard", user)
    card = await answer(harness, card, "4", user)
    card = await answer(harness, card, "3", user)
    rated = await harness.run("rate", user, movie="m:6", stars=4.5)
    similar = await (await harness.click(rated, "Rate similar movies", user)).final()
    assert similar is not None and similar.buttons[0].custom_id.startswith(f"rc:s6:{user}:")
    similar = await answer(harness, similar, "5", user)
    assert footer(similar).endswith("Rated here: 1")
    card = await answer(harness, card, "2", user)
    assert footer(card).endswith(f"Rated here: 3/{ONBOARDING_GOAL}")


async def test_session_survives_a_restart(harness: RestartableHarness):
    user, other = harness.new_member("survivor"), harness.new_member("bystander")
    card = await harness.run("onboard", user)
    shown = [card_movie(card)]
    for action in ("4", "k", "2"):
        card = await answer(harness, card, action, user)
        shown.append(card_movie(card))
    await answer(harness, card, "t0", user)  # half stars on, then the bot goes away
    before = footer(card)
    assert before.endswith(f"Rated here: 2/{ONBOARDING_GOAL}")
    old_bot = harness.bot

    new_bot = await harness.restart()

    assert new_bot is not old_bot and old_bot.is_closed()
    denied = await (await press(harness, card, "3h", other)).final()
    assert denied is not None and denied.ephemeral and denied.content == NOT_YOURS
    movie = shown[-1]
    after = await answer(harness, card, "3h", user)  # a button on the pre-restart message
    assert after.id == card.id
    assert await store_of(new_bot).ratings.get_rating(user, movie) == 3.5
    assert new_bot.services.models.model.has_user(-user)
    title = new_bot.services.queries.movie(movie).display
    assert footer(after) == f"Saved {title}: ★★★½ 3.5 · Rated here: 3/{ONBOARDING_GOAL}"
    assert card_movie(after) not in shown
    for action in ("5", "4", "3", "2", "1", "4"):
        after = await answer(harness, after, action, user)
    assert footer(after).endswith(f"Rated here: 9/{ONBOARDING_GOAL}")
    last = await answer(harness, after, "5", user)
    assert f"That's {ONBOARDING_GOAL} ratings" in last.content
    assert await store_of(new_bot).ratings.count_user_ratings(user) == ONBOARDING_GOAL
