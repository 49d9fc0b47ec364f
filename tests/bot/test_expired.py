"""Buttons whose menu is gone get a clear "expired" answer instead of a failed interaction."""

from __future__ import annotations

import asyncio

import pytest

from bot.client import EXPIRED
from tests.bot.restartable import RestartableHarness, restartable_fixture

pytestmark = pytest.mark.asyncio(loop_scope="module")


harness = restartable_fixture("expired")


async def test_clicking_a_menu_from_before_a_restart_says_it_expired(harness: RestartableHarness):
    user = harness.new_member("late-clicker")
    for movie in range(1, 13):
        await harness.bot.engine.rate(user, movie, 4.0)
    page = await harness.run("myratings", user)
    assert page.button("Next ▶")
    await harness.restart()
    answer = await (await harness.click(page, "Next ▶", user)).response(timeout=5)
    assert answer.ephemeral and answer.content == EXPIRED
    assert harness.emu.message(page.id).embeds == page.embeds  # nothing else changed
    assert harness.emu.violations == []


async def test_a_slow_live_handler_is_not_told_it_expired(harness: RestartableHarness):
    user = harness.new_member("slow-clicker")
    card = await harness.run("onboard", user)
    engine = harness.bot.engine
    real_rate = engine.rate

    async def slow_rate(*args: object, **kwargs: object) -> object:
        await asyncio.sleep(2.4)  # slower than the expired fallback's 2.2 s wait
        return await real_rate(*args, **kwargs)

    engine.rate = slow_rate
    try:
        inter = await harness.click(card, "★★★★", user)
        answer = await inter.response(timeout=5)
    finally:
        engine.rate = real_rate
    assert answer.content != EXPIRED
    assert "Rated here: 1/10" in harness.emu.message(card.id).text
