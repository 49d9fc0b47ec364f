"""Buttons whose menu is gone get a clear "expired" answer instead of a failed interaction."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.discord.client import EXPIRED
from bot.emulator import Message
from tests.bot.restartable import RestartableHarness, restartable_fixture

pytestmark = pytest.mark.asyncio(loop_scope="module")


harness = restartable_fixture("expired")


def hold(monkeypatch: pytest.MonkeyPatch, target: object, name: str) -> asyncio.Event:
    """Make `target.name` wait for the returned event before doing its real work."""
    real, gate = getattr(target, name), asyncio.Event()

    async def held(*args: Any, **kwargs: Any) -> Any:
        await gate.wait()
        return await real(*args, **kwargs)

    monkeypatch.setattr(target, name, held)
    return gate


def click_checked(harness: RestartableHarness, user: int) -> asyncio.Task[Any]:
    """The bot's verdict on the next click by `user`: (interaction, answered as expired)."""
    return asyncio.create_task(
        harness.bot.wait_for("click_checked", check=lambda i, _: i.user.id == user, timeout=10)
    )


async def slow_click(
    harness: RestartableHarness,
    monkeypatch: pytest.MonkeyPatch,
    message: Message,
    label: str,
    user: int,
    slow: str,
) -> None:
    """Click while the ratings service's `slow` method is held until the expiry check has
    given its verdict: the click must be claimed, and answered by its handler once released."""
    gate = hold(monkeypatch, harness.bot.services.ratings, slow)
    verdict = click_checked(harness, user)
    inter = await harness.click(message, label, user)
    _, expired = await verdict
    assert not expired
    gate.set()
    assert (await inter.response(timeout=5)).content != EXPIRED


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
    await slow_click(harness, monkeypatch, card, "★★★★", user, "rate")
    assert "Rated here: 1/10" in harness.emu.message(card.id).text


async def test_a_slow_live_view_is_not_told_it_expired(
    harness: RestartableHarness, monkeypatch: pytest.MonkeyPatch
):
    user = harness.new_member("slow-forgetter")
    await harness.bot.services.ratings.rate(user, 1, 4.0)
    ask = await harness.run("forgetme", user)
    await slow_click(harness, monkeypatch, ask, "Delete everything", user, "forget")
    assert harness.emu.message(ask.id).content.startswith("Done.")


async def test_a_stale_second_click_on_a_card_is_answered_and_counted_once(
    harness: RestartableHarness,
):
    user = harness.new_member("double-clicker")
    card = await harness.run("onboard", user)
    first = await harness.click(card, "★★★★", user)
    await first.response(timeout=5)
    stars = card.button("★★★★").custom_id  # still on our old copy of the card, gone from it now
    stale = await harness.emu.click_as_seen(card, stars, user_id=user)
    answer = await stale.response(timeout=5)
    assert answer.ephemeral and answer.content == EXPIRED
    assert await harness.store.ratings.count_user_ratings(user) == 1


@pytest.mark.parametrize(
    "forged",
    ["rc:o:{user}:99999:5", "rc:s1:{user}:2:k", "poll:424242:vote:1", "poll:1:close", "rate-more"],
)
async def test_forged_button_ids_are_answered(harness: RestartableHarness, forged: str):
    user = harness.new_member("forger")
    page = await harness.run("status", user)
    inter = await harness.emu.forge_click(page.id, forged.format(user=user), user_id=user)
    answer = await inter.response(timeout=5)
    assert answer.ephemeral and answer.content == EXPIRED
    assert await harness.store.ratings.count_user_ratings(user) == 0
