"""Rating elicitation: informative questions, no repeats, genre variety, a lean to taste."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.config import ALSConfig, RankingConfig
from recommender.data import Ratings
from recommender.elicitation import Elicitor, informativeness
from recommender.model import ALSModel
from recommender.vocab import Vocabulary

GENRE_A, GENRE_B = 0b01, 0b10
NONE = np.array([], dtype=np.int64)


def watch_fixture(seed: int = 0) -> Ratings:
    """Two audiences over 40 movies: even users mostly watch 1..20, odd users 21..40.

    Stars are uniform noise, so only *who watched what* carries signal (preference factors).
    """
    rng = np.random.default_rng(seed)
    users, items, stars = [], [], []
    for u in range(1, 121):
        own, other = (np.arange(1, 21), np.arange(21, 41))[:: 1 if u % 2 == 0 else -1]
        watched = np.concatenate(
            [rng.choice(own, 12, replace=False), rng.choice(other, 2, replace=False)]
        )
        for m in watched:
            users.append(u)
            items.append(int(m))
            stars.append(float(rng.integers(1, 6)))
    return Ratings.build(users, items, stars)


def fit(ratings: Ratings, implicit_factors: int = 4) -> ALSModel:
    """A small model over movies 1..42 (41 and 42 never rated)."""
    config = ALSConfig(factors=4, implicit_factors=implicit_factors, iterations=10, implicit_reg=1)
    items = Vocabulary(np.arange(1, 43))
    return ALSModel.fit(ratings, config, items=items, ranking=RankingConfig(min_support=5))


@pytest.fixture(scope="module")
def model() -> ALSModel:
    return fit(watch_fixture())


@pytest.fixture(scope="module")
def genres() -> np.ndarray:
    """Movies 1..20 are genre A, 21..42 genre B."""
    return np.where(np.arange(1, 43) <= 20, GENRE_A, GENRE_B)


def test_informativeness_rewards_popular_divisive_movies():
    rows: list[tuple[int, int, float]] = []
    for u in range(1, 41):
        rows.append((u, 1, 1.0 if u % 2 else 5.0))  # popular and divisive
        rows.append((u, 2, 4.0))  # popular, everyone agrees
        rows.append((u, 5, 3.0 if u % 2 else 4.0))  # popular, mildly divisive
    rows += [(u, 3, 1.0 if u % 2 else 5.0) for u in range(1, 5)]  # niche and divisive
    rows.append((1, 4, 5.0))  # a single rating
    users, items, stars = zip(*rows, strict=True)
    m = ALSModel.fit(
        Ratings.build(users, items, stars),
        ALSConfig(factors=2, iterations=2, implicit_factors=0),
        items=Vocabulary(np.arange(1, 7)),  # movie 6 has no ratings
    )
    score = dict(zip(range(1, 7), informativeness(m), strict=True))
    assert score[4] == 0.0 and score[6] == 0.0  # under two ratings: nothing to learn
    assert score[2] == pytest.approx(0.0, abs=1e-9)  # no spread: the answer is predictable
    assert score[1] == pytest.approx(np.log1p(40) * 2.0)
    assert score[1] > score[5] > 0  # more spread, more information
    assert score[1] > score[3] > 0  # more viewers, more likely the user has seen it


def test_next_never_asks_about_excluded_movies(model: ALSModel, genres: np.ndarray):
    elicitor = Elicitor(model, genres)
    first = elicitor.next(None, NONE, NONE, n=6)
    assert len(first) == 6 and len(set(first.tolist())) == 6
    rest = elicitor.next(None, np.array([*first[:3], 10_000]), NONE, n=3)
    np.testing.assert_array_equal(rest, first[3:])
    everything = elicitor.next(None, np.arange(1, 43), NONE, n=5)
    assert len(everything) == 0


def test_next_favours_other_genres_after_recent_ones(model: ALSModel, genres: np.ndarray):
    elicitor = Elicitor(model, genres)
    plain = elicitor.next(None, NONE, NONE, n=8)
    assert (plain <= 20).any() and (plain > 20).any()  # both genres compete without history
    after_a = elicitor.next(None, NONE, np.array([1]), n=5)
    assert np.all(after_a > 20)
    after_b = elicitor.next(None, NONE, np.array([21, 22]), n=5)
    assert np.all(after_b <= 20)
    # recent movies that are not in the model change nothing
    np.testing.assert_array_equal(elicitor.next(None, NONE, np.array([10_000]), n=8), plain)


def test_next_leans_to_what_the_user_has_probably_seen(model: ALSModel, genres: np.ndarray):
    no_genres = np.zeros(len(model.items), dtype=np.int64)
    for rated, audience in (
        (np.array([1, 2, 3]), range(1, 21)),
        (np.array([21, 22, 23]), range(21, 41)),
    ):
        user = 10**18 + int(rated[0])
        folded = model.with_user(user, rated, np.array([4.0, 2.0, 5.0]))
        elicitor = Elicitor(folded, no_genres)
        anonymous = elicitor.next(None, rated, NONE, n=5)
        assert not np.isin(anonymous, list(audience)).all()  # without taste: a mix
        personal = elicitor.next(user, rated, NONE, n=5)
        assert np.isin(personal, list(audience)).all()


def test_next_needs_three_ratings_and_preference_factors(genres: np.ndarray):
    ratings = watch_fixture()
    for model, rated in ((fit(ratings), [1, 2]), (fit(ratings, implicit_factors=0), [1, 2, 3])):
        user = 424242
        folded = model.with_user(user, np.array(rated), np.full(len(rated), 4.0))
        elicitor = Elicitor(folded, genres)
        np.testing.assert_array_equal(
            elicitor.next(user, np.array(rated), NONE, n=8),
            elicitor.next(None, np.array(rated), NONE, n=8),
        )


def test_genre_masks_must_cover_every_movie(model: ALSModel):
    with pytest.raises(ValueError, match="genre_masks"):
        Elicitor(model, np.zeros(3, dtype=np.int64))
