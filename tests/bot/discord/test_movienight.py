"""/movienight start end to end: choosing the group, group picks, and fair votes (approval and
ranked, group-only or open, ending on time or by the starter) that survive restarts."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

import pytest

from bot.emulator import Interaction, Message
from tests.bot.conftest import GUILD
from tests.bot.restartable import RestartableHarness, restartable_fixture

pytestmark = pytest.mark.asyncio(loop_scope="module")

ONLY_STARTER = "Only the member who started the movie night can close the poll."
PICK = re.compile(r"`(\d)\.` \*\*(.+?)\*\*.*? — group (\d\.\d)★\n +(.+)")
TASTES = {  # movie id -> stars: three members with some overlap, each rates differently
    "ann": {3: 5.0, 6: 4.5, 20: 1.0, 9: 4.0},
    "ben": {8: 4.0, 17: 2.0, 6: 2.0, 16: 4.5},
    "cat": {1: 5.0, 2: 3.0, 15: 4.0, 18: 2.5},
}


harness = restartable_fixture("movienight")


async def raters(h: RestartableHarness, tag: str) -> dict[str, int]:
    """Fresh members named ann/ben/cat (+tag) with the ratings in TASTES."""
    ids = {}
    for name, ratings in TASTES.items():
        uid = h.new_member(f"{name}{tag}")
        for movie, stars in ratings.items():
            await h.bot.services.ratings.rate(uid, movie, stars)
        ids[name] = uid
    return ids


async def movienight(
    h: RestartableHarness, starter: int, others: list[int], **options: object
) -> Message:
    """Run /movienight, pick members in the user select, return the public result."""
    picker = await h.run("movienight start", starter, **options)
    assert picker.ephemeral and picker.content == "Choose who's watching (you're included):"
    (menu,) = picker.selects
    assert menu.type == 5 and menu.max_values == 10  # a user select, up to ten members
    chosen = await h.emu.select(picker, menu.custom_id, others, user_id=starter)
    assert (await chosen.final()).content == "Finding a movie for you all…"
    assert h.emu.message(picker.id).components == []
    (result,) = await chosen.wait_followups(1, timeout=15)
    assert not result.ephemeral
    return result


def picks(message: Message) -> list[tuple[str, float, dict[str, float]]]:
    """(title, group score, member -> predicted stars) per pick in the group embed."""
    rows = []
    for _, title, score, members in PICK.findall(message.embeds[0]["description"]):
        stars = {name: float(s) for name, s in (m.rsplit(" ", 1) for m in members.split(", "))}
        rows.append((title, float(score), stars))
    return rows


def tally(message: Message) -> list[int]:
    """Ticks (or first choices) per option as shown in the poll embed."""
    return [int(n) for n in re.findall(r"— \*\*(\d+)\*\*", message.embeds[1]["description"])]


def poll_id_of(message: Message) -> int:
    """The poll behind a poll message (from its first vote button)."""
    return int(message.buttons[0].custom_id.split(":")[1])


def winner_label(poll: Message, option: int) -> str:
    """The title on a poll's vote button (0-based option)."""
    return poll.buttons[option].label.split(". ", 1)[1]


async def channel_message(h: RestartableHarness, has: str, after: int = 0) -> Message:
    """Wait for a bot message in #general containing `has` (newer than message id `after`)."""

    def found() -> Message | None:
        for message in reversed(h.emu.messages(h.channel, include_ephemeral=False)):
            if message.id > after and has in message.text:
                return message
        return None

    return await h.emu.wait_until(found, 15, f"a message containing {has!r}")


async def vote(h: RestartableHarness, poll: Message, option: int, user: int) -> Interaction:
    """Press the vote button of option `option` (0-based)."""
    current = h.emu.message(poll.id)
    return await h.emu.click(current, current.buttons[option].custom_id, user_id=user)


async def settled(h: RestartableHarness, inter: Interaction) -> Message:
    """The poll message after the bot answered a click."""
    await inter.final(10)
    return h.emu.message(inter.message_id or 0)


