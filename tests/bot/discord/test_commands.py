"""End-to-end: members run the issue-4 slash commands; check the replies and the state."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from bot.emulator import Interaction, Message, OptionError
from bot.emulator.interaction import APPLICATION_COMMAND
from tests.bot.conftest import GUILD, Harness

pytestmark = pytest.mark.asyncio(loop_scope="module")

PICK_LINE = re.compile(r"^`\s*\d+\.` \*\*(?P<title>.+?)\*\*(?: · (?P<genres>.+?))? — ")
STARS_SAID = re.compile(r"\*\*: [★½]+ (?P<now>[\d.]+)(?: \(was (?P<was>[\d.]+)\))?")
REASON = re.compile(r"\*because you rated (?P<title>.+) (?P<stars>[\d.]+)★\*")


async def pick(harness: Harness, command: str, user: int, typed: str) -> dict[str, Any]:
    """Type into the `movie` option and take the first autocomplete suggestion."""
    choices = await harness.emu.autocomplete(
        command, {"movie": typed}, "movie", user_id=user, guild_id=GUILD
    )
    assert choices, f"no suggestions for {typed!r}"
    return choices[0]


def rogue_slash(harness: Harness, name: str, user: int, **options: Any) -> Interaction:
    """Send a command the way a modified client could, skipping the client-side option checks."""
    command = harness.emu.state.find_command(name, GUILD)
    types = {o["name"]: o["type"] for o in command.get("options") or []}
    data = {
        "id": command["id"],
        "name": name,
        "type": 1,
        "guild_id": command["guild_id"],
        "options": [{"name": k, "type": types[k], "value": v} for k, v in options.items()],
    }
    return harness.emu._dispatch_interaction(APPLICATION_COMMAND, data, user, harness.channel)


def pick_rows(message: Message) -> list[tuple[str, list[str], str | None]]:
    """(title, genres, reason line) per recommendation in a picks embed."""
    rows: list[tuple[str, list[str], str | None]] = []
    for line in message.embeds[0]["description"].splitlines():
        if found := PICK_LINE.match(line):
            genres = (found["genres"] or "").split(", ")
            rows.append((found["title"], genres, None))
        elif rows and line.strip():
            rows[-1] = (*rows[-1][:2], line.strip())
    return rows


def fields(message: Message) -> dict[str, str]:
    """Embed field name -> value of a message's first embed."""
    return {f["name"]: f["value"] for f in message.embeds[0].get("fields", [])}


# ---------------------------------------------------------------------------------- /rate
async def test_rate_with_autocomplete_pick_stores_and_offers_similar(harness: Harness) -> None:
    """Picking from autocomplete rates exactly that movie and offers the similar-movies button."""
    user = harness.new_member("ann")
    choice = await pick(harness, "rate", user, "usual susp")
    assert choice["name"] == "The Usual Suspects (1995)"
    reply = await harness.run("rate", user, movie=choice["value"], stars=3.5)
    assert reply.ephemeral
    assert reply.content.startswith("Rated **The Usual Suspects (1995)**: ★★★½ 3.5")
    assert "You have rated 1 movie." in reply.content
    assert [b.label for b in reply.buttons] == ["Rate similar movies"]
    assert await harness.store.ratings.get_rating(user, 4) == 3.5
    assert harness.bot.services.models.model.has_user(-user)


async def test_rate_free_text_with_a_typo_is_resolved(harness: Harness) -> None:
    """Typed text with a typo still rates the obvious movie."""
    user = harness.new_member("ben")
    reply = await harness.run("rate", user, movie="pulp fictoin", stars=5.0)
    assert "Rated **Pulp Fiction (1994)**: ★★★★★ 5" in reply.content
    assert await harness.store.ratings.get_rating(user, 8) == 5.0


