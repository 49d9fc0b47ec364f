"""End to end: members upload Letterboxd and IMDb files through the emulator, read the summary,
confirm, and find the ratings in /myratings and the model; every bad file is refused with a
specific answer and writes nothing; /export round-trips."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.core.keys import MemberKeys
from bot.emulator import Message, Upload
from tests.bot.conftest import GUILD, Harness, modern_harness
from tests.bot.history_builders import (
    csv_bytes,
    imdb_ratings,
    lb_ratings,
    letterboxd_zip,
    zip_bomb,
    zip_of,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

MATRIX, FIGHT_CLUB, INCEPTION, TOY_STORY, SHAWSHANK = 2571, 2959, 79132, 1, 318


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def harness(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Harness]:
    """The bot on a tiny ml-latest-small of recent films (links with IMDb and TMDB ids)."""
    async with modern_harness(tmp_path_factory.mktemp("history")) as running:
        yield running


async def upload(harness: Harness, user: int, name: str, data: bytes) -> Message:
    """Run /import with a file and return the message it settles on."""
    return await harness.run("import", user, timeout=30, file=Upload(name, data))


def description(message: Message) -> str:
    return message.embeds[0]["description"] if message.embeds else ""


async def press(harness: Harness, message: Message, label: str, user: int) -> Message:
    """Click a button and return the message as it is once the bot answered."""
    inter = await harness.click(message, label, user)
    await inter.final(30)
    return harness.emu.message(message)


def zip_export() -> bytes:
    return letterboxd_zip(
        ratings=[("The Matrix", 1999, 4.5), ("Fight Club", 1999, 2.0), ("Inceptoin", 2010, 5.0)],
        watched=[("The Matrix", 1999), ("Toy Story", 1995), ("Aftersun", 2022)],
        watchlist=[("The Shawshank Redemption", 1994)],
    )


async def test_letterboxd_zip_summary_review_confirm_then_myratings_and_model(harness: Harness):
    user = harness.new_member("cinephile")
    summary = await upload(harness, user, "letterboxd-cinephile-2024.zip", zip_export())
    assert summary.ephemeral, summary
    text = description(summary)
    assert text, summary
    assert "Read `letterboxd-cinephile-2024.zip` (ratings.csv, diary.csv, watched.csv, " in text
    assert "✅ **2 new ratings**" in text
    assert "**1** seen · **1** on your watchlist" in text
    assert "❓ **1 unsure** (0 accepted)" in text
    assert "✖ **1 not in the catalog**" in text and "Aftersun (2022)" in text
    assert "Nothing is saved until you press **Import**." in text
    assert [b.label for b in summary.buttons] == [
        "Import 4",
        "Review 1 unsure",
        "Cancel",
        "Add 1 of 1 unknown as club movies",
    ]
    assert await harness.store.ratings.count_user_ratings(user) == 0  # nothing saved yet

    review = await press(harness, summary, "Review 1 unsure", user)
    assert "**Inceptoin (2010)** · 5★ in your file → Inception (2010)? (skip)" in description(
        review
    )
    review = await press(harness, review, "1. Inception (2010)", user)
    assert "(✅ import)" in description(review)
    back = await press(harness, review, "Back to summary", user)
    assert "❓ **1 unsure** (1 accepted)" in description(back)
    done = await press(harness, back, "Import 5", user)
    assert done.content.startswith("Imported from Letterboxd: 3 new ratings, 2 list entries.")
    assert "You have rated 3 movies." in done.content and done.buttons == []

    listing = await harness.run("myratings", user)
    lines = listing.embeds[0]["description"].splitlines()
    assert sorted(lines) == sorted(
        [
            "★★★★½ 4.5 · The Matrix (1999)",
            "★★ 2 · Fight Club (1999)",
            "★★★★★ 5 · Inception (2010)",
        ]
    )
    rows = await harness.store.ratings.user_ratings(user)
    assert {r.source for r in rows} == {"import"}
    assert harness.bot.services.models.model.has_user(MemberKeys.key(user))
    assert await harness.store.lists.movies(user, "watchlist") == {SHAWSHANK}
    assert await harness.store.lists.movies(user, "seen") == {TOY_STORY}


async def test_the_same_file_twice_changes_nothing(harness: Harness):
    user = harness.new_member("twice")
    data = lb_ratings([("The Matrix", 1999, 4.0), ("Toy Story", 1995, 3.5)])
    first = await upload(harness, user, "ratings.csv", data)
    await press(harness, first, "Import 2", user)
    store = harness.store
    seq, rows = await store.ratings.change_seq(), await store.ratings.user_ratings(user)
    pending = harness.bot.services.models.pending_changes
    again = await upload(harness, user, "ratings.csv", data)
    assert "✅ **0 new ratings** (2 already here)" in description(again)
    button = again.button("Nothing new to import")
    assert button.disabled
    assert await store.ratings.change_seq() == seq
    assert await store.ratings.user_ratings(user) == rows
    assert harness.bot.services.models.pending_changes == pending


async def test_imdb_ratings_csv_imports_movies_only(harness: Harness):
    user = harness.new_member("imdbfan")
    data = imdb_ratings(
        [
            ("tt0133093", "The Matrix", 1999, 10, "movie"),
            ("tt0137523", "Fight Club", 1999, 7, "movie"),
            ("tt0903747", "Breaking Bad", 2008, 10, "tvSeries"),
        ]
    )
    summary = await upload(harness, user, "ratings.csv", data)
    assert summary.embeds[0]["title"] == "Import from IMDb"
    assert "Skipped: 1 TV titles (only movies are imported)" in description(summary)
    done = await press(harness, summary, "Import 2", user)
    assert "2 new ratings" in done.content
    assert await harness.store.ratings.get_rating(user, MATRIX) == 5.0
    assert await harness.store.ratings.get_rating(user, FIGHT_CLUB) == 3.5


async def test_a_rating_given_here_is_kept_unless_the_member_picks_the_files(harness: Harness):
    user = harness.new_member("decider")
    await harness.run("rate", user, movie="m:2571", stars=1.0)
    data = lb_ratings([("The Matrix", 1999, 4.5), ("Toy Story", 1995, 3.0)])
    summary = await upload(harness, user, "ratings.csv", data)
    assert "⚠ **1 movie** you rated here differently: I keep yours." in description(summary)
    chosen = await press(harness, summary, "Use the file's stars for 1", user)
    assert "the file's stars replace them" in description(chosen)
    done = await press(harness, chosen, "Import 2", user)
    assert "1 new rating, 1 updated" in done.content
    assert await harness.store.ratings.get_rating(user, MATRIX) == 4.5


async def test_unknown_movies_can_become_club_movies(harness: Harness):
    user = harness.new_member("newfilms")
    data = lb_ratings([("Past Lives", 2023, 4.5), ("Toy Story", 1995, 3.0)])
    summary = await upload(harness, user, "ratings.csv", data)
    added = await press(harness, summary, "Add 1 of 1 unknown as club movies", user)
    assert "➕ 1 will become club movies." in description(added)
    done = await press(harness, added, "Import 2", user)
    assert "1 movie added to the club's movies" in done.content
    (club,) = [c for c in await harness.store.club_movies.all() if c.added_by == user]
    assert club.title == "Past Lives (2023)"
    assert await harness.store.ratings.get_rating(user, club.movie_id) == 4.5


async def test_ten_thousand_rows_show_progress_and_every_answer_is_in_time(harness: Harness):
    user = harness.new_member("bigfile")
    rows = [(f"Filler Film {k % 30}", 1990 + k % 30, 1.0 + k % 9 / 2) for k in range(10_000)]
    data = lb_ratings(rows)
    seen: list[str] = []
    inter = await harness.slash("import", user, file=Upload("ratings.csv", data))

    async def watch() -> None:
        while True:
            original = inter.original
            text = original.content if original else ""
            if text and (not seen or seen[-1] != text):
                seen.append(text)
            if original is not None and original.embeds:
                return
            await harness.emu.wait_until(lambda: True, 1)
            await asyncio.sleep(0.005)

    await asyncio.wait_for(watch(), 60)
    assert "Matching 10,000 rows to movies…" in seen
    assert seen[-1] == "Matching rows to movies… 10,000 of 10,000"
    assert inter.first_response_ms is not None and inter.first_response_ms < 3000
    summary = await inter.final(30)
    assert "✅ **30 new ratings**" in description(summary)
    assert "Read `ratings.csv`: 10,000 rows." in description(summary)


# --------------------------------------------------------------------------- bad files
BAD_FILES = {
    "not csv or zip": ("poster.png", b"\x89PNG\r\n\x1a\n" + bytes(64), "is a PNG image"),
    "wrong columns": (
        "movies.csv",
        csv_bytes(("movieId", "title", "genres"), [(1, "Toy Story", "Comedy")]),
        "has columns I don't know (genres, movieid, title)",
    ),
    "empty": ("ratings.csv", b"", "`ratings.csv` is empty"),
    "header only": (
        "ratings.csv",
        csv_bytes(("Date", "Name", "Year", "Letterboxd URI", "Rating"), []),
        "has column names but no rows",
    ),
    "broken encoding": (
        "ratings.csv",
        "Date,Name,Year,Letterboxd URI,Rating\n2024-01-01,Amélie,2001,u,4\n".encode("latin-1"),
        "isn't valid UTF-8 text (byte 0xe9 on line 2)",
    ),
    "zip bomb": ("export.zip", zip_bomb(), "unpacks to 60 MB; I unpack at most 50 MB"),
    "compression bomb": ("export.zip", zip_bomb(20 * 1024 * 1024), "compressed more than 100"),
    "path traversal": (
        "export.zip",
        zip_of({"ratings.csv": lb_ratings([("Toy Story", 1995, 4)]), "../../.bashrc": b"x"}),
        "contains a file with an unsafe name (`../../.bashrc`)",
    ),
    "damaged zip": ("export.zip", letterboxd_zip([("Toy Story", 1995, 4)])[:300], "damaged zip"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
async def test_bad_files_get_a_specific_answer_and_write_nothing(harness: Harness, case: str):
    name, data, says = BAD_FILES[case]
    user = harness.new_member(f"bad{len(case)}")
    seq = await harness.store.ratings.change_seq()
    reply = await upload(harness, user, name, data)
    assert reply.ephemeral and says in reply.content, reply.content
    assert reply.content.endswith("Nothing was imported.") and reply.buttons == []
    assert await harness.store.ratings.count_user_ratings(user) == 0
    assert await harness.store.lists.counts(user) == {}
    assert await harness.store.ratings.change_seq() == seq


async def test_a_50_mb_file_is_refused_without_downloading_it(harness: Harness):
    user = harness.new_member("nitro")
    harness.emu.attachment_size_limit = 500 * 1024 * 1024  # a boosted member may upload it
    try:
        inter = await harness.slash(
            "import", user, file=Upload("huge.csv", b"Date,Name\n" + b"x" * (50 * 1024 * 1024))
        )
        reply = await inter.final(10)
    finally:
        harness.emu.attachment_size_limit = 10 * 1024 * 1024
    assert reply is not None and reply.ephemeral
    assert reply.content.startswith("That file is 50.0 MB; I take files up to 10 MB")
    (attachment,) = inter.payload["data"]["resolved"]["attachments"]
    assert not harness.emu.downloaded(attachment)


async def test_the_import_command_states_its_limits(harness: Harness):
    command = harness.emu.state.find_command("import", GUILD)
    assert command is not None
    (option,) = command["options"]
    assert option["type"] == 11 and option["required"]
    summary = await upload(
        harness, harness.new_member("limits"), "ratings.csv", lb_ratings([("Toy Story", 1995, 4)])
    )
    assert summary.embeds[0]["footer"]["text"] == (
        "Limits: files up to 10 MB, zips unpacking to at most 50 MB, and 50,000 rows."
    )


# ------------------------------------------------------------------------------ export
async def test_export_forget_import_gives_back_the_same_ratings(harness: Harness, tmp_path: Path):
    user = harness.new_member("roundtrip")
    for movie, stars in ((MATRIX, 4.5), (TOY_STORY, 3.0), (INCEPTION, 5.0)):
        await harness.run("rate", user, movie=f"m:{movie}", stars=stars)
    await harness.store.lists.add(user, "watchlist", SHAWSHANK)
    before = {r.movie_id: r.stars for r in await harness.store.ratings.user_ratings(user)}

    reply = await harness.run("export", user)
    assert reply.ephemeral
    assert reply.content.startswith(
        "Your history in Letterboxd's import format: `ratings.csv`, `watchlist.csv`."
    )
    files = {a["filename"]: harness.emu.file_data(a) for a in reply.attachments}
    header = files["ratings.csv"].decode().splitlines()[0]
    assert header == "Title,Year,tmdbID,imdbID,Rating10,WatchedDate"
    assert "The Matrix,1999,603,tt0133093,9," in files["ratings.csv"].decode()

    forget = await harness.run("forgetme", user)
    await press(harness, forget, "Delete everything", user)
    assert await harness.store.ratings.count_user_ratings(user) == 0

    for name in ("ratings.csv", "watchlist.csv"):
        summary = await upload(harness, user, name, files[name])
        label = next(b.label for b in summary.buttons if b.label and b.label.startswith("Import"))
        await press(harness, summary, label, user)
    after = {r.movie_id: r.stars for r in await harness.store.ratings.user_ratings(user)}
    assert after == before
    assert await harness.store.lists.movies(user, "watchlist") == {SHAWSHANK}


async def test_export_with_nothing_says_so(harness: Harness):
    reply = await harness.run("export", harness.new_member("blank"))
    assert reply.content.startswith("You have nothing to export yet")
    assert reply.attachments == []


async def test_many_unsure_matches_page_and_can_all_be_accepted(harness: Harness):
    user = harness.new_member("typos")
    typos = [(f"Filer Film {k}", 1990 + k, 3.5) for k in range(6)]  # "Filler Film k"
    summary = await upload(harness, user, "ratings.csv", lb_ratings(typos))
    assert "❓ **6 unsure** (0 accepted)" in description(summary)
    review = await press(harness, summary, "Review 6 unsure", user)
    assert review.embeds[0]["title"] == "Unsure matches · page 1/2"
    assert [b.label for b in review.buttons][-5:] == [
        "◀",
        "Accept this page",
        "▶",
        "Back to summary",
        "Accept all 6",
    ]
    second = await press(harness, review, "▶", user)
    assert second.embeds[0]["title"] == "Unsure matches · page 2/2"
    everything = await press(harness, second, "Accept all 6", user)
    assert description(everything).count("(✅ import)") == 2
    back = await press(harness, everything, "Back to summary", user)
    assert "❓ **6 unsure** (6 accepted)" in description(back)
    done = await press(harness, back, "Import 6", user)
    assert "6 new ratings" in done.content
    stored = {r.movie_id for r in await harness.store.ratings.user_ratings(user)}
    assert stored == set(range(100, 106))
