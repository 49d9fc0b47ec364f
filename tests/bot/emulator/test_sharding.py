"""The emulator's gateway over several shards, against real discord.py AutoShardedBots over
real sockets: one IDENTIFY per shard, guild events on their guild's shard, DMs on shard 0."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import aiohttp
import discord
import pytest
from discord.ext import commands

from bot.discord.endpoints import discord_endpoints
from bot.emulator import DiscordEmulator
from bot.emulator.gateway import shard_of

# Snowflakes whose (id >> 22) % 2 puts them on shard 0 and shard 1.
GUILD_0 = (250_000_000_000 << 22) | 1
GUILD_1 = (250_000_000_001 << 22) | 1
OWNER, ALICE, BOB = 7, 42, 43


class ShardBot(commands.AutoShardedBot):
    """A tiny sharded bot: `/where` answers with the shard that carried the interaction."""

    def __init__(self, shard_count: int | None = None, shard_ids: Sequence[int] | None = None):
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents.default(),
            guild_ready_timeout=0,
            help_command=None,
            shard_count=shard_count,
            shard_ids=list(shard_ids) if shard_ids is not None else None,
        )
        self.dms: list[str] = []

        @self.tree.command(name="where", description="which shard am I on")
        async def where(interaction: discord.Interaction) -> None:
            shard = interaction.guild.shard_id if interaction.guild else 0
            await interaction.response.send_message(f"shard {shard}")

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """No 5 s pause between shards: the emulator has no IDENTIFY rate limit."""

    async def on_message(self, message: discord.Message) -> None:
        if message.guild is None and not message.author.bot:
            self.dms.append(message.content)


def populate(emu: DiscordEmulator) -> None:
    """A guild on each of shards 0 and 1, alice in both; bob only DMs."""
    for guild in (GUILD_0, GUILD_1):
        emu.add_guild(guild, f"Club {guild % 1000}", owner_id=OWNER)
        emu.add_member(guild, ALICE, "alice")
    emu.add_user(BOB, "bob")


@asynccontextmanager
async def logged_in(*bots: ShardBot) -> AsyncIterator[None]:
    """The bots connected (every shard READY) until the block ends."""
    tasks = []
    try:
        for bot in bots:
            await bot.login("test-token")
            tasks.append(asyncio.create_task(bot.connect(reconnect=False)))
        for bot in bots:
            await asyncio.wait_for(bot.wait_until_ready(), 30)
        yield
    finally:
        for bot in bots:
            await bot.close()
        for task in tasks:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 5)


@pytest.fixture
async def emu() -> AsyncIterator[DiscordEmulator]:
    """A two-shard emulator with a guild on each shard; discord.py pointed at it."""
    emulator = await DiscordEmulator(shard_count=2).start()
    populate(emulator)
    with discord_endpoints(emulator.api_base, emulator.gateway_url):
        try:
            yield emulator
        finally:
            await emulator.close()


def test_guilds_are_routed_by_discords_formula():
    assert shard_of(GUILD_0, 2) == 0 and shard_of(GUILD_1, 2) == 1
    assert shard_of(41771983423143937, 4) == (41771983423143937 >> 22) % 4
    assert shard_of(GUILD_1, 1) == 0


async def test_gateway_bot_reports_the_shard_count(emu: DiscordEmulator) -> None:
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": "Bot test-token"}
        async with http.get(f"{emu.api_base}/gateway/bot", headers=headers) as answer:
            body = await answer.json()
    assert body["shards"] == 2 and body["url"] == emu.gateway_url


async def test_one_process_runs_every_shard_it_is_told_to(emu: DiscordEmulator) -> None:
    bot = ShardBot()  # no count given: asks GET /gateway/bot, like on Discord
    async with logged_in(bot):
        await emu.wait_until_connected(timeout=30)
        assert bot.shard_count == 2 and sorted(bot.shards) == [0, 1]
        assert emu.gateway.identify_count == 2 and sorted(emu.gateway.sessions) == [0, 1]
        assert bot.get_guild(GUILD_0).shard_id == 0 and bot.get_guild(GUILD_1).shard_id == 1
        for shard, guild in ((0, GUILD_0), (1, GUILD_1)):
            ready = json.loads(emu.gateway.sessions[shard].history[0][1])["d"]
            assert ready["shard"] == [shard, 2] and [g["id"] for g in ready["guilds"]] == [
                str(guild)
            ]
        for shard, guild in ((0, GUILD_0), (1, GUILD_1)):
            bot.tree.copy_global_to(guild=discord.Object(guild))
            await bot.tree.sync(guild=discord.Object(guild))
            inter = await emu.slash("where", user_id=ALICE, guild_id=guild)
            assert (await inter.response(10)).content == f"shard {shard}"
            carried = [t for _, t in emu.gateway.sessions[shard].history if str(inter.id) in t]
            assert carried and all(
                str(inter.id) not in t for _, t in emu.gateway.sessions[1 - shard].history
            )
        await emu.send_dm(BOB, "hello")
        await emu.wait_until(lambda: bot.dms == ["hello"], 10, "the DM on shard 0")
        assert any("hello" in t for _, t in emu.gateway.sessions[0].history)
    assert emu.violations == [] and emu.unknown_routes == []


async def test_two_processes_each_get_only_their_shards_guilds(emu: DiscordEmulator) -> None:
    first, second = ShardBot(2, [0]), ShardBot(2, [1])
    async with logged_in(first, second):
        await emu.wait_until_connected(timeout=30)
        assert [g.id for g in first.guilds] == [GUILD_0]
        assert [g.id for g in second.guilds] == [GUILD_1]
        for bot, guild in ((first, GUILD_0), (second, GUILD_1)):
            bot.tree.copy_global_to(guild=discord.Object(guild))
            await bot.tree.sync(guild=discord.Object(guild))
        answer = await (await emu.slash("where", user_id=ALICE, guild_id=GUILD_1)).response(10)
        assert answer.content == "shard 1"
        films = emu.add_channel(GUILD_0, "films")
        await emu.wait_until(
            lambda: first.get_channel(films.id), 10, "the new channel on shard 0's process"
        )
        assert second.get_channel(films.id) is None and second.get_guild(GUILD_0) is None
        emu.add_guild(GUILD_1 + (2 << 22), "Third club", owner_id=OWNER)  # shard 1 again
        await emu.wait_until(
            lambda: second.get_guild(GUILD_1 + (2 << 22)), 10, "the new guild on shard 1"
        )
        assert first.get_guild(GUILD_1 + (2 << 22)) is None
    assert emu.violations == [] and emu.unknown_routes == []


@pytest.mark.parametrize(
    ("shard", "code"),
    [(None, 4011), ([0, 3], 4010), ([2, 2], 4010)],
)
async def test_identify_outside_the_shard_count_is_refused(
    emu: DiscordEmulator, shard: list[int] | None, code: int
) -> None:
    identify = {"token": "test-token", "intents": 1, "properties": {}}
    if shard is not None:
        identify["shard"] = shard
    async with aiohttp.ClientSession() as http, http.ws_connect(emu.gateway_url) as ws:
        hello = await ws.receive_json(timeout=5)
        assert hello["op"] == 10
        await ws.send_json({"op": 2, "d": identify})
        closed = await ws.receive(timeout=5)
        assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert ws.close_code == code
    assert emu.gateway.sessions == {}