async def test_rate_ambiguous_title_asks_and_the_click_rates(harness: Harness) -> None:
    """Ambiguous "hamlet" asks with a button per Hamlet; a click rates it, closing the question."""
    user = harness.new_member("cat")
    question = await harness.run("rate", user, movie="hamlet", stars=2.5)
    assert question.ephemeral and "did you mean" in question.content.lower()
    assert {b.label for b in question.buttons} == {"Hamlet (1996)", "Hamlet (1948)"}
    assert await harness.store.ratings.count_user_ratings(user) == 0
    click = await harness.click(question, "Hamlet (1948)", user)
    done = await click.final()
    assert done is not None and done.ephemeral
    assert "Rated **Hamlet (1948)**: ★★½ 2.5" in done.content
    rows = await harness.store.ratings.user_ratings(user)
    assert [(r.movie_id, r.stars) for r in rows] == [(11, 2.5)]
    closed = await harness.emu.wait_until(
        lambda: (m := harness.emu.message(question.id)) and not m.buttons and m
    )
    assert "Hamlet (1948)" in closed.content


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("zzzzqqq", "couldn't find a movie called “zzzzqqq”"),
        ("", "type a movie title"),
        ("🎬🍿🎥", "couldn't find a movie"),
        ("Гамлет принц датский", "couldn't find a movie"),
        ("七人の侍", "couldn't find a movie"),
        ("x" * 200, "couldn't find a movie"),
    ],
)
async def test_rate_unusable_text_gets_a_clear_answer(
    harness: Harness, typed: str, expected: str
) -> None:
    """Unknown, empty, emoji-only, non-Latin or overlong input: a clear private answer."""
    user = harness.new_member()
    reply = await harness.run("rate", user, movie=typed, stars=4.0)
    assert reply.ephemeral and expected in reply.content
    assert "went wrong" not in reply.content
    assert len(reply.content) < 500  # never the whole input echoed back
    assert await harness.store.ratings.count_user_ratings(user) == 0


async def test_rate_ten_kilobytes_never_errors(harness: Harness) -> None:
    """10 kB of text: the client refuses it, autocomplete copes, a rogue client gets an answer."""
    user = harness.new_member()
    huge = "pulp fiction " * 800
    with pytest.raises(OptionError):
        await harness.slash("rate", user, movie=huge, stars=4.0)
    suggestions = await harness.emu.autocomplete(
        "rate", {"movie": huge}, "movie", user_id=user, guild_id=GUILD
    )
    assert len(suggestions) <= 25
    reply = await rogue_slash(harness, "rate", user, movie="z" * 10_000, stars=4.0).final()
    assert reply is not None and reply.ephemeral
    assert "couldn't find a movie" in reply.content and len(reply.content) < 500
    assert await harness.store.ratings.count_user_ratings(user) == 0


async def test_rate_star_choices_are_half_steps(harness: Harness) -> None:
    """The stars option offers 0.5..5 in halves; both ends work; other values never store."""
    user = harness.new_member()
    command = harness.emu.state.find_command("rate", GUILD)
    stars = next(o for o in command["options"] if o["name"] == "stars")
    assert sorted(c["value"] for c in stars["choices"]) == [k / 2 for k in range(1, 11)]
    low = await harness.run("rate", user, movie="m:1", stars=0.5)
    high = await harness.run("rate", user, movie="m:2", stars=5)
    assert "½ 0.5" in low.content and "★★★★★ 5" in high.content
    assert [await harness.store.ratings.get_rating(user, m) for m in (1, 2)] == [0.5, 5.0]
    with pytest.raises(OptionError):
        await harness.slash("rate", user, movie="m:3", stars=4.2)
    stale = await rogue_slash(harness, "rate", user, movie="m:3", stars=4.2).final()
    assert stale is not None and stale.ephemeral and "went wrong" not in stale.content
    assert await harness.store.ratings.get_rating(user, 3) is None


async def test_rerating_updates_and_says_what_it_was(harness: Harness) -> None:
    """Rating the same movie again updates it and mentions the previous stars."""
    user = harness.new_member()
    await harness.run("rate", user, movie="m:6", stars=2.0)
    again = await harness.run("rate", user, movie="m:6", stars=4.5)
    assert again.content.startswith("Updated **Alien (1979)**: ★★★★½ 4.5 (was 2)")
    assert "You have rated 1 movie." in again.content
    assert await harness.store.ratings.get_rating(user, 6) == 4.5


async def test_concurrent_double_rating_leaves_one_rating(harness: Harness) -> None:
    """Two simultaneous /rate of one movie by one user end with exactly one stored rating."""
    user = harness.new_member()
    first, second = await asyncio.gather(
        harness.slash("rate", user, movie="m:15", stars=1.0),
        harness.slash("rate", user, movie="m:15", stars=3.0),
    )
    said = {}
    for inter in (first, second):
        reply = await inter.final()
        assert reply is not None
        found = STARS_SAID.search(reply.content)
        assert found, reply.content
        said[reply.content.split()[0]] = (float(found["now"]), found["was"])
    rows = await harness.store.ratings.user_ratings(user)
    assert [r.movie_id for r in rows] == [15]
    assert sorted(said) == ["Rated", "Updated"]
    assert rows[0].stars == said["Updated"][0]
    assert float(said["Updated"][1]) == said["Rated"][0] != said["Updated"][0]
    assert await harness.store.ratings.count_user_ratings(user) == 1


