"""/movienight: pick a film for a group, vote on the shortlist, schedule the winner as a server
event, ask the attendees afterwards; /movienight history lists what the server watched."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.when import poll_duration
from bot.discord.checks import per_user
from bot.discord.client import MovieBot
from bot.discord.errors import UserFacingError
from bot.discord.interaction import Interaction
from bot.discord.nights import history_embed
from bot.discord.polls import poll_view, tally_embed
from bot.discord.render import group_embed, title_of
from bot.discord.text import clip
from bot.discord.views import OwnedView
from recommender.groups import MISERY_STARS, GroupStrategy

log = logging.getLogger(__name__)

escape = discord.utils.escape_markdown
# The strategies members choose from, the first being the default, each with the one line
# the reply explains it by.
STRATEGIES: dict[str, tuple[GroupStrategy, str]] = {
    "no misery": (
        "average_without_misery",
        f"the group's average, leaving out anything someone is predicted to rate under "
        f"{MISERY_STARS:g}★",
    ),
    "fair": ("least_misery", "ranked by the least happy member: nobody has to sit through it"),
    "most pleasure": ("most_pleasure", "ranked by the happiest member: someone will love it"),
    "average": ("average", "the group's average stars, whatever anyone's misery"),
}
DEFAULT_STRATEGY = next(iter(STRATEGIES))
MAX_MEMBERS = 10


@dataclass(frozen=True)
class VoteRules:
    """How the night's vote runs: approval or ranked, how long, and whether outsiders vote."""

    kind: str
    duration: float
    open: bool


class MemberPicker(OwnedView):
    """A user select to choose up to ten members in one step."""

    def __init__(
        self,
        cog: MovieNight,
        owner_id: int,
        strategy: str,
        count: int,
        rules: VoteRules,
        from_list: bool = False,
    ) -> None:
        super().__init__(owner_id, timeout=300)
        self.cog, self.strategy, self.count, self.rules = cog, strategy, count, rules
        self.from_list = from_list

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
        people = [interaction.user, *select.values]
        await self.cog.run(
            interaction, people, self.strategy, self.count, self.rules, self.from_list
        )