async def test_group_picks_with_each_members_stars(harness: RestartableHarness):
    ids = await raters(harness, "1")
    result = await movienight(
        harness, ids["ann"], [ids["ben"], ids["cat"]], count=4, strategy="fair"
    )
    group, ballot = result.embeds
    assert group["title"] == "Movie night for ann1, ben1, cat1"
    assert group["footer"]["text"] == (
        "Strategy: fair · ranked by the least happy member: nobody has to sit through it"
    )
    rows = picks(result)
    assert len(rows) == 4
    rated = {harness.bot.services.queries.movie(m).display for r in TASTES.values() for m in r}
    for title, score, stars in rows:
        assert title not in rated  # nothing any member rated
        assert set(stars) == {"ann1", "ben1", "cat1"}
        assert score == min(stars.values())  # fair: the least happy member's stars
    assert ballot["title"] == "Vote for tonight's movie" and tally(result) == [0, 0, 0, 0]
    labels = [b.label for b in result.buttons]
    assert labels == [f"{k + 1}. {t}" for k, (t, _, _) in enumerate(rows)] + ["Close poll"]
    assert result.content == ""  # everyone has ratings: no notes


def mean(stars: list[float]) -> float:
    return sum(stars) / len(stars)


@pytest.mark.parametrize(
    ("strategy", "combine"),
    [("no misery", mean), ("fair", min), ("average", mean), ("most pleasure", max)],
)
async def test_strategies(
    harness: RestartableHarness, strategy: str, combine: Callable[[list[float]], float]
):
    ids = await raters(harness, strategy[:2])
    result = await movienight(harness, ids["ben"], [ids["ann"], ids["cat"]], strategy=strategy)
    assert result.embeds[0]["footer"]["text"].startswith(f"Strategy: {strategy} · ")
    rows = picks(result)
    assert len(rows) == 3
    for _, score, stars in rows:  # group and members each shown to 0.1: 0.05 off apiece
        assert score == pytest.approx(combine(list(stars.values())), abs=0.101)


async def test_fair_and_most_pleasure_differ_for_split_tastes(harness: RestartableHarness):
    ids = await raters(harness, "split")
    twins = await raters(harness, "twin")  # the same tastes: a group without a last shortlist
    fair = picks(
        await movienight(harness, ids["ann"], [ids["ben"], ids["cat"]], count=5, strategy="fair")
    )
    most = picks(
        await movienight(
            harness, twins["cat"], [twins["ann"], twins["ben"]], count=5, strategy="most pleasure"
        )
    )
    assert min(min(s.values()) for _, _, s in fair) >= min(min(s.values()) for _, _, s in most)
    assert max(max(s.values()) for _, _, s in most) >= max(max(s.values()) for _, _, s in fair)


async def test_the_next_shortlist_for_a_group_brings_other_movies(harness: RestartableHarness):
    ids = await raters(harness, "again")
    first = picks(await movienight(harness, ids["ann"], [ids["ben"], ids["cat"]], count=4))
    again = picks(await movienight(harness, ids["ben"], [ids["ann"]], count=4))
    assert len(first) == len(again) == 4
    assert not {t for t, _, _ in first} & {t for t, _, _ in again}


async def test_voice_channel_members(harness: RestartableHarness):
    ids = await raters(harness, "v")
    newbie = harness.new_member("newbiev")
    robot = 4_000_000_000_000_000_077
    harness.emu.add_member(GUILD, robot, "robotv", bot=True)
    for user in (ids["ann"], ids["ben"], newbie, robot):
        harness.emu.set_voice_state(GUILD, user, harness.voice_channel)
    try:
        result = await harness.run(
            "movienight start", ids["ann"], voice=True, strategy="fair", timeout=15
        )
        assert not result.ephemeral
        assert result.embeds[0]["title"] == "Movie night for annv, benv, newbiev"
        assert "catv" not in result.text and "robotv" not in result.text
        assert "No ratings yet from newbiev: try `/onboard`" in result.content
        for _, score, stars in picks(result):
            assert set(stars) == {"annv", "benv"} and score == min(stars.values())
    finally:
        for user in (ids["ann"], ids["ben"], newbie, robot):
            harness.emu.set_voice_state(GUILD, user, None)
    away = await harness.run("movienight start", ids["cat"], voice=True)
    assert away.ephemeral and away.content.startswith("Join a voice channel first")


async def test_members_without_ratings_are_invited(harness: RestartableHarness):
    ids = await raters(harness, "n")
    fresh = [harness.new_member("zoe"), harness.new_member("yan")]
    result = await movienight(harness, ids["ann"], fresh)
    assert "No ratings yet from zoe, yan: try `/onboard` so you count next time!" in result.content
    for _, _, stars in picks(result):
        assert set(stars) == {"annn"}
    nobody = await movienight(harness, fresh[0], [fresh[1]])
    assert "Nobody in this group has rated any movies yet" in nobody.content
    assert "/onboard" in nobody.content
    assert nobody.buttons == [] and nobody.embeds == []


