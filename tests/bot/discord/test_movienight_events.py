"""The night as a Discord event, end to end: "Schedule it" makes a scheduled event, a reminder
comes before the start (also after a restart), attendees are asked afterwards and their stars
are ratings, and /movienight history shows what the server watched. Time runs on the bot's
clock, which the tests skip ahead."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.emulator import Interaction, Message
from bot.emulator.state import CREATE_EVENTS, EVENT_ACTIVE, EVENT_CANCELED, EVENT_COMPLETED
from tests.bot.conftest import GUILD
from tests.bot.restartable import RestartableHarness, restartable_fixture

pytestmark = pytest.mark.asyncio(loop_scope="module")

harness = restartable_fixture("nights")
TASTES = {
    "ann": {3: 5.0, 6: 4.5, 20: 1.0, 9: 4.0},
    "ben": {8: 4.0, 17: 2.0, 6: 2.0, 16: 4.5},
    "cat": {1: 5.0, 2: 3.0, 15: 4.0, 18: 2.5},
}
HOUR = 3600.0


async def raters(h: RestartableHarness, tag: str) -> dict[str, int]:
    """Fresh members ann/ben/cat (+tag) with a few ratings each."""
    ids = {}
    for name, ratings in TASTES.items():
        uid = h.new_member(f"{name}{tag}")
        for movie, stars in ratings.items():
            await h.bot.services.ratings.rate(uid, movie, stars)
        ids[name] = uid
    return ids


async def won_vote(
    h: RestartableHarness, ids: dict[str, int], tie: bool = False
) -> tuple[Message, Message]:
    """ann starts a night for ann, ben and cat, ben ticks the second movie (and with `tie`
    ann the first), ann closes it; returns (poll, announcement)."""
    picker = await h.run("movienight start", ids["ann"])
    chosen = await h.emu.select(
        picker, picker.selects[0].custom_id, [ids["ben"], ids["cat"]], user_id=ids["ann"]
    )
    (poll,) = await chosen.wait_followups(1, timeout=15)
    tick = await h.emu.click(poll, poll.buttons[1].custom_id, user_id=ids["ben"])
    await tick.final()
    if tie:
        await (await h.emu.click(poll, poll.buttons[0].custom_id, user_id=ids["ann"])).final()
    closing = await h.emu.click(poll, poll.buttons[-1].custom_id, user_id=ids["ann"])
    (announcement,) = await closing.wait_followups(1)
    return poll, announcement


async def press_schedule(h: RestartableHarness, announcement: Message, user: int) -> Interaction:
    return await h.emu.click(
        announcement, announcement.button("Schedule it").custom_id, user_id=user
    )


async def schedule(
    h: RestartableHarness, announcement: Message, user: int, when: str, where: str = ""
) -> Interaction:
    """Press "Schedule it" and fill in the form; returns the form's submission."""
    opened = await press_schedule(h, announcement, user)
    reply = await opened.response()
    assert reply.type == 9, reply
    return await h.emu.submit_modal(opened, {"when": when, "where": where})


async def channel_message(h: RestartableHarness, has: str, after: int = 0) -> Message:
    """Wait for a bot message in #general containing `has`, newer than message id `after`."""

    def found() -> Message | None:
        for message in h.emu.messages(h.channel, include_ephemeral=False):
            if message.id > after and has in message.text:
                return message
        return None

    return await h.emu.wait_until(found, 15, f"a message containing {has!r}")


async def timers_caught_up(h: RestartableHarness) -> None:
    """Let the bot's timers take one full look at the clock as it is now."""
    await h.bot.timers.one_pass(15)


def event_of(h: RestartableHarness, event_id: int) -> dict:
    (event,) = [e for e in h.emu.scheduled_events(GUILD) if int(e["id"]) == event_id]
    return event


