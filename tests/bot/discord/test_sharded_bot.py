"""The movie bot with SHARD_COUNT: one process runs every shard (AutoShardedBot) against the
emulator over real sockets; without it the bot is the plain, unsharded one."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import discord
from discord.ext import commands

from bot.app import emulator_settings, running_bot
from bot.core.services import Services
from bot.discord.client import MovieBot, ShardedMovieBot, create_bot
from bot.emulator import DiscordEmulator
from bot.store import Store
from tests.bot.conftest import e2e_settings

# (id >> 22) % 2: the first club is on shard 0, the second on shard 1.
CLUBS = ((250_000_000_000 << 22) | 1, (250_000_000_001 << 22) | 1)
MEMBER = 3_000_000_000_000_000_077


async def test_without_shard_settings_the_bot_is_the_plain_one(tmp_path: Path) -> None:
    settings = e2e_settings(tmp_path)
    async with Store(settings.store_target) as store:
        bot = create_bot(settings, Services.build(settings, store))
        assert type(bot) is MovieBot and not isinstance(bot, commands.AutoShardedBot)
        assert bot.shard_count is None
        sharded = create_bot(replace(settings, shard_count=2), Services.build(settings, store))
        assert isinstance(sharded, ShardedMovieBot)
        assert isinstance(sharded, commands.AutoShardedBot) and sharded.shard_count == 2


async def test_one_process_serves_every_shard(tmp_path: Path) -> None:
    async with DiscordEmulator(shard_count=2, response_deadline=30) as emu:
        for club in CLUBS:
            emu.add_guild(club, f"Club {club % 10}", owner_id=MEMBER - 1)
            emu.add_member(club, MEMBER, "sam")
        settings = e2e_settings(
            tmp_path,
            api_base=emu.api_base,
            gateway_url=emu.gateway_url,
            dev_guild_id=None,  # two servers: commands are synced globally
            shard_count=2,
        )
        async with running_bot(settings) as bot:
            await emu.wait_until_connected(timeout=120)
            await emu.wait_commands_registered("rate", "recommend", timeout=120)
            assert isinstance(bot, discord.AutoShardedClient) and sorted(bot.shards) == [0, 1]
            assert sorted(emu.gateway.sessions) == [0, 1]
            for shard, club in enumerate(CLUBS):
                rated = await emu.slash(
                    "rate", {"movie": "Fargo", "stars": 4.0 + shard}, user_id=MEMBER, guild_id=club
                )
                message = await rated.final(30)
                assert message is not None and "**Fargo (1996)**" in message.content
                carried = [t for _, t in emu.gateway.sessions[shard].history if str(rated.id) in t]
                assert carried, f"the /rate in club {shard} did not travel on shard {shard}"
            assert await bot.services.queries.rating(MEMBER, 15) == 5.0
        assert emu.violations == []


async def test_the_local_emulator_runs_offline_and_loadtest_unsharded(tmp_path: Path) -> None:
    sharded = replace(e2e_settings(tmp_path), shard_count=4, shard_ids=(2, 3))
    async with DiscordEmulator() as emu:
        local = emulator_settings(sharded, emu, CLUBS[0])
    assert local.shard_count is None and local.shard_ids is None and not local.sharded
