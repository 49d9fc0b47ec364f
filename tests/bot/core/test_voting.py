"""Counting ballots: approval and instant runoff, with ties going to predicted enjoyment."""

from __future__ import annotations

import pytest

from bot.core.voting import approval, instant_runoff

OPTIONS = [10, 20, 30]
SCORES = {10: 3.0, 20: 4.0, 30: 3.5}


def test_approval_most_ticks_wins():
    outcome = approval(OPTIONS, {1: [10, 30], 2: [30], 3: [20, 30]}, SCORES)
    assert outcome.winner == 30 and outcome.counts == {10: 1, 20: 1, 30: 3}
    assert outcome.voters == 3 and not outcome.by_enjoyment


def test_an_approval_tie_goes_to_the_higher_predicted_enjoyment():
    outcome = approval(OPTIONS, {1: [10], 2: [20]}, SCORES)
    assert outcome.winner == 20 and outcome.tied == (10, 20) and outcome.by_enjoyment


def test_equal_enjoyment_falls_back_to_shortlist_order():
    outcome = approval(OPTIONS, {1: [10], 2: [30]}, {10: 3.0, 30: 3.0})
    assert outcome.winner == 10 and outcome.by_enjoyment


def test_no_votes_means_the_predicted_favourite_and_no_tie_to_explain():
    for rule in (approval, instant_runoff):
        outcome = rule(OPTIONS, {}, SCORES)
        assert outcome.winner == 20 and outcome.voters == 0 and not outcome.by_enjoyment


def test_ticks_on_unknown_movies_and_repeats_do_not_count():
    outcome = approval(OPTIONS, {1: [10, 10, 99], 2: [99]}, SCORES)
    assert outcome.counts == {10: 1, 20: 0, 30: 0} and outcome.voters == 1


def test_instant_runoff_majority_in_the_first_round():
    outcome = instant_runoff(OPTIONS, {1: [10], 2: [10, 20], 3: [30]}, SCORES)
    assert (outcome.winner, outcome.rounds, outcome.majority) == (10, 1, True)


def test_instant_runoff_transfers_the_dropped_movies_votes():
    ballots = {1: [10, 20], 2: [10], 3: [20], 4: [30, 20], 5: [30, 20], 6: [20]}
    outcome = instant_runoff(OPTIONS, ballots, SCORES)
    # round 1: 10 has 2, 20 has 2, 30 has 2; 10 is the least enjoyed, so it goes; its
    # first ballot moves to 20, the other is exhausted: 20 has 3 of 5
    assert outcome.eliminated == (10,) and outcome.winner == 20
    assert outcome.counts == {20: 3, 30: 2} and outcome.majority and outcome.rounds == 2


def test_instant_runoff_final_tie_is_broken_by_enjoyment():
    outcome = instant_runoff(OPTIONS, {1: [10], 2: [30], 3: [20, 30]}, {10: 3.0, 20: 1.0, 30: 2.0})
    assert outcome.eliminated == (20,)  # all level in round 1: the least enjoyed goes first
    assert outcome.counts == {10: 1, 30: 2} and outcome.winner == 30
    level = instant_runoff([10, 30], {1: [10], 2: [30]}, SCORES)
    assert level.winner == 30 and level.tied == (10, 30) and level.by_enjoyment


def test_a_vote_needs_options():
    with pytest.raises(ValueError):
        approval([], {}, {})
    with pytest.raises(ValueError):
        instant_runoff([], {}, {})
