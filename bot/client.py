"""The discord.py client: dependencies injected, extensions and command sync in setup_hook."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from pathlib import Path

import discord
from discord.ext import commands

from bot.engine import Engine
from bot.settings import Settings
from bot.store import Store
from bot.tree import MovieTree

log = logging.getLogger(__name__)

EXPIRED = "This menu has expired. Run the command again to get a fresh one."
EXPIRED_AFTER = 2.2

EXTENSIONS = (
    "bot.exts.ratings",
    "bot.exts.discover",
    "bot.exts.admin",
    "bot.exts.onboarding",
    "bot.exts.chat",
    "bot.exts.movienight",
)


def minimal_intents() -> discord.Intents:
    """No privileged intents: slash commands need none; mentions and DMs carry content anyway."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    intents.voice_states = True
    return intents


class MovieBot(commands.Bot):
    """The movie club bot. Engine, store and settings come in; nothing is global."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        store: Store,
        *,
        extensions: tuple[str, ...] = EXTENSIONS,
        start_engine: bool = True,
    ) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=minimal_intents(),
            tree_cls=MovieTree,
            allowed_mentions=discord.AllowedMentions(everyone=False, roles=False, users=True),
        )
        self.settings = settings
        self.engine = engine
        self.store = store
        self._extensions = extensions
        self._start_engine = start_engine

    async def setup_hook(self) -> None:
        """Start the engine, load one extension per feature, register commands."""
        if self._start_engine:
            await self.engine.start()
        for ext in self._extensions:
            await self.load_extension(ext)
        await self.sync_commands()

    async def on_message(self, message: discord.Message) -> None:
        """No prefix commands; the chat extension listens for messages itself."""

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Answer clicks on buttons whose menu expired, instead of letting Discord show an error.

        Live views and restart-proof buttons respond within milliseconds; anything still
        unanswered shortly before the 3-second deadline belongs to no view any more.
        """
        if interaction.type != discord.InteractionType.component or self._has_handler(interaction):
            return
        # a view that stopped itself in this very click also looks unhandled: give it time
        await asyncio.sleep(EXPIRED_AFTER)
        if interaction.response.is_done():
            return
        with contextlib.suppress(discord.HTTPException):
            await interaction.response.send_message(EXPIRED, ephemeral=True)

    def _has_handler(self, interaction: discord.Interaction) -> bool:
        """Whether a live view or a restart-proof dynamic item will answer this click.

        Reads discord.py's view store (pinned to 2.7.x; the end-to-end tests guard it).
        """
        store = getattr(self._connection, "_view_store", None)
        data = interaction.data or {}
        custom_id = str(data.get("custom_id", ""))
        if store is None:
            return False
        if any(p.fullmatch(custom_id) for p in getattr(store, "_dynamic_items", {})):
            return True
        key = (int(data.get("component_type", 0)), custom_id)
        views = getattr(store, "_views", {})
        message_id = interaction.message.id if interaction.message else None
        return key in views.get(message_id, {}) or key in views.get(None, {})

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
        """Stop the engine's background work, then disconnect."""
        await self.engine.close()
        await super().close()
