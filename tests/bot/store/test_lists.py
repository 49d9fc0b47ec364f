"""Members' lists, server lists, privacy choices and imported history on real SQLite files."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot.store import Store
from bot.store.schema import CLUB_MOVIE_IDS, HistoryBatch, NewClubMovie
from tests.bot.store.bypass import REFUSED, bypass

ALICE = 1234567890123456789
BOB = 987654321098765432
GUILD = 1111111111111111111
OTHER_GUILD = 3333333333333333333


def raw(path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    """Query the file with plain sqlite3, bypassing the store."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


# ------------------------------------------------------------------------- member lists
async def test_a_movie_goes_on_a_list_once_and_comes_off_again(store: Store):
    assert await store.lists.add(ALICE, "watchlist", 10) is True
    assert await store.lists.add(ALICE, "watchlist", 10) is False  # already there
    await store.lists.add(ALICE, "watchlist", 11, "chat")
    await store.lists.add(BOB, "watchlist", 10)
    entries = await store.lists.entries(ALICE, "watchlist")
    assert [(e.movie_id, e.source) for e in entries] == [(11, "chat"), (10, "button")]  # newest
    assert await store.lists.movies(ALICE, "watchlist") == {10, 11}
    assert await store.lists.remove(ALICE, "watchlist", 10) is True
    assert await store.lists.remove(ALICE, "watchlist", 10) is False
    assert await store.lists.movies(ALICE, "watchlist") == {11}
    assert await store.lists.movies(BOB, "watchlist") == {10}


async def test_replacing_moves_a_movie_between_lists_in_one_write(store: Store):
    await store.lists.add(ALICE, "watchlist", 5)
    await store.lists.add(ALICE, "not_interested", 5, replacing=("watchlist", "seen"))
    assert await store.lists.lists_with(ALICE, 5) == {"not_interested"}
    assert await store.lists.counts(ALICE) == {"not_interested": 1}


async def test_lists_of_several_members_count_each_movie(store: Store):
    for user, movies in ((ALICE, [1, 2]), (BOB, [2, 3])):
        for movie in movies:
            await store.lists.add(user, "watchlist", movie)
    await store.lists.add(BOB, "not_interested", 1)
    assert await store.lists.of_members([ALICE, BOB], "watchlist") == {1: 1, 2: 2, 3: 1}
    assert await store.lists.of_members([BOB], "not_interested") == {1: 1}
    assert await store.lists.of_members([], "watchlist") == {}


async def test_unknown_lists_and_sources_are_refused_by_code_and_by_the_database(store: Store):
    with pytest.raises(ValueError, match="list must be one of"):
        await store.lists.add(ALICE, "favourites", 1)
    with pytest.raises(ValueError, match="list source"):
        await store.lists.add(ALICE, "watchlist", 1, source="robot")
    with pytest.raises(REFUSED):
        await bypass(
            store, "INSERT INTO member_lists VALUES (?, 'favourites', 1, 'button', 0)", (ALICE,)
        )


# ------------------------------------------------------------------------- server lists
async def test_server_lists_remember_who_added_what_per_server(store: Store):
    assert await store.server_lists.add(GUILD, 7, ALICE) is True
    assert await store.server_lists.add(GUILD, 7, BOB) is False  # Alice added it first
    await store.server_lists.add(GUILD, 8, BOB)
    await store.server_lists.add(OTHER_GUILD, 9, BOB)
    entries = await store.server_lists.entries(GUILD)
    assert [(e.movie_id, e.added_by) for e in entries] == [(7, ALICE), (8, BOB)]
    assert await store.server_lists.remove(GUILD, 7) is True
    assert [e.movie_id for e in await store.server_lists.entries(GUILD)] == [8]
    assert [e.movie_id for e in await store.server_lists.entries(OTHER_GUILD)] == [9]


# ---------------------------------------------------------------------------- privacy
async def test_taste_match_opt_out_is_remembered_and_can_be_undone(store: Store):
    assert await store.member_settings.taste_match_off() == set()
    await store.member_settings.set_taste_match(ALICE, False)
    await store.member_settings.set_taste_match(BOB, True)
    assert await store.member_settings.taste_match_off() == {ALICE}
    assert await store.member_settings.taste_match_off([BOB]) == set()
    await store.member_settings.set_taste_match(ALICE, True)
    assert await store.member_settings.taste_match_off() == set()


# ---------------------------------------------------------------------------- forget
async def test_forget_deletes_lists_and_settings_and_anonymises_server_list_entries(
    store: Store,
):
    await store.lists.add(ALICE, "watchlist", 1)
    await store.lists.add(ALICE, "seen", 2)
    await store.lists.add(ALICE, "not_interested", 3)
    await store.lists.add(BOB, "watchlist", 1)
    await store.member_settings.set_taste_match(ALICE, False)
    await store.server_lists.add(GUILD, 4, ALICE)
    removed = await store.forget_member(ALICE)
    assert removed == 4  # three list entries and the settings row
    assert await bypass(store, "SELECT count(*) FROM member_lists WHERE user_id = ?", (ALICE,)) == [
        (0,)
    ]
    assert await bypass(store, "SELECT count(*) FROM member_settings") == [(0,)]
    assert [(e.movie_id, e.added_by) for e in await store.server_lists.entries(GUILD)] == [
        (4, None)
    ]
    assert await bypass(
        store, "SELECT count(*) FROM server_lists WHERE added_by = ?", (ALICE,)
    ) == [(0,)]
    assert await store.lists.movies(BOB, "watchlist") == {1}


