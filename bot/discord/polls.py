"""Movie-night vote messages: the tally, vote and close buttons that survive restarts, and the
one way a vote ends (the Close button or its time running out)."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

import discord

from bot.core.movie_nights import Closed
from bot.discord.claims import claim
from bot.discord.interaction import Interaction
from bot.discord.nights import schedule_view
from bot.discord.render import COLOR, title_of
from bot.discord.text import clip, plural
from bot.store.schema import NotInGroupError, Poll

if TYPE_CHECKING:
    from bot.discord.client import MovieBot

log = logging.getLogger(__name__)

VOTE_ID = r"poll:(?P<poll>\d+):vote:(?P<movie>\d+)"
CLOSE_ID = r"poll:(?P<poll>\d+):close"
RULES = {
    "approval": "Tick every movie you'd watch (click again to untick); most ticks wins.",
    "ranked": "Click the movies in the order you like them (click again to take one off); "
    "the least liked is dropped until one has a majority.",
}
TIE_RULE = "Ties go to the movie the group is predicted to enjoy most."
NOT_IN_GROUP = (
    "This vote is for the members picked for this movie night. The starter can open the next "
    "one to everyone with `open:true`."
)
NO_MENTIONS = discord.AllowedMentions.none()
VOTERS_SHOWN = 300  # characters of voter mentions per line before "+N more"


def titles_of(client: MovieBot, poll: Poll) -> dict[int, str]:
    """Option titles in shown order."""
    return {m: title_of(client.services.queries, m) for m in poll.movie_ids}


def mentions(users: list[int]) -> str:
    """Members as mentions (they show as names and never ping from an embed), clipped."""
    shown: list[str] = []
    for k, user in enumerate(users):
        if sum(len(s) + 1 for s in shown) > VOTERS_SHOWN:
            shown.append(f"+{len(users) - k} more")
            break
        shown.append(f"<@{user}>")
    return " ".join(shown)


def tally_embed(
    poll: Poll, titles: dict[int, str], ballots: dict[int, tuple[int, ...]]
) -> discord.Embed:
    """The live count and who voted (second embed of a poll message)."""
    lines = []
    for k, (movie_id, title) in enumerate(titles.items(), 1):
        if poll.kind == "ranked":
            firsts = [u for u, b in ballots.items() if b and b[0] == movie_id]
            ranked = sum(1 for b in ballots.values() if movie_id in b)
            count = f"**{len(firsts)}** first {'choice' if len(firsts) == 1 else 'choices'}"
            count += f" · on {plural(ranked, 'ballot')}"
            voters = firsts
        else:
            voters = [u for u, b in ballots.items() if movie_id in b]
            count = f"**{len(voters)}** {'█' * min(len(voters), 20)}"
        line = f"`{k}.` {clip(title, 60)} — {count}"
        if voters:
            line += f"\n      {mentions(voters)}"
        lines.append(line)
    if poll.kind == "ranked" and ballots:
        lines.append(f"Voted: {mentions(list(ballots))}")
    if poll.closed and poll.winner_id is not None:
        lines.append(f"Winner: **{clip(titles.get(poll.winner_id, '?'), 100)}**")
    elif poll.ends_at is not None:
        lines.append(f"{RULES[poll.kind]} {TIE_RULE}\nCloses <t:{int(poll.ends_at)}:R>.")
    head = "Poll closed" if poll.closed else "Vote for tonight's movie"
    embed = discord.Embed(title=head, colour=COLOR, description="\n".join(lines))
    kind = "ranked choice" if poll.kind == "ranked" else "approval vote"
    state = "final result" if poll.closed else "changeable until it closes"
    group = "open to everyone" if poll.open else "the group votes"
    embed.set_footer(text=f"{plural(len(ballots), 'voter')} · {kind} · {group} · {state}")
    return embed


def poll_view(poll: Poll, titles: dict[int, str]) -> discord.ui.View:
    """One vote button per movie plus Close, all restart-proof (disabled once closed)."""
    view = discord.ui.View(timeout=None)
    for k, (movie_id, title) in enumerate(titles.items()):
        label = f"{k + 1}. {clip(title, 70)}"
        view.add_item(VoteButton(poll.poll_id, movie_id, label, poll.closed))
    view.add_item(CloseButton(poll.poll_id, poll.closed))
    return view


async def redraw(interaction: Interaction, poll: Poll) -> None:
    """Show the current tally on the clicked poll message (call holding the poll's lock)."""
    client = interaction.client
    ballots = await client.services.nights.ballots(poll.poll_id)
    titles = titles_of(client, poll)
    embeds = list(interaction.message.embeds[:1]) if interaction.message else []
    embeds.append(tally_embed(poll, titles, ballots))
    await interaction.response.edit_message(embeds=embeds, view=poll_view(poll, titles))


def announcement(closed: Closed, titles: dict[int, str]) -> str:
    """The winner, how it won, and, when predicted enjoyment broke a tie, that it did."""
    poll, outcome = closed.poll, closed.outcome
    winner = titles.get(outcome.winner, "?")
    if outcome.voters == 0:
        return (
            f"🍿 Nobody voted, so tonight's movie is the group's predicted favourite: **{winner}**!"
        )
    votes = outcome.counts.get(outcome.winner, 0)
    if poll.kind == "ranked":
        text = f"🍿 Tonight's movie: **{winner}**, first choice of {votes} of "
        text += f"{plural(sum(outcome.counts.values()), 'voter')}"
        if outcome.eliminated:
            dropped = ", ".join(titles.get(m, "?") for m in outcome.eliminated)
            text += f" after {plural(outcome.rounds, 'round')} (dropped: {dropped})"
        text += "!"
    else:
        text = f"🍿 Tonight's movie: **{winner}** ({plural(votes, 'tick')} from "
        text += f"{plural(outcome.voters, 'voter')})!"
    if outcome.by_enjoyment:
        others = [m for m in outcome.tied if m != outcome.winner]
        level = f"{plural(votes, 'tick' if poll.kind == 'approval' else 'vote')} each"
        names = " and ".join(f"**{titles.get(m, '?')}**" for m in others)
        mine, theirs = poll.scores.get(outcome.winner), [poll.scores.get(m) for m in others]
        if mine is not None and all(s is not None and s < mine for s in theirs):
            scores = ", ".join(f"{s:.2f}★" for s in theirs if s is not None)
            text += (
                f"\nIt tied with {names} ({level}); **{winner}** wins because the group is "
                f"predicted to enjoy it more ({mine:.2f}★ against {scores})."
            )
        else:
            text += (
                f"\nIt tied with {names} ({level}) and the group is predicted to enjoy them "
                f"equally, so the one higher on the shortlist wins."
            )
    return text + "\nThe member who started the vote can schedule it as a server event."


async def close_and_announce(
    client: MovieBot, poll_id: int, interaction: Interaction | None = None
) -> Closed | None:
    """End a vote, redraw its message and announce the winner with a "Schedule it" button.

    The one path for the Close button (`interaction`) and for votes whose time ran out.
    None if the poll was already closed or is gone (nothing is shown then).
    """
    nights = client.services.nights
    async with nights.lock(poll_id):
        poll = await nights.get(poll_id)
        if poll is None or poll.closed:
            return None
        closed = await nights.close(poll_id)
        titles = titles_of(client, closed.poll)
        tally = tally_embed(closed.poll, titles, await nights.ballots(poll_id))
        view = poll_view(closed.poll, titles)
        if interaction is not None:
            embeds = list(interaction.message.embeds[:1]) if interaction.message else []
            await interaction.response.edit_message(embeds=[*embeds, tally], view=view)
        else:
            await _redraw_message(client, closed.poll, tally, view)
    text = announcement(closed, titles)
    buttons = schedule_view(poll_id)
    if interaction is not None:
        await interaction.followup.send(text, view=buttons, allowed_mentions=NO_MENTIONS)
    else:
        channel = client.get_partial_messageable(poll.channel_id, guild_id=poll.guild_id)
        await channel.send(text, view=buttons, allowed_mentions=NO_MENTIONS)
    log.info("poll %d closed: movie %d won", poll_id, closed.outcome.winner)
    return closed


async def _redraw_message(
    client: MovieBot, poll: Poll, tally: discord.Embed, view: discord.ui.View
) -> None:
    """Show the final tally on a poll message outside any click (its time ran out)."""
    if poll.message_id is None:
        return
    channel = client.get_partial_messageable(poll.channel_id, guild_id=poll.guild_id)
    try:
        message = await channel.fetch_message(poll.message_id)
        await message.edit(embeds=[*message.embeds[:1], tally], view=view)
    except discord.HTTPException as exc:  # deleted, or no access any more
        log.warning("could not redraw the message of poll %d: %s", poll.poll_id, exc)


def closed_text(poll: Poll | None, client: MovieBot) -> str:
    """What a vote on a finished (or vanished) poll is told."""
    if poll is None or poll.winner_id is None:
        return "This poll is closed."
    winner = title_of(client.services.queries, poll.winner_id)
    return f"This poll is closed: tonight's movie is **{winner}**."


class VoteButton(discord.ui.DynamicItem[discord.ui.Button], template=VOTE_ID):
    """Ticks (or ranks next) one shortlisted movie, or takes it back; counts come from SQLite."""

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
        """Change the clicker's ballot and refresh the tally; a ranked voter sees their order."""
        client = interaction.client
        nights = client.services.nights
        try:  # the store refuses closed polls and outsiders atomically, even mid-close
            ballot = await nights.toggle(self.poll_id, interaction.user.id, self.movie_id)
        except NotInGroupError:
            await interaction.response.send_message(NOT_IN_GROUP, ephemeral=True)
            return
        except (LookupError, ValueError):
            poll = await nights.get(self.poll_id)
            await interaction.response.send_message(closed_text(poll, client), ephemeral=True)
            return
        async with nights.lock(self.poll_id):
            poll = await nights.get(self.poll_id)
            if poll is None:
                await interaction.response.send_message("This poll is closed.", ephemeral=True)
                return
            await redraw(interaction, poll)
        if poll.kind == "ranked":
            titles = titles_of(client, poll)
            order = "\n".join(f"{k}. {titles[m]}" for k, m in enumerate(ballot, 1))
            text = f"Your ranking:\n{order}" if ballot else "Your ranking is empty."
            await interaction.followup.send(text, ephemeral=True)


class CloseButton(discord.ui.DynamicItem[discord.ui.Button], template=CLOSE_ID):
    """Ends the vote early; only the member who started it may press it."""

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
        """Close, disable the buttons and announce the winner."""
        client = interaction.client
        poll = await client.services.nights.get(self.poll_id)
        if poll is None:
            await interaction.response.send_message("This poll no longer exists.", ephemeral=True)
            return
        if interaction.user.id != poll.creator_id:
            await interaction.response.send_message(
                "Only the member who started the movie night can close the poll.",
                ephemeral=True,
            )
            return
        if await close_and_announce(client, self.poll_id, interaction) is None:
            await interaction.response.send_message("This poll is already closed.", ephemeral=True)
