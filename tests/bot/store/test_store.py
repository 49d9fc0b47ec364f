"""The SQLite store against real files: migrations, validation, group commit, durability, polls."""

from __future__ import annotations

import asyncio
import math
import os
import signal
import sqlite3
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.bench import bench_writes
from bot.store import Store
from bot.store.schema import (
    SCHEMA_VERSION,
    NotInGroupError,
    PollClosedError,
    SchemaTooNewError,
    statements,
)
from tests.bot.store.bypass import REFUSED, bypass, user_columns

ALICE = 1234567890123456789  # a realistic Discord snowflake
BOB = 2**63 - 1  # the largest id SQLite can hold
CAROL = 987654321098765432
GUILD, CHANNEL = 1111111111111111111, 2222222222222222222
ROOT = Path(__file__).resolve().parents[3]
WRITER_SCRIPT = Path(__file__).with_name("durability_writer.py")

# The first release's schema, frozen here exactly as it shipped (independent of MIGRATIONS).
V1_SCHEMA = """
CREATE TABLE ratings (
    user_id    INTEGER NOT NULL,
    movie_id   INTEGER NOT NULL CHECK (movie_id > 0),
    stars      REAL    NOT NULL
               CHECK (stars >= 0.5 AND stars <= 5.0 AND stars * 2 = CAST(stars * 2 AS INTEGER)),
    source     TEXT    NOT NULL
               CHECK (source IN ('slash', 'chat', 'onboarding', 'import')),
    created_at REAL    NOT NULL,
    updated_at REAL    NOT NULL,
    PRIMARY KEY (user_id, movie_id)
) WITHOUT ROWID;
CREATE INDEX ratings_user_recent ON ratings (user_id, updated_at);
PRAGMA user_version = 1;
"""


