"""Members' lists (watchlist, seen, not interested) and servers' lists, for people and for
movie nights.

One rule, kept here: a movie is never both on a member's watchlist and marked "not
interested", and marking it seen takes it off the watchlist (the way Letterboxd does).
Seen and "not interested" movies are left out of the member's picks (`Queries.recommend`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.core.model_server import ModelServer
from bot.store.backend import StoreBackend
from bot.store.schema import LISTS, ServerListEntry
from recommender.data import Movie

# Lists that a movie leaves when it goes on another one (imports follow it too).
LEAVES: dict[str, tuple[str, ...]] = {
    "watchlist": ("not_interested",),
    "not_interested": ("watchlist",),
    "seen": ("watchlist",),
}
LIST_NAMES = {"watchlist": "watchlist", "seen": "seen", "not_interested": "not interested"}


@dataclass(frozen=True)
class Listed:
    """A movie on a list, with when it was put there."""

    movie: Movie
    added_at: float
    added_by: int | None = None  # server lists: who added it (None once they were forgotten)


class MemberLists:
    """Add to, read and clear members' and servers' lists."""

    def __init__(self, store: StoreBackend, models: ModelServer) -> None:
        self._store = store
        self._models = models

    async def add(self, member: int, name: str, movie_id: int, source: str = "button") -> bool:
        """Put a movie on one of a member's lists; False if it was there already."""
        movie = self._models.catalog.canonical(int(movie_id))
        self._models.catalog.row(movie)  # ValueError for a movie the catalog lacks
        return await self._store.lists.add(member, name, movie, source, LEAVES.get(name, ()))

    async def remove(self, member: int, name: str, movie_id: int) -> bool:
        """Take a movie off one of a member's lists; False if it was not there."""
        movie = self._models.catalog.canonical(int(movie_id))
        return await self._store.lists.remove(member, name, movie)

    async def entries(self, member: int, name: str) -> list[Listed]:
        """A member's list, newest first; "seen" leaves out movies they have since rated."""
        catalog = self._models.catalog
        rows = await self._store.lists.entries(member, name)
        rated: set[int] = set()
        if name == "seen":
            rated = {r.movie_id for r in await self._store.ratings.user_ratings(member)}
        return [
            Listed(catalog.movie(r.movie_id), r.created_at)
            for r in rows
            if r.movie_id in catalog and r.movie_id not in rated
        ]

    async def movies(self, member: int, name: str) -> set[int]:
        """The ids on a member's list (movies the catalog has)."""
        catalog = self._models.catalog
        return {m for m in await self._store.lists.movies(member, name) if m in catalog}

    async def lists_with(self, member: int, movie_id: int) -> set[str]:
        """Which of a member's lists hold a movie."""
        movie = self._models.catalog.canonical(int(movie_id))
        return await self._store.lists.lists_with(member, movie)

    async def counts(self, member: int) -> dict[str, int]:
        """How many movies each list of a member's holds, as `entries` shows them (every list,
        zero when empty)."""
        found = await self._store.lists.counts(member)
        out = {name: found.get(name, 0) for name in LISTS}
        if out["seen"]:
            out["seen"] = len(await self.entries(member, "seen"))
        return out

    # ------------------------------------------------------------ movie nights
    async def not_interested(self, members: Iterable[int]) -> set[int]:
        """Movies any of these members marked "not interested": group picks leave them out."""
        return set(await self._store.lists.of_members(members, "not_interested"))

    async def watchlist(self, members: Iterable[int]) -> dict[int, int]:
        """Movie id -> how many of these members have it on their watchlist (to favour)."""
        catalog = self._models.catalog
        found = await self._store.lists.of_members(members, "watchlist")
        return {m: n for m, n in found.items() if m in catalog}

    # ------------------------------------------------------------- server lists
    async def server_list(self, guild: int) -> list[Listed]:
        """A server's list in the order it was built, with who added each movie."""
        catalog = self._models.catalog
        rows: list[ServerListEntry] = await self._store.server_lists.entries(guild)
        return [
            Listed(catalog.movie(r.movie_id), r.created_at, r.added_by)
            for r in rows
            if r.movie_id in catalog
        ]

    async def add_to_server_list(self, guild: int, movie_id: int, member: int) -> bool:
        """Put a movie on a server's list; False if it was there already."""
        movie = self._models.catalog.canonical(int(movie_id))
        self._models.catalog.row(movie)
        return await self._store.server_lists.add(guild, movie, member)

    async def remove_from_server_list(self, guild: int, movie_id: int) -> bool:
        """Take a movie off a server's list; False if it was not there."""
        movie = self._models.catalog.canonical(int(movie_id))
        return await self._store.server_lists.remove(guild, movie)
