"""Buttons whose menu is gone get a clear "expired" answer instead of a failed interaction."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.discord.client import EXPIRED
from tests.bot.restartable import RestartableHarness, restartable_fixture

pytestmark = pytest.mark.asyncio(loop_scope="module")


harness = restartable_fixture("expired")


def click_checked(harness: RestartableHarness, user: int) -> asyncio.Task[Any]:
    """The bot's verdict on the next click by `user`: (interaction, answered as expired)."""
    return asyncio.create_task(
        harness.bot.wait_for("click_checked", check=lambda i, _: i.user.id == user, timeout=10)
    )


async def test_clicking_a_menu_from_before_a_restart_says_it_expired(harness: RestartableHarness):
    user = harness.new_member("late-clicker")
    for movie in range(1, 13):
        await harness.bot.services.ratings.rate(user, movie, 4.0)
    page = await harness.run("myratings", user)
    assert page.button("Next ▶")
    await harness.restart()
    verdict = click_checked(harness, user)
    answer = await (await harness.click(page, "Next ▶", user)).response(timeout=5)
    assert answer.ephemeral and answer.content == EXPIRED
    _, expired = await verdict
    assert expired
    assert harness.emu.message(page.id).embeds == page.embeds  # nothing else changed
    assert harness.emu.violations == []


async def test_a_slow_restart_proof_button_is_not_told_it_expired(
    harness: RestartableHarness, monkeypatch: pytest.MonkeyPatch
):
    user = harness.new_member("slow-clicker")
    card = await harness.run("onboard", user)
    ratings = harness.bot.services.ratings
    real_rate, gate = ratings.rate, asyncio.Event()

    async def slow_rate(*args: Any, **kwargs: Any) -> Any:
        await gate.wait()  # held until the expiry check has had its say
        return await real_rate(*args, **kwargs)

    monkeypatch.setattr(ratings, "rate", slow_rate)
    verdict = click_checked(harness, user)
    inter = await harness.click(card, "★★★★", user)
    _, expired = await verdict
    assert not expired
    gate.set()
    answer = await inter.response(timeout=5)
    assert answer.content != EXPIRED
    assert "Rated here: 1/10" in harness.emu.message(card.id).text


async def test_a_slow_live_view_is_not_told_it_expired(
    harness: RestartableHarness, monkeypatch: pytest.MonkeyPatch
):
    user = harness.new_member("slow-forgetter")
    await harness.bot.services.ratings.rate(user, 1, 4.0)
    ask = await harness.run("forgetme", user)
    ratings = harness.bot.services.ratings
    real_forget, gate = ratings.forget, asyncio.Event()

    async def slow_forget(member: int) -> int:
        await gate.wait()
        return await real_forget(member)

    monkeypatch.setattr(ratings, "forget", slow_forget)
    verdict = click_checked(harness, user)
    inter = await harness.click(ask, "Delete everything", user)
    _, expired = await verdict
    assert not expired
    gate.set()
    answer = await inter.response(timeout=5)
    assert answer.content != EXPIRED
    assert harness.emu.message(ask.id).content.startswith("Done.")