async def test_rate_similar_button_opens_a_card_that_rates(harness: Harness) -> None:
    """The "Rate similar movies" button opens a rating card whose star buttons store ratings."""
    user = harness.new_member()
    reply = await harness.run("rate", user, movie="m:3", stars=4.0)
    card = await (await harness.click(reply, "Rate similar movies", user)).final()
    assert card is not None and card.id == reply.id and card.ephemeral
    neighbours = [m.display for m, _ in harness.bot.services.queries.similar(3, 60)]
    first = card.embeds[0]["title"]
    assert first == neighbours[0]
    movie_id = int(card.button("★★★★").custom_id.split(":")[3])
    nxt = await (await harness.click(card, "★★★★", user)).final()
    assert await harness.store.ratings.get_rating(user, movie_id) == 4.0
    assert nxt is not None and f"Saved {first}" in nxt.embeds[0]["footer"]["text"]
    half = await (await harness.click(nxt, "+½", user)).final()
    second_id = int(half.button("★★★½").custom_id.split(":")[3])
    await (await harness.click(half, "★★★½", user)).final()
    assert await harness.store.ratings.get_rating(user, second_id) == 3.5
    assert await harness.store.ratings.count_user_ratings(user) == 3


# ---------------------------------------------------------------------- /recommend
async def test_recommend_cold_start_shows_popular_with_hint(harness: Harness) -> None:
    """A user with no ratings gets the crowd favourites and a hint to rate."""
    user = harness.new_member()
    reply = await harness.run("recommend", user)
    assert reply.ephemeral
    embed = reply.embeds[0]
    assert embed["title"].startswith("Popular")
    assert "Rate a few movies" in embed["footer"]["text"]
    rows = pick_rows(reply)
    assert len(rows) == 10 and all(reason is None for _, _, reason in rows)


async def test_recommend_after_ratings_explains_picks(harness: Harness) -> None:
    """After rating, picks are personal, unrated, sized by count, with "because you rated"."""
    user = harness.new_member("dora")
    rated = {"m:3": 5.0, "m:14": 4.5, "m:17": 1.0}
    for value, stars in rated.items():
        await harness.run("rate", user, movie=value, stars=stars)
    titles = {harness.bot.services.queries.movie(int(v[2:])).display: s for v, s in rated.items()}
    reply = await harness.run("recommend", user, count=4)
    assert reply.embeds[0]["title"] == "Picks for dora"
    rows = pick_rows(reply)
    assert len(rows) == 4
    assert not {t for t, _, _ in rows} & set(titles)
    reasons = [REASON.search(r or "") for _, _, r in rows]
    assert any(reasons)
    for found in filter(None, reasons):
        assert titles[found["title"]] == float(found["stars"])


async def test_recommend_genre_autocomplete_and_filter(harness: Harness) -> None:
    """Genre autocomplete suggests real genres; the genre option keeps only that genre."""
    user = harness.new_member()
    suggest = await harness.emu.autocomplete(
        "recommend", {"genre": "sci"}, "genre", user_id=user, guild_id=GUILD
    )
    assert [c["value"] for c in suggest] == ["Sci-Fi"]
    every = await harness.emu.autocomplete(
        "recommend", {"genre": ""}, "genre", user_id=user, guild_id=GUILD
    )
    assert "unknown" not in [c["value"] for c in every] and 0 < len(every) <= 25
    cold = await harness.run("recommend", user, genre="Sci-Fi", count=5)
    assert cold.embeds[0]["title"].endswith("Sci-Fi")
    assert all("Sci-Fi" in genres for _, genres, _ in pick_rows(cold))
    await harness.run("rate", user, movie="m:1", stars=4.0)
    warm = await harness.run("recommend", user, genre="children's", count=3)
    assert warm.embeds[0]["title"].startswith("Picks for ")
    assert warm.embeds[0]["title"].endswith(" · Children's")
    rows = pick_rows(warm)
    assert rows and all("Children's" in genres for _, genres, _ in rows)


async def test_recommend_unknown_genre_is_a_clear_message(harness: Harness) -> None:
    """A genre that does not exist is explained, listing the real ones."""
    user = harness.new_member()
    reply = await harness.run("recommend", user, genre="space westerns")
    assert reply.ephemeral and not reply.embeds
    assert "I don't know the genre “space westerns”" in reply.content
    assert "Sci-Fi" in reply.content and "unknown" not in reply.content


