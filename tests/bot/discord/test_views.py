"""End-to-end: the buttons of /myratings, /forgetme and "did you mean" questions."""

from __future__ import annotations

import pytest

from bot.emulator import Message
from tests.bot.conftest import Harness

pytestmark = pytest.mark.asyncio(loop_scope="module")

NOT_YOURS = "belong to someone else"


def page_lines(message: Message) -> list[str]:
    """The rating lines of a /myratings page."""
    return message.embeds[0]["description"].splitlines()


def labels(message: Message) -> dict[str, bool]:
    """Button label -> enabled."""
    return {b.label or "": not b.disabled for b in message.buttons}


async def rated_user(harness: Harness, count: int) -> tuple[int, list[str]]:
    """A member with `count` ratings (rated via the ratings service); titles newest first."""
    user = harness.new_member()
    titles = []
    for movie_id in range(1, count + 1):
        result = await harness.bot.services.ratings.rate(
            user, movie_id, 1.0 + movie_id % 5, "slash"
        )
        titles.append(result.movie.display)
    return user, titles[::-1]


# -------------------------------------------------------------------------- /myratings
async def test_myratings_pages_with_next_and_prev(harness: Harness) -> None:
    """12 ratings make two pages, newest first; Next and Prev edit the same message."""
    user, newest_first = await rated_user(harness, 12)
    first = await harness.run("myratings", user)
    assert first.ephemeral and first.embeds[0]["footer"]["text"] == "12 ratings"
    assert [line.split(" · ", 1)[1] for line in page_lines(first)] == newest_first[:10]
    assert labels(first) == {"◀ Prev": False, "1/2": False, "Next ▶": True}
    with pytest.raises(ValueError, match="disabled"):
        await harness.click(first, "◀ Prev", user)

    nxt = await harness.click(first, "Next ▶", user)
    assert (await nxt.response()).type == 7  # UPDATE_MESSAGE: the page is edited in place
    second = harness.emu.message(first.id)
    assert [line.split(" · ", 1)[1] for line in page_lines(second)] == newest_first[10:]
    assert labels(second) == {"◀ Prev": True, "2/2": False, "Next ▶": False}
    assert page_lines(second)[0].startswith("★★★ 3")  # movie 2 was rated 3 stars

    await (await harness.click(second, "◀ Prev", user)).response()
    back = harness.emu.message(first.id)
    assert page_lines(back) == page_lines(first) and labels(back) == labels(first)


async def test_myratings_buttons_belong_to_the_invoker(harness: Harness) -> None:
    """Another member pressing Next gets a private refusal and the page does not move."""
    user, _ = await rated_user(harness, 11)
    page = await harness.run("myratings", user)
    intruder = harness.new_member("mallory")
    refusal = await (await harness.click(page, "Next ▶", intruder)).response()
    assert refusal.type == 4 and refusal.ephemeral and NOT_YOURS in refusal.content
    after = harness.emu.message(page.id)
    assert page_lines(after) == page_lines(page) and "1/2" in labels(after)
    moved = await (await harness.click(page, "Next ▶", user)).response()
    assert moved.type == 7 and "2/2" in labels(harness.emu.message(page.id))


async def test_myratings_page_option_and_empty_list(harness: Harness) -> None:
    """page=2 starts on page two, a too-large page shows the last; no ratings is explained."""
    user, newest_first = await rated_user(harness, 11)
    second = await harness.run("myratings", user, page=2)
    assert [line.split(" · ", 1)[1] for line in page_lines(second)] == newest_first[10:]
    assert "2/2" in labels(second)
    beyond = await harness.run("myratings", user, page=50)
    assert page_lines(beyond) == page_lines(second)
    empty = await harness.run("myratings", harness.new_member())
    assert empty.ephemeral and "haven't rated anything yet" in empty.content
    assert not empty.embeds and not empty.buttons


