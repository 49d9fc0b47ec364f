"""Assemble settings, store, engine and client, and run them (online or against an emulator)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

import discord

from bot.client import MovieBot
from bot.endpoints import configure_endpoints
from bot.engine import Engine
from bot.settings import DISCORD_API_BASE, Settings
from bot.store import Store

log = logging.getLogger(__name__)


def emulator_settings(settings: Settings, emu: object, guild_id: int, **over: object) -> Settings:
    """Settings that point the bot at a local emulator and sync commands to one guild."""
    fields: dict[str, object] = {
        "discord_token": "emulator-token",
        "api_base": emu.api_base,  # type: ignore[attr-defined]
        "gateway_url": emu.gateway_url,  # type: ignore[attr-defined]
        "dev_guild_id": guild_id,
        **over,
    }
    return replace(settings, **fields)  # type: ignore[arg-type]


def setup_logging(settings: Settings) -> None:
    """discord.py's logging setup at the configured level (the token is never logged)."""
    discord.utils.setup_logging(level=getattr(logging, settings.log_level), root=True)


@asynccontextmanager
async def running_bot(settings: Settings, **bot_options: object) -> AsyncIterator[MovieBot]:
    """A logged-in bot connected to the gateway in the background; closed on exit."""
    api = None if settings.api_base == DISCORD_API_BASE else settings.api_base
    configure_endpoints(api, settings.gateway_url)
    store = await Store.open(settings.database_path)
    engine = Engine(settings, store)
    bot = MovieBot(settings, engine, store, **bot_options)  # type: ignore[arg-type]
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
    api = None if settings.api_base == DISCORD_API_BASE else settings.api_base
    configure_endpoints(api, settings.gateway_url)
    log.info("starting with settings %s", settings.describe())
    async with await Store.open(settings.database_path) as store:
        engine = Engine(settings, store)
        async with MovieBot(settings, engine, store) as bot:
            await bot.start(settings.discord_token)


async def sync_only(settings: Settings) -> None:
    """Log in, register commands (forcing a global sync), and exit."""
    async with running_bot(settings, start_engine=False) as bot:
        await bot.wait_until_ready()
        log.info("command sync result: %s", await bot.sync_commands(force=True))
