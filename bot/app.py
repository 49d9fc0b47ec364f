"""The composition root: settings → store → services → MovieBot, run online or on an emulator.

Following a `/rate`: `discord/cogs/ratings.py` → `core/ratings.py` (commit to
`store/ratings.py`, then `core/model_server.py` folds the member in and counts the change)
→ the refit loop in `core/model_server.py` fits in `core/refit.py`'s worker and swaps.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any, Protocol

import discord

from bot.core.services import Services
from bot.discord.client import MovieBot, create_bot
from bot.discord.endpoints import discord_endpoints
from bot.settings import DISCORD_API_BASE, Settings
from bot.store import Store

log = logging.getLogger(__name__)


class Endpoints(Protocol):
    """Anything that serves a Discord-compatible REST API and gateway (the emulator does)."""

    @property
    def api_base(self) -> str: ...

    @property
    def gateway_url(self) -> str: ...


def emulator_settings(settings: Settings, emu: Endpoints, guild_id: int, **over: Any) -> Settings:
    """Settings that point the bot at a local emulator and sync commands to one guild, over
    one unsharded connection (the emulator's default)."""
    fields: dict[str, Any] = {
        "discord_token": "emulator-token",
        "api_base": emu.api_base,
        "gateway_url": emu.gateway_url,
        "dev_guild_id": guild_id,
        "shard_count": None,
        "shard_ids": None,
        **over,
    }
    return replace(settings, **fields)


def setup_logging(settings: Settings) -> None:
    """discord.py's logging setup at the configured level (the token is never logged)."""
    discord.utils.setup_logging(level=getattr(logging, settings.log_level), root=True)


def _api_base(settings: Settings) -> str | None:
    return None if settings.api_base == DISCORD_API_BASE else settings.api_base


@asynccontextmanager
async def running_bot(
    settings: Settings, *, start_services: bool = True
) -> AsyncIterator[MovieBot]:
    """A logged-in bot connected to the gateway in the background; closed on exit."""
    with discord_endpoints(_api_base(settings), settings.gateway_url):
        store = await Store.open(settings.store_target)
        bot = create_bot(settings, Services.build(settings, store), start_services=start_services)
        try:
            await bot.login(settings.discord_token or "")
            task = bot.loop.create_task(bot.connect(reconnect=True), name="discord-gateway")
            try:
                yield bot
            finally:
                await bot.close()
                if not task.done():
                    task.cancel()
        finally:
            if not bot.is_closed():
                await bot.close()
            await store.close()


async def run_online(settings: Settings) -> None:
    """Connect to Discord (or the endpoints configured) until stopped."""
    if not settings.discord_token:
        raise ValueError("DISCORD_TOKEN is not set")
    log.info("starting with settings %s", settings.describe())
    with discord_endpoints(_api_base(settings), settings.gateway_url):
        async with Store(settings.store_target) as store:
            bot = create_bot(settings, Services.build(settings, store))
            async with bot:
                await bot.start(settings.discord_token)


async def sync_only(settings: Settings) -> None:
    """Log in, register commands (forcing a global sync), and exit."""
    async with running_bot(settings, start_services=False) as bot:
        await bot.wait_until_ready()
        log.info("command sync result: %s", await bot.sync_commands(force=True))
