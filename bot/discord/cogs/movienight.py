"""/movienight: pick a film for a group, then vote on the shortlist (votes survive restarts)."""

from __future__ import annotations

import logging
from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.checks import per_user
from bot.discord.client import MovieBot
from bot.discord.interaction import Interaction
from bot.discord.polls import poll_view, tally_embed
from bot.discord.render import group_embed
from bot.discord.text import clip
from bot.discord.views import OwnedView
from recommender.model import GroupStrategy

log = logging.getLogger(__name__)

escape = discord.utils.escape_markdown
STRATEGIES: dict[str, GroupStrategy] = {
    "fair": "least_misery",
    "average": "average",
    "most pleasure": "most_pleasure",
}
MAX_MEMBERS = 10


class MemberPicker(OwnedView):
    """A user select to choose up to ten members in one step."""

    def __init__(self, cog: MovieNight, owner_id: int, strategy: str, count: int) -> None:
        super().__init__(owner_id, timeout=300)
        self.cog, self.strategy, self.count = cog, strategy, count

    @discord.ui.select(
        cls=discord.ui.UserSelect,
        placeholder="Who's watching? (up to 10)",
        min_values=1,
        max_values=MAX_MEMBERS,
        custom_id="movienight:members",
    )
    async def members(self, interaction: Interaction, select: discord.ui.UserSelect):
        """Run the group recommendation for the chosen members (plus the invoker)."""
        self.stop()
        await interaction.response.edit_message(content="Finding a movie for you all…", view=None)
        await self.cog.run(
            interaction, [interaction.user, *select.values], self.strategy, self.count
        )


class MovieNight(commands.Cog):
    """Group recommendations and polls."""

    def __init__(self, bot: MovieBot) -> None:
        self.bot = bot
        self.queries = bot.services.queries
        self.nights = bot.services.nights

    @app_commands.command(name="movienight")
    @app_commands.guild_only()
    @app_commands.checks.cooldown(3, 30.0, key=per_user)
    async def movienight(
        self,
        interaction: Interaction,
        strategy: Literal["fair", "average", "most pleasure"] = "fair",
        voice: bool = False,
        count: app_commands.Range[int, 2, 5] = 3,
    ) -> None:
        """Pick a movie for a group and open a vote.

        Args:
            strategy: fair = nobody hates it (default); average; most pleasure = someone loves it.
            voice: Use everyone in your voice channel instead of choosing members.
            count: How many movies go on the ballot (2-5).
        """
        if voice:
            state = getattr(interaction.user, "voice", None)
            if state is None or state.channel is None:
                await interaction.response.send_message(
                    "Join a voice channel first, or run `/movienight` without `voice`.",
                    ephemeral=True,
                )
                return
            await interaction.response.defer(thinking=True)
            present = [m for m in state.channel.members if not m.bot]
            await self.run(interaction, present[:MAX_MEMBERS], strategy, count)
            return
        view = MemberPicker(self, interaction.user.id, strategy, count)
        await interaction.response.send_message(
            "Choose who's watching (you're included):", view=view, ephemeral=True
        )

    async def run(
        self,
        interaction: Interaction,
        people: list[discord.User | discord.Member],
        strategy: str,
        count: int,
    ) -> None:
        """Recommend for the group, post the result publicly with a poll."""
        members: dict[int, str] = {}
        left: dict[int, str] = {}
        for person in people:
            if person.bot or person.id in members or person.id in left:
                continue
            if interaction.guild is not None and not isinstance(person, discord.Member):
                left[person.id] = escape(person.display_name)
                continue
            members[person.id] = person.display_name
        picks, missing = await self.queries.recommend_group(
            list(members), count, STRATEGIES[strategy]
        )
        notes = []
        if missing and picks:
            names = ", ".join(escape(members[u]) for u in missing)
            notes.append(f"No ratings yet from {names}: try `/onboard` so you count next time!")
        elif not picks:
            notes.append("Nobody in this group has rated any movies yet. Start with `/onboard`!")
        if left:
            notes.append(f"Not in this server any more, so left out: {', '.join(left.values())}.")
        send = interaction.followup.send
        if not picks:
            await send("\n".join(notes))
            return
        title = f"Movie night for {', '.join(members.values())}"
        names = {u: escape(name) for u, name in members.items()}
        embed = group_embed(clip(title, 256), picks, names, strategy)
        titles = {p.movie.movie_id: p.movie.display for p in picks}
        poll_id = await self.nights.open_poll(
            interaction.guild_id or 0,
            interaction.channel_id or 0,
            interaction.user.id,
            list(titles),
            STRATEGIES[strategy],
        )
        tally = tally_embed(titles, {}, closed=False)
        message = await send(
            "\n".join(notes) or None,
            embeds=[embed, tally],
            view=poll_view(poll_id, titles),
            wait=True,
        )
        await self.nights.shown_in(poll_id, message.id)


async def setup(bot: MovieBot) -> None:
    """Extension entry point."""
    await bot.add_cog(MovieNight(bot))
