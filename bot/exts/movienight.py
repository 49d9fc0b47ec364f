"""/movienight: pick a film for a group, then vote on the shortlist (votes survive restarts)."""

from __future__ import annotations

import asyncio
import logging
import re
import weakref
from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.exts.ratings import per_user
from bot.render import COLOR, clip, group_embed
from bot.store_schema import Poll
from bot.views import OwnedView

log = logging.getLogger(__name__)

escape = discord.utils.escape_markdown
STRATEGIES = {"fair": "least_misery", "average": "average", "most pleasure": "most_pleasure"}
MAX_MEMBERS = 10


def tally_embed(titles: dict[int, str], tally: dict[int, int], closed: bool) -> discord.Embed:
    """The live vote count (second embed of a poll message)."""
    total = sum(tally.values())
    lines = []
    for movie_id, title in titles.items():
        votes = tally.get(movie_id, 0)
        bar = "█" * min(votes, 20)
        lines.append(f"{clip(title, 60)} — **{votes}** {bar}")
    head = "Poll closed" if closed else "Vote for tonight's movie"
    embed = discord.Embed(title=head, colour=COLOR, description="\n".join(lines))
    rule = "final result" if closed else "one per member, changeable"
    embed.set_footer(text=f"{total} vote{'s' if total != 1 else ''} · {rule}")
    return embed


def poll_view(poll_id: int, titles: dict[int, str], closed: bool = False) -> discord.ui.View:
    """One vote button per movie plus Close, all restart-proof."""
    view = discord.ui.View(timeout=None)
    for k, (movie_id, title) in enumerate(titles.items()):
        view.add_item(VoteButton(poll_id, movie_id, f"{k + 1}. {clip(title, 70)}", closed))
    view.add_item(CloseButton(poll_id, closed))
    return view


_locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()


def poll_lock(poll_id: int) -> asyncio.Lock:
    """One lock per poll: tally reads and message edits happen in order, never stale."""
    lock = _locks.get(poll_id)
    if lock is None:
        lock = _locks[poll_id] = asyncio.Lock()
    return lock


async def show_poll(interaction: discord.Interaction, engine: Any, poll: Poll) -> dict[int, int]:
    """Redraw the poll message with the current tally (call holding the poll's lock)."""
    titles = {m: engine.movie(m).title for m in poll.movie_ids}
    tally = await engine.store.tally(poll.poll_id)
    embeds = list(interaction.message.embeds[:1]) if interaction.message else []
    embeds.append(tally_embed(titles, tally, closed=poll.closed))
    view = poll_view(poll.poll_id, titles, closed=poll.closed)
    await interaction.response.edit_message(embeds=embeds, view=view)
    return tally


CLOSED = "This poll is closed."


class VoteButton(
    discord.ui.DynamicItem[discord.ui.Button], template=r"poll:(?P<poll>\d+):vote:(?P<movie>\d+)"
):
    """A vote for one shortlisted movie; the tally is read back from SQLite."""

    def __init__(self, poll_id: int, movie_id: int, label: str = "vote", disabled: bool = False):
        super().__init__(
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.primary,
                custom_id=f"poll:{poll_id}:vote:{movie_id}",
                disabled=disabled,
            )
        )
        self.poll_id, self.movie_id = poll_id, movie_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> VoteButton:
        """Rebuild from the clicked button's custom id."""
        return cls(int(match["poll"]), int(match["movie"]), item.label or "vote")

    async def callback(self, interaction: discord.Interaction) -> None:
        """Record (or change) the clicker's vote and refresh the tally."""
        engine = interaction.client.engine  # type: ignore[attr-defined]
        try:  # the store refuses votes on closed (or deleted) polls, even mid-close
            await engine.store.vote(self.poll_id, interaction.user.id, self.movie_id)
        except (LookupError, ValueError):
            await interaction.response.send_message(CLOSED, ephemeral=True)
            return
        async with poll_lock(self.poll_id):
            poll = await engine.store.get_poll(self.poll_id)
            if poll is None:
                await interaction.response.send_message(CLOSED, ephemeral=True)
                return
            await show_poll(interaction, engine, poll)


class CloseButton(discord.ui.DynamicItem[discord.ui.Button], template=r"poll:(?P<poll>\d+):close"):
    """Ends the poll; only the member who started it may press it."""

    def __init__(self, poll_id: int, disabled: bool = False) -> None:
        super().__init__(
            discord.ui.Button(
                label="Close poll",
                style=discord.ButtonStyle.danger,
                custom_id=f"poll:{poll_id}:close",
                disabled=disabled,
            )
        )
        self.poll_id = poll_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> CloseButton:
        """Rebuild from the clicked button's custom id."""
        return cls(int(match["poll"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Close, disable the buttons and announce the winner (ties go to the higher pick)."""
        engine = interaction.client.engine  # type: ignore[attr-defined]
        async with poll_lock(self.poll_id):
            poll = await engine.store.get_poll(self.poll_id)
            if poll is None:
                await interaction.response.send_message(
                    "This poll no longer exists.", ephemeral=True
                )
                return
            if interaction.user.id != poll.creator_id:
                await interaction.response.send_message(
                    "Only the member who started the movie night can close the poll.",
                    ephemeral=True,
                )
                return
            if poll.closed:  # a second click before the first close showed
                await interaction.response.send_message(
                    "This poll is already closed.", ephemeral=True
                )
                return
            poll = await engine.store.close_poll(self.poll_id)
            tally = await show_poll(interaction, engine, poll)
        best = max(poll.movie_ids, key=lambda m: (tally.get(m, 0), -poll.movie_ids.index(m)))
        title, votes = engine.movie(best).title, tally.get(best, 0)
        if votes:
            text = f"🍿 Tonight's movie: **{title}** ({votes} vote{'s' if votes != 1 else ''})!"
        else:
            text = f"🍿 Nobody voted, so tonight's movie is the top pick: **{title}**!"
        await interaction.followup.send(text)


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
    async def members(self, interaction: discord.Interaction, select: discord.ui.UserSelect):
        """Run the group recommendation for the chosen members (plus the invoker)."""
        self.stop()
        await interaction.response.edit_message(content="Finding a movie for you all…", view=None)
        await self.cog.run(
            interaction, [interaction.user, *select.values], self.strategy, self.count
        )


class MovieNight(commands.Cog):
    """Group recommendations and polls."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        self.engine = bot.engine  # type: ignore[attr-defined]

    @app_commands.command(name="movienight")
    @app_commands.guild_only()
    @app_commands.checks.cooldown(3, 30.0, key=per_user)
    async def movienight(
        self,
        interaction: discord.Interaction,
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
        interaction: discord.Interaction,
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
        picks, missing = await self.engine.recommend_group(
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
        titles = {p.movie.movie_id: p.movie.title for p in picks}
        poll_id = await self.engine.store.create_poll(
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
        await self.engine.store.set_poll_message(poll_id, message.id)


async def setup(bot: commands.Bot) -> None:
    """Extension entry point; registers the restart-proof poll buttons."""
    bot.add_dynamic_items(VoteButton, CloseButton)
    await bot.add_cog(MovieNight(bot))