async def test_bots_and_duplicates_are_ignored(harness: RestartableHarness):
    ids = await raters(harness, "d")
    robot = 4_000_000_000_000_000_078
    harness.emu.add_member(GUILD, robot, "robotd", bot=True)
    chosen = [ids["ann"], ids["ben"], robot, harness.emu.bot_user_id, ids["ben"]]
    result = await movienight(harness, ids["ann"], chosen)
    assert result.embeds[0]["title"] == "Movie night for annd, bend"
    assert "robot" not in result.text and "Movie Bot" not in result.text
    for _, _, stars in picks(result):
        assert list(stars) == ["annd", "bend"]


async def test_group_of_one_is_like_recommend(harness: RestartableHarness):
    ids = await raters(harness, "solo")
    result = await movienight(harness, ids["cat"], [ids["cat"]], count=5)
    mine = await harness.run("recommend", ids["cat"], count=5)
    personal = re.findall(r"\*\*(.+?)\*\* .*? — ≈(\d\.\d)★", mine.embeds[0]["description"])
    rows = picks(result)
    assert [t for t, _, _ in rows] == [t for t, _ in personal]
    assert [(s, st["catsolo"]) for _, s, st in rows] == [(float(p), float(p)) for _, p in personal]


async def test_member_who_left_is_left_out(harness: RestartableHarness):
    ids = await raters(harness, "l")
    harness.emu.set_voice_state(GUILD, ids["cat"], harness.voice_channel)
    harness.emu.remove_member(GUILD, ids["cat"])
    result = await movienight(harness, ids["ben"], [ids["ann"], ids["cat"]])
    assert "Not in this server any more, so left out: catl." in result.content
    assert result.embeds[0]["title"] == "Movie night for benl, annl"
    for _, _, stars in picks(result):
        assert set(stars) == {"annl", "benl"}


async def test_approval_ticks_are_changeable_and_show_who_voted(harness: RestartableHarness):
    ids = await raters(harness, "p")
    poll = await movienight(harness, ids["ann"], [ids["ben"], ids["cat"]])
    assert "Tick every movie you'd watch" in poll.embeds[1]["description"]
    assert "Closes <t:" in poll.embeds[1]["description"]
    assert poll.embeds[1]["footer"]["text"] == (
        "0 voters · approval vote · the group votes · changeable until it closes"
    )
    after = await settled(harness, await vote(harness, poll, 0, ids["ben"]))
    assert tally(after) == [1, 0, 0]
    after = await settled(harness, await vote(harness, poll, 1, ids["ben"]))  # a second tick
    assert tally(after) == [1, 1, 0]
    after = await settled(harness, await vote(harness, poll, 0, ids["ben"]))  # untick
    assert tally(after) == [0, 1, 0]
    after = await settled(harness, await vote(harness, poll, 1, ids["cat"]))
    assert tally(after) == [0, 2, 0]
    ben, cat = f"<@{ids['ben']}>", f"<@{ids['cat']}>"
    assert f"\n      {ben} {cat}\n" in after.embeds[1]["description"]  # who, shown by name
    assert after.content == "" and after.data["mentions"] == []  # nobody is pinged
    assert after.embeds[1]["footer"]["text"].startswith("2 voters ·")
    assert after.embeds[0] == poll.embeds[0]  # the group picks stay as they were
    assert [b.label for b in after.buttons] == [b.label for b in poll.buttons]


async def test_only_the_group_votes_unless_the_starter_opens_it(harness: RestartableHarness):
    ids = await raters(harness, "g")
    outsider = harness.new_member("outsiderg")
    poll = await movienight(harness, ids["ann"], [ids["ben"]])
    refused = await (await vote(harness, poll, 0, outsider)).final()
    assert refused is not None and refused.ephemeral
    assert refused.content.startswith("This vote is for the members picked for this movie night")
    assert "`open:true`" in refused.content
    assert tally(harness.emu.message(poll.id)) == [0, 0, 0]
    assert tally(await settled(harness, await vote(harness, poll, 0, ids["ann"]))) == [1, 0, 0]
    opened = await movienight(harness, ids["ann"], [ids["ben"]], open=True)
    assert opened.embeds[1]["footer"]["text"].startswith("0 voters · approval vote · open")
    assert tally(await settled(harness, await vote(harness, opened, 2, outsider))) == [0, 0, 1]


