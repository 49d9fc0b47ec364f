"""/onboard: rate movies one card at a time until the bot knows your taste."""

from __future__ import annotations

import re

import discord
from discord import app_commands
from discord.ext import commands

from bot.exts.ratings import per_user
from bot.rating_card import CardButton, start_cards


class RateMoreButton(discord.ui.DynamicItem[discord.ui.Button], template=r"rate-more"):
    """A "Rate more" button for any reply; works for whoever clicks it, even after restarts."""

    def __init__(self) -> None:
        super().__init__(
            discord.ui.Button(
                label="Rate more movies", style=discord.ButtonStyle.secondary, custom_id="rate-more"
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> RateMoreButton:
        """Nothing to decode: the clicker is the user."""
        return cls()

    async def callback(self, interaction: discord.Interaction) -> None:
        """Open (or resume) the clicker's onboarding cards privately."""
        await start_cards(interaction, "o", resume=True)


def rate_more_view() -> discord.ui.View:
    """A view holding only the "Rate more" button."""
    view = discord.ui.View(timeout=None)
    view.add_item(RateMoreButton())
    return view


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