def when_of(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


async def test_scheduling_needs_the_create_events_permission(harness: RestartableHarness):
    ids = await raters(harness, "perm")
    _, announcement = await won_vote(harness, ids)
    refused = await (await press_schedule(harness, announcement, ids["ann"])).final()
    assert refused is not None and refused.ephemeral
    assert refused.content == (
        "I can't create server events here: I need the **Create Events** permission. A server "
        "admin can give it to my role (Server Settings → Roles), then press **Schedule it** "
        "again."
    )
    assert harness.emu.scheduled_events(GUILD) == []
    role = harness.emu.grant(GUILD, harness.emu.bot_user_id, CREATE_EVENTS)
    try:
        opened = await press_schedule(harness, announcement, ids["ann"])
        form = await opened.response()
        assert form.type == 9 and opened.modal is not None
        assert opened.modal["title"].startswith("Schedule ")
    finally:
        harness.emu.revoke(GUILD, harness.emu.bot_user_id, role.id)


async def test_only_the_starter_or_an_event_manager_schedules(harness: RestartableHarness):
    ids = await raters(harness, "who")
    _, announcement = await won_vote(harness, ids)
    refused = await (await press_schedule(harness, announcement, ids["ben"])).final()
    assert refused is not None and refused.ephemeral
    assert refused.content.startswith("Only the member who started this movie night")
    manager = harness.new_member("eventmanager", permissions=1 << 33)  # Manage Events
    role = harness.emu.grant(GUILD, harness.emu.bot_user_id, CREATE_EVENTS)
    try:
        opened = await press_schedule(harness, announcement, manager)
        assert (await opened.response()).type == 9
    finally:
        harness.emu.revoke(GUILD, harness.emu.bot_user_id, role.id)


async def test_times_and_places_that_do_not_work_get_a_clear_answer(harness: RestartableHarness):
    ids = await raters(harness, "bad")
    _, announcement = await won_vote(harness, ids)
    role = harness.emu.grant(GUILD, harness.emu.bot_user_id, CREATE_EVENTS)
    try:
        for when, where, says in (
            ("soon", "", "I couldn't read “soon” as a time: try `in 2h`"),
            ("tomorrow", "", "Add a time of day to “tomorrow”"),
            ("2020-01-01 20:00", "", "is not in the future"),
            ("in 2h", "x" * 101, "at most 100 characters"),
        ):
            submitted = await schedule(harness, announcement, ids["ann"], when, where)
            reply = await submitted.final()
            assert reply is not None and reply.ephemeral and says in reply.content, reply
        assert harness.emu.scheduled_events(GUILD) == []
    finally:
        harness.emu.revoke(GUILD, harness.emu.bot_user_id, role.id)


async def test_an_outside_place_makes_an_external_event(harness: RestartableHarness):
    ids = await raters(harness, "ext")
    _, announcement = await won_vote(harness, ids)
    role = harness.emu.grant(GUILD, harness.emu.bot_user_id, CREATE_EVENTS)
    try:
        submitted = await schedule(harness, announcement, ids["ann"], "in 1d", "Ann's sofa")
        (done, public) = await submitted.wait_followups(2)
    finally:
        harness.emu.revoke(GUILD, harness.emu.bot_user_id, role.id)
    assert done.ephemeral and done.content.startswith("Scheduled. I'll remind this channel")
    assert not public.ephemeral and "in Ann's sofa" in public.content
    event = [e for e in harness.emu.scheduled_events(GUILD) if e["entity_type"] == 3][-1]
    assert event["channel_id"] is None and event["entity_metadata"] == {"location": "Ann's sofa"}
    assert when_of(event["scheduled_end_time"]) - when_of(event["scheduled_start_time"]) == (
        harness.settings.night_runtime
    )
    again = await (await press_schedule(harness, announcement, ids["ann"])).final()
    assert again is not None and again.ephemeral and again.content.startswith("Already scheduled")
    # cancelled on Discord by a moderator: no reminder and no question, ever
    night = await harness.store.nights.night_for_event(int(event["id"]))
    assert night is not None
    harness.emu.set_event_status(GUILD, int(event["id"]), EVENT_CANCELED)

    async def canceled() -> bool:  # the update reaches the bot over the gateway
        found = await harness.store.nights.get_night(night.night_id)
        return found is not None and found.status == "canceled"

    await until(canceled, "the night to be canceled")
    harness.settings.clock.skip(2 * 86400)
    await timers_caught_up(harness)
    said = [m.text for m in harness.emu.messages(harness.channel) if m.id > public.id]
    assert not [text for text in said if "⏰" in text or "How did you like it" in text]


async def until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 15) -> None:
    """Wait until an async condition on the bot's side holds (checked every few ms)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.01)


async def test_a_full_night(harness: RestartableHarness):
    ids = await raters(harness, "full")
    dan = harness.new_member("danfull")  # never presses Interested
    poll, announcement = await won_vote(harness, ids, tie=True)
    title = announcement.content.split("Tonight's movie: **", 1)[1].split("**", 1)[0]
    assert "1 tick each" in announcement.content and "predicted to enjoy it more" in (
        announcement.content
    )
    harness.emu.grant(GUILD, harness.emu.bot_user_id, CREATE_EVENTS)  # kept for the module

    submitted = await schedule(harness, announcement, ids["ann"], "in 3h", "Movie Night")
    done, public = await submitted.wait_followups(2)
    assert done.ephemeral and "15 min before it starts" in done.content
    (event,) = [e for e in harness.emu.scheduled_events(GUILD) if e["status"] == 1]
    event_id = int(event["id"])
    starts = when_of(event["scheduled_start_time"])
    assert abs(starts - (harness.settings.clock.now() + 3 * HOUR)) < 60
    assert when_of(event["scheduled_end_time"]) - starts == harness.settings.night_runtime
    assert (event["entity_type"], event["privacy_level"]) == (2, 2)
    assert int(event["channel_id"]) == harness.voice_channel
    assert event["name"] == f"Movie night: {title}"
    assert event["description"].startswith(f"🍿 {title}")
    assert public.content.startswith(f"📅 **{title}** is on for <t:{int(starts)}:F>")
    assert f"in <#{harness.voice_channel}>" in public.content
    assert f"https://discord.com/events/{GUILD}/{event_id}" in public.content
    for name in ("ann", "ben", "cat"):
        harness.emu.mark_interested(GUILD, event_id, ids[name])

    await harness.restart()  # the reminder and everything after must survive this

    clock = harness.settings.clock
    clock.skip(3 * HOUR - 15 * 60 + 1)
    reminder = await channel_message(harness, "⏰", after=public.id)
    assert reminder.content.startswith(f"⏰ **{title}** starts <t:{int(starts)}:R> in <#")
    going = " ".join(f"<@{u}>" for u in sorted(ids.values()))
    assert f"3 members going: {going}." in reminder.content
    assert event_of(harness, event_id)["status"] == 1

    clock.skip(15 * 60)
    await harness.emu.wait_until(
        lambda: event_of(harness, event_id)["status"] == EVENT_ACTIVE, 15, "the event to start"
    )
    clock.skip(harness.settings.night_runtime)
    question = await channel_message(harness, "How did you like it", after=reminder.id)
    assert event_of(harness, event_id)["status"] == EVENT_COMPLETED
    assert question.content.startswith(f"🎬 **{title}** is over. How did you like it, {going}?")
    assert [b.label for b in question.buttons] == ["★" * n for n in range(1, 6)]

    async def answer(user: int, stars: int) -> tuple[Message | None, Interaction]:
        current = harness.emu.message(question.id)
        inter = await harness.emu.click(current, current.buttons[stars - 1].custom_id, user_id=user)
        return await inter.final(), inter

    edited, clicked = await answer(ids["ben"], 4)
    (thanks,) = await clicked.wait_followups(1)
    assert (
        thanks.ephemeral and thanks.content == f"Thanks! Your rating of **{title}** is now ★★★★ 4."
    )
    assert edited is not None and "1 of 3 answered · average 4.0★" in edited.content
    stored = await harness.store.polls.get_poll(poll_id(poll))
    assert stored is not None and stored.winner_id is not None
    movie = stored.winner_id
    rated = await harness.store.ratings.user_ratings(ids["ben"])
    [rating] = [r for r in rated if r.movie_id == movie]
    assert (rating.stars, rating.source) == (4.0, "movienight")
    assert await harness.bot.services.queries.predict(ids["ben"], movie) is not None  # folded in
    edited, _ = await answer(ids["cat"], 5)
    assert edited is not None and "2 of 3 answered · average 4.5★" in edited.content
    refused, _ = await answer(dan, 3)
    assert refused is not None and refused.ephemeral
    assert refused.content.startswith("This question is for the members who pressed Interested")
    assert await harness.store.ratings.get_rating(dan, movie) is None

    history = await harness.run("movienight history", dan)
    assert history.ephemeral
    lines = history.embeds[0]["description"].splitlines()
    assert lines[0] == (
        f"`1.` **{title}** — <t:{int(starts)}:D> · 4.5★ from 2 answers · 3 members went"
    )

    picker = await harness.run("movienight start", ids["ann"])  # she went: not offered again
    chosen = await harness.emu.select(
        picker, picker.selects[0].custom_id, [dan], user_id=ids["ann"]
    )
    (next_time,) = await chosen.wait_followups(1, timeout=15)
    assert title not in next_time.text

    await harness.restart()  # nothing is asked twice
    await timers_caught_up(harness)
    asked = [m for m in harness.emu.messages(harness.channel) if "How did you like it" in m.text]
    assert len(asked) == 1

    forgot = await harness.run("forgetme", ids["cat"])
    confirm = forgot.button("Delete everything").custom_id
    deleted = await (await harness.emu.click(forgot, confirm, user_id=ids["cat"])).final()
    assert deleted is not None and deleted.content.startswith("Done. I deleted everything")
    history = await harness.run("movienight history", dan)
    assert "4.0★ from 1 answer · 2 members went" in history.embeds[0]["description"]


def poll_id(poll: Message) -> int:
    return int(re.match(r"poll:(\d+):", poll.buttons[0].custom_id)[1])  # type: ignore[index]


async def test_a_night_moved_on_discord_is_followed(harness: RestartableHarness):
    ids = await raters(harness, "moved")
    _, announcement = await won_vote(harness, ids)  # the bot keeps Create Events from above
    submitted = await schedule(harness, announcement, ids["ann"], "in 2h", "Movie Night")
    _, public = await submitted.wait_followups(2)
    event = [e for e in harness.emu.scheduled_events(GUILD) if e["status"] == 1][-1]
    event_id, old_start = int(event["id"]), when_of(event["scheduled_start_time"])
    night = await harness.store.nights.night_for_event(event_id)
    assert night is not None
    later = datetime.fromtimestamp(old_start + 86400, UTC)
    harness.emu.move_event(
        GUILD, event_id, later.isoformat(), (later + timedelta(hours=2)).isoformat()
    )

    async def moved() -> bool:
        found = await harness.store.nights.get_night(night.night_id)
        return found is not None and abs(found.starts_at - later.timestamp()) < 1

    await until(moved, "the night to follow its event")
    harness.settings.clock.skip(2 * HOUR + 60)  # the old start: nothing happens
    await timers_caught_up(harness)
    assert event_of(harness, event_id)["status"] == 1
    said = [m.text for m in harness.emu.messages(harness.channel) if m.id > public.id]
    assert not [text for text in said if "⏰" in text]
    harness.settings.clock.skip(86400 - 15 * 60)
    reminder = await channel_message(harness, "⏰", after=public.id)
    assert f"starts <t:{int(later.timestamp())}:R>" in reminder.content
