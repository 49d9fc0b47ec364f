"""/onboard: rate movies one card at a time until the bot knows your taste."""

from __future__ import annotations

from discord import app_commands
from discord.ext import commands

from bot.discord.cards import start_cards
from bot.discord.checks import per_user
from bot.discord.client import MovieBot
from bot.discord.interaction import Interaction


class Onboarding(commands.Cog):
    """Guided rating for new (and curious) members."""

    def __init__(self, bot: MovieBot) -> None:
        self.bot = bot

    @app_commands.command(name="onboard")
    @app_commands.checks.cooldown(3, 10.0, key=per_user)
    async def onboard(self, interaction: Interaction) -> None:
        """Rate movies one at a time so the bot learns your taste (10 gets you picks)."""
        await start_cards(interaction, "o", resume=True)


async def setup(bot: MovieBot) -> None:
    """Extension entry point."""
    await bot.add_cog(Onboarding(bot))
