"""The night as a Discord event: "Schedule it", the reminder, the question afterwards, history.

Buttons keep their state in custom ids and the store (`night:poll:<poll>:schedule`,
`night:<night>:stars:<n>`), so they work across restarts.
"""

from __future__ import annotations

import datetime as dt
import logging
import re

import discord

from bot.core.night_events import NotAnAttendee
from bot.core.when import WHEN_EXAMPLES, parse_start, zone_named
from bot.discord.claims import claim
from bot.discord.errors import report_error
from bot.discord.interaction import Interaction
from bot.discord.render import COLOR, duration, movie_link, stars_text, title_of
from bot.discord.text import clip, plural
from bot.store.schema import Night, Poll, WatchedNight

log = logging.getLogger(__name__)

SCHEDULE_ID = r"night:poll:(?P<poll>\d+):schedule"
STARS_ID = r"night:(?P<night>\d+):stars:(?P<stars>[1-5])"
EVENT_NAME_MAX = 100
EVENT_DESCRIPTION_MAX = 1000
LOCATION_MAX = 100
NOT_STARTER = (
    "Only the member who started this movie night, or someone with the **Manage Events** "
    "permission, can schedule it."
)
# What the bot itself needs, by where the night happens (Discord's documented rules).
NEEDS = {
    discord.EntityType.external: ("create_events",),
    discord.EntityType.voice: ("create_events", "view_channel", "connect"),
    discord.EntityType.stage_instance: (
        "create_events",
        "manage_channels",
        "mute_members",
        "move_members",
    ),
}
PERMISSION_NAMES = {
    "create_events": "Create Events",
    "view_channel": "View Channel",
    "connect": "Connect",
    "manage_channels": "Manage Channels",
    "mute_members": "Mute Members",
    "move_members": "Move Members",
}


def missing_permissions(perms: discord.Permissions, kind: discord.EntityType) -> list[str]:
    """Names of the permissions the bot lacks to create an event of this kind."""
    return [PERMISSION_NAMES[p] for p in NEEDS[kind] if not getattr(perms, p)]


def lacking_text(missing: list[str]) -> str:
    """A clear "I can't" for missing permissions, saying which and who can fix it."""
    bold = [f"**{m}**" for m in missing]
    names = bold[0] if len(bold) == 1 else f"{', '.join(bold[:-1])} and {bold[-1]}"
    which, them = ("permission", "it") if len(missing) == 1 else ("permissions", "them")
    return (
        f"I can't create server events here: I need the {names} {which}. A server admin can "
        f"give {them} to my role (Server Settings → Roles), then press **Schedule it** again."
    )


def may_schedule(interaction: Interaction, poll: Poll) -> bool:
    """The member who started the vote, or anyone allowed to manage the server's events."""
    return interaction.user.id == poll.creator_id or interaction.permissions.manage_events


def schedule_view(poll_id: int) -> discord.ui.View:
    """The "Schedule it" button under a vote's announcement."""
    view = discord.ui.View(timeout=None)
    view.add_item(ScheduleButton(poll_id))
    return view


def when_text(night: Night) -> str:
    """Start time as Discord timestamps (each member sees their own time zone)."""
    return f"<t:{int(night.starts_at)}:F> (<t:{int(night.starts_at)}:R>)"


def event_url(night: Night) -> str:
    """The Discord link that opens the night's event."""
    return f"https://discord.com/events/{night.guild_id}/{night.event_id}"


def describe(title: str, genres: tuple[str, ...], link: str | None, runtime: int | None) -> str:
    """The event description: the movie, its genres, runtime and link."""
    lines = [f"🍿 {title}" + (f" · {', '.join(genres)}" if genres else "")]
    if runtime:
        lines.append(f"Runtime: {duration(runtime * 60)}")
    if link:
        lines.append(link)
    lines.append(
        "Chosen by the club's vote. Press Interested to get a reminder and to be asked how "
        "you liked it afterwards."
    )
    return clip("\n".join(lines), EVENT_DESCRIPTION_MAX)


