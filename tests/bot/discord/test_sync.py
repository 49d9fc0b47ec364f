"""End-to-end: command registration, /refit and the model swap, the error handler, cooldowns."""

from __future__ import annotations

import re
from dataclasses import replace

import discord
import pytest
from discord import app_commands

from bot.emulator import CommandUnavailable
from tests.bot.conftest import ADMIN, GUILD, MANAGE_GUILD, Harness

pytestmark = pytest.mark.asyncio(loop_scope="module")

ISSUE_4 = {"rate", "unrate", "myratings", "forgetme", "recommend", "similar", "movie", "status"}
OOPS = "Something went wrong on my side"
EASY = re.compile(r"^Easy there! Try again in (\d+) s\.$")


# ------------------------------------------------------------------------ registration
async def test_commands_are_registered_with_descriptions(harness: Harness) -> None:
    """Every issue-4 command is synced to the dev guild, each option described."""
    commands = {c["name"]: c for c in harness.emu.commands(GUILD)}
    assert ISSUE_4 | {"refit"} <= set(commands)
    for name in ISSUE_4 | {"refit"}:
        assert commands[name]["description"]
        assert all(o["description"] for o in commands[name].get("options") or [])
        if name != "refit":
            assert commands[name]["default_member_permissions"] is None
    movie = next(o for o in commands["rate"]["options"] if o["name"] == "movie")
    assert movie["autocomplete"] and movie["max_length"] <= 200


async def test_refit_is_hidden_from_members(harness: Harness) -> None:
    """/refit needs Manage Server by default and only exists in servers."""
    refit = harness.emu.state.find_command("refit", GUILD)
    assert int(refit["default_member_permissions"]) == MANAGE_GUILD
    assert refit["dm_permission"] is False
    with pytest.raises(CommandUnavailable):
        await harness.slash("refit", harness.new_member())


# ------------------------------------------------------------------------------ /refit
async def test_refit_refused_at_run_time_for_members(harness: Harness) -> None:
    """A client that sends /refit anyway is refused, and no refit starts."""
    member = harness.new_member("sneaky")
    model, last = harness.bot.services.models.model, await harness.store.fits.last_fit()
    inter = await harness.emu.slash(
        "refit", {}, user_id=member, guild_id=GUILD, check_permissions=False
    )
    reply = await inter.final()
    assert reply is not None and reply.ephemeral
    assert "Manage Server" in reply.content
    assert not harness.bot.services.models.refitting
    assert harness.bot.services.models.model is model
    assert await harness.store.fits.last_fit() == last


async def test_refit_by_admin_replies_then_reports_the_new_model(harness: Harness) -> None:
    """The admin is answered at once, then told the new model is serving; nobody is lost."""
    rater = harness.new_member()
    await harness.run("rate", rater, movie="m:8", stars=5.0)
    old_generation = harness.bot.services.models.generation
    inter = await harness.slash("refit", ADMIN)
    first = await inter.response()
    assert first.type == 4 and first.ephemeral
    assert first.content.startswith("Refit started")
    assert inter.first_response_ms is not None and inter.first_response_ms < 3000
    assert harness.bot.services.models.refitting

    other_admin = harness.new_member("admin2", permissions=MANAGE_GUILD)
    late = harness.new_member()
    second = await harness.slash("refit", other_admin)
    assert "already running" in (await second.response()).content
    await harness.run("rate", late, movie="m:9", stars=4.0)  # lands during the fit

    (done,) = await inter.wait_followups(1, timeout=60)
    assert done.ephemeral and done.content.startswith("✅ The new model is serving")
    rmse = float(re.search(r"RMSE (\d+\.\d+)", done.content)[1])
    (done2,) = await second.wait_followups(1, timeout=60)
    assert done2.content.startswith("✅")
    models = harness.bot.services.models
    assert models.generation > old_generation and not models.refitting
    assert models.model.has_user(-rater) and models.model.has_user(-late)
    last = await harness.store.fits.last_fit()
    assert last is not None and last.status == "ok" and last.rmse == pytest.approx(rmse, abs=1e-3)

    again = await (await harness.slash("refit", ADMIN)).final()
    assert again is not None and EASY.match(again.content) and again.ephemeral
    assert not models.refitting


# ------------------------------------------------------------------------------ errors
async def test_internal_error_becomes_a_friendly_private_message(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A service failure in a command or a button is answered kindly; nothing leaks or stays."""
    user = harness.new_member()

    async def broken_rate(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database exploded: secret internals")

    monkeypatch.setattr(harness.bot.services.ratings, "rate", broken_rate)
    reply = await (await harness.slash("rate", user, movie="m:3", stars=4.0)).final()
    assert reply is not None and reply.ephemeral and OOPS in reply.content
    assert "secret" not in reply.content

    ask = await harness.run("rate", user, movie="hamlet", stars=4.0)
    click = await harness.click(ask, "Hamlet (1948)", user)
    failed = await click.final()
    assert failed is not None and failed.ephemeral and OOPS in failed.content
    assert await harness.store.ratings.count_user_ratings(user) == 0

    monkeypatch.undo()
    ok = await harness.run("rate", user, movie="m:3", stars=4.0)
    assert ok.content.startswith("Rated **Seven (Se7en) (1995)**")


# --------------------------------------------------------------------------- cooldowns
async def test_spamming_a_command_hits_its_cooldown(harness: Harness) -> None:
    """/status allows 3 runs per 10 s per user; the 4th says "Easy there"; others unaffected."""
    spammer, other = harness.new_member(), harness.new_member()
    for _ in range(3):
        ok = await harness.run("status", spammer)
        assert ok.embeds and ok.embeds[0]["title"] == "Movie club status"
    blocked = await harness.run("status", spammer)
    found = EASY.match(blocked.content)
    assert found and 1 <= int(found[1]) <= 10 and blocked.ephemeral and not blocked.embeds
    assert (await harness.run("status", other)).embeds


async def test_rate_cooldown_blocks_writes(harness: Harness) -> None:
    """/rate allows 10 per 10 s; the 11th is refused and not stored."""
    user = harness.new_member()
    for movie_id in range(21, 31):
        await harness.run("rate", user, movie=f"m:{movie_id}", stars=3.0)
    blocked = await harness.run("rate", user, movie="m:31", stars=3.0)
    assert EASY.match(blocked.content)
    assert await harness.store.ratings.count_user_ratings(user) == 10
    assert await harness.store.ratings.get_rating(user, 31) is None


async def test_global_sync_only_when_definitions_change(harness: Harness) -> None:
    """Without DEV_GUILD_ID: sync once, skip while unchanged, resync on change or force."""
    bot, state = harness.bot, harness.emu.state
    guild_settings = bot.settings
    bot.settings = replace(guild_settings, dev_guild_id=None)
    probe = app_commands.Command(name="probe", description="A probe.", callback=_probe)
    try:
        assert await bot.sync_commands() == "global"
        puts = state.command_puts
        assert {c["name"] for c in harness.emu.commands()} >= ISSUE_4
        assert await bot.sync_commands() == "unchanged"
        assert state.command_puts == puts  # no request at all
        bot.tree.add_command(probe)
        assert await bot.sync_commands() == "global"
        assert "probe" in {c["name"] for c in harness.emu.commands()}
        bot.tree.remove_command("probe")
        assert await bot.sync_commands(force=True) == "global"
        assert state.command_puts == puts + 2
    finally:
        bot.tree.remove_command("probe")
        bot.settings = guild_settings


async def _probe(interaction: discord.Interaction) -> None:
    """A throwaway command body."""
