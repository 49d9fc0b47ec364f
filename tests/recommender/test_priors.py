"""Side-information priors: unrated and sparse movies take what their genres and years say."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recommender.config import ALSConfig
from recommender.data import Catalog, Ratings
from recommender.model import ALSModel
from recommender.priors import YEAR_EDGES, ItemSide
from recommender.snapshot import load_model, save_model
from recommender.vocab import Vocabulary

DRAMA, HORROR = 0b01, 0b10
MOVIES = np.arange(1, 41)
GENRES = np.where(MOVIES <= 20, DRAMA, HORROR)  # dramas are liked, horror films are not
UNRATED = (19, 20, 39, 40)  # two of each genre nobody rated
CONFIG = ALSConfig(factors=4, iterations=8, implicit_factors=0)


def genre_ratings(seed: int = 0) -> Ratings:
    """60 users, each rating 15 rated movies: dramas near 4.2 stars, horror near 2.2."""
    rng = np.random.default_rng(seed)
    rated = np.setdiff1d(MOVIES, UNRATED)
    users, items = [], []
    for user in range(1, 61):
        users += [user] * 15
        items += rng.choice(rated, 15, replace=False).tolist()
    items_a = np.array(items)
    stars = np.where(items_a <= 20, 4.2, 2.2) + rng.normal(0, 0.5, len(items_a))
    return Ratings.build(users, items_a, np.clip(np.round(stars * 2) / 2, 0.5, 5))


def fit(side_prior: float) -> ALSModel:
    config = ALSConfig(**{**CONFIG.to_dict(), "side_prior": side_prior})
    side = ItemSide(GENRES, np.full(len(MOVIES), 1999))
    return ALSModel.fit(genre_ratings(), config, items=Vocabulary(MOVIES), side=side)


@pytest.fixture(scope="module")
def models() -> tuple[ALSModel, ALSModel]:
    return fit(3.0), fit(0.0)


def test_unrated_movies_get_their_genres_prior(models):
    with_prior, without = models
    drama, horror = with_prior.predict(1, np.array([19, 20])), with_prior.predict(1, [39, 40])
    assert drama.min() > 3.7 and horror.max() < 2.7  # near what rated movies of each genre get
    flat = without.predict(1, np.array(UNRATED))
    assert np.ptp(flat) < 1e-6  # without it, every unrated movie is the mean plus user bias


def test_well_rated_movies_keep_their_own_rows(models):
    with_prior, without = models
    counts = with_prior.item_counts
    side = ItemSide(GENRES, np.full(len(MOVIES), 1999))
    means = side.features(counts) @ with_prior.side_prior.coef  # what the prior predicts
    own = without.factors.item_bias.astype(np.float64)  # the same fit before the prior
    got = with_prior.factors.item_bias
    np.testing.assert_allclose(got, (counts * own + 3.0 * means[:, 0]) / (counts + 3.0), atol=1e-5)
    busiest = int(np.argmax(counts))  # a movie with many ratings moves by k / (n + k) of the gap
    assert (
        abs(got[busiest] - own[busiest])
        <= 3.0 / (counts[busiest] + 3.0) * abs(means[busiest, 0] - own[busiest]) + 1e-5
    )
    assert counts[busiest] >= 20 and without.side_prior is None


def test_a_club_movie_with_one_rating_leans_on_its_genres(models):
    with_prior, without = models
    # one member-less fitted user gives a new drama and a new horror film 3 stars each
    drama = with_prior.with_item(1001, np.array([5]), np.array([3.0]), genres=DRAMA, year=1999)
    both = drama.with_item(1002, np.array([5]), np.array([3.0]), genres=HORROR, year=1999)
    new_drama, new_horror = both.predict(7, np.array([1001, 1002]))
    assert new_drama > new_horror + 1.0
    plain = without.with_item(1001, np.array([5]), np.array([3.0]), genres=DRAMA)
    plain = plain.with_item(1002, np.array([5]), np.array([3.0]), genres=HORROR)
    assert np.ptp(plain.predict(7, np.array([1001, 1002]))) < 1e-6  # same stars, same movie


def test_the_prior_survives_a_snapshot(models, tmp_path: Path):
    with_prior, _ = models
    loaded = load_model(save_model(with_prior, tmp_path / "m.npz"))
    assert loaded.side_prior is not None
    np.testing.assert_array_equal(loaded.side_prior.coef, with_prior.side_prior.coef)
    args = (1001, np.array([5]), np.array([3.0]))
    np.testing.assert_allclose(
        loaded.with_item(*args, genres=HORROR).predict(7, [1001]),
        with_prior.with_item(*args, genres=HORROR).predict(7, [1001]),
    )


def test_features_mark_genres_periods_and_support():
    side = ItemSide(np.array([DRAMA | HORROR, 0]), np.array([2016, 0]))
    x = side.features(np.array([9, 0]))
    assert x[:, 0].tolist() == [1, 1]  # intercept
    assert x[0, 1:3].tolist() == [1, 1] and x[1, 1:32].sum() == 0  # genre bits
    periods = x[:, 32 : 32 + len(YEAR_EDGES) + 2]
    assert periods.sum(1).tolist() == [1, 1] and periods[1, -1] == 1  # unknown year
    assert x[:, -1] == pytest.approx([np.log(10), 0])  # log(1 + ratings)


def test_side_from_catalog_is_zero_for_movies_it_lacks():
    catalog = Catalog.build([5, 6], ["A (1994)", "B"], [["Drama"], ["Horror", "Drama"]])
    side = ItemSide.from_catalog(catalog, np.array([6, 5, 99]))
    assert side.genres.tolist() == [0b11, 0b01, 0] and side.years.tolist() == [0, 1994, 0]


def test_settings_are_validated():
    with pytest.raises(ValueError, match="side_prior"):
        ALSConfig(side_prior=-1)
    with pytest.raises(ValueError, match="side_prior"):
        ALSConfig(side_prior_ridge=0)
