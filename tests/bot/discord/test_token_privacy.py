"""The bot token never reaches the log, even at DEBUG level, through a whole session."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.app import emulator_settings, running_bot
from bot.emulator import DiscordEmulator
from tests.bot.conftest import GUILD, e2e_settings

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.SECRET.token-that-must-never-be-logged"


async def test_token_is_never_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG)
    async with DiscordEmulator() as emu:
        emu.add_guild(GUILD, "Movie Club")
        emu.add_member(GUILD, 42, "alice")
        settings = emulator_settings(e2e_settings(tmp_path), emu, GUILD, discord_token=TOKEN)
        assert TOKEN not in repr(settings) and TOKEN not in str(settings.describe())
        async with running_bot(settings):
            await emu.wait_until_connected(timeout=60)
            await emu.wait_commands_registered(guild_id=GUILD, timeout=60)
            inter = await emu.slash(
                "rate", {"movie": "se7en", "stars": 4}, user_id=42, guild_id=GUILD
            )
            assert "Seven (Se7en)" in (await inter.final(timeout=10)).content
    assert "logging in using static token" in caplog.text  # the log really was captured
    assert TOKEN not in caplog.text
    assert "SECRET" not in caplog.text
