"""Movie-night votes: open, tick or rank, count, close on time; one lock per poll keeps redraws
in order.

The counting rules live in `bot.core.voting`; this service owns who may vote, when a vote
ends, and that a poll is closed before its ballots are counted (so no late ballot is lost).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.clock import Clock
from bot.core import voting
from bot.core.voting import Outcome
from bot.store.backend import StoreBackend
from bot.store.schema import Poll

KINDS = ("approval", "ranked")


@dataclass(frozen=True)
class Closed:
    """A closed poll, how its vote came out, and whether this call was the one that closed it."""

    poll: Poll
    outcome: Outcome
    now: bool


class MovieNights:
    """The polls of movie nights, over the store's poll repository."""

    def __init__(self, store: StoreBackend, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()

    def lock(self, poll_id: int) -> asyncio.Lock:
        """One lock per poll: tally reads and message edits happen in order, never stale."""
        lock = self._locks.get(poll_id)
        if lock is None:
            lock = self._locks[poll_id] = asyncio.Lock()
        return lock

    async def open_poll(
        self,
        guild_id: int,
        channel_id: int,
        creator_id: int,
        picks: Sequence[tuple[int, float]],
        how: str,
        *,
        kind: str = "approval",
        open: bool = False,
        duration: float = 3600.0,
        members: Iterable[int] = (),
    ) -> Poll:
        """Open a vote over (movie id, predicted group enjoyment) picks, in this order, that
        ends `duration` seconds from now; only `members` (and the creator) vote unless open."""
        if kind not in KINDS:
            raise ValueError(f"a vote is one of {', '.join(KINDS)}, not {kind!r}")
        poll_id = await self._store.polls.create_poll(
            guild_id,
            channel_id,
            creator_id,
            [m for m, _ in picks],
            how,
            kind=kind,
            open=open,
            ends_at=self._clock.now() + duration,
            members=members,
            scores=dict(picks),
        )
        poll = await self.get(poll_id)
        assert poll is not None
        return poll

    async def left_out(self, guild_id: int, members: Iterable[int]) -> list[int]:
        """Movies a new shortlist for these members leaves out: their last shortlist in this
        server (until they get a newer one) and what they watched at its movie nights."""
        people = list(members)
        recent = await self._store.polls.last_shortlist(guild_id, people)
        watched = await self._store.nights.watched_movies(guild_id, people)
        return sorted({*recent, *watched})

    async def shown_in(self, poll_id: int, message_id: int) -> None:
        """Remember the message that shows the poll."""
        await self._store.polls.set_poll_message(poll_id, message_id)

    async def toggle(self, poll_id: int, member: int, movie_id: int) -> tuple[int, ...]:
        """Tick (or rank next) a movie on a member's ballot, or take it off; returns the ballot.

        Raises LookupError (no such poll), PollClosedError, NotInGroupError, ValueError.
        """
        return await self._store.polls.toggle(poll_id, member, movie_id)

    async def get(self, poll_id: int) -> Poll | None:
        """A poll with its options, or None."""
        return await self._store.polls.get_poll(poll_id)

    async def ballots(self, poll_id: int) -> dict[int, tuple[int, ...]]:
        """Each voter's ballot, in their order for ranked votes."""
        return await self._store.polls.ballots(poll_id)

    async def tally(self, poll_id: int) -> dict[int, int]:
        """Ballots naming each option, in option order."""
        return await self._store.polls.tally(poll_id)

    @staticmethod
    def count(poll: Poll, ballots: dict[int, tuple[int, ...]]) -> Outcome:
        """How the vote stands (or ended): approval or instant runoff, ties to enjoyment."""
        rule = voting.instant_runoff if poll.kind == "ranked" else voting.approval
        return rule(poll.movie_ids, ballots, poll.scores)

    async def close(self, poll_id: int) -> Closed:
        """End a vote (idempotent) and count it; LookupError if the poll is gone.

        The poll is closed first, so a ballot that raced the close is either counted or was
        refused, never lost.
        """
        before = await self.get(poll_id)
        if before is None:
            raise LookupError(f"no poll with id {poll_id}")
        poll = await self._store.polls.close_poll(poll_id)
        outcome = self.count(poll, await self.ballots(poll_id))
        if poll.winner_id is None:
            poll = await self._store.polls.close_poll(poll_id, outcome.winner)
        return Closed(poll, outcome, not before.closed)

    async def ending(self) -> list[Poll]:
        """Open polls whose time is up."""
        return await self._store.polls.polls_ending(self._clock.now())

    async def next_end(self) -> float | None:
        """When the next open poll ends, or None."""
        return await self._store.polls.next_poll_end()
