"""PostgreSQL-only behaviour on a real server: several writers on one database, migrations
under a lock, acknowledged writes visible to anyone, migrate-store, and no password in logs."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from bot.settings import Settings, SettingsError
from bot.store import Store
from bot.store.copy import TABLES, TargetNotEmpty, copy_store
from bot.store.database import StoreUnusable
from bot.store.postgres import safe_url
from bot.store.schema import SCHEMA_VERSION
from tests.bot.pg_server import SKIP_REASON, PostgresServer, find_bin_dir

ALICE, BOB, CAROL = 111111111111111111, 222222222222222222, 333333333333333333
GUILD, CHANNEL = 1111111111111111111, 2222222222222222222
ROOT = Path(__file__).resolve().parents[3]
ABOUT_A_MEMBER = (
    ("ratings", "user_id"),
    ("skips", "user_id"),
    ("onboarding_sessions", "user_id"),
    ("polls", "creator_id"),
    ("member_lists", "user_id"),
    ("club_movies", "added_by"),
)


async def fetch(url: str, sql: str) -> list[tuple]:
    """Rows of one query on a connection of its own."""
    conn = await asyncpg.connect(url)
    try:
        return [tuple(r) for r in await conn.fetch(sql)]
    finally:
        await conn.close()


async def test_two_stores_writing_one_database_lose_and_duplicate_nothing(postgres_url: str):
    async with Store(postgres_url) as a, Store(postgres_url) as b:
        # every member rates every movie from both processes at once, twice over
        writes = [
            store.ratings.rate(user, movie, stars)
            for store, stars in ((a, 2.0), (b, 4.0))
            for user in range(1, 21)
            for movie in range(1, 21)
        ]
        changes = await asyncio.gather(*writes)
        assert sum(c.created for c in changes) == 400  # each key created exactly once
        assert (await a.ratings.stats())["ratings"] == 400
        assert await b.ratings.change_seq() == 800
        assert set((await a.ratings.all_ratings()).stars.tolist()) <= {2.0, 4.0}
        rows = await fetch(postgres_url, "SELECT count(*), count(DISTINCT (user_id, movie_id)) "
                           "FROM ratings")  # fmt: skip
        assert rows == [(400, 400)]


async def test_a_batch_chosen_as_deadlock_victim_is_replayed_and_loses_nothing(postgres_url: str):
    """Another process locks movie 2's row, the bot's batch locks 1 then waits for 2, the other
    process then wants 1: PostgreSQL aborts the bot's statement; the batch rolls back to its
    savepoint, lets the other finish, replays, and both ratings are acknowledged and kept."""
    async with Store(postgres_url) as store:
        await store.ratings.rate(ALICE, 1, 1.0)
        await store.ratings.rate(ALICE, 2, 1.0)
        other = await asyncpg.connect(postgres_url)
        try:
            tx = other.transaction()
            await tx.start()
            await other.execute("SET LOCAL deadlock_timeout = '30s'")  # the bot is the victim
            await other.execute("UPDATE ratings SET stars = 2.0 WHERE movie_id = 2")
            writes = asyncio.gather(
                store.ratings.rate(ALICE, 1, 4.0), store.ratings.rate(ALICE, 2, 4.5)
            )
            while not await other.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()"
            ):
                await asyncio.sleep(0.01)  # until the bot's batch waits for movie 2
            await other.execute("UPDATE ratings SET stars = 2.0 WHERE movie_id = 1")
            await tx.commit()
            changes = await asyncio.wait_for(writes, timeout=60)
        finally:
            await other.close()
        assert [c.previous for c in changes] == [2.0, 2.0]  # replayed after the other commit
        assert sorted(await fetch(postgres_url, "SELECT movie_id, stars FROM ratings")) == [
            (1, 4.0),
            (2, 4.5),
        ]


async def test_an_acknowledged_rating_is_committed_for_every_other_connection(postgres_url: str):
    async with Store(postgres_url) as store:
        await store.ratings.rate(ALICE, 50, 4.5)
        assert await fetch(postgres_url, "SELECT user_id, movie_id, stars FROM ratings") == [
            (ALICE, 50, 4.5)
        ]


async def test_processes_starting_together_migrate_a_new_database_once(
    postgres_server: PostgresServer,
):
    name = await postgres_server.create_database(migrated=False)
    url = postgres_server.url(name)
    try:
        stores = [Store(url) for _ in range(4)]
        await asyncio.gather(*(s.db.connect() for s in stores))
        await stores[0].ratings.rate(ALICE, 1, 3.0)
        assert await fetch(url, "SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]
        assert await stores[3].ratings.get_rating(ALICE, 1) == 3.0
        await asyncio.gather(*(s.close() for s in stores))
    finally:
        await postgres_server.drop_database(name)


async def test_the_password_never_reaches_a_log_line_or_an_error(
    postgres_server: PostgresServer, caplog: pytest.LogCaptureFixture
):
    secret = "pw-Zq81-never-logged"
    name = await postgres_server.create_database()
    host = f"127.0.0.1:{postgres_server.port}"
    url = f"postgresql://{postgres_server.user}:{secret}@{host}/{name}"
    caplog.set_level(logging.DEBUG)
    try:
        async with Store(url) as store:
            await store.ratings.rate(ALICE, 1, 4.0)
            assert secret not in store.location and "***" in store.location
            assert secret not in repr(store.db)
        with pytest.raises(StoreUnusable) as refused:
            await Store.open(f"postgresql://{postgres_server.user}:{secret}@127.0.0.1:1/{name}")
        assert secret not in str(refused.value) and "127.0.0.1:1" in str(refused.value)
    finally:
        await postgres_server.drop_database(name)
    settings = Settings.from_env({"DATABASE_URL": url})
    assert settings.store_target == url
    assert secret not in repr(settings) and secret not in str(settings.describe())
    assert secret not in settings.store_location
    with pytest.raises(SettingsError) as bad:
        Settings.from_env({"DATABASE_URL": f"mysql://me:{secret}@{host}/x"})
    assert secret not in str(bad.value)
    assert "store" in caplog.text and secret not in caplog.text


def test_no_database_url_keeps_the_sqlite_file():
    settings = Settings.from_env({})
    assert settings.database_url is None
    assert settings.store_target == Path("data/moviebot.db")
    assert safe_url("postgresql://u:p@h/db") == "postgresql://u:***@h/db"


# ------------------------------------------------------------------------- migrate-store
async def fill(store: Store) -> None:
    """Something in every table."""
    await store.bind_dataset("ml-latest-small")
    await store.ratings.rate(ALICE, 1, 4.0)
    await store.ratings.rate(BOB, 1, 2.5)
    await store.ratings.unrate(BOB, 1)
    await store.ratings.rate_many([(CAROL, 2, 5.0), (CAROL, 3, 0.5)])
    fit = await store.fits.fit_started(3)
    await store.fits.fit_finished(fit, 0.91, 1.5, "ok")
    await store.skips.skip(ALICE, 7)
    await store.sessions.save_session(ALICE, {"step": 2, "recent": [1]}, 99)
    poll = await store.polls.create_poll(
        GUILD, CHANNEL, ALICE, [1, 2, 3], "mean", members=[ALICE, BOB]
    )
    await store.polls.toggle(poll, BOB, 2)
    night = await store.nights.add_night(
        guild_id=GUILD, channel_id=CHANNEL, poll_id=poll, movie_id=2, creator_id=ALICE,
        event_id=77, place="<#5>", starts_at=1000.0, ends_at=8200.0,
    )  # fmt: skip
    await store.nights.set_attendees(night.night_id, [ALICE, BOB])
    await store.nights.record_answer(night.night_id, BOB, 4.0)
    club = await store.club_movies.add("Home Movie (2024)", ("Drama",), ALICE)
    await store.ratings.rate(BOB, club.movie_id, 3.5)
    await store.lists.add(ALICE, "watchlist", 5)
    await store.server_lists.add(GUILD, 6, BOB)
    await store.member_settings.set_taste_match(CAROL, False)


async def snapshot(store: Store) -> dict[str, object]:
    """Everything a member or the bot can read back."""
    poll = (await store.polls.open_polls())[0]
    return {
        "dataset": await store.bind_dataset("other"),
        "ratings": await store.ratings.user_ratings(ALICE) + await store.ratings.user_ratings(BOB),
        "stats": await store.ratings.stats(),
        "fit": await store.fits.last_fit(),
        "changes": await store.fits.changes_since_fit(),
        "skips": await store.skips.skipped(ALICE),
        "session": await store.sessions.load_session(ALICE),
        "poll": poll,
        "tally": await store.polls.tally(poll.poll_id),
        "club": await store.club_movies.all(),
        "lists": await store.lists.entries(ALICE, "watchlist"),
        "server": await store.server_lists.entries(GUILD),
        "off": await store.member_settings.taste_match_off(),
        "nights": await store.nights.history(GUILD),
    }


async def test_migrate_store_copies_every_table_and_refuses_a_non_empty_target(
    tmp_path: Path, postgres_url: str
):
    source = tmp_path / "moviebot.db"
    async with Store(source) as lite:
        await fill(lite)
        before = await snapshot(lite)
    copied = await copy_store(source, postgres_url)
    assert set(copied) == set(TABLES)
    assert all(copied[t] > 0 for t in TABLES), copied
    async with Store(postgres_url) as pg:
        assert await snapshot(pg) == before
        # ids continue after the copied ones
        assert await pg.fits.fit_started(1) > before["fit"].fit_id  # type: ignore[union-attr]
        assert await pg.polls.create_poll(GUILD, CHANNEL, BOB, [9], "mean") > 1
    with pytest.raises(TargetNotEmpty, match="already holds data"):
        await copy_store(source, postgres_url)
    assert (await fetch(postgres_url, "SELECT count(*) FROM ratings")) == [(copied["ratings"],)]


async def test_migrate_store_command_prints_verified_counts(tmp_path: Path, postgres_url: str):
    source = tmp_path / "data" / "moviebot.db"
    async with Store(source) as lite:
        await fill(lite)
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data")}
    env.pop("DATABASE_URL", None)
    command = [sys.executable, "-m", "bot", "migrate-store", "--from", f"sqlite:///{source}"]
    done = await asyncio.to_thread(
        subprocess.run,
        [*command, "--to", postgres_url],
        cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "ratings                     4 rows copied, count verified" in done.stdout
    assert len(done.stdout.splitlines()) == len(TABLES)
    again = await asyncio.to_thread(
        subprocess.run,
        [*command, "--to", postgres_url],
        cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
    )  # fmt: skip
    assert again.returncode == 1
    assert "already holds data" in again.stderr


async def test_forget_member_then_scrub_leaves_no_row_about_them(postgres_url: str):
    async with Store(postgres_url) as store:
        await fill(store)
        assert await store.forget_member(ALICE) > 0
        await store.scrub()  # VACUUM between batches, outside any transaction
        for table, column in ABOUT_A_MEMBER:
            rows = await fetch(
                postgres_url, f"SELECT count(*) FROM {table} WHERE {column} = {ALICE}"
            )
            assert rows == [(0,)], table
        await store.ratings.rate(BOB, 1, 1.0)  # the writer goes on after the VACUUM


def test_the_server_binaries_are_found_on_path_or_where_debian_puts_them(tmp_path: Path):
    assert find_bin_dir(str(tmp_path), str(tmp_path / "none")) is None
    assert "not installed" in SKIP_REASON and "initdb" in SKIP_REASON
    for version in ("13", "15"):
        folder = tmp_path / "pg" / version / "bin"
        folder.mkdir(parents=True)
        for tool in ("initdb", "pg_ctl", "postgres"):
            (folder / tool).write_text("#!/bin/sh\n")
            (folder / tool).chmod(0o755)
    assert find_bin_dir(str(tmp_path), str(tmp_path / "pg")) == tmp_path / "pg" / "15" / "bin"
    assert find_bin_dir(str(tmp_path / "pg" / "13" / "bin"), str(tmp_path / "pg")) == (
        tmp_path / "pg" / "13" / "bin"
    )