async def test_a_tie_goes_to_the_movie_the_group_will_enjoy_most(harness: RestartableHarness):
    ids = await raters(harness, "t")
    poll = await movienight(harness, ids["ann"], [ids["ben"], ids["cat"]])
    await settled(harness, await vote(harness, poll, 0, ids["ben"]))
    await settled(harness, await vote(harness, poll, 2, ids["cat"]))
    scores = (await harness.store.polls.get_poll(poll_id_of(poll))).scores  # type: ignore[union-attr]
    first, third = (scores[int(poll.buttons[k].custom_id.rsplit(":", 1)[1])] for k in (0, 2))
    closing = await harness.emu.click(poll, poll.buttons[-1].custom_id, user_id=ids["ann"])
    (announcement,) = await closing.wait_followups(1)
    winner, loser = (0, 2) if first >= third else (2, 0)
    best, worst = max(first, third), min(first, third)
    assert announcement.content.startswith(
        f"🍿 Tonight's movie: **{winner_label(poll, winner)}** (1 tick from 2 voters)!\n"
        f"It tied with **{winner_label(poll, loser)}** (1 tick each); "
    )
    if best > worst:
        assert (
            f"wins because the group is predicted to enjoy it more ({best:.2f}★ against "
            f"{worst:.2f}★)" in announcement.content
        )
    assert announcement.data["mentions"] == []
    assert [b.label for b in announcement.buttons] == ["Schedule it"]


async def test_ranked_choice_drops_the_least_liked_until_a_majority(harness: RestartableHarness):
    ids = await raters(harness, "rc")
    voters = [harness.new_member(f"ranker{k}") for k in range(5)]
    poll = await movienight(harness, ids["ann"], [ids["ben"]], vote="ranked", open=True)
    assert "in the order you like them" in poll.embeds[1]["description"]
    orders = [(0, 1), (0, 2), (1, 0), (2, 1), (2, 0)]  # option 1 is dropped, its voter -> 0
    for voter, order in zip(voters, orders, strict=True):
        for option in order:
            inter = await vote(harness, poll, option, voter)
            await settled(harness, inter)
        (ranking,) = await inter.wait_followups(1)
        labels = [winner_label(poll, k) for k in order]
        assert ranking.ephemeral
        assert ranking.content == "Your ranking:\n" + "\n".join(
            f"{k}. {label}" for k, label in enumerate(labels, 1)
        )
    shown = harness.emu.message(poll.id)
    assert tally(shown) == [2, 1, 2]  # first choices
    assert "on 4 ballots" in shown.embeds[1]["description"]
    undo = await vote(harness, poll, 1, voters[3])  # takes option 1 off: only 2 is left
    await settled(harness, undo)
    (left,) = await undo.wait_followups(1)
    assert left.content == f"Your ranking:\n1. {winner_label(poll, 2)}"
    await settled(harness, await vote(harness, poll, 1, voters[3]))  # and back, ranked last
    closing = await harness.emu.click(poll, poll.buttons[-1].custom_id, user_id=ids["ann"])
    (announcement,) = await closing.wait_followups(1)
    assert announcement.content.startswith(
        f"🍿 Tonight's movie: **{winner_label(poll, 0)}**, first choice of 3 of 5 voters after "
        f"2 rounds (dropped: {winner_label(poll, 1)})!"
    )


async def test_ends_in_must_be_a_duration_in_range(harness: RestartableHarness):
    ann = harness.new_member("anndur")
    for bad, says in (
        ("soon", "I couldn't read “soon” as a duration"),
        ("0m", "from 1 minute to 7 days"),
        ("30y", "“y” is not a unit I know"),
    ):
        reply = await harness.run("movienight start", ann, ends_in=bad)
        assert reply.ephemeral and reply.content.startswith("`ends_in`: ")
        assert says in reply.content


