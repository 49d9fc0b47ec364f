"""Counting movie-night ballots: approval voting and ranked choice (instant runoff).

Ties are broken by the predicted group enjoyment each option carried on the shortlist, then
by shortlist order; the outcome says when that happened so the announcement can too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Outcome:
    """Who won a vote and how.

    `counts` are approvals (approval) or the last round's votes (ranked). `tied` holds the
    options that had as many votes as the winner when predicted enjoyment decided.
    """

    winner: int
    counts: dict[int, int]
    voters: int
    tied: tuple[int, ...] = ()
    eliminated: tuple[int, ...] = ()
    rounds: int = 1
    majority: bool = field(default=False)

    @property
    def by_enjoyment(self) -> bool:
        """Whether predicted group enjoyment broke a tie for first place."""
        return len(self.tied) > 1


def _tie_key(options: Sequence[int], scores: Mapping[int, float]) -> dict[int, tuple[float, int]]:
    """Per option: higher predicted enjoyment first, then the earlier shortlist position."""
    return {m: (scores.get(m, float("-inf")), -k) for k, m in enumerate(options)}


def approval(
    options: Sequence[int],
    ballots: Mapping[int, Sequence[int]],
    scores: Mapping[int, float],
) -> Outcome:
    """Most approvals wins; equal counts go to the higher predicted group enjoyment."""
    if not options:
        raise ValueError("a vote needs at least one option")
    counts = {m: 0 for m in options}
    for ticks in ballots.values():
        for movie in set(ticks):
            if movie in counts:
                counts[movie] += 1
    top = max(counts.values())
    leaders = [m for m in options if counts[m] == top]
    key = _tie_key(options, scores)
    winner = max(leaders, key=key.__getitem__)
    voters = sum(1 for ticks in ballots.values() if any(m in counts for m in ticks))
    return Outcome(winner, counts, voters, tuple(leaders) if top else ())


def instant_runoff(
    options: Sequence[int],
    ballots: Mapping[int, Sequence[int]],
    scores: Mapping[int, float],
) -> Outcome:
    """Ranked choice: drop the option with the fewest first choices until one has a majority.

    The option dropped in a tie is the one the group is predicted to enjoy least; when the
    last options are level, the one predicted to be enjoyed most wins.
    """
    if not options:
        raise ValueError("a vote needs at least one option")
    key = _tie_key(options, scores)
    remaining = list(options)
    rankings = [[m for m in ranking if m in key] for ranking in ballots.values()]
    rankings = [r for r in rankings if r]
    eliminated: list[int] = []
    rounds = 0
    while True:
        rounds += 1
        counts = {m: 0 for m in remaining}
        for ranking in rankings:
            first = next((m for m in ranking if m in counts), None)
            if first is not None:
                counts[first] += 1
        live = sum(counts.values())
        top = max(counts.values())
        leaders = [m for m in remaining if counts[m] == top]
        majority = live > 0 and top * 2 > live
        final = len(remaining) == 1 or (len(remaining) == 2 and len(leaders) == 2)
        if majority or final or not live:
            winner = max(leaders, key=key.__getitem__)
            tied = tuple(leaders) if len(leaders) > 1 and live else ()
            return Outcome(winner, counts, len(rankings), tied, tuple(eliminated), rounds, majority)
        low = min(counts.values())
        loser = min((m for m in remaining if counts[m] == low), key=key.__getitem__)
        remaining.remove(loser)
        eliminated.append(loser)
