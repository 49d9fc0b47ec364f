"""The discord.py client: services injected, components and extensions in setup_hook."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import discord
from discord.ext import commands

from bot.core.services import Services
from bot.discord.cards import CardButton, RateMoreButton
from bot.discord.claims import is_claimed
from bot.discord.errors import MovieTree
from bot.discord.lists import DYNAMIC_LIST_ITEMS
from bot.discord.night_timers import NightTimers
from bot.discord.nights import ScheduleButton, StarButton
from bot.discord.polls import CloseButton, VoteButton
from bot.settings import Settings

log = logging.getLogger(__name__)

EXPIRED = "This menu has expired. Run the command again to get a fresh one."

EXTENSIONS = (
    "bot.discord.cogs.ratings",
    "bot.discord.cogs.discover",
    "bot.discord.cogs.admin",
    "bot.discord.cogs.onboarding",
    "bot.discord.cogs.chat",
    "bot.discord.cogs.movienight",
    "bot.discord.cogs.history",
    "bot.discord.cogs.lists",
    "bot.discord.cogs.taste",
)
# Buttons that survive restarts: all their state is in the custom id (and the store).
DYNAMIC_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (
    CardButton,
    RateMoreButton,
    VoteButton,
    CloseButton,
    *DYNAMIC_LIST_ITEMS,
    ScheduleButton,
    StarButton,
)


def minimal_intents() -> discord.Intents:
    """No privileged intents: slash commands need none; mentions and DMs carry content anyway.
    Scheduled-event intents tell the bot when a movie night's event changes."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    intents.voice_states = True
    intents.guild_scheduled_events = True
    return intents


class MovieBot(commands.Bot):
    """The movie club bot. Settings and services come in; nothing is global."""

    def __init__(
        self,
        settings: Settings,
        services: Services,
        *,
        extensions: tuple[str, ...] = EXTENSIONS,
        start_services: bool = True,
    ) -> None:
        shards = (
            {
                "shard_count": settings.shard_count,
                "shard_ids": list(settings.shard_ids) if settings.shard_ids else None,
            }
            if settings.sharded
            else {}
        )
        super().__init__(
            **shards,
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=minimal_intents(),
            tree_cls=MovieTree,
            allowed_mentions=discord.AllowedMentions(everyone=False, roles=False, users=True),
        )
        self.settings = settings
        self.services = services
        self._extensions = extensions
        self._start_services = start_services
        self.timers = NightTimers(self)

    async def setup_hook(self) -> None:
        """Start the services, register restart-proof buttons and one extension per feature,
        and arm the movie-night timers from the store."""
        if self._start_services:
            await self.services.start()
        self.add_dynamic_items(*DYNAMIC_ITEMS)
        for ext in self._extensions:
            await self.load_extension(ext)
        await self.sync_commands()
        if self._start_services:
            self.timers.start()

    async def on_message(self, message: discord.Message) -> None:
        """No prefix commands; the chat extension listens for messages itself."""

    async def on_interaction(self, interaction: discord.Interaction[MovieBot]) -> None:
        """Answer clicks that no live view or restart-proof button took ("expired").

        A click's handlers run first and claim it (see `bot.discord.claims`); a stale or
        forged button, or a menu that is gone, is answered here at once.
        """
        if interaction.type != discord.InteractionType.component:
            return
        handled = is_claimed(interaction)
        if not handled and not interaction.response.is_done():
            with contextlib.suppress(discord.HTTPException):
                await interaction.response.send_message(EXPIRED, ephemeral=True)
        self.dispatch("click_checked", interaction, not handled)

    def commands_digest(self) -> str:
        """A hash of the command definitions, to skip needless global syncs."""
        payload = [c.to_dict(self.tree) for c in self.tree.get_commands()]
        blob = json.dumps(sorted(payload, key=lambda c: c["name"]), sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()

    @property
    def _digest_file(self) -> Path:
        return self.settings.data_dir / "commands.sha256"

    async def sync_commands(self, force: bool = False) -> str:
        """Sync to DEV_GUILD_ID at once, else globally only when definitions changed."""
        if self.settings.dev_guild_id:
            guild = discord.Object(id=self.settings.dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("synced %d commands to guild %s", len(synced), guild.id)
            return "guild"
        digest = self.commands_digest()
        stored = self._digest_file.read_text().strip() if self._digest_file.is_file() else ""
        if not force and stored == digest:
            log.info("command definitions unchanged; skipping global sync")
            return "unchanged"
        synced = await self.tree.sync()
        self._digest_file.parent.mkdir(parents=True, exist_ok=True)
        self._digest_file.write_text(digest)
        log.info("synced %d commands globally", len(synced))
        return "global"

    async def close(self) -> None:
        """Stop the timers and the services' background work, then disconnect."""
        await self.timers.stop()
        await self.services.close()
        await super().close()


class ShardedMovieBot(MovieBot, commands.AutoShardedBot):
    """The same bot over several gateway connections (SHARD_COUNT, and SHARD_IDS for a
    process that owns only some of them)."""


def create_bot(settings: Settings, services: Services, **options: Any) -> MovieBot:
    """A plain MovieBot unless the settings ask for shards."""
    kind = ShardedMovieBot if settings.sharded else MovieBot
    return kind(settings, services, **options)