def resolve_place(
    guild: discord.Guild, where: str
) -> discord.VoiceChannel | discord.StageChannel | str:
    """A voice or stage channel named like `where` (blank: the first voice channel), else
    the text as an outside location; ValueError when nothing fits."""
    wanted = where.strip().lstrip("#🔊").strip().casefold()
    rooms = [*guild.voice_channels, *guild.stage_channels]
    if not wanted:
        if rooms:
            return rooms[0]
        raise ValueError("Say where: this server has no voice channel, so name a place.")
    for room in rooms:
        if room.name.casefold() == wanted or str(room.id) == wanted:
            return room
    if len(where.strip()) > LOCATION_MAX:
        raise ValueError(f"A place can have at most {LOCATION_MAX} characters.")
    return where.strip()


class ScheduleButton(discord.ui.DynamicItem[discord.ui.Button], template=SCHEDULE_ID):
    """Opens the scheduling form for a vote's winner (starter or Manage Events only)."""

    def __init__(self, poll_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Schedule it",
                emoji="📅",
                style=discord.ButtonStyle.success,
                custom_id=f"night:poll:{poll_id}:schedule",
            )
        )
        self.poll_id = poll_id

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> ScheduleButton:
        """Rebuild from the clicked button's custom id (and claim the click)."""
        claim(interaction)
        return cls(int(match["poll"]))

    async def callback(self, interaction: Interaction) -> None:
        """Check who asks and what the bot may do, then ask when and where."""
        services = interaction.client.services
        poll = await services.nights.get(self.poll_id)
        if poll is None or poll.winner_id is None:
            await interaction.response.send_message("This vote no longer exists.", ephemeral=True)
            return
        night = await services.events.for_poll(self.poll_id)
        if night is not None:
            await interaction.response.send_message(
                f"Already scheduled for {when_text(night)}: {event_url(night)}", ephemeral=True
            )
            return
        if not may_schedule(interaction, poll):
            await interaction.response.send_message(NOT_STARTER, ephemeral=True)
            return
        missing = missing_permissions(interaction.app_permissions, discord.EntityType.external)
        if missing:
            await interaction.response.send_message(lacking_text(missing), ephemeral=True)
            return
        title = title_of(services.queries, poll.winner_id)
        zone = interaction.client.settings.night_timezone
        await interaction.response.send_modal(ScheduleForm(poll, title, zone))


class ScheduleForm(discord.ui.Modal):
    """When and where the night happens; creates the Discord event on submit."""

    when: discord.ui.TextInput[ScheduleForm] = discord.ui.TextInput(
        label="When", custom_id="when", max_length=60
    )
    where: discord.ui.TextInput[ScheduleForm] = discord.ui.TextInput(
        label="Where (voice channel or a place)",
        custom_id="where",
        placeholder="blank: the first voice channel",
        required=False,
        max_length=LOCATION_MAX,
    )

    def __init__(self, poll: Poll, title: str, zone: str) -> None:
        form_id = f"night:form:{poll.poll_id}"
        super().__init__(title=clip(f"Schedule {title}", 45), custom_id=form_id)
        self.poll = poll
        self.when.placeholder = clip(f"in 2h · 20:30 ({zone}) · fri 9pm · 2025-06-07 20:30", 100)

    async def on_submit(self, interaction: Interaction) -> None:
        """Read the form, check again, create the event and record the night."""
        await schedule_night(interaction, self.poll, str(self.when.value), str(self.where.value))

    async def on_error(self, interaction: Interaction, error: Exception) -> None:
        """Report like a command error would."""
        await report_error(interaction, error)