# ------------------------------------------------------------------ /similar, /movie
async def test_similar_lists_count_neighbours(harness: Harness) -> None:
    """/similar with count shows that many other movies, most similar first."""
    user = harness.new_member()
    reply = await harness.run("similar", user, movie="m:14", count=5)
    embed = reply.embeds[0]
    assert embed["title"] == "More like Star Wars (1977)"
    lines = embed["description"].splitlines()
    assert len(lines) == 5 and not any("Star Wars (1977)" in line for line in lines)
    sims = [float(line.rsplit("— ", 1)[1]) for line in lines]
    assert sims == sorted(sims, reverse=True) and all(-1 <= s <= 1 for s in sims)
    expected = [m.display for m, _ in harness.bot.services.queries.similar(14, 5)]
    assert [PICK_LINE.match(line)["title"] for line in lines] == expected


async def test_movie_details_with_rating_or_prediction(harness: Harness) -> None:
    """/movie shows year, genres, average, link; your stars if rated, else a prediction."""
    user = harness.new_member()
    newcomer = await harness.run("movie", user, movie="m:3")
    info = fields(newcomer)
    assert info["Year"] == "1995" and info["Your rating"] == "not rated"
    assert info["Genres"] == ", ".join(harness.bot.services.queries.movie(3).genres)
    assert re.fullmatch(r"\d\.\d\d★ from \d+ ratings", info["Average"])
    assert "We think you'd give it" not in info
    assert newcomer.embeds[0]["url"].startswith("http") and "IMDb" in info["Links"]
    await harness.run("rate", user, movie="m:3", stars=4.5)
    mine = fields(await harness.run("movie", user, movie="m:3"))
    assert mine["Your rating"] == "★★★★½ 4.5" and "We think you'd give it" not in mine
    other = fields(await harness.run("movie", user, movie="m:16"))
    assert other["Your rating"] == "not rated"
    guess = float(other["We think you'd give it"].strip("≈★"))
    assert 0.5 <= guess <= 5.0


# ------------------------------------------------------------------------ /unrate
async def test_unrate_removes_then_says_it_was_not_rated(harness: Harness) -> None:
    """/unrate deletes a rating once, then says there was none; no ratings left means cold."""
    user = harness.new_member()
    await harness.run("rate", user, movie="m:18", stars=3.0)
    await harness.run("rate", user, movie="m:19", stars=3.0)
    gone = await harness.run("unrate", user, movie="m:18")
    assert gone.ephemeral and gone.content == "Removed your rating of **Jaws (1975)**."
    assert await harness.store.ratings.get_rating(user, 18) is None
    assert await harness.store.ratings.count_user_ratings(user) == 1
    again = await harness.run("unrate", user, movie="jaws")
    assert again.content == "You hadn't rated **Jaws (1975)**."
    await harness.run("unrate", user, movie="m:19")
    assert not harness.bot.services.models.model.has_user(-user)
    cold = await harness.run("recommend", user)
    assert cold.embeds[0]["title"].startswith("Popular")


# ------------------------------------------------------------------------ /status
async def test_status_reports_counts(harness: Harness) -> None:
    """/status shows the model's data and the club's counts as the store has them."""
    user = harness.new_member()
    await harness.run("rate", user, movie="m:20", stars=4.0)
    stats = await harness.store.ratings.stats()
    reply = await harness.run("status", user)
    assert reply.ephemeral and reply.embeds[0]["title"] == "Movie club status"
    info = fields(reply)
    assert info["Club ratings"] == f"{stats['ratings']:,}"
    assert info["Club raters"] == f"{stats['raters']:,}"
    assert info["MovieLens ratings"] == f"{len(harness.bot.services.models.ml.ratings):,}"
    assert "(ok)" in info["Last fit"]


async def test_broken_picks_and_fragments_ask_before_rating(harness: Harness) -> None:
    """Nothing is rated unless the member picked it or typed a whole title."""
    user = harness.new_member()
    empty = await harness.run("rate", user, movie="m:", stars=4.0)
    assert empty.ephemeral and "Please type a movie title" in empty.content
    mention = await harness.run("rate", user, movie="@everyone", stars=4.0)
    assert mention.ephemeral and not mention.content.startswith("Rated")  # asks, or not found
    fragment = await harness.run("rate", user, movie="shawshank", stars=4.0)
    assert fragment.ephemeral and fragment.content.startswith("Which movie did you mean")
    assert fragment.buttons[0].label == "The Shawshank Redemption (1994)"
    assert await harness.store.ratings.count_user_ratings(user) == 0


async def test_stars_that_are_not_a_number_are_refused(harness: Harness) -> None:
    """A modified client sending `true` (or text) for stars gets an answer and no rating."""
    user = harness.new_member()
    for value in (True, "5"):
        reply = await rogue_slash(harness, "rate", user, movie="m:3", stars=value).final()
        assert reply is not None and reply.ephemeral and "couldn't understand" in reply.content
    assert await harness.store.ratings.get_rating(user, 3) is None