async def test_a_vote_closes_on_time_and_a_late_vote_is_refused(harness: RestartableHarness):
    ids = await raters(harness, "end")
    poll = await movienight(harness, ids["ann"], [ids["ben"]], ends_in="10m")
    ends = re.search(r"Closes <t:(\d+):R>", poll.embeds[1]["description"])
    assert ends is not None
    assert abs(int(ends[1]) - (harness.settings.clock.now() + 600)) < 30
    await settled(harness, await vote(harness, poll, 1, ids["ben"]))
    seen = harness.emu.message(poll.id)
    harness.settings.clock.skip(601)
    announcement = await channel_message(harness, "Tonight's movie", after=poll.id)
    winner = winner_label(poll, 1)
    assert announcement.content.startswith(
        f"🍿 Tonight's movie: **{winner}** (1 tick from 1 voter)!"
    )
    assert [b.label for b in announcement.buttons] == ["Schedule it"]
    closed = harness.emu.message(poll.id)
    assert closed.embeds[1]["title"] == "Poll closed" and tally(closed) == [0, 1, 0]
    assert f"Winner: **{winner}**" in closed.embeds[1]["description"]
    assert all(b.disabled for b in closed.buttons)
    late = await harness.emu.click_as_seen(seen, seen.buttons[0].custom_id, user_id=ids["ann"])
    refused = await late.final()
    assert refused is not None and refused.ephemeral
    assert refused.content == f"This poll is closed: tonight's movie is **{winner}**."
    assert tally(harness.emu.message(poll.id)) == [0, 1, 0]


async def test_concurrent_voters(harness: RestartableHarness):
    ids = await raters(harness, "c")
    poll = await movienight(harness, ids["ann"], [ids["ben"], ids["cat"]], open=True)
    voters = [harness.new_member(f"voter{k}") for k in range(16)]
    first = [await vote(harness, poll, k % 3, u) for k, u in enumerate(voters)]
    again = [await vote(harness, poll, 2, u) for u in voters[::4]]  # tick 2 too, or untick it
    await asyncio.gather(*(i.final(15) for i in first + again))
    assert all(i.acknowledged for i in first + again)
    shown = tally(harness.emu.message(poll.id))
    store = await harness.store.polls.tally(poll_id_of(poll))
    assert shown == list(store.values())
    ticks = len(voters) + sum(1 if k % 3 != 2 else -1 for k in range(0, 16, 4))
    assert sum(shown) == ticks


async def test_only_the_starter_closes_and_the_winner_is_announced(harness: RestartableHarness):
    ids = await raters(harness, "w")
    poll = await movienight(harness, ids["ann"], [ids["ben"], ids["cat"]])
    for user, option in ((ids["ben"], 2), (ids["cat"], 2), (ids["ann"], 0)):
        await settled(harness, await vote(harness, poll, option, user))
    close = poll.buttons[-1].custom_id
    refused = await (await harness.emu.click(poll, close, user_id=ids["ben"])).final()
    assert refused is not None and refused.ephemeral and refused.content == ONLY_STARTER
    assert not any(b.disabled for b in harness.emu.message(poll.id).buttons)
    closing = await harness.emu.click(poll, close, user_id=ids["ann"])
    closed = await closing.final()
    assert closed is not None and closed.embeds[1]["title"] == "Poll closed"
    assert tally(closed) == [1, 0, 2]
    assert all(b.disabled for b in closed.buttons)
    (announcement,) = await closing.wait_followups(1)
    winner = winner_label(poll, 2)
    assert announcement.content.startswith(
        f"🍿 Tonight's movie: **{winner}** (2 ticks from 3 voters)!\n"
    )
    assert "tied" not in announcement.content
    assert not announcement.ephemeral
    with pytest.raises(ValueError, match="disabled"):
        await vote(harness, poll, 0, ids["ben"])


async def test_poll_survives_a_restart(harness: RestartableHarness):
    ids = await raters(harness, "r")
    late = harness.new_member("latecomer")
    poll = await movienight(harness, ids["ann"], [ids["ben"], ids["cat"]], open=True)
    await settled(harness, await vote(harness, poll, 0, ids["ben"]))
    await settled(harness, await vote(harness, poll, 1, ids["cat"]))

    await harness.restart()

    after = await settled(harness, await vote(harness, poll, 1, late))
    assert tally(after) == [1, 2, 0]  # the ticks from before the restart are kept
    after = await settled(harness, await vote(harness, poll, 1, ids["ben"]))
    assert tally(after) == [1, 3, 0]
    close = poll.buttons[-1].custom_id
    refused = await (await harness.emu.click(poll, close, user_id=late)).final()
    assert refused is not None and refused.content == ONLY_STARTER
    closing = await harness.emu.click(poll, close, user_id=ids["ann"])
    closed = await closing.final()
    assert closed is not None and all(b.disabled for b in closed.buttons)
    (announcement,) = await closing.wait_followups(1)
    assert "(3 ticks from 3 voters)" in announcement.content