async def schedule_night(interaction: Interaction, poll: Poll, when: str, where: str) -> None:
    """Create the scheduled event for a vote's winner and start its timeline."""
    client = interaction.client
    services = client.services
    events = services.events
    guild = interaction.guild
    if guild is None or poll.winner_id is None:
        await interaction.response.send_message("This only works in a server.", ephemeral=True)
        return
    now = dt.datetime.fromtimestamp(events.now(), dt.UTC)
    try:
        start = parse_start(when, now, zone_named(client.settings.night_timezone))
        place = resolve_place(guild, where)
    except ValueError as bad:
        await interaction.response.send_message(f"{bad}", ephemeral=True)
        return
    if start <= now + dt.timedelta(minutes=1):
        await interaction.response.send_message(
            f"<t:{int(start.timestamp())}:F> is not in the future. Try {WHEN_EXAMPLES}.",
            ephemeral=True,
        )
        return
    if isinstance(place, discord.StageChannel):
        kind = discord.EntityType.stage_instance
    elif isinstance(place, discord.VoiceChannel):
        kind = discord.EntityType.voice
    else:
        kind = discord.EntityType.external
    missing = missing_permissions(interaction.app_permissions, kind)
    if not may_schedule(interaction, poll):
        await interaction.response.send_message(NOT_STARTER, ephemeral=True)
        return
    if missing:
        await interaction.response.send_message(lacking_text(missing), ephemeral=True)
        return
    await interaction.response.defer(ephemeral=True, thinking=True)
    movie = services.queries.movie(poll.winner_id)
    async with services.nights.lock(poll.poll_id):
        night = await events.for_poll(poll.poll_id)
        if night is not None:
            await interaction.followup.send(
                f"Already scheduled for {when_text(night)}: {event_url(night)}", ephemeral=True
            )
            return
        page = await services.pages.page(movie)
        runtime = page.runtime_min if page else None
        end = start + dt.timedelta(seconds=events.length(runtime))
        description = describe(movie.display, movie.genres, movie_link(movie), runtime)
        name = clip(f"Movie night: {movie.display}", EVENT_NAME_MAX)
        where = {"location": place} if isinstance(place, str) else {"channel": place}
        try:
            event = await guild.create_scheduled_event(
                name=name,
                start_time=start,
                end_time=end,
                entity_type=kind,
                privacy_level=discord.PrivacyLevel.guild_only,
                description=description,
                **where,  # type: ignore[arg-type]
            )
        except discord.Forbidden:  # e.g. the voice channel itself keeps the bot out
            needed = [PERMISSION_NAMES[p] for p in NEEDS[kind]]
            await interaction.followup.send(lacking_text(needed), ephemeral=True)
            return
        except discord.HTTPException as exc:
            log.warning("creating the event for poll %d failed: %s", poll.poll_id, exc)
            await interaction.followup.send(
                f"Discord refused the event: {exc.text or exc}. Nothing was scheduled.",
                ephemeral=True,
            )
            return
        shown = place if isinstance(place, str) else place.mention
        night = await events.schedule(
            guild.id,
            interaction.channel_id or poll.channel_id,
            poll.poll_id,
            movie.movie_id,
            interaction.user.id,
            event.id,
            shown,
            start.timestamp(),
            end.timestamp(),
        )
    client.timers.poke()
    lead = duration(events.reminder_lead)
    await interaction.followup.send(
        f"Scheduled. I'll remind this channel {lead} before it starts and ask the members who "
        f"pressed Interested how they liked it afterwards.",
        ephemeral=True,
    )
    length = f" · {duration(runtime * 60)}" if runtime else ""
    await interaction.followup.send(
        f"📅 **{movie.display}** is on for {when_text(night)} in {shown}{length}.\n"
        f"Press **Interested** on the event to get a reminder and to be asked how you liked "
        f"it afterwards: {event.url}",
        allowed_mentions=discord.AllowedMentions.none(),
    )


