"""Card sessions: onboarding progress and the latest "similar" walk live side by side."""

from __future__ import annotations

from bot.core.card_sessions import CardSessions, fresh_session
from bot.store import Store

ALICE = 1234567890123456789


async def test_a_fresh_session_until_one_is_saved(store: Store):
    cards = CardSessions(store)
    assert (
        await cards.load(ALICE, "o")
        == fresh_session("o")
        == {"mode": "o", "rated": 0, "recent": []}
    )
    await cards.save(ALICE, {"mode": "o", "rated": 3, "recent": [5, 4]}, message_id=77)
    assert (await cards.load(ALICE, "o"))["rated"] == 3
    assert (await store.sessions.load_session(ALICE)).message_id == 77


async def test_onboarding_survives_walks_and_only_the_latest_walk_is_kept(store: Store):
    cards = CardSessions(store)
    await cards.save(ALICE, {"mode": "o", "rated": 4, "recent": []}, None)
    await cards.save(ALICE, {"mode": "s10", "rated": 1, "recent": [11]}, None)
    await cards.save(ALICE, {"mode": "s20", "rated": 2, "recent": [21]}, None)
    assert (await cards.load(ALICE, "o"))["rated"] == 4
    assert (await cards.load(ALICE, "s20"))["rated"] == 2
    assert await cards.load(ALICE, "s10") == fresh_session("s10")  # replaced by the newer walk
    await cards.save(ALICE, {"mode": "o", "rated": 5, "recent": []}, None)
    assert (await cards.load(ALICE, "s20"))["rated"] == 2  # onboarding keeps the walk


async def test_ending_one_mode_keeps_the_other_and_the_last_one_deletes_the_row(store: Store):
    cards = CardSessions(store)
    await cards.save(ALICE, {"mode": "o", "rated": 4, "recent": []}, 9)
    await cards.save(ALICE, {"mode": "s10", "rated": 1, "recent": []}, 9)
    await cards.end(ALICE, "o")
    assert await cards.load(ALICE, "o") == fresh_session("o")
    assert (await cards.load(ALICE, "s10"))["rated"] == 1
    await cards.end(ALICE, "s10")
    assert await store.sessions.load_session(ALICE) is None


async def test_a_session_row_from_the_first_release_is_read_as_onboarding(store: Store):
    await store.sessions.save_session(ALICE, {"mode": "o", "rated": 6, "recent": [1]})
    assert (await CardSessions(store).load(ALICE, "o"))["rated"] == 6
