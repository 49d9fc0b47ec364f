"""/tastematch (you and someone, or your closest matches here) and /privacy (what the bot keeps
about you, and taking part in taste match or not)."""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.taste import MIN_RATINGS, Match, Neighbour, NoMatch
from bot.discord.checks import per_user
from bot.discord.client import MovieBot
from bot.discord.interaction import Interaction
from bot.discord.members import member_name
from bot.discord.render import COLOR, predicted, stars_text
from bot.discord.text import clip, plural
from recommender.taste import MIN_SHARED

log = logging.getLogger(__name__)

escape = discord.utils.escape_markdown
SHOWN_MATCHES = 5
MEMBER_CHECKS = 25  # members looked up at most to find SHOWN_MATCHES in this server
HOW = (
    "0-100: how alike your predicted reactions to the 400 most rated movies are (beyond what "
    "everyone thinks of them), blended with your own stars on movies you both rated. "
    "50 is chance. /privacy to opt out."
)


def verdict(score: int) -> str:
    """A few words for a score."""
    if score >= 75:
        return "very alike"
    if score >= 60:
        return "alike"
    if score > 40:
        return "about as alike as any two people"
    if score > 25:
        return "different tastes"
    return "opposite tastes"


def match_embed(name: str, match: Match) -> discord.Embed:
    """A taste match between the caller and one member."""
    embed = discord.Embed(title=clip(f"Taste match: you and {name}", 256), colour=COLOR)
    shared = f"You both rated {plural(match.shared, 'movie')}"
    if match.shared < MIN_SHARED:
        shared += f" (fewer than {MIN_SHARED}: the score comes from your taste profiles)"
    embed.description = f"## {match.score}/100 · {verdict(match.score)}\n{shared}."
    if match.both_loved:
        lines = [
            f"**{escape(m.display)}** · you {stars_text(a)}, {escape(name)} {stars_text(b)}"
            for m, a, b in match.both_loved
        ]
        embed.add_field(name="You both loved", value=clip("\n".join(lines), 1024), inline=False)
    if match.disagreement is not None:
        movie, a, b = match.disagreement
        text = f"**{escape(movie.display)}** · you {stars_text(a)}, {escape(name)} {stars_text(b)}"
        embed.add_field(name="Your biggest disagreement", value=clip(text, 1024), inline=False)
    if match.pick is not None:
        movie, a, b = match.pick
        text = (
            f"**{escape(movie.display)}** · {predicted(a)} for you, "
            f"{predicted(b)} for {escape(name)}"
        )
        embed.add_field(name="One for you both", value=clip(text, 1024), inline=False)
    embed.set_footer(text=HOW)
    return embed


class Taste(commands.Cog):
    """Taste compatibility between members, and each member's privacy choices."""

    def __init__(self, bot: MovieBot) -> None:
        self.bot = bot
        self.taste = bot.services.taste
        self.lists = bot.services.lists
        self.queries = bot.services.queries

    @app_commands.command(name="tastematch")
    @app_commands.checks.cooldown(10, 30.0, key=per_user)
    async def tastematch(
        self, interaction: Interaction, member: discord.Member | None = None
    ) -> None:
        """How alike your taste is to someone's (0-100), or your closest matches here.

        Args:
            member: Who to compare with; leave it out for your closest matches in this server.
        """
        if member is None:
            await self._closest(interaction)
            return
        if member.bot:
            await interaction.response.send_message(
                "Bots don't have taste (yet). Pick a member.", ephemeral=True
            )
            return
        if member.id == interaction.user.id:
            await interaction.response.send_message(
                "That's you. Pick someone else, or run `/tastematch` alone for your closest "
                "matches here.",
                ephemeral=True,
            )
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        name = member.display_name
        try:
            match = await self.taste.match(interaction.user.id, member.id, ("You", name))
        except NoMatch as why:
            text = str(why).replace("You rated", "You have rated")
            await interaction.edit_original_response(content=escape(text))
            return
        await interaction.edit_original_response(embed=match_embed(name, match))

    async def _closest(self, interaction: Interaction) -> None:
        """The caller's closest matches among this server's members."""
        guild = interaction.guild
        if guild is None:
            await interaction.response.send_message(
                "Run `/tastematch` in a server to find your closest matches there, or name "
                "someone: `/tastematch member:@name`.",
                ephemeral=True,
            )
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        me = interaction.user.id
        if await self.taste.opted_out([me]):
            await interaction.edit_original_response(
                content="You opted out of taste match; `/privacy tastematch:on` to take part."
            )
            return
        found = await self.taste.candidates(me)
        rated = await self.queries.rating_count(me)
        if not found and rated < MIN_RATINGS:
            await interaction.edit_original_response(
                content=f"You have rated {plural(rated, 'movie')}; taste match needs "
                f"{MIN_RATINGS}. Try `/onboard` or `/import`."
            )
            return
        here: list[tuple[Neighbour, str]] = []
        for neighbour in found[:MEMBER_CHECKS]:
            name = await member_name(guild, neighbour.member)
            if name is not None:
                here.append((neighbour, name))
            if len(here) >= SHOWN_MATCHES:
                break
        if not here:
            await interaction.edit_original_response(
                content=f"Nobody else here has rated {MIN_RATINGS} movies and takes part in "
                "taste match yet."
            )
            return
        lines = [
            f"`{k}.` **{escape(name)}** · {n.score}/100 ({verdict(n.score)}) · "
            f"{plural(n.shared, 'shared movie')}"
            for k, (n, name) in enumerate(here, 1)
        ]
        embed = discord.Embed(
            title=clip(f"Your closest matches in {guild.name}", 256), colour=COLOR
        )
        embed.description = "\n".join(lines) + "\n\n`/tastematch member:@name` tells you more."
        embed.set_footer(text=f"Members who rated at least {MIN_RATINGS} movies. {HOW}")
        await interaction.edit_original_response(embed=embed)

    @app_commands.command(name="privacy")
    @app_commands.checks.cooldown(5, 30.0, key=per_user)
    @app_commands.choices(
        tastematch=[
            app_commands.Choice(name="on", value="on"),
            app_commands.Choice(name="off", value="off"),
        ]
    )
    async def privacy(self, interaction: Interaction, tastematch: str | None = None) -> None:
        """What the bot keeps about you, and whether you take part in taste match.

        Args:
            tastematch: on: others can compare tastes with you; off: you are never compared.
        """
        me = interaction.user.id
        if tastematch is not None:
            await self.taste.set_taking_part(me, tastematch == "on")
        off = bool(await self.taste.opted_out([me]))
        rated = await self.queries.rating_count(me)
        counts = await self.lists.counts(me)
        lines = [
            f"• {plural(rated, 'rating')}, {counts['seen']} seen, {counts['not_interested']} "
            f"not interested, {plural(counts['watchlist'], 'movie')} on your watchlist",
            "• your onboarding progress, movie-night votes and the club movies you added",
            f"• taste match: **{'off' if off else 'on'}**"
            + (
                " (nobody can compare with you, and you are never listed)"
                if off
                else " (members here can see how alike your tastes are)"
            ),
        ]
        head = ""
        if tastematch is not None:
            head = f"Taste match is now **{'off' if off else 'on'}** for you.\n\n"
        text = (
            f"{head}What I keep about you:\n" + "\n".join(lines) + "\n\n`/export` downloads your "
            "history; `/forgetme` deletes everything. The full policy is in the bot's PRIVACY.md."
        )
        await interaction.response.send_message(text, ephemeral=True)


async def setup(bot: MovieBot) -> None:
    """Extension entry point."""
    await bot.add_cog(Taste(bot))
