"""A first end-to-end pass: /rate through autocomplete, then /recommend reflects it."""

from __future__ import annotations

import pytest

from tests.bot.conftest import GUILD, Harness

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_rate_via_autocomplete_then_recommend(harness: Harness):
    user = harness.new_member("alice")
    choices = await harness.emu.autocomplete(
        "rate", {"movie": "se7en"}, "movie", user_id=user, guild_id=GUILD
    )
    assert choices and choices[0]["name"] == "Seven (Se7en) (1995)"
    reply = await harness.run("rate", user, movie=choices[0]["value"], stars=4.5)
    assert reply.ephemeral
    assert "Seven (Se7en) (1995)" in reply.content and "4.5" in reply.content
    assert await harness.store.ratings.get_rating(user, 3) == 4.5
    picks = await harness.run("recommend", user)
    assert picks.ephemeral and "Picks for" in picks.text
    assert "**Seven (Se7en) (1995)**" not in picks.embeds[0]["description"]
    assert harness.emu.violations == []


async def test_recommend_offers_rate_more_which_opens_a_private_card(harness: Harness):
    user = harness.new_member("browser")
    picks = await harness.run("recommend", user)
    card = await (await harness.click(picks, "Rate more movies", user)).final()
    assert card is not None and card.ephemeral and card.id != picks.id
    assert [b.label for b in card.buttons][:5] == ["★", "★★", "★★★", "★★★★", "★★★★★"]
    rated = await (await harness.click(card, "★★★★", user)).final()
    assert rated is not None and "Rated here: 1/10" in rated.text
    assert await harness.store.ratings.count_user_ratings(user) == 1
