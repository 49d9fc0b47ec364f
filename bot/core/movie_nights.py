"""Movie-night polls: create, vote, tally, close; one lock per poll keeps redraws in order."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence

from bot.store.backend import StoreBackend
from bot.store.schema import Poll


class MovieNights:
    """The polls of movie nights, over the store's poll repository."""

    def __init__(self, store: StoreBackend) -> None:
        self._store = store
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()

    def lock(self, poll_id: int) -> asyncio.Lock:
        """One lock per poll: tally reads and message edits happen in order, never stale."""
        lock = self._locks.get(poll_id)
        if lock is None:
            lock = self._locks[poll_id] = asyncio.Lock()
        return lock

    async def open_poll(
        self, guild_id: int, channel_id: int, creator_id: int, movie_ids: Sequence[int], how: str
    ) -> int:
        """Create an open poll over these movies (in this order); returns its id."""
        return await self._store.polls.create_poll(guild_id, channel_id, creator_id, movie_ids, how)

    async def shown_in(self, poll_id: int, message_id: int) -> None:
        """Remember the message that shows the poll."""
        await self._store.polls.set_poll_message(poll_id, message_id)

    async def vote(self, poll_id: int, member: int, movie_id: int) -> int | None:
        """Cast or change a member's vote; LookupError/ValueError if the poll is gone or closed."""
        return await self._store.polls.vote(poll_id, member, movie_id)

    async def get(self, poll_id: int) -> Poll | None:
        """A poll with its options, or None."""
        return await self._store.polls.get_poll(poll_id)

    async def tally(self, poll_id: int) -> dict[int, int]:
        """Votes per option, in option order."""
        return await self._store.polls.tally(poll_id)

    async def close(self, poll_id: int) -> Poll:
        """Close a poll (idempotent); LookupError if it is gone."""
        return await self._store.polls.close_poll(poll_id)
