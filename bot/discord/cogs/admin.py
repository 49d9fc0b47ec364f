"""Operations: /status for everyone, /refit for server managers."""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.checks import per_user
from bot.discord.client import MovieBot
from bot.discord.interaction import Interaction
from bot.discord.render import status_embed

log = logging.getLogger(__name__)


class Admin(commands.Cog):
    """Model health and maintenance."""

    def __init__(self, bot: MovieBot) -> None:
        self.bot = bot
        self.models = bot.services.models
        self.queries = bot.services.queries

    @app_commands.command(name="status")
    @app_commands.checks.cooldown(3, 10.0, key=per_user)
    async def status(self, interaction: Interaction) -> None:
        """Model age, rating counts, last fit and next refit."""
        status = await self.queries.status()
        await interaction.response.send_message(embed=status_embed(status), ephemeral=True)

    @app_commands.command(name="refit")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.checks.has_permissions(manage_guild=True)
    @app_commands.checks.cooldown(1, 30.0, key=per_user)
    async def refit(self, interaction: Interaction) -> None:
        """Refit the recommendation model now (server managers only)."""
        already = self.models.refitting
        task = self.models.refit()
        text = (
            "A refit is already running; I'll tell you when the new model is serving."
            if already
            else "Refit started. I'll tell you here when the new model is serving."
        )
        await interaction.response.send_message(text, ephemeral=True)
        log.info("refit requested by user %s", interaction.user.id)
        ok = await task
        status = await self.queries.status()
        if ok:
            rmse = f" (held-out RMSE {status.last_fit_rmse:.3f})" if status.last_fit_rmse else ""
            done = f"✅ The new model is serving{rmse}."
        else:
            done = "⚠️ The refit failed; the previous model keeps serving. It will retry later."
        try:
            await interaction.followup.send(done, ephemeral=True)
        except discord.HTTPException:  # e.g. past Discord's 15-minute follow-up window
            log.info("could not report the refit result to user %s", interaction.user.id)


async def setup(bot: MovieBot) -> None:
    """Extension entry point."""
    await bot.add_cog(Admin(bot))