# ------------------------------------------------------------------- reminder, question
def reminder_text(night: Night, title: str, going: list[int]) -> str:
    """The reminder shortly before the start, naming who is going."""
    who = f"{plural(len(going), 'member')} going: " + " ".join(f"<@{u}>" for u in going)
    if not going:
        who = "Nobody has pressed Interested yet"
    return (
        f"⏰ **{title}** starts <t:{int(night.starts_at)}:R> in {night.place}. {who}.\n"
        f"{event_url(night)}"
    )


def question_text(title: str, attendees: dict[int, float | None]) -> str:
    """The after-movie question with how many answered and the average so far."""
    people = " ".join(f"<@{u}>" for u in attendees)
    given = [s for s in attendees.values() if s is not None]
    text = (
        f"🎬 **{title}** is over. How did you like it, {people}? Tap your stars: your answer "
        f"is your rating of it."
    )
    if given:
        average = sum(given) / len(given)
        text += f"\n{len(given)} of {len(attendees)} answered · average {average:.1f}★"
    return text


def question_view(night_id: int) -> discord.ui.View:
    """Five star buttons for the after-movie question."""
    view = discord.ui.View(timeout=None)
    for n in range(1, 6):
        view.add_item(StarButton(night_id, n))
    return view


class StarButton(discord.ui.DynamicItem[discord.ui.Button], template=STARS_ID):
    """An attendee's stars for the movie the group watched: stored as their rating."""

    def __init__(self, night_id: int, stars: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="★" * stars,
                style=discord.ButtonStyle.secondary,
                custom_id=f"night:{night_id}:stars:{stars}",
            )
        )
        self.night_id, self.stars = night_id, stars

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> StarButton:
        """Rebuild from the clicked button's custom id (and claim the click)."""
        claim(interaction)
        return cls(int(match["night"]), int(match["stars"]))

    async def callback(self, interaction: Interaction) -> None:
        """Rate the movie for an attendee, update the count, thank them privately."""
        services = interaction.client.services
        events = services.events
        night = await events.get(self.night_id)
        if night is None or night.status != "completed":
            await interaction.response.send_message("This question is closed.", ephemeral=True)
            return
        title = title_of(services.queries, night.movie_id)
        try:
            result = await events.answer(night, interaction.user.id, self.stars)
        except NotAnAttendee:
            await interaction.response.send_message(
                f"This question is for the members who pressed Interested on the event. You can "
                f"still rate it: `/rate movie:{title} stars:{self.stars}`.",
                ephemeral=True,
            )
            return
        attendees = await events.attendees(night.night_id)
        await interaction.response.edit_message(
            content=question_text(title, attendees), view=question_view(night.night_id)
        )
        change = "" if result.previous is None else f" (was {result.previous:g})"
        await interaction.followup.send(
            f"Thanks! Your rating of **{title}** is now {stars_text(result.stars)}{change}.",
            ephemeral=True,
        )


# ---------------------------------------------------------------------------- history
def history_embed(
    guild_name: str, watched: list[WatchedNight], upcoming: list[Night], titles: dict[int, str]
) -> discord.Embed:
    """What a server watched, when, and the stars it got; plus what is coming up."""
    lines = []
    for night in upcoming:
        lines.append(
            f"🗓️ **{clip(titles[night.movie_id], 80)}** — {when_text(night)} in {night.place}"
        )
    for k, row in enumerate(watched, 1):
        night = row.night
        stars = (
            f"{row.average:.1f}★ from {plural(row.answers, 'answer')}"
            if row.average is not None
            else "no stars given"
        )
        lines.append(
            f"`{k}.` **{clip(titles[night.movie_id], 80)}** — <t:{int(night.starts_at)}:D> · "
            f"{stars} · {plural(row.attendees, 'member')} went"
        )
    embed = discord.Embed(title=clip(f"Movie nights of {guild_name}", 256), colour=COLOR)
    embed.description = clip(
        "\n".join(lines)
        or "Nothing watched together yet. Start with `/movienight start`, then **Schedule it**.",
        4096,
    )
    if watched:
        embed.set_footer(text=f"{plural(len(watched), 'movie')} watched together")
    return embed
