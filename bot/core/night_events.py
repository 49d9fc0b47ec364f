"""A movie night as a Discord event: its timeline, attendees and the question afterwards.

The timeline is the owner of "what happens when": a reminder `reminder_lead` seconds before
the start (skipped once the night has begun), the start, the end, then one after-movie
question to the attendees. Every step is recorded in the store as it happens, so a restart
picks up exactly where the night was.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from bot.clock import Clock
from bot.core.ratings import RateResult, RatingsService
from bot.store.backend import StoreBackend
from bot.store.schema import Night, WatchedNight

log = logging.getLogger(__name__)

StepKind = Literal["remind", "start", "end", "ask"]


@dataclass(frozen=True)
class Step:
    """One timeline step that is due for a night."""

    kind: StepKind
    night: Night


class NotAnAttendee(LookupError):
    """Only members who marked themselves interested answer the after-movie question."""


class NightEvents:
    """Scheduled movie nights over the store's night repository, on the bot's clock."""

    def __init__(
        self,
        store: StoreBackend,
        ratings: RatingsService,
        clock: Clock,
        reminder_lead: float,
        runtime: float,
    ) -> None:
        self._store = store
        self._ratings = ratings
        self._clock = clock
        self.reminder_lead = float(reminder_lead)
        self.runtime = float(runtime)

    def now(self) -> float:
        """The time on the clock the timeline runs on."""
        return self._clock.now()

    def length(self, runtime_min: int | None) -> float:
        """How long a night lasts in seconds: the movie's runtime when known, else the default."""
        return runtime_min * 60.0 if runtime_min else self.runtime

    async def schedule(
        self,
        guild_id: int,
        channel_id: int,
        poll_id: int | None,
        movie_id: int,
        creator_id: int,
        event_id: int,
        place: str,
        starts_at: float,
        ends_at: float,
    ) -> Night:
        """Record a night whose Discord event was just created; ValueError if the poll has one."""
        night = await self._store.nights.add_night(
            guild_id, channel_id, poll_id, movie_id, creator_id, event_id, place, starts_at, ends_at
        )
        log.info("night %d scheduled (event %d) for %.0f", night.night_id, event_id, starts_at)
        return night

    async def get(self, night_id: int) -> Night | None:
        """A night by id."""
        return await self._store.nights.get_night(night_id)

    async def for_poll(self, poll_id: int) -> Night | None:
        """The night scheduled from a poll, if any."""
        return await self._store.nights.night_for_poll(poll_id)

    async def for_event(self, event_id: int) -> Night | None:
        """The night behind a Discord event, or None when the event is not one of ours."""
        return await self._store.nights.night_for_event(event_id)

    # ----------------------------------------------------------------------- timeline
    async def due(self) -> list[Step]:
        """Every step whose time has come, in timeline order per night."""
        now = self._clock.now()
        steps: list[Step] = []
        for night in await self._store.nights.unfinished_nights():
            if night.status == "scheduled":
                if night.reminded_at is None and self._remind_at(night) <= now < night.starts_at:
                    steps.append(Step("remind", night))
                if now >= night.starts_at:
                    steps.append(Step("start", night))
            if night.status in ("scheduled", "active") and now >= night.ends_at:
                steps.append(Step("end", night))
            if night.status == "completed" and night.asked_at is None:
                steps.append(Step("ask", night))
        return steps

    async def next_due(self) -> float | None:
        """When the next step of any night comes due (now, if one is waiting), or None."""
        times: list[float] = []
        for night in await self._store.nights.unfinished_nights():
            if night.status == "scheduled":
                if night.reminded_at is None:
                    times.append(self._remind_at(night))
                times.append(night.starts_at)
            if night.status in ("scheduled", "active"):
                times.append(night.ends_at)
            else:
                times.append(self._clock.now())
        return min(times, default=None)

    def _remind_at(self, night: Night) -> float:
        return night.starts_at - self.reminder_lead

    async def moved(self, night_id: int, status: str) -> bool:
        """The night's event moved on (started, ended, canceled); True if that is news."""
        changed = await self._store.nights.move_night(night_id, status)
        if changed:
            log.info("night %d is now %s", night_id, status)
        return changed

    async def retimed(self, night_id: int, starts_at: float, ends_at: float) -> bool:
        """The night's event was moved on Discord: follow it (and remind again if it has not
        begun). True if that changed anything."""
        changed = await self._store.nights.retime_night(night_id, starts_at, ends_at)
        if changed:
            log.info("night %d moved to %.0f-%.0f", night_id, starts_at, ends_at)
        return changed

    async def claim(self, night_id: int, step: Literal["reminded", "asked"]) -> bool:
        """Take a once-only step (the reminder, the question); False if it was already taken."""
        return await self._store.nights.mark_night(night_id, step)

    # ---------------------------------------------------------------------- attendees
    async def set_attendees(self, night_id: int, members: Iterable[int]) -> None:
        """The attendees as Discord lists them now (answers already given are kept).

        The gateway's "user added/removed" events do not name the member to a bot without
        the privileged members intent, so the list is asked for when it is needed.
        """
        await self._store.nights.set_attendees(night_id, members)

    async def attendees(self, night_id: int) -> dict[int, float | None]:
        """Attendees and their after-movie stars (None until they answer)."""
        return await self._store.nights.attendees(night_id)

    async def answer(self, night: Night, member: int, stars: float) -> RateResult:
        """An attendee's stars after the movie: an ordinary rating, folded in at once.

        NotAnAttendee for members who did not mark themselves interested.
        """
        if member not in await self.attendees(night.night_id):
            raise NotAnAttendee(f"member {member} did not attend night {night.night_id}")
        result = await self._ratings.rate(member, night.movie_id, stars, source="movienight")
        await self._store.nights.record_answer(night.night_id, member, result.stars)
        return result

    # ------------------------------------------------------------------------ history
    async def history(self, guild_id: int, limit: int = 50) -> list[WatchedNight]:
        """What a server watched together, newest first, with the stars it got."""
        return await self._store.nights.history(guild_id, limit)

    async def upcoming(self, guild_id: int) -> list[Night]:
        """A server's nights still to come or running."""
        return await self._store.nights.upcoming_nights(guild_id)
