"""Taste match between members: a 0-100 score (see `recommender.taste`), the movies both loved,
their biggest disagreement and one pick both would like; and each member's closest matches.

Members who opted out (`/privacy`) are never scored, listed or shown to others.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from bot.core.keys import MemberKeys
from bot.core.model_server import ModelServer
from bot.store.backend import StoreBackend
from recommender.data import Movie
from recommender.taste import TasteSpace

MIN_RATINGS = 5  # ratings each member needs before a score means anything
LOVED = 4.0
DISAGREE = 1.5  # stars apart before a shared movie counts as a disagreement
PICK_POOL = 2000  # most rated movies a joint pick is chosen from


class NoMatch(ValueError):
    """Why two members cannot be matched (too few ratings, opted out); meant for them."""


@dataclass(frozen=True)
class Match:
    """Two members' taste match and what it rests on."""

    score: int
    shared: int
    both_loved: list[tuple[Movie, float, float]] = field(default_factory=list)
    disagreement: tuple[Movie, float, float] | None = None
    pick: tuple[Movie, float, float] | None = None  # each one's predicted stars


@dataclass(frozen=True)
class Neighbour:
    """One of a member's closest matches."""

    member: int
    score: int
    shared: int


class TasteMatches:
    """Scores members against each other with the serving model and their ratings."""

    def __init__(self, store: StoreBackend, models: ModelServer) -> None:
        self._store = store
        self._models = models
        self._space: TasteSpace | None = None

    def space(self) -> TasteSpace:
        """The profile movies and baseline of the current fit (rebuilt after a refit)."""
        model = self._models.model
        if self._space is None or self._space.model.factors is not model.factors:
            self._space = TasteSpace(model)
        return self._space

    async def opted_out(self, members: Iterable[int]) -> set[int]:
        """Which of these members opted out of taste match."""
        return await self._store.member_settings.taste_match_off(members)

    async def set_taking_part(self, member: int, enabled: bool) -> None:
        """Opt in (the default) or out."""
        await self._store.member_settings.set_taste_match(member, enabled)

    async def _stars(self, member: int) -> dict[int, float]:
        catalog = self._models.catalog
        rows = await self._store.ratings.user_ratings(int(member))
        return {catalog.canonical(r.movie_id): r.stars for r in rows if r.movie_id in catalog}

    async def _check(self, member: int, stars: dict[int, float], who: str) -> None:
        if member in await self.opted_out([member]):
            raise NoMatch(f"{who} opted out of taste match.")
        if len(stars) < MIN_RATINGS or not self._models.model.has_user(MemberKeys.key(member)):
            raise NoMatch(
                f"{who} rated {len(stars)} of the {MIN_RATINGS} movies taste match needs; "
                "with fewer, any number would be made up."
            )

    async def match(self, a: int, b: int, names: tuple[str, str] = ("You", "They")) -> Match:
        """The match of two members; NoMatch says why there is none."""
        await self._models.refresh(a, b)
        stars_a, stars_b = await self._stars(a), await self._stars(b)
        await self._check(a, stars_a, names[0])
        await self._check(b, stars_b, names[1])
        model = self._models.model
        key_a, key_b = MemberKeys.key(a), MemberKeys.key(b)
        found = self.space().match(key_a, key_b, stars_a, stars_b, model)
        movie = self._models.catalog.movie
        common = set(stars_a) & set(stars_b)
        loved = sorted(
            (m for m in common if stars_a[m] >= LOVED and stars_b[m] >= LOVED),
            key=lambda m: (-min(stars_a[m], stars_b[m]), -(stars_a[m] + stars_b[m]), m),
        )
        apart = max(common, key=lambda m: (abs(stars_a[m] - stars_b[m]), -m), default=None)
        disagreement = None
        if apart is not None and abs(stars_a[apart] - stars_b[apart]) >= DISAGREE:
            disagreement = (movie(apart), stars_a[apart], stars_b[apart])
        return Match(
            found.score,
            found.shared,
            [(movie(m), stars_a[m], stars_b[m]) for m in loved[:3]],
            disagreement,
            await self._joint_pick(a, b, set(stars_a) | set(stars_b)),
        )

    async def _joint_pick(
        self, a: int, b: int, rated: set[int]
    ) -> tuple[Movie, float, float] | None:
        """The well-known movie neither rated nor hid whose lower predicted stars is highest."""
        model = self._models.model
        hidden: set[int] = set()
        for member in (a, b):
            hidden |= await self._store.lists.movies(member, "not_interested")
            hidden |= await self._store.lists.movies(member, "seen")
        counts = np.asarray(model.item_counts)
        pool = model.items.ids[np.argsort(-counts, kind="stable")[:PICK_POOL]]
        pool = np.array([m for m in pool.tolist() if m not in rated and m not in hidden])
        if not len(pool):
            return None
        pred_a = model.predict(MemberKeys.key(a), pool)
        pred_b = model.predict(MemberKeys.key(b), pool)
        best = int(np.argmax(np.minimum(pred_a, pred_b)))
        return self._models.catalog.movie(int(pool[best])), float(pred_a[best]), float(pred_b[best])

    async def candidates(self, member: int) -> list[Neighbour]:
        """Every other member who can be matched, closest first (the caller keeps those in
        the same server); empty when the member cannot be matched themselves."""
        await self._models.refresh(member)
        stars = await self._stars(member)
        try:
            await self._check(member, stars, "You")
        except NoMatch:
            return []
        ratings = await self._store.ratings.all_ratings()
        users, counts = np.unique(ratings.users, return_counts=True)
        others = [int(u) for u, n in zip(users, counts, strict=True) if n >= MIN_RATINGS]
        others = [u for u in others if u != member]
        off = await self.opted_out(others)
        model = self._models.model
        space = self.space()
        mine = MemberKeys.key(member)
        found = []
        for other in others:
            if other in off or not model.has_user(MemberKeys.key(other)):
                continue
            theirs = await self._stars(other)
            result = space.match(mine, MemberKeys.key(other), stars, theirs, model)
            found.append(Neighbour(other, result.score, result.shared))
        found.sort(key=lambda n: (-n.score, -n.shared, n.member))
        return found
