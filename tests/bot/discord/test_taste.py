"""End to end: /tastematch between members and among a server's members, /privacy opt-out,
and the server list."""

from __future__ import annotations

import re

import pytest

from bot.emulator import Message
from tests.bot.conftest import GUILD, Harness

pytestmark = pytest.mark.asyncio(loop_scope="module")

SCORE = re.compile(r"## (?P<score>\d+)/100")
TASTE = {1: 5.0, 2: 1.0, 3: 4.5, 4: 1.5, 5: 4.0, 6: 2.0, 7: 5.0, 8: 1.0, 9: 4.0, 10: 2.5}


def score(message: Message) -> int:
    found = SCORE.search(message.embeds[0]["description"])
    assert found, message
    return int(found["score"])


async def rate(harness: Harness, user: int, stars: dict[int, float]) -> None:
    for movie, value in stars.items():
        await harness.run("rate", user, movie=f"m:{movie}", stars=value)


@pytest.fixture(scope="module")
def people() -> dict[str, int]:
    return {}


async def club(harness: Harness, people: dict[str, int]) -> dict[str, int]:
    """Ann; Bea, who rates like Ann; Cid, who rates the opposite way; Dot, with two ratings."""
    if people:
        return people
    people.update(
        ann=harness.new_member("ann"),
        bea=harness.new_member("bea"),
        cid=harness.new_member("cid"),
        dot=harness.new_member("dot"),
    )
    await rate(harness, people["ann"], TASTE)
    await rate(harness, people["bea"], {m: min(5.0, s + 0.5) for m, s in TASTE.items()})
    await rate(harness, people["cid"], {m: 5.5 - s for m, s in TASTE.items()})
    await rate(harness, people["dot"], {1: 4.0, 2: 3.0})
    return people


async def test_tastematch_scores_alike_members_higher_and_explains_the_score(
    harness: Harness, people: dict[str, int]
):
    p = await club(harness, people)
    alike = await harness.run("tastematch", p["ann"], member=p["bea"])
    unlike = await harness.run("tastematch", p["ann"], member=p["cid"])
    assert alike.ephemeral and alike.embeds[0]["title"] == "Taste match: you and bea"
    assert score(alike) > 60 > 40 > score(unlike)
    assert "You both rated 10 movies." in alike.embeds[0]["description"]
    fields = {f["name"]: f["value"] for f in alike.embeds[0]["fields"]}
    assert fields["You both loved"].startswith("**Toy Story (1995)** · you ★★★★★ 5, bea ★★★★★ 5")
    assert "One for you both" in fields and "for you" in fields["One for you both"]
    other = {f["name"]: f["value"] for f in unlike.embeds[0]["fields"]}
    assert "Your biggest disagreement" in other and "You both loved" not in other
    back = await harness.run("tastematch", p["bea"], member=p["ann"])
    assert score(back) == score(alike)  # symmetric
    again = await harness.run("tastematch", p["ann"], member=p["bea"])
    assert score(again) == score(alike)  # stable


async def test_too_few_ratings_get_no_number(harness: Harness, people: dict[str, int]):
    p = await club(harness, people)
    reply = await harness.run("tastematch", p["ann"], member=p["dot"])
    assert reply.content == (
        "dot rated 2 of the 5 movies taste match needs; with fewer, any number would be made up."
    )
    mine = await harness.run("tastematch", p["dot"], member=p["ann"])
    assert mine.content.startswith("You have rated 2 of the 5 movies")
    me = await harness.run("tastematch", p["ann"], member=p["ann"])
    assert me.content.startswith("That's you.")


async def test_closest_matches_list_only_members_here_who_take_part(
    harness: Harness, people: dict[str, int]
):
    p = await club(harness, people)
    listing = await harness.run("tastematch", p["ann"])
    assert listing.embeds, listing
    lines = listing.embeds[0]["description"].splitlines()
    assert lines[0].startswith("`1.` **bea** · ") and "10 shared movies" in lines[0]
    assert lines[1].startswith("`2.` **cid** · ")
    assert "dot" not in listing.embeds[0]["description"]  # two ratings: not listed

    off = await harness.run("privacy", p["bea"], tastematch="off")
    assert off.content.startswith("Taste match is now **off** for you.")
    assert "taste match: **off**" in off.content and "10 ratings" in off.content
    without = await harness.run("tastematch", p["ann"])
    assert "bea" not in without.embeds[0]["description"]
    refused = await harness.run("tastematch", p["ann"], member=p["bea"])
    assert refused.content == "bea opted out of taste match."
    own = await harness.run("tastematch", p["bea"])
    assert own.content.startswith("You opted out of taste match")
    await harness.run("privacy", p["bea"], tastematch="on")

    harness.emu.remove_member(GUILD, p["cid"])  # rated here, but left the server
    try:
        gone = await harness.run("tastematch", p["ann"])
        assert "cid" not in gone.embeds[0]["description"]
        assert "bea" in gone.embeds[0]["description"]
    finally:
        harness.emu.add_member(GUILD, p["cid"], "cid")


async def test_server_list_shows_who_added_what(harness: Harness, people: dict[str, int]):
    p = await club(harness, people)
    added = await harness.run("serverlist add", p["ann"], movie="m:6")
    assert not added.ephemeral
    assert added.content == "**ann** added **Alien (1979)** to the server's list."
    twice = await harness.run("serverlist add", p["bea"], movie="m:6")
    assert twice.ephemeral and twice.content == "**Alien (1979)** is already on the server's list."
    await harness.run("serverlist add", p["bea"], movie="m:16")
    shown = await harness.run("serverlist show", p["cid"])
    lines = shown.embeds[0]["description"].splitlines()
    assert lines == [
        "` 1.` **Alien (1979)** · added by ann",
        "` 2.` **Heat (1995)** · added by bea",
    ]
    assert not shown.ephemeral
    assert shown.embeds[0]["footer"]["text"].startswith("2 movies")
    removed = await harness.run("serverlist remove", p["cid"], movie="m:6")
    assert removed.content == "Took **Alien (1979)** off the server's list."
    entries = await harness.bot.services.lists.server_list(GUILD)
    assert [(e.movie.movie_id, e.added_by) for e in entries] == [(16, p["bea"])]


async def test_privacy_shows_what_is_kept(harness: Harness, people: dict[str, int]):
    p = await club(harness, people)
    reply = await harness.run("privacy", p["dot"])
    assert reply.ephemeral and reply.content.startswith("What I keep about you:")
    assert "2 ratings, 0 seen, 0 not interested, 0 movies on your watchlist" in reply.content
    assert "`/export` downloads your history; `/forgetme` deletes everything." in reply.content