class MovieNight(commands.Cog):
    """Group recommendations, votes, scheduled nights and their history."""

    night = app_commands.Group(
        name="movienight",
        description="Pick a movie for a group, vote, schedule it, and see what you watched",
        guild_only=True,
    )

    def __init__(self, bot: MovieBot) -> None:
        self.bot = bot
        self.queries = bot.services.queries
        self.nights = bot.services.nights
        self.events = bot.services.events

    @night.command(name="start")
    @app_commands.checks.cooldown(3, 30.0, key=per_user)
    @app_commands.choices(strategy=[app_commands.Choice(name=k, value=k) for k in STRATEGIES])
    @app_commands.rename(source="from")
    async def start(
        self,
        interaction: Interaction,
        strategy: str = DEFAULT_STRATEGY,
        voice: bool = False,
        count: app_commands.Range[int, 2, 5] = 3,
        vote: Literal["approval", "ranked"] = "approval",
        ends_in: app_commands.Range[str, 1, 20] | None = None,
        open: bool = False,
        source: Literal["taste", "list"] = "taste",
    ) -> None:
        """Pick a movie for a group and open a vote.

        Args:
            strategy: How to weigh tastes; no misery (default) skips what anyone would dislike.
            voice: Use everyone in your voice channel instead of choosing members.
            count: How many movies go on the ballot (2-5).
            vote: approval = tick every movie you'd watch (default); ranked = put them in order.
            ends_in: How long the vote stays open, like 30m, 2h or 1d (default 1h).
            open: Let members outside the group vote too.
            source: taste = anything the group would enjoy; list = this server's /serverlist.
        """
        try:
            length = poll_duration(ends_in) if ends_in else self.bot.settings.poll_duration
        except ValueError as bad:
            raise UserFacingError(f"`ends_in`: {bad}") from None
        rules = VoteRules(vote, length, open)
        if voice:
            state = getattr(interaction.user, "voice", None)
            if state is None or state.channel is None:
                await interaction.response.send_message(
                    "Join a voice channel first, or run `/movienight start` without `voice`.",
                    ephemeral=True,
                )
                return
            await interaction.response.defer(thinking=True)
            present = [m for m in state.channel.members if not m.bot]
            await self.run(
                interaction, present[:MAX_MEMBERS], strategy, count, rules, source == "list"
            )
            return
        view = MemberPicker(self, interaction.user.id, strategy, count, rules, source == "list")
        await interaction.response.send_message(
            "Choose who's watching (you're included):", view=view, ephemeral=True
        )

    @night.command(name="history")
    @app_commands.checks.cooldown(3, 30.0, key=per_user)
    async def history(self, interaction: Interaction) -> None:
        """What this server watched together, when, and the stars it got."""
        guild = interaction.guild
        assert guild is not None  # guild_only
        watched = await self.events.history(guild.id, 25)
        upcoming = await self.events.upcoming(guild.id)
        movies = {n.night.movie_id for n in watched} | {n.movie_id for n in upcoming}
        titles = {m: title_of(self.queries, m) for m in movies}
        embed = history_embed(guild.name, watched, upcoming, titles)
        await interaction.response.send_message(embed=embed, ephemeral=True)

    async def run(
        self,
        interaction: Interaction,
        people: list[discord.User | discord.Member],
        strategy: str,
        count: int,
        rules: VoteRules,
        from_list: bool = False,
    ) -> None:
        """Recommend for the group (from the server's list when asked), post the result
        publicly with a vote."""
        members: dict[int, str] = {}
        left: dict[int, str] = {}
        for person in people:
            if person.bot or person.id in members or person.id in left:
                continue
            if interaction.guild is not None and not isinstance(person, discord.Member):
                left[person.id] = escape(person.display_name)
                continue
            members[person.id] = person.display_name
        left_out = await self.nights.left_out(interaction.guild_id or 0, members)
        only = None
        if from_list:
            listed = await self.bot.services.lists.server_list(interaction.guild_id or 0)
            only = {entry.movie.movie_id for entry in listed}
            if not only:
                await interaction.followup.send(
                    "This server's list is empty: add movies with `/serverlist add`, "
                    "or run `/movienight start` without `from`."
                )
                return
        picks, missing = await self.queries.recommend_group(
            list(members), count, STRATEGIES[strategy][0], exclude=left_out, only=only
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
        explained = f"{strategy} · {STRATEGIES[strategy][1]}"
        embed = group_embed(clip(title, 256), picks, names, explained)
        titles = {p.movie.movie_id: p.movie.display for p in picks}
        poll = await self.nights.open_poll(
            interaction.guild_id or 0,
            interaction.channel_id or 0,
            interaction.user.id,
            [(p.movie.movie_id, p.score) for p in picks],
            STRATEGIES[strategy][0],
            kind=rules.kind,
            open=rules.open,
            duration=rules.duration,
            members=[*members, interaction.user.id],
        )
        message = await send(
            "\n".join(notes) or None,
            embeds=[embed, tally_embed(poll, titles, {})],
            view=poll_view(poll, titles),
            wait=True,
        )
        await self.nights.shown_in(poll.poll_id, message.id)
        self.bot.timers.poke()

    # ------------------------------------------------------------- the night's event
    @commands.Cog.listener()
    async def on_scheduled_event_update(
        self, before: discord.ScheduledEvent, after: discord.ScheduledEvent
    ) -> None:
        """Follow a night's event when someone (or Discord) moves, starts, ends or cancels it."""
        night = await self.events.for_event(after.id)
        if night is None:
            return
        status = {
            discord.EventStatus.active: "active",
            discord.EventStatus.completed: "completed",
            discord.EventStatus.canceled: "canceled",
        }.get(after.status)
        changed = bool(status) and await self.events.moved(night.night_id, status or "")
        start = after.start_time.timestamp()
        end = (
            after.end_time.timestamp()
            if after.end_time
            else start + night.ends_at - night.starts_at
        )
        if abs(start - night.starts_at) > 1 or abs(end - night.ends_at) > 1:
            changed = await self.events.retimed(night.night_id, start, end) or changed
        if changed:
            self.bot.timers.poke()

    @commands.Cog.listener()
    async def on_scheduled_event_delete(self, event: discord.ScheduledEvent) -> None:
        """A deleted event is a canceled night: no reminder, no question."""
        night = await self.events.for_event(event.id)
        if night is not None and await self.events.moved(night.night_id, "canceled"):
            self.bot.timers.poke()


async def setup(bot: MovieBot) -> None:
    """Extension entry point."""
    await bot.add_cog(MovieNight(bot))