# --------------------------------------------------------------------------- /forgetme
async def test_forgetme_cancel_changes_nothing(harness: Harness) -> None:
    """Cancel keeps every rating and the user's place in the model."""
    user, _ = await rated_user(harness, 3)
    ask = await harness.run("forgetme", user)
    assert ask.ephemeral and "all 3 of your ratings" in ask.content
    assert set(labels(ask)) == {"Delete everything", "Cancel"}
    cancelled = await (await harness.click(ask, "Cancel", user)).final()
    assert cancelled is not None and "Nothing was changed" in cancelled.content
    assert not cancelled.buttons
    assert await harness.store.ratings.count_user_ratings(user) == 3
    assert harness.bot.services.models.model.has_user(-user)


async def test_forgetme_confirm_deletes_everything(harness: Harness) -> None:
    """Confirming deletes the ratings and the model's row; /recommend is cold again."""
    user, _ = await rated_user(harness, 4)
    bystander, _ = await rated_user(harness, 2)
    ask = await harness.run("forgetme", user)
    intruder = await (await harness.click(ask, "Delete everything", bystander)).response()
    assert NOT_YOURS in intruder.content and intruder.ephemeral
    assert await harness.store.ratings.count_user_ratings(user) == 4
    done = await (await harness.click(ask, "Delete everything", user)).final()
    assert done is not None and done.content.startswith("Done.") and not done.buttons
    assert "(4 records)" in done.content
    assert await harness.store.ratings.count_user_ratings(user) == 0
    assert not harness.bot.services.models.model.has_user(-user)
    assert await harness.store.ratings.count_user_ratings(bystander) == 2
    picks = await harness.run("recommend", user)
    assert picks.embeds[0]["title"].startswith("Popular")


# ---------------------------------------------------------------------- did you mean
async def test_did_you_mean_for_unrate_movie_and_similar(harness: Harness) -> None:
    """Ambiguous text in /unrate, /movie and /similar asks; the clicked title is used."""
    user = harness.new_member()
    await harness.bot.services.ratings.rate(user, 10, 4.0, "slash")
    ask = await harness.run("unrate", user, movie="hamlet")
    assert {"Hamlet (1996)", "Hamlet (1948)"} <= set(labels(ask))
    removed = await (await harness.click(ask, "Hamlet (1996)", user)).final()
    assert removed is not None and removed.content == "Removed your rating of **Hamlet (1996)**."
    assert await harness.store.ratings.get_rating(user, 10) is None

    ask = await harness.run("movie", user, movie="hamlet")
    shown = await (await harness.click(ask, "Hamlet (1948)", user)).final()
    assert shown is not None and shown.embeds[0]["title"] == "Hamlet (1948)"

    ask = await harness.run("similar", user, movie="hamlet", count=3)
    similar = await (await harness.click(ask, "Hamlet (1996)", user)).final()
    assert similar is not None and similar.embeds[0]["title"] == "More like Hamlet (1996)"
    assert len(similar.embeds[0]["description"].splitlines()) == 3


async def test_did_you_mean_question_closes_after_a_pick(harness: Harness) -> None:
    """Once a title is picked, the question loses its buttons: no button is left dead."""
    user = harness.new_member()
    ask = await harness.run("movie", user, movie="hamlet")
    await (await harness.click(ask, "Hamlet (1996)", user)).final()
    closed = await harness.emu.wait_until(
        lambda: not harness.emu.message(ask.id).buttons and harness.emu.message(ask.id)
    )
    assert "You picked **Hamlet (1996)**" in closed.content
    with pytest.raises(LookupError):
        await harness.click(ask, "Hamlet (1948)", user)


async def test_did_you_mean_buttons_belong_to_the_invoker(harness: Harness) -> None:
    """Someone else pressing a "did you mean" button is refused and nothing is rated."""
    user, intruder = harness.new_member(), harness.new_member()
    ask = await harness.run("rate", user, movie="hamlet", stars=4.0)
    refusal = await (await harness.click(ask, "Hamlet (1948)", intruder)).response()
    assert refusal.ephemeral and NOT_YOURS in refusal.content
    assert await harness.store.ratings.count_user_ratings(intruder) == 0
    assert await harness.store.ratings.count_user_ratings(user) == 0
    done = await (await harness.click(ask, "Hamlet (1948)", user)).final()
    assert done is not None and await harness.store.ratings.get_rating(user, 11) == 4.0
