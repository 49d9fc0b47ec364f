"""Buttons whose menu is gone get a clear "expired" answer instead of a failed interaction."""

from __future__ import annotations

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
