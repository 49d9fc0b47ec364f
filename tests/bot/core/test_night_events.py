"""A night's timeline: what is due when, each step once, and nothing for a canceled night."""

from __future__ import annotations

from bot.clock import Clock
from bot.core.night_events import NightEvents
from bot.store import Store

GUILD, CHANNEL, ALICE = 1111111111111111111, 2222222222222222222, 1234567890123456789
LEAD = 900.0


def timeline(store: Store, clock: Clock) -> NightEvents:
    """The timeline over a real store; answering the question (ratings) is not used here."""
    return NightEvents(store, None, clock, reminder_lead=LEAD, runtime=7200.0)  # type: ignore[arg-type]


async def schedule(events: NightEvents, clock: Clock, event_id: int = 1, start_in: float = 3600):
    start = clock.now() + start_in
    return await events.schedule(
        GUILD, CHANNEL, None, 50, ALICE, event_id, "<#5>", start, start + 7200
    )


async def kinds(events: NightEvents) -> list[tuple[str, int]]:
    return [(step.kind, step.night.night_id) for step in await events.due()]


async def test_each_step_comes_due_in_order_and_once(store: Store):
    clock = Clock()
    events = timeline(store, clock)
    night = await schedule(events, clock)
    n = night.night_id
    assert await kinds(events) == []
    assert await events.next_due() == night.starts_at - LEAD
    clock.skip(3600 - LEAD)
    assert await kinds(events) == [("remind", n)]
    assert await events.claim(n, "reminded") and not await events.claim(n, "reminded")
    assert await kinds(events) == []
    assert await events.next_due() == night.starts_at
    clock.skip(LEAD)
    assert await kinds(events) == [("start", n)]
    assert await events.moved(n, "active")
    assert await events.next_due() == night.ends_at
    clock.skip(7200)
    assert await kinds(events) == [("end", n)]
    assert await events.moved(n, "completed")
    assert await kinds(events) == [("ask", n)]
    assert await events.next_due() <= clock.now()  # type: ignore[operator]
    assert await events.claim(n, "asked")
    assert await kinds(events) == [] and await events.next_due() is None


async def test_a_night_found_late_skips_the_reminder_and_catches_up(store: Store):
    clock = Clock()
    events = timeline(store, clock)
    night = await schedule(events, clock)
    clock.skip(4 * 3600)  # the bot was away for the whole night
    assert await kinds(events) == [("start", night.night_id), ("end", night.night_id)]
    assert await events.moved(night.night_id, "active")
    after = await events.get(night.night_id)
    assert after is not None and after.reminded_at is not None  # started: no reminder any more


async def test_a_canceled_night_has_nothing_left_to_do(store: Store):
    clock = Clock()
    events = timeline(store, clock)
    night = await schedule(events, clock)
    assert await events.moved(night.night_id, "canceled")
    clock.skip(5 * 3600)
    assert await kinds(events) == [] and await events.next_due() is None
    assert not await events.moved(night.night_id, "completed")
    assert await events.history(GUILD) == []


async def test_a_night_ended_early_on_discord_is_asked_about_at_once(store: Store):
    clock = Clock()
    events = timeline(store, clock)
    night = await schedule(events, clock, start_in=600)
    assert await events.moved(night.night_id, "completed")  # a moderator ended it
    assert await kinds(events) == [("ask", night.night_id)]
    [watched] = await events.history(GUILD)
    assert watched.night.night_id == night.night_id


def test_length_is_the_runtime_when_known(store: Store):
    events = timeline(store, Clock())
    assert events.length(136) == 136 * 60 and events.length(None) == 7200.0