# --------------------------------------------------------------------------- history
async def test_history_is_written_once_and_a_second_import_changes_nothing(store: Store):
    batch = HistoryBatch(
        ALICE, {1: 4.0, 2: 2.5}, lists=(("seen", 3), ("watchlist", 4), ("watchlist", 4))
    )
    first = await store.history.apply(batch)
    assert (first.added, first.updated, first.unchanged, first.listed) == (2, 0, 0, 2)
    seq = await store.ratings.change_seq()
    rows = await bypass(store, "SELECT * FROM ratings ORDER BY movie_id")
    lists = await bypass(store, "SELECT * FROM member_lists ORDER BY movie_id")
    again = await store.history.apply(batch)
    assert (again.added, again.updated, again.unchanged, again.listed) == (0, 0, 2, 0)
    assert await store.ratings.change_seq() == seq  # nothing counts toward a refit
    assert await bypass(store, "SELECT * FROM ratings ORDER BY movie_id") == rows  # same timestamps
    assert await bypass(store, "SELECT * FROM member_lists ORDER BY movie_id") == lists
    assert {r.source for r in await store.ratings.user_ratings(ALICE)} == {"import"}


async def test_history_keeps_discord_ratings_unless_told_to_overwrite(store: Store):
    await store.ratings.rate(ALICE, 1, 5.0, "slash")
    await store.history.apply(HistoryBatch(ALICE, {2: 3.0}))
    kept = await store.history.apply(HistoryBatch(ALICE, {1: 2.0, 2: 3.5}))
    assert (kept.kept, kept.updated) == (1, 1)  # the older import may be replaced
    assert await store.ratings.get_rating(ALICE, 1) == 5.0
    assert await store.ratings.get_rating(ALICE, 2) == 3.5
    forced = await store.history.apply(HistoryBatch(ALICE, {1: 2.0}, overwrite=True))
    assert (forced.kept, forced.updated) == (0, 1)
    assert await store.ratings.get_rating(ALICE, 1) == 2.0


async def test_history_with_a_bad_row_writes_nothing(store: Store):
    before = await store.ratings.change_seq()
    with pytest.raises(ValueError, match="stars"):
        await store.history.apply(HistoryBatch(ALICE, {1: 4.0, 2: 7.0}))
    with pytest.raises(ValueError, match="list"):
        await store.history.apply(HistoryBatch(ALICE, {1: 4.0}, lists=(("favourites", 3),)))
    assert await store.ratings.count_user_ratings(ALICE) == 0
    assert await store.ratings.change_seq() == before


async def test_history_adds_club_movies_with_their_ratings_in_the_same_transaction(
    store: Store,
):
    batch = HistoryBatch(
        ALICE,
        {1: 4.0},
        new_movies=(
            NewClubMovie("Past Lives (2023)", ("Drama",), 4.5),
            NewClubMovie("Dune: Part Two (2024)", (), None, ("watchlist",)),
        ),
    )
    written = await store.history.apply(batch)
    assert written.club_movie_ids == (CLUB_MOVIE_IDS, CLUB_MOVIE_IDS + 1)
    assert written.added == 2 and written.listed == 1
    club = await store.club_movies.all()
    assert [(c.title, c.added_by) for c in club] == [
        ("Past Lives (2023)", ALICE),
        ("Dune: Part Two (2024)", ALICE),
    ]
    assert await store.ratings.get_rating(ALICE, CLUB_MOVIE_IDS) == 4.5
    assert await store.lists.movies(ALICE, "watchlist") == {CLUB_MOVIE_IDS + 1}


async def test_merging_and_removing_club_movies_carry_list_entries_along(store: Store):
    movie = (await store.club_movies.add("Past Lives (2023)", (), ALICE)).movie_id
    other = (await store.club_movies.add("Past Lives (2023) dup", (), ALICE)).movie_id
    await store.lists.add(ALICE, "watchlist", other)
    await store.server_lists.add(GUILD, other, ALICE)
    await store.club_movies.merge(other, movie)
    assert await store.lists.movies(ALICE, "watchlist") == {movie}
    assert [e.movie_id for e in await store.server_lists.entries(GUILD)] == [movie]
    await store.club_movies.remove(movie)
    assert await store.lists.movies(ALICE, "watchlist") == set()
    assert await store.server_lists.entries(GUILD) == []


async def test_history_list_entries_follow_the_leaving_rule_in_batch_order(store: Store):
    await store.lists.add(ALICE, "not_interested", 5)
    leaving = {"watchlist": ("not_interested",), "seen": ("watchlist",)}
    batch = HistoryBatch(
        ALICE, {}, lists=(("watchlist", 5), ("watchlist", 6), ("seen", 6)), leaving=leaving
    )
    written = await store.history.apply(batch)
    assert written.listed == 3
    assert await store.lists.lists_with(ALICE, 5) == {"watchlist"}
    assert await store.lists.lists_with(ALICE, 6) == {"seen"}


async def test_two_processes_adding_club_movies_at_once_get_distinct_ids(postgres_url: str):
    """Two stores on one PostgreSQL database (as two bot processes would be) race to add club
    movies: every add succeeds, with its own id."""
    async with Store(postgres_url) as a, Store(postgres_url) as b:

        async def add_many(store: Store, who: int) -> list[int]:
            added = []
            for k in range(15):
                movie = await store.club_movies.add(f"Film {who}-{k} (2024)", ("Drama",), who)
                added.append(movie.movie_id)
            return added

        first, second = await asyncio.gather(
            add_many(a, 100_000_000_000_000_001), add_many(b, 100_000_000_000_000_002)
        )
        everything = await a.club_movies.all()
    assert len(set(first) | set(second)) == 30
    assert sorted(m.movie_id for m in everything) == sorted(first + second)
