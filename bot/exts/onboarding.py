"""/onboard: rate movies one card at a time until the bot knows your taste."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.exts.ratings import per_user
from bot.rating_card import CardButton, RateMoreButton, rate_more_view, start_cards

__all__ = ["Onboarding", "RateMoreButton", "rate_more_view"]


class Onboarding(commands.Cog):
    """Guided rating for new (and curious) members."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @app_commands.command(name="onboard")
    @app_commands.checks.cooldown(3, 10.0, key=per_user)
    async def onboard(self, interaction: discord.Interaction) -> None:
        """Rate movies one at a time so the bot learns your taste (10 gets you picks)."""
        await start_cards(interaction, "o", resume=True)


async def setup(bot: commands.Bot) -> None:
    """Extension entry point; registers the restart-proof buttons."""
    bot.add_dynamic_items(CardButton, RateMoreButton)
    await bot.add_cog(Onboarding(bot))