def raw(path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """Query the file with plain sqlite3, bypassing the store."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


# ------------------------------------------------------------------ open and schema
async def test_open_creates_parent_dirs_wal_and_current_schema(tmp_path: Path):
    path = tmp_path / "data" / "nested" / "moviebot.db"
    async with Store(path) as s:
        assert await s.ratings.count_user_ratings(ALICE) == 0
        writer, reader = s.db._writer, s.db._reader
        assert writer is not None and reader is not None
        assert await s.db._pragma(writer, "foreign_keys") == 1
        assert await s.db._pragma(writer, "synchronous") == 2  # FULL
        assert await s.db._pragma(writer, "busy_timeout") == s.db.busy_timeout_ms > 0
        assert await s.db._pragma(reader, "query_only") == 1
        assert await s.db._pragma(reader, "busy_timeout") == s.db.busy_timeout_ms
    assert path.is_file()
    assert raw(path, "PRAGMA journal_mode") == [("wal",)]
    assert raw(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    tables = {r[0] for r in raw(path, "SELECT name FROM sqlite_master WHERE type='table'")}
    expected = {"ratings", "meta", "fits", "skips", "onboarding_sessions", "polls"}
    expected |= {"poll_options", "poll_votes", "poll_members", "nights", "night_attendees"}
    assert expected <= tables


async def test_v1_database_with_data_is_migrated_and_keeps_its_ratings(tmp_path: Path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(V1_SCHEMA)
    conn.executemany(
        "INSERT INTO ratings VALUES (?, ?, ?, ?, ?, ?)",
        [
            (ALICE, 50, 4.5, "slash", 1000.0, 1500.0),
            (ALICE, 172, 2.0, "chat", 1100.0, 1100.0),
            (BOB, 50, 5.0, "onboarding", 1200.0, 1300.0),
        ],
    )
    conn.commit()
    conn.close()

    async with Store(path) as s:
        assert raw(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
        assert await s.ratings.get_rating(ALICE, 50) == 4.5
        assert await s.ratings.get_rating(BOB, 50) == 5.0
        rows = await s.ratings.user_ratings(ALICE, order="oldest")
        assert [(r.movie_id, r.stars, r.source, r.created_at) for r in rows] == [
            (172, 2.0, "chat", 1100.0),
            (50, 4.5, "slash", 1000.0),
        ]
        assert await s.ratings.change_seq() == 3  # pre-existing ratings count as unfitted changes
        # The tables added by later versions work on the migrated file.
        change = await s.ratings.rate(ALICE, 50, 3.0)
        assert change.previous == 4.5
        await s.skips.skip(ALICE, 7)
        assert await s.skips.skipped(ALICE) == {7}
        fit = await s.fits.fit_started(3)
        await s.fits.fit_finished(fit, 0.9, 1.0, "ok")
        poll = await s.polls.create_poll(GUILD, CHANNEL, ALICE, [50, 172], "mean")
        assert await s.polls.toggle(poll, BOB, 172) == (172,)
        await s.ratings.rate(BOB, 172, 4.0, "movienight")
    assert raw(
        path, "SELECT created_at FROM ratings WHERE user_id = ? AND movie_id = 50", (ALICE,)
    )[0][0] == pytest.approx(1000.0)


@pytest.mark.parametrize("start", range(SCHEMA_VERSION))
async def test_every_older_version_migrates_to_the_same_schema_as_a_fresh_file(
    tmp_path: Path, start: int
):
    fresh = tmp_path / "fresh.db"
    async with Store(fresh):
        pass
    old = tmp_path / f"v{start}.db"
    conn = sqlite3.connect(old)
    for version in range(1, start + 1):
        for statement in statements(version, "sqlite"):
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {start}")
    conn.commit()
    conn.close()
    async with Store(old) as s:
        await s.ratings.rate(ALICE, 1, 4.0)
    schema = "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite%' ORDER BY name"
    assert raw(old, schema) == raw(fresh, schema)
    assert raw(old, "PRAGMA user_version") == [(SCHEMA_VERSION,)]


async def test_newer_database_is_refused_and_left_untouched(tmp_path: Path):
    path = tmp_path / "future.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE ratings (x INTEGER)")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(SchemaTooNewError, match=f"schema version {SCHEMA_VERSION + 1}.*newer"):
        await Store.open(path)
    assert raw(path, "PRAGMA user_version") == [(SCHEMA_VERSION + 1,)]
    assert raw(path, "PRAGMA journal_mode") == [("delete",)]  # not switched to WAL either


# -------------------------------------------------------------------------- ratings
async def test_rate_creates_then_updates_keeping_created_at(store: Store):
    first = await store.ratings.rate(ALICE, 50, 4.0)
    assert first.created and not first.updated and first.previous is None
    second = await store.ratings.rate(ALICE, 50, 2.5, "chat")
    assert second.updated and second.previous == 4.0 and second.stars == 2.5
    [row] = await store.ratings.user_ratings(ALICE)
    assert (row.stars, row.source) == (2.5, "chat")
    assert row.updated_at > row.created_at
    third = await store.ratings.rate(ALICE, 50, 2.5)
    assert third.previous == 2.5
    [again] = await store.ratings.user_ratings(ALICE)
    assert again.created_at == row.created_at and again.updated_at > row.updated_at


BAD_STARS = [
    math.nan,
    0,
    0.0,
    5.5,
    3.3,
    -1,
    math.inf,
    -math.inf,
    0.25,
    "4",
    None,
    True,
]


@pytest.mark.parametrize("stars", BAD_STARS, ids=repr)
async def test_invalid_stars_raise_and_write_nothing(store: Store, stars: object):
    await store.ratings.rate(ALICE, 1, 3.0)
    seq = await store.ratings.change_seq()
    with pytest.raises(ValueError, match="stars"):
        await store.ratings.rate(ALICE, 50, stars)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="stars"):
        await store.ratings.rate(ALICE, 1, stars)  # type: ignore[arg-type]
    assert await store.ratings.get_rating(ALICE, 50) is None
    assert await store.ratings.get_rating(ALICE, 1) == 3.0
    assert await store.ratings.change_seq() == seq


@pytest.mark.parametrize(
    ("user", "movie", "source", "message"),
    [
        (ALICE, 1, "web", "source"),
        (ALICE, 1, "", "source"),
        (0, 1, "slash", "user_id"),
        (-5, 1, "slash", "user_id"),
        (2**63, 1, "slash", "user_id"),
        (float(ALICE), 1, "slash", "user_id"),
        (str(ALICE), 1, "slash", "user_id"),
        (ALICE, 0, "slash", "movie_id"),
        (ALICE, -3, "slash", "movie_id"),
        (ALICE, 2**31, "slash", "movie_id"),
        (ALICE, 1.0, "slash", "movie_id"),
    ],
)
async def test_invalid_ids_and_sources_raise_and_write_nothing(
    store: Store, user: object, movie: object, source: str, message: str
):
    with pytest.raises(ValueError, match=message):
        await store.ratings.rate(user, movie, 4.0, source)  # type: ignore[arg-type]
    assert (await store.ratings.stats())["ratings"] == 0
    assert await store.ratings.change_seq() == 0


async def test_database_rejects_bad_stars_even_bypassing_the_store(store: Store):
    for stars in (3.3, 0.0, 5.5):
        with pytest.raises(REFUSED):
            await bypass(
                store, "INSERT INTO ratings VALUES (?, 1, ?, 'slash', 0, 0)", (ALICE, stars)
            )


async def test_snowflakes_keep_full_64_bit_precision(store: Store):
    neighbours = {ALICE - 1: 1.0, ALICE: 4.5, ALICE + 1: 2.0, BOB: 5.0, BOB - 1: 0.5}
    for user, stars in neighbours.items():
        await store.ratings.rate(user, 42, stars)
    for user, stars in neighbours.items():
        assert await store.ratings.get_rating(user, 42) == stars
        [row] = await store.ratings.user_ratings(user)
        assert row.user_id == user and type(row.user_id) is int
    users, _, stars_arr = await store.ratings.all_ratings()
    assert users.dtype == np.int64
    got = dict(zip(users.tolist(), stars_arr.tolist(), strict=True))
    assert got == neighbours
    assert await store.forget_member(ALICE + 1) == 1
    assert await store.ratings.get_rating(ALICE, 42) == 4.5
    assert await store.ratings.get_rating(ALICE + 1, 42) is None
    # Polls and sessions carry snowflakes too.
    poll = await store.polls.create_poll(BOB, BOB - 1, ALICE, [1, 2], "mean")
    await store.polls.set_poll_message(poll, BOB - 2)
    p = await store.polls.get_poll(poll)
    assert p is not None
    assert (p.guild_id, p.channel_id, p.creator_id, p.message_id) == (BOB, BOB - 1, ALICE, BOB - 2)
    await store.sessions.save_session(BOB, {"step": 1}, BOB - 3)
    session = await store.sessions.load_session(BOB)
    assert session is not None and session.message_id == BOB - 3
    assert await store.sessions.load_session(BOB - 1) is None


async def test_unrate(store: Store):
    await store.ratings.rate(ALICE, 50, 4.0)
    seq = await store.ratings.change_seq()
    assert await store.ratings.unrate(ALICE, 50) is True
    assert await store.ratings.get_rating(ALICE, 50) is None
    assert await store.ratings.change_seq() == seq + 1
    assert await store.ratings.unrate(ALICE, 50) is False
    assert await store.ratings.change_seq() == seq + 1  # nothing changed, nothing counted
    assert await store.ratings.count_user_ratings(ALICE) == 0


async def test_user_ratings_orders_and_pages(store: Store):
    for movie in range(1, 11):
        await store.ratings.rate(ALICE, movie, 0.5 * movie)
    await store.ratings.rate(BOB, 99, 3.0)
    await store.ratings.rate(ALICE, 3, 5.0)  # re-rating makes it the most recent
    recent = [r.movie_id for r in await store.ratings.user_ratings(ALICE)]
    assert recent == [3, 10, 9, 8, 7, 6, 5, 4, 2, 1]
    oldest = [r.movie_id for r in await store.ratings.user_ratings(ALICE, order="oldest")]
    assert oldest == list(reversed(recent))
    by_stars = [r.movie_id for r in await store.ratings.user_ratings(ALICE, order="stars")]
    assert by_stars[:3] == [3, 10, 9] and by_stars[-1] == 1
    by_movie = [r.movie_id for r in await store.ratings.user_ratings(ALICE, order="movie")]
    assert by_movie == list(range(1, 11))
    pages = [
        [r.movie_id for r in await store.ratings.user_ratings(ALICE, limit=4, offset=k)]
        for k in (0, 4, 8)
    ]
    assert pages == [recent[0:4], recent[4:8], recent[8:]]
    assert await store.ratings.user_ratings(ALICE, limit=4, offset=20) == []
    assert await store.ratings.count_user_ratings(ALICE) == 10
    assert await store.ratings.count_user_ratings(BOB) == 1
    with pytest.raises(ValueError, match="order"):
        await store.ratings.user_ratings(ALICE, order="random")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="negative"):
        await store.ratings.user_ratings(ALICE, offset=-1)


async def test_all_ratings_arrays_and_stats(store: Store):
    users, movies, stars = await store.ratings.all_ratings()
    assert (len(users), users.dtype, movies.dtype, stars.dtype) == (
        0,
        np.int64,
        np.int32,
        np.float32,
    )
    await store.ratings.rate(ALICE, 7, 4.5)
    await store.ratings.rate(BOB, 7, 1.0)
    await store.ratings.rate(ALICE, 9, 3.0)
    users, movies, stars = await store.ratings.all_ratings()
    got = sorted(zip(users.tolist(), movies.tolist(), stars.tolist(), strict=True))
    assert got == sorted([(ALICE, 7, 4.5), (BOB, 7, 1.0), (ALICE, 9, 3.0)])
    assert (users.dtype, movies.dtype, stars.dtype) == (np.int64, np.int32, np.float32)
    stats = await store.ratings.stats()
    assert (stats["ratings"], stats["raters"], stats["movies"]) == (3, 2, 2)


async def test_rate_many_upserts_all_or_nothing(store: Store):
    await store.ratings.rate(ALICE, 1, 1.0)
    seq = await store.ratings.change_seq()
    with pytest.raises(ValueError, match="row 2"):
        await store.ratings.rate_many([(ALICE, 1, 5.0), (BOB, 2, 3.0), (BOB, 3, 3.3)])
    assert (
        await store.ratings.get_rating(ALICE, 1) == 1.0
        and await store.ratings.get_rating(BOB, 2) is None
    )
    with pytest.raises(ValueError, match="row 0"):
        await store.ratings.rate_many([(ALICE, 1)])  # type: ignore[list-item]
    n = await store.ratings.rate_many([(ALICE, 1, 5.0), (BOB, 2, 3.0), (BOB, 2, 3.5)])
    assert n == 2
    assert await store.ratings.get_rating(ALICE, 1) == 5.0
    assert await store.ratings.get_rating(BOB, 2) == 3.5  # a repeated key keeps its last stars
    [row] = await store.ratings.user_ratings(BOB)
    assert row.source == "import"
    assert await store.ratings.change_seq() == seq + 2
    assert await store.ratings.rate_many([]) == 0


async def test_change_seq_counts_every_rating_change(store: Store):
    assert await store.ratings.change_seq() == 0
    await store.ratings.rate(ALICE, 1, 4.0)
    await store.ratings.rate(ALICE, 1, 3.0)
    await store.ratings.rate(ALICE, 2, 3.0)
    await store.ratings.rate(BOB, 2, 3.0)
    assert await store.ratings.change_seq() == 4
    await store.ratings.unrate(BOB, 2)
    assert await store.ratings.change_seq() == 5
    await store.skips.skip(ALICE, 5)  # not a rating
    await store.sessions.save_session(ALICE, {"k": 1})
    assert await store.ratings.change_seq() == 5
    assert await store.forget_member(ALICE) == 4  # 2 ratings, 1 skip, 1 session
    assert await store.ratings.change_seq() == 7


# ------------------------------------------------------------------------- fit log
async def test_fit_log(store: Store):
    assert await store.fits.last_fit() is None
    await store.ratings.rate(ALICE, 1, 4.0)
    first = await store.fits.fit_started(100_001)
    running = await store.fits.last_fit()
    assert running is not None and running.fit_id == first and running.status == "running"
    assert running.change_seq == 1 and running.ratings_used == 100_001
    await store.ratings.rate(ALICE, 2, 4.0)  # arrives during the fit
    await store.fits.fit_finished(first, 0.91, 12.5, "ok", None)
    ok = await store.fits.last_fit()
    assert ok is not None
    assert (ok.status, ok.rmse, ok.duration_s, ok.error) == ("ok", 0.91, 12.5, None)
    assert ok.finished_at is not None and ok.finished_at >= ok.started_at
    assert await store.fits.changes_since_fit() == 1
    second = await store.fits.fit_started(5)
    await store.fits.fit_finished(second, None, 0.5, "failed", "MemoryError: boom")
    last = await store.fits.last_fit()
    assert last is not None and (last.fit_id, last.status, last.error) == (
        second,
        "failed",
        "MemoryError: boom",
    )
    last_ok = await store.fits.last_fit(status="ok")
    assert last_ok is not None and last_ok.fit_id == first
    assert await store.fits.changes_since_fit() == 1  # a failed fit does not reset the count
    with pytest.raises(LookupError):
        await store.fits.fit_finished(first, 0.9, 1.0, "ok")  # already finished
    with pytest.raises(LookupError):
        await store.fits.fit_finished(9999, 0.9, 1.0, "ok")
    with pytest.raises(ValueError, match="status"):
        await store.fits.fit_finished(second, 0.9, 1.0, "done")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rmse"):
        await store.fits.fit_finished(second, math.nan, 1.0, "ok")
    with pytest.raises(ValueError, match="ratings_used"):
        await store.fits.fit_started(-1)


# ---------------------------------------------------------------- skips, sessions
async def test_skips(store: Store):
    assert await store.skips.skipped(ALICE) == set()
    await store.skips.skip(ALICE, 5)
    await store.skips.skip(ALICE, 5)  # idempotent
    await store.skips.skip(ALICE, 8)
    await store.skips.skip(BOB, 9)
    assert await store.skips.skipped(ALICE) == {5, 8}
    assert await store.skips.skipped(BOB) == {9}
    assert await store.ratings.get_rating(ALICE, 5) is None  # a skip is not a rating
    with pytest.raises(ValueError, match="movie_id"):
        await store.skips.skip(ALICE, 0)


async def test_onboarding_sessions(store: Store):
    assert await store.sessions.load_session(ALICE) is None
    await store.sessions.save_session(ALICE, {"step": 1, "queue": [5, 8], "name": "Ålice"}, 777)
    first = await store.sessions.load_session(ALICE)
    assert first is not None
    assert first.data == {"step": 1, "queue": [5, 8], "name": "Ålice"}
    assert first.message_id == 777
    await store.sessions.save_session(ALICE, {"step": 2}, 778)
    second = await store.sessions.load_session(ALICE)
    assert second is not None and second.data == {"step": 2} and second.message_id == 778
    assert second.created_at == first.created_at and second.updated_at > first.updated_at
    with pytest.raises(ValueError, match="JSON"):
        await store.sessions.save_session(ALICE, {"bad": {1, 2}})
    with pytest.raises(ValueError, match="JSON"):
        await store.sessions.save_session(ALICE, {"bad": math.nan})
    with pytest.raises(ValueError, match="dict"):
        await store.sessions.save_session(ALICE, [1, 2])  # type: ignore[arg-type]
    assert (await store.sessions.load_session(ALICE)).data == {"step": 2}  # type: ignore[union-attr]
    assert await store.sessions.end_session(ALICE) is True
    assert await store.sessions.end_session(ALICE) is False
    assert await store.sessions.load_session(ALICE) is None


# --------------------------------------------------------------------------- polls
async def test_approval_ballots_toggle_and_tally(store: Store):
    poll_id = await store.polls.create_poll(
        GUILD, CHANNEL, ALICE, [50, 172, 1], "least_misery", scores={50: 3.5, 172: 4.25}
    )
    poll = await store.polls.get_poll(poll_id)
    assert poll is not None
    assert poll.movie_ids == (50, 172, 1) and poll.strategy == "least_misery"
    assert poll.kind == "approval" and poll.open and poll.ends_at is None
    assert poll.scores == {50: 3.5, 172: 4.25} and poll.members == {ALICE}
    assert not poll.closed and poll.message_id is None and poll.winner_id is None
    await store.polls.set_poll_message(poll_id, 3333333333333333333)
    assert (await store.polls.get_poll(poll_id)).message_id == 3333333333333333333  # type: ignore[union-attr]
    assert await store.polls.tally(poll_id) == {50: 0, 172: 0, 1: 0}
    assert await store.polls.toggle(poll_id, ALICE, 1) == (1,)
    assert await store.polls.toggle(poll_id, ALICE, 50) == (50, 1)  # option order
    assert await store.polls.toggle(poll_id, BOB, 50) == (50,)
    assert await store.polls.tally(poll_id) == {50: 2, 172: 0, 1: 1}
    assert await store.polls.toggle(poll_id, ALICE, 50) == (1,)  # ticked again: taken back
    assert await store.polls.ballots(poll_id) == {ALICE: (1,), BOB: (50,)}
    assert await store.polls.tally(poll_id) == {50: 1, 172: 0, 1: 1}
    with pytest.raises(ValueError, match="not an option"):
        await store.polls.toggle(poll_id, ALICE, 999)
    other = await store.polls.create_poll(GUILD, CHANNEL, BOB, [7, 8], "mean")
    assert [p.poll_id for p in await store.polls.open_polls()] == [poll_id, other]
    first = await store.polls.close_poll(poll_id)
    assert first.closed and first.closed_at is not None and first.winner_id is None
    with pytest.raises(PollClosedError):
        await store.polls.toggle(poll_id, CAROL, 50)
    assert await store.polls.tally(poll_id) == {50: 1, 172: 0, 1: 1}
    again = await store.polls.close_poll(poll_id, 1)
    assert again.closed_at == first.closed_at and again.winner_id == 1  # first time kept
    assert (await store.polls.close_poll(poll_id, 50)).winner_id == 1  # first winner kept
    assert [p.poll_id for p in await store.polls.open_polls()] == [other]
    assert await store.polls.get_poll(9999) is None
    with pytest.raises(LookupError):
        await store.polls.toggle(9999, ALICE, 50)
    with pytest.raises(LookupError):
        await store.polls.tally(9999)
    with pytest.raises(LookupError):
        await store.polls.close_poll(9999)
    with pytest.raises(LookupError):
        await store.polls.set_poll_message(9999, 5)
    with pytest.raises(ValueError, match="distinct"):
        await store.polls.create_poll(GUILD, CHANNEL, ALICE, [1, 1], "mean")
    with pytest.raises(ValueError, match="at least one"):
        await store.polls.create_poll(GUILD, CHANNEL, ALICE, [], "mean")
    with pytest.raises(ValueError, match="kind"):
        await store.polls.create_poll(GUILD, CHANNEL, ALICE, [1], "mean", kind="secret")


async def test_ranked_ballots_keep_the_members_order(store: Store):
    poll_id = await store.polls.create_poll(GUILD, CHANNEL, ALICE, [1, 2, 3], "mean", kind="ranked")
    assert await store.polls.toggle(poll_id, BOB, 3) == (3,)
    assert await store.polls.toggle(poll_id, BOB, 1) == (3, 1)
    assert await store.polls.toggle(poll_id, BOB, 2) == (3, 1, 2)
    assert await store.polls.toggle(poll_id, BOB, 3) == (1, 2)  # the rest move up
    assert await store.polls.toggle(poll_id, BOB, 3) == (1, 2, 3)
    assert await store.polls.toggle(poll_id, CAROL, 2) == (2,)
    assert await store.polls.ballots(poll_id) == {BOB: (1, 2, 3), CAROL: (2,)}


async def test_a_group_poll_takes_only_its_members_unless_open(store: Store):
    group = await store.polls.create_poll(
        GUILD, CHANNEL, ALICE, [1, 2], "mean", open=False, members=[BOB]
    )
    assert (await store.polls.get_poll(group)).members == {ALICE, BOB}  # type: ignore[union-attr]
    assert await store.polls.toggle(group, ALICE, 1) == (1,)  # the starter
    assert await store.polls.toggle(group, BOB, 2) == (2,)
    with pytest.raises(NotInGroupError):
        await store.polls.toggle(group, CAROL, 1)
    everyone = await store.polls.create_poll(
        GUILD, CHANNEL, ALICE, [1, 2], "mean", open=True, members=[BOB]
    )
    assert await store.polls.toggle(everyone, CAROL, 1) == (1,)


async def test_a_groups_last_shortlist(store: Store):
    assert await store.polls.last_shortlist(GUILD, [ALICE]) == ()
    await store.polls.create_poll(GUILD, CHANNEL, ALICE, [1, 2], "mean", members=[BOB])
    newer = await store.polls.create_poll(GUILD, CHANNEL, BOB, [3, 4], "mean")
    await store.polls.create_poll(CHANNEL, CHANNEL, BOB, [5], "mean")  # another server
    assert await store.polls.last_shortlist(GUILD, [ALICE]) == (1, 2)
    assert await store.polls.last_shortlist(GUILD, [ALICE, BOB]) == (3, 4)
    assert await store.polls.last_shortlist(GUILD, [CAROL]) == ()
    assert newer


async def test_polls_come_due_at_their_end_time(store: Store):
    late = await store.polls.create_poll(GUILD, CHANNEL, ALICE, [1], "mean", ends_at=500.0)
    soon = await store.polls.create_poll(GUILD, CHANNEL, ALICE, [2], "mean", ends_at=100.0)
    await store.polls.create_poll(GUILD, CHANNEL, ALICE, [3], "mean")  # no end: never due
    assert await store.polls.next_poll_end() == 100.0
    assert [p.poll_id for p in await store.polls.polls_ending(99.0)] == []
    assert [p.poll_id for p in await store.polls.polls_ending(500.0)] == [soon, late]
    await store.polls.close_poll(soon)
    assert await store.polls.next_poll_end() == 500.0


async def test_a_v5_database_keeps_its_polls_and_votes(tmp_path: Path):
    path = tmp_path / "v5.db"
    conn = sqlite3.connect(path)
    for version in range(1, 6):
        for statement in statements(version, "sqlite"):
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 5")
    conn.execute(
        "INSERT INTO polls (poll_id, guild_id, channel_id, creator_id, strategy, created_at) "
        "VALUES (1, ?, ?, ?, 'least_misery', 10.0)",
        (GUILD, CHANNEL, ALICE),
    )
    conn.executemany(
        "INSERT INTO poll_options (poll_id, movie_id, position) VALUES (1, ?, ?)",
        [(50, 0), (172, 1)],
    )
    conn.execute("INSERT INTO poll_votes VALUES (1, ?, 172, 11.0)", (BOB,))
    conn.execute("INSERT INTO ratings VALUES (?, 50, 4.5, 'chat', 1.0, 2.0)", (ALICE,))
    conn.commit()
    conn.close()
    async with Store(path) as s:
        poll = await s.polls.get_poll(1)
        assert poll is not None and poll.kind == "approval" and poll.open  # anyone could vote
        assert poll.ends_at is None and poll.scores == {}
        assert await s.polls.ballots(1) == {BOB: (172,)}
        assert await s.polls.toggle(1, CAROL, 50) == (50,)
        [rating] = await s.ratings.user_ratings(ALICE)
        assert (rating.stars, rating.source, rating.created_at) == (4.5, "chat", 1.0)


# -------------------------------------------------------------------------- nights
async def night(store: Store, poll_id: int | None = None, **over: object):
    """A night starting at 1000 and ending at 8200, with event id 77."""
    fields: dict = dict(
        guild_id=GUILD,
        channel_id=CHANNEL,
        poll_id=poll_id,
        movie_id=50,
        creator_id=ALICE,
        event_id=77,
        place="<#5>",
        starts_at=1000.0,
        ends_at=8200.0,
    )
    fields.update(over)
    return await store.nights.add_night(**fields)


async def test_a_night_moves_forward_only_and_takes_each_step_once(store: Store):
    poll = await store.polls.create_poll(GUILD, CHANNEL, ALICE, [50], "mean")
    made = await night(store, poll)
    assert made.status == "scheduled" and made.reminded_at is None and made.poll_id == poll
    assert await store.nights.night_for_poll(poll) == made
    assert await store.nights.night_for_event(77) == made
    with pytest.raises(ValueError, match="already has night"):
        await night(store, poll, event_id=78)
    with pytest.raises(ValueError, match="end after"):
        await night(store, None, event_id=79, ends_at=1000.0)
    assert await store.nights.mark_night(made.night_id, "reminded")
    assert not await store.nights.mark_night(made.night_id, "reminded")
    assert await store.nights.retime_night(made.night_id, 2000.0, 9000.0)  # moved on Discord
    moved = await store.nights.get_night(made.night_id)
    assert moved is not None and (moved.starts_at, moved.ends_at) == (2000.0, 9000.0)
    assert moved.reminded_at is None  # reminded again at the new time
    assert not await store.nights.retime_night(made.night_id, 2000.0, 9000.0)  # no change
    assert await store.nights.move_night(made.night_id, "active")
    assert not await store.nights.move_night(made.night_id, "active")
    assert await store.nights.move_night(made.night_id, "completed")
    assert not await store.nights.move_night(made.night_id, "canceled")  # over is over
    assert not await store.nights.retime_night(made.night_id, 5000.0, 9900.0)
    done = await store.nights.get_night(made.night_id)
    assert done is not None and done.status == "completed" and done.watched_at is not None
    assert [n.night_id for n in await store.nights.unfinished_nights()] == [made.night_id]
    assert await store.nights.mark_night(made.night_id, "asked")
    assert await store.nights.unfinished_nights() == []
    assert await store.nights.watched_movies(GUILD) == {50}
    with pytest.raises(ValueError):
        await store.nights.move_night(made.night_id, "scheduled")


async def test_attendees_answers_and_history(store: Store):
    first = await night(store)
    second = await night(store, event_id=78, movie_id=172, starts_at=9000.0, ends_at=9500.0)
    canceled = await night(store, event_id=79, movie_id=1, starts_at=9600.0, ends_at=9700.0)
    await store.nights.set_attendees(first.night_id, [ALICE, BOB])
    await store.nights.set_attendees(first.night_id, [ALICE, CAROL])  # Bob took it back
    assert await store.nights.attendees(first.night_id) == {ALICE: None, CAROL: None}
    assert await store.nights.record_answer(first.night_id, ALICE, 4.5) is None
    assert await store.nights.record_answer(first.night_id, ALICE, 4.0) == 4.5
    with pytest.raises(LookupError):
        await store.nights.record_answer(first.night_id, BOB, 3.0)
    with pytest.raises(ValueError):
        await store.nights.record_answer(first.night_id, CAROL, 7.0)
    await store.nights.set_attendees(first.night_id, [CAROL])  # an answer is kept anyway
    assert await store.nights.attendees(first.night_id) == {ALICE: 4.0, CAROL: None}
    for n in (first, second):
        await store.nights.move_night(n.night_id, "completed")
    await store.nights.move_night(canceled.night_id, "canceled")
    rows = await store.nights.history(GUILD)
    assert [r.night.night_id for r in rows] == [second.night_id, first.night_id]  # newest first
    assert (rows[1].attendees, rows[1].answers, rows[1].average) == (2, 1, 4.0)
    assert (rows[0].attendees, rows[0].answers, rows[0].average) == (0, 0, None)
    assert await store.nights.upcoming_nights(GUILD) == []
    assert await store.nights.history(CHANNEL) == []
    assert await store.nights.watched_movies(GUILD) == {50, 172}
    assert await store.nights.watched_movies(GUILD, [CAROL]) == {50}  # the nights she went to
    assert await store.nights.watched_movies(GUILD, [BOB]) == set()


# --------------------------------------------------------------------- forget_user
async def test_forget_user_removes_everything_in_every_table(store: Store):
    await store.ratings.rate(ALICE, 1, 4.0)
    await store.ratings.rate(ALICE, 2, 2.0, "movienight")
    await store.ratings.rate(BOB, 1, 3.0)
    await store.skips.skip(ALICE, 3)
    await store.skips.skip(BOB, 3)
    await store.sessions.save_session(ALICE, {"step": 3}, 42)
    await store.sessions.save_session(BOB, {"step": 1}, 43)
    bobs_poll = await store.polls.create_poll(
        GUILD, CHANNEL, BOB, [1, 2], "mean", open=False, members=[ALICE]
    )
    alices_poll = await store.polls.create_poll(GUILD, CHANNEL, ALICE, [5, 6], "mean")
    await store.polls.toggle(bobs_poll, ALICE, 1)
    await store.polls.toggle(bobs_poll, ALICE, 2)
    await store.polls.toggle(bobs_poll, BOB, 2)
    await store.polls.toggle(alices_poll, BOB, 5)
    await store.polls.toggle(alices_poll, ALICE, 6)
    watched = await night(store, alices_poll)  # Alice scheduled it from her poll
    await store.nights.set_attendees(watched.night_id, [ALICE, BOB])
    await store.nights.record_answer(watched.night_id, ALICE, 5.0)
    await store.nights.record_answer(watched.night_id, BOB, 3.0)
    await store.nights.move_night(watched.night_id, "completed")

    removed = await store.forget_member(ALICE)
    # 2 ratings + 1 skip + 1 session + 3 ticks + 2 group memberships (in both polls) + 1 poll
    # (its options and Bob's tick go with it) + 1 attendance with its answer
    assert removed == 11
    columns = await user_columns(store)
    assert {t for t, _ in columns} >= {
        "ratings",
        "skips",
        "onboarding_sessions",
        "polls",
        "poll_votes",
        "poll_members",
        "nights",
        "night_attendees",
    }
    for table, column in columns:
        leftover = await bypass(store, f"SELECT count(*) FROM {table} WHERE {column} = ?", (ALICE,))
        assert leftover == [(0,)], f"{table}.{column} still mentions the forgotten user"
    assert await bypass(
        store, "SELECT count(*) FROM poll_options WHERE poll_id = ?", (alices_poll,)
    ) == [(0,)]
    assert await store.polls.get_poll(alices_poll) is None  # Bob's vote on it went with it
    assert await store.polls.tally(bobs_poll) == {1: 0, 2: 1}
    assert (await store.polls.get_poll(bobs_poll)).members == {BOB}  # type: ignore[union-attr]
    kept = await store.nights.get_night(watched.night_id)  # the server's history stays
    assert kept is not None and kept.creator_id is None and kept.poll_id is None
    assert await store.nights.attendees(watched.night_id) == {BOB: 3.0}
    [row] = await store.nights.history(GUILD)
    assert (row.attendees, row.answers, row.average) == (1, 1, 3.0)
    assert await store.ratings.count_user_ratings(BOB) == 1
    assert await store.skips.skipped(BOB) == {3}
    assert await store.sessions.load_session(BOB) is not None
    assert await store.forget_member(ALICE) == 0


# ---------------------------------------------------------------- concurrency
async def test_500_concurrent_rates_all_committed_in_order_with_few_commits(store: Store):
    stars_cycle = [0.5 * k for k in range(1, 11)]
    plan = [
        (1_000_000_000_000_000_000 + k % 50, 1 + (k * 7) % 40, stars_cycle[k % 10])
        for k in range(500)
    ]
    readers = [store.ratings.get_rating(u, m) for u, m, _ in plan[::50]]  # reads mixed in
    results = await asyncio.gather(*(store.ratings.rate(u, m, s) for u, m, s in plan), *readers)
    changes = results[: len(plan)]
    last: dict[tuple[int, int], float] = {}
    for (user, movie, stars), change in zip(plan, changes, strict=True):
        assert (change.user_id, change.movie_id, change.stars) == (user, movie, stars)
        assert change.previous == last.get((user, movie))  # writes applied in call order
        last[(user, movie)] = stars
    assert len(last) < len(plan)  # the plan really re-rates some keys
    users, movies, stars = await store.ratings.all_ratings()
    got = {
        (u, m): s for u, m, s in zip(users.tolist(), movies.tolist(), stars.tolist(), strict=True)
    }
    assert got == last
    assert await store.ratings.change_seq() == 500
    assert store.db.batches_committed <= 10  # group commit, not one transaction per rating


async def test_failing_write_fails_alone_inside_a_batch(store: Store):
    poll = await store.polls.create_poll(GUILD, CHANNEL, ALICE, [1, 2], "mean")
    await store.polls.close_poll(poll)
    batches = store.db.batches_committed

    async def half_done_then_boom(conn, now):
        await conn.execute(
            "INSERT INTO ratings VALUES (?, 999, 4.0, 'slash', ?, ?)", (CAROL, now, now)
        )
        raise RuntimeError("boom after a write")

    rates = [store.ratings.rate(ALICE, m, 3.5) for m in range(1, 101)]
    results = await asyncio.gather(
        *rates[:50],
        store.db.submit(half_done_then_boom),
        store.polls.toggle(poll, BOB, 1),
        *rates[50:],
        return_exceptions=True,
    )
    errors = [r for r in results if isinstance(r, BaseException)]
    assert [type(e) for e in errors] == [RuntimeError, PollClosedError]
    assert await store.ratings.count_user_ratings(ALICE) == 100
    assert (
        await store.ratings.get_rating(CAROL, 999) is None
    )  # the failed write's insert rolled back
    assert await store.ratings.change_seq() == 100
    assert store.db.batches_committed - batches <= 2


async def test_two_stores_on_one_file_write_concurrently(tmp_path: Path):
    path = tmp_path / "shared.db"
    a, b = await asyncio.gather(Store.open(path), Store.open(path))
    try:
        work = []
        for k in range(300):
            work.append(a.ratings.rate(ALICE + k % 5, k + 1, 4.0))
            work.append(b.ratings.rate(CAROL + k % 5, k + 1, 2.5))
            if k % 10 == 0:
                work.append(a.skips.skip(BOB, k + 1))
                work.append(b.ratings.rate(BOB, k + 1, 1.0))
        results = await asyncio.gather(*work, return_exceptions=True)
        assert [r for r in results if isinstance(r, BaseException)] == []
        assert (await a.ratings.stats())["ratings"] == 630
        assert (await b.ratings.stats())["ratings"] == 630  # each sees the other's commits
        assert await a.ratings.get_rating(CAROL + 4, 300) == 2.5
        assert await b.ratings.get_rating(ALICE + 4, 300) == 4.0
        assert await a.ratings.change_seq() == 630
    finally:
        await asyncio.gather(a.close(), b.close())


async def test_close_finishes_queued_writes_and_refuses_new_ones(tmp_path: Path):
    path = tmp_path / "close.db"
    s = await Store.open(path)
    tasks = [asyncio.create_task(s.ratings.rate(ALICE, m, 4.0)) for m in range(1, 51)]
    await asyncio.sleep(0)  # let them enqueue
    await s.close()
    assert all(t.done() and t.exception() is None for t in tasks)
    with pytest.raises(RuntimeError, match="closed"):
        await s.ratings.rate(ALICE, 51, 4.0)
    with pytest.raises(RuntimeError, match="closed"):
        await s.ratings.get_rating(ALICE, 1)
    await s.close()  # twice is fine
    async with Store(path) as again:
        assert await again.ratings.count_user_ratings(ALICE) == 50


# --------------------------------------------------------------------- durability
async def test_acknowledged_ratings_survive_sigkill(tmp_path: Path):
    path = tmp_path / "crash.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        str(WRITER_SCRIPT),
        str(path),
        "8",
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env=env,
    )
    assert child.stdout is not None
    acked: dict[tuple[int, int], float] = {}
    try:
        ready = await asyncio.wait_for(child.stdout.readline(), 30)
        assert ready == b"READY\n"
        while len(acked) < 300:
            line = await asyncio.wait_for(child.stdout.readline(), 30)
            _, user, movie, stars = line.decode().split()
            acked[(int(user), int(movie))] = float(stars)
    finally:
        child.send_signal(signal.SIGKILL)
    # Lines already in the pipe were acknowledged before the kill: they count too.
    for line in (await asyncio.wait_for(child.stdout.read(), 30)).decode().splitlines():
        if line.count(" ") == 3:  # skip a line cut short by the kill
            _, user, movie, stars = line.split()
            acked[(int(user), int(movie))] = float(stars)
    assert await child.wait() == -signal.SIGKILL

    async with Store(path) as s:
        users, movies, stars = await s.ratings.all_ratings()
        got = {
            (u, m): s
            for u, m, s in zip(users.tolist(), movies.tolist(), stars.tolist(), strict=True)
        }
        missing = {k: v for k, v in acked.items() if got.get(k) != v}
        assert not missing, f"{len(missing)} acknowledged ratings lost, e.g. {list(missing)[:3]}"
        assert len(got) >= len(acked)
    assert raw(path, "PRAGMA integrity_check") == [("ok",)]


# --------------------------------------------------------------------------- bench
async def test_bench_writes_reports_a_rate_and_writes_every_rating(tmp_path: Path):
    path = tmp_path / "bench.db"
    rate = await bench_writes(path, writers=7, total=300)
    assert rate > 0 and math.isfinite(rate)
    async with Store(path) as s:
        stats = await s.ratings.stats()
        assert (stats["ratings"], stats["raters"]) == (300, 7)


async def test_a_merged_club_movie_takes_its_movie_nights_along(store: Store):
    club = await store.club_movies.add("Oppenheimer (2023)", ("Drama",), ALICE)
    watched = await night(store, None, movie_id=club.movie_id)
    await store.club_movies.merge(club.movie_id, 50)
    moved = await store.nights.get_night(watched.night_id)
    assert moved is not None and moved.movie_id == 50
