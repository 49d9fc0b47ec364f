"""Movie-night poll messages: the tally embed and vote/close buttons that survive restarts."""

from __future__ import annotations

import re

import discord

from bot.discord.claims import claim
from bot.discord.interaction import Interaction
from bot.discord.render import COLOR
from bot.discord.text import clip, plural
from bot.store.schema import Poll

VOTE_ID = r"poll:(?P<poll>\d+):vote:(?P<movie>\d+)"
CLOSE_ID = r"poll:(?P<poll>\d+):close"


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
    embed.set_footer(text=f"{plural(total, 'vote')} · {rule}")
    return embed


def poll_view(poll_id: int, titles: dict[int, str], closed: bool = False) -> discord.ui.View:
    """One vote button per movie plus Close, all restart-proof."""
    view = discord.ui.View(timeout=None)
    for k, (movie_id, title) in enumerate(titles.items()):
        view.add_item(VoteButton(poll_id, movie_id, f"{k + 1}. {clip(title, 70)}", closed))
    view.add_item(CloseButton(poll_id, closed))
    return view


async def show_poll(interaction: Interaction, poll: Poll) -> dict[int, int]:
    """Redraw the poll message with the current tally (call holding the poll's lock)."""
    services = interaction.client.services
    titles = {m: services.queries.movie(m).display for m in poll.movie_ids}
    tally = await services.nights.tally(poll.poll_id)
    embeds = list(interaction.message.embeds[:1]) if interaction.message else []
    embeds.append(tally_embed(titles, tally, closed=poll.closed))
    view = poll_view(poll.poll_id, titles, closed=poll.closed)
    await interaction.response.edit_message(embeds=embeds, view=view)
    return tally


CLOSED = "This poll is closed."


class VoteButton(discord.ui.DynamicItem[discord.ui.Button], template=VOTE_ID):
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
        cls, interaction: Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> VoteButton:
        """Rebuild from the clicked button's custom id (and claim the click)."""
        claim(interaction)
        return cls(int(match["poll"]), int(match["movie"]), item.label or "vote")

    async def callback(self, interaction: Interaction) -> None:
        """Record (or change) the clicker's vote and refresh the tally."""
        nights = interaction.client.services.nights
        try:  # the store refuses votes on closed (or deleted) polls, even mid-close
            await nights.vote(self.poll_id, interaction.user.id, self.movie_id)
        except (LookupError, ValueError):
            await interaction.response.send_message(CLOSED, ephemeral=True)
            return
        async with nights.lock(self.poll_id):
            poll = await nights.get(self.poll_id)
            if poll is None:
                await interaction.response.send_message(CLOSED, ephemeral=True)
                return
            await show_poll(interaction, poll)


class CloseButton(discord.ui.DynamicItem[discord.ui.Button], template=CLOSE_ID):
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
        cls, interaction: Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> CloseButton:
        """Rebuild from the clicked button's custom id (and claim the click)."""
        claim(interaction)
        return cls(int(match["poll"]))

    async def callback(self, interaction: Interaction) -> None:
        """Close, disable the buttons and announce the winner (ties go to the higher pick)."""
        services = interaction.client.services
        nights = services.nights
        async with nights.lock(self.poll_id):
            poll = await nights.get(self.poll_id)
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
            poll = await nights.close(self.poll_id)
            tally = await show_poll(interaction, poll)
        best = max(poll.movie_ids, key=lambda m: (tally.get(m, 0), -poll.movie_ids.index(m)))
        title, votes = services.queries.movie(best).display, tally.get(best, 0)
        if votes:
            text = f"🍿 Tonight's movie: **{title}** ({plural(votes, 'vote')})!"
        else:
            text = f"🍿 Nobody voted, so tonight's movie is the top pick: **{title}**!"
        await interaction.followup.send(text)
