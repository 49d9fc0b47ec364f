"""The movie-night timeline, run on the bot's clock: votes that run out, reminders, the
event's start and end, and the question afterwards.

Nothing waits in memory only: what is due is read from the store, so after a restart every
timer is armed again at start-up and anything that came due while the bot was away runs then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

import discord

from bot.core.night_events import Step
from bot.discord.nights import question_text, question_view, reminder_text
from bot.discord.polls import close_and_announce
from bot.discord.render import title_of
from bot.store.schema import Night

if TYPE_CHECKING:
    from bot.discord.client import MovieBot

log = logging.getLogger(__name__)

RETRY_S = 30.0  # after an unexpected failure, look again this much later (real seconds)


class NightTimers:
    """One background task that sleeps until the next due step, runs it, and repeats."""

    def __init__(self, bot: MovieBot) -> None:
        self.bot = bot
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.steps_run = 0  # steps taken since start
        self.passes = 0  # looks at the clock since start (tests wait on these)
        self._passed = asyncio.Event()

    def start(self) -> None:
        """Start the loop (it waits for the gateway to be ready first)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="movie-night-timers")

    def poke(self) -> None:
        """Something changed (a vote opened, a night was scheduled): look again now."""
        self._wake.set()

    async def one_pass(self, timeout: float) -> None:
        """Look at the clock now and return once that look is done (the console's "wait")."""
        passes = self.passes
        self.poke()
        async with asyncio.timeout(timeout):
            while self.passes <= passes:
                await self._passed.wait()
                self._passed.clear()

    async def stop(self) -> None:
        """Stop the loop; safe to call twice."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        await self.bot.wait_until_ready()
        clock = self.bot.settings.clock
        log.info("movie-night timers running")
        while True:
            self._wake.clear()
            failed = False
            try:
                await self.run_due()
                wake_at = await self._next_due()
                self.passes += 1
                self._passed.set()
            except Exception:
                log.exception("movie-night timers failed; retrying in %.0f s", RETRY_S)
                failed, wake_at = True, None
            waits = [asyncio.ensure_future(self._wake.wait())]
            if wake_at is not None:
                waits.append(asyncio.ensure_future(clock.sleep_until(wake_at)))
            try:
                await asyncio.wait(
                    waits, timeout=RETRY_S if failed else None, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                for waiting in waits:
                    waiting.cancel()

    async def _next_due(self) -> float | None:
        services = self.bot.services
        times = [await services.nights.next_end(), await services.events.next_due()]
        return min((t for t in times if t is not None), default=None)

    async def run_due(self) -> None:
        """Close the votes whose time is up, then take every due night step."""
        services = self.bot.services
        for poll in await services.nights.ending():
            try:
                await close_and_announce(self.bot, poll.poll_id)
            except Exception:
                log.exception("closing poll %d on time failed", poll.poll_id)
                await services.nights.close(poll.poll_id)  # never retried in a loop
            self.steps_run += 1
        for step in await services.events.due():
            try:
                await self._take(step)
            except Exception:
                log.exception("night %d: %s failed", step.night.night_id, step.kind)
                await self._give_up(step)
            self.steps_run += 1

    async def _take(self, step: Step) -> None:
        night = step.night
        if step.kind == "remind":
            await self._remind(night)
        elif step.kind == "start":
            await self._set_status(night, discord.EventStatus.active)
        elif step.kind == "end":
            await self._set_status(night, discord.EventStatus.completed)
        else:
            await self._ask(night)

    async def _give_up(self, step: Step) -> None:
        """Move a night past a step that failed, so it is not tried again and again."""
        events = self.bot.services.events
        night = step.night.night_id
        if step.kind == "remind":
            await events.claim(night, "reminded")
        elif step.kind == "start":
            await events.moved(night, "active")
        elif step.kind == "end":
            await events.moved(night, "completed")
        else:
            await events.claim(night, "asked")

    async def _event(self, night: Night) -> discord.ScheduledEvent | None:
        """The night's Discord event as it is now, or None if it is gone."""
        guild = self.bot.get_guild(night.guild_id)
        if guild is None or night.event_id is None:
            return None
        try:
            return await guild.fetch_scheduled_event(night.event_id)
        except discord.NotFound:
            return None

    async def _attendees(self, night: Night) -> list[int]:
        """Who pressed Interested, as Discord lists them now (the stored list if it can't)."""
        events = self.bot.services.events
        event = await self._event(night)
        if event is not None:
            try:
                users = [u.id async for u in event.users() if not u.bot]
            except discord.HTTPException as exc:
                log.warning("night %d: could not list attendees: %s", night.night_id, exc)
            else:
                await events.set_attendees(night.night_id, users)
        return list(await events.attendees(night.night_id))

    def _channel(self, night: Night) -> discord.PartialMessageable:
        return self.bot.get_partial_messageable(night.channel_id, guild_id=night.guild_id)

    async def _remind(self, night: Night) -> None:
        events = self.bot.services.events
        if not await events.claim(night.night_id, "reminded"):
            return
        going = await self._attendees(night)
        title = title_of(self.bot.services.queries, night.movie_id)
        await self._channel(night).send(
            reminder_text(night, title, going),
            allowed_mentions=discord.AllowedMentions(users=True),
        )
        log.info("night %d: reminder posted (%d going)", night.night_id, len(going))

    async def _set_status(self, night: Night, status: discord.EventStatus) -> None:
        """Start or end the night's event on Discord, then move the night along."""
        events = self.bot.services.events
        event = await self._event(night)
        if event is None or event.status == discord.EventStatus.canceled:
            await events.moved(night.night_id, "canceled")
            return
        if event.status == discord.EventStatus.scheduled:
            event = await event.start()
        if status == discord.EventStatus.completed and event.status == discord.EventStatus.active:
            event = await event.end()
        await events.moved(night.night_id, "active")
        if status == discord.EventStatus.completed:
            await events.moved(night.night_id, "completed")

    async def _ask(self, night: Night) -> None:
        events = self.bot.services.events
        if not await events.claim(night.night_id, "asked"):
            return
        await self._attendees(night)
        attendees = await events.attendees(night.night_id)
        title = title_of(self.bot.services.queries, night.movie_id)
        channel = self._channel(night)
        if not attendees:
            await channel.send(
                f"🎬 **{title}** is over. Nobody pressed Interested on the event, so there is "
                f"nobody to ask; rate it any time with `/rate`."
            )
            return
        await channel.send(
            question_text(title, attendees),
            view=question_view(night.night_id),
            allowed_mentions=discord.AllowedMentions(users=True),
        )
        log.info("night %d: asked %d attendees", night.night_id, len(attendees))