async def test_votes_racing_the_close(harness: RestartableHarness):
    ids = await raters(harness, "x")
    poll = await movienight(harness, ids["ann"], [ids["ben"], ids["cat"]], open=True)
    voters = [harness.new_member(f"racer{k}") for k in range(12)]
    early = [await vote(harness, poll, k % 3, u) for k, u in enumerate(voters[:6])]
    closing = await harness.emu.click(poll, poll.buttons[-1].custom_id, user_id=ids["ann"])
    late = [await vote(harness, poll, k % 3, u) for k, u in enumerate(voters[6:])]
    await asyncio.gather(*(i.response(10) for i in [*early, closing, *late]))
    (announcement,) = await closing.wait_followups(1)
    final = harness.emu.message(poll.id)
    assert final.embeds[1]["title"] == "Poll closed"
    assert all(b.disabled for b in final.buttons)
    assert tally(final) == list((await harness.store.polls.tally(poll_id_of(poll))).values())
    counts = tally(final)
    assert announcement.content.startswith("🍿 Tonight's movie: **")
    assert f"({plural_ticks(max(counts))} from {sum(counts)} voter" in announcement.content
    for inter in [*early, *late]:  # every voter got an answer: the tally, or "closed"
        reply = await inter.response()
        assert reply.type == 7 or (
            reply.ephemeral and reply.content.startswith("This poll is closed")
        )
    replies = [await i.response() for i in [*early, *late]]
    assert sum(counts) == sum(r.type == 7 for r in replies)


def plural_ticks(n: int) -> str:
    return f"{n} tick" + ("" if n == 1 else "s")


async def test_double_close_announces_once(harness: RestartableHarness):
    ids = await raters(harness, "dc")
    poll = await movienight(harness, ids["ann"], [ids["ben"]])
    await settled(harness, await vote(harness, poll, 1, ids["ben"]))
    close = poll.buttons[-1].custom_id
    clicks = [await harness.emu.click(poll, close, user_id=ids["ann"]) for _ in range(2)]
    replies = await asyncio.gather(*(c.response(10) for c in clicks))
    assert sorted(r.type for r in replies) == [4, 7]  # one closes, one is told it already is
    (again,) = [r for r in replies if r.type == 4]
    assert again.ephemeral and again.content == "This poll is already closed."
    (closer,) = [c for c, r in zip(clicks, replies, strict=True) if r.type == 7]
    (announcement,) = await closer.wait_followups(1)
    assert sum(len(c.followup_ids) for c in clicks) == 1
    assert announcement.content.startswith(
        f"🍿 Tonight's movie: **{winner_label(poll, 1)}** (1 tick from 1 voter)!"
    )


async def test_closing_without_votes_picks_the_predicted_favourite(harness: RestartableHarness):
    ids = await raters(harness, "nv")
    poll = await movienight(harness, ids["ben"], [ids["cat"]])
    closing = await harness.emu.click(poll, poll.buttons[-1].custom_id, user_id=ids["ben"])
    closed = await closing.final()
    assert closed is not None
    assert closed.embeds[1]["footer"]["text"].startswith("0 voters ·")
    assert closed.embeds[1]["footer"]["text"].endswith("· final result")
    (announcement,) = await closing.wait_followups(1)
    stored = await harness.store.polls.get_poll(poll_id_of(poll))
    assert stored is not None and stored.winner_id == max(stored.scores, key=stored.scores.get)
    favourite = harness.bot.services.queries.movie(stored.winner_id).display
    assert announcement.content.startswith(
        f"🍿 Nobody voted, so tonight's movie is the group's predicted favourite: **{favourite}**!"
    )


async def test_a_night_from_the_server_list_offers_only_its_movies(harness: RestartableHarness):
    ids = await raters(harness, "list")
    group = [ids["ben"], ids["cat"]]
    empty = await movienight(harness, ids["ann"], group, **{"from": "list"})
    assert "This server's list is empty" in empty.content and not empty.embeds
    listed = [4, 5, 7]  # nobody in the group rated these
    for movie in listed:
        await harness.run("serverlist add", ids["ann"], movie=f"m:{movie}")
    try:
        result = await movienight(harness, ids["ann"], group, count=2, **{"from": "list"})
        titles = {harness.bot.services.queries.movie(m).display for m in listed}
        shown = [title for title, _, _ in picks(result)]
        assert len(shown) == 2 and set(shown) <= titles
    finally:
        for movie in listed:
            await harness.run("serverlist remove", ids["ann"], movie=f"m:{movie}")
