"""A harness whose bot can be restarted: a second bot on the same emulator, settings and DB."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from bot.app import running_bot
from bot.discord.client import MovieBot
from bot.emulator import DiscordEmulator
from tests.bot.conftest import ADMIN, GUILD, MANAGE_GUILD, Harness, e2e_settings


@dataclass
class RestartableHarness(Harness):
    """The usual harness plus `restart()`: close the bot, start a fresh one like a redeploy."""

    running: AbstractAsyncContextManager[MovieBot] | None = None
    restarts: int = 0

    async def start_bot(self) -> None:
        """Start a bot process-alike and wait until it is connected with commands synced."""
        gateway, state = self.emu.gateway, self.emu.state
        identified, synced = gateway.identify_count, state.command_puts
        self.running = running_bot(self.settings)
        self.bot = await self.running.__aenter__()
        await self.emu.wait_until(
            lambda: gateway.identify_count > identified and state.command_puts > synced,
            60,
            "the bot to connect and sync its commands",
        )
        await asyncio.wait_for(self.bot.wait_until_ready(), 30)

    async def stop_bot(self) -> None:
        """Close the running bot (gateway, engine and store)."""
        if self.running is not None:
            running, self.running = self.running, None
            await running.__aexit__(None, None, None)

    async def restart(self) -> MovieBot:
        """Stop the bot and start a new one on the same database; returns the new bot."""
        old = self.bot
        await self.stop_bot()
        assert old.is_closed()
        await self.start_bot()
        assert self.bot is not old
        self.restarts += 1
        return self.bot


@asynccontextmanager
async def restartable_harness(root: Path) -> AsyncIterator[RestartableHarness]:
    """An emulator with the movie club guild and a restartable bot on the fixture dataset."""
    async with DiscordEmulator() as emu:
        emu.add_guild(GUILD, "Movie Club", owner_id=ADMIN)
        emu.add_member(GUILD, ADMIN, "admin", permissions=MANAGE_GUILD)
        settings = e2e_settings(root, api_base=emu.api_base, gateway_url=emu.gateway_url)
        harness = RestartableHarness(emu, None, settings)  # type: ignore[arg-type]
        await harness.start_bot()
        try:
            yield harness
        finally:
            await harness.stop_bot()


def restartable_fixture(name: str):
    """A module-scoped `harness` fixture whose bot can be restarted mid-test."""

    @pytest_asyncio.fixture(loop_scope="module", scope="module", name="harness")
    async def harness(
        tmp_path_factory: pytest.TempPathFactory,
    ) -> AsyncIterator[RestartableHarness]:
        async with restartable_harness(tmp_path_factory.mktemp(name)) as h:
            yield h

    return harness
