"""Side-information priors for sparse movies: what a movie's genres, release year and rating
count say about its bias and factors, for movies with few or no ratings of their own.

After a fit, each movie's (bias, factors) row q_i is pulled toward m_i, the row that its side
information predicts, by its rating count n_i:

    q_i <- (n_i q_i + k m_i) / (n_i + k)

so a movie with no ratings gets m_i instead of zeros (the mean plus the user's bias alone),
and a movie with hundreds of ratings keeps its own row. m is a ridge regression of the
fitted rows on genre and release-period indicators and log(1 + n), fitted on the rated
movies with weights n_i / (n_i + k): it averages movies sharing a genre, combines genres
additively, and carries over that rarely rated movies are rated lower (on ml-latest-small's
temporal split, predictions for unseen movies were 0.15 stars too high without it).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

import numpy as np

from recommender.als import Factors
from recommender.data import Catalog

log = logging.getLogger(__name__)

# Release periods (start years) a movie's year falls into; unknown years get a column too.
YEAR_EDGES = (1940, 1960, 1970, 1980, 1990, 1995, 2000, 2005, 2010, 2013, 2015, 2017)
GENRE_BITS = 31


@dataclass(frozen=True)
class ItemSide:
    """What the catalog says about each model item, in the model's item order: a genre
    bitmask and a release year (0 when unknown)."""

    genres: np.ndarray
    years: np.ndarray

    def __post_init__(self) -> None:
        if np.shape(self.genres) != np.shape(self.years) or np.ndim(self.genres) != 1:
            raise ValueError("genres and years must be 1-D arrays of one entry per item")

    @classmethod
    def from_catalog(cls, catalog: Catalog, movie_ids: np.ndarray) -> ItemSide:
        """Genres and years of these movies (zeros for ids the catalog does not have)."""
        rows = np.array([catalog.row(m) if m in catalog else -1 for m in movie_ids.tolist()])
        known = rows >= 0
        genres = np.zeros(len(rows), np.int64)
        years = np.zeros(len(rows), np.int64)
        genres[known] = catalog.genre_masks[rows[known]]
        years[known] = catalog.years[rows[known]]
        return cls(genres, years)

    def features(self, counts: np.ndarray) -> np.ndarray:
        """Design matrix (items × features): an intercept, one indicator per genre bit, per
        release period and for an unknown year, and log(1 + rating count)."""
        genres = np.asarray(self.genres, np.int64)
        years = np.asarray(self.years, np.int64)
        bits = (genres[:, None] >> np.arange(GENRE_BITS)) & 1
        period = np.searchsorted(np.asarray(YEAR_EDGES), years, side="right")
        period[years <= 0] = len(YEAR_EDGES) + 1
        periods = np.zeros((len(years), len(YEAR_EDGES) + 2))
        periods[np.arange(len(years)), period] = 1.0
        support = np.log1p(np.asarray(counts, np.float64))[:, None]
        return np.hstack([np.ones((len(years), 1)), bits, periods, support])


@dataclass(frozen=True)
class ItemPrior:
    """A fitted prior: regression coefficients (features × (1 + factors)) and the strength k
    (pseudo-ratings) with which a movie's row is pulled toward its prediction."""

    coef: np.ndarray
    strength: float

    @classmethod
    def fit(
        cls, rows: np.ndarray, counts: np.ndarray, side: ItemSide, strength: float, ridge: float
    ) -> ItemPrior:
        """Weighted ridge regression of (bias, factors) rows on side features (the intercept
        unpenalized), weights n / (n + strength): unrated movies teach it nothing."""
        counts = np.asarray(counts, np.float64)
        x = side.features(counts)
        xw = x * (counts / (counts + strength))[:, None]
        penalty = np.full(x.shape[1], ridge)
        penalty[0] = 0.0
        gram = x.T @ xw + np.diag(penalty)
        coef = np.linalg.lstsq(gram, xw.T @ rows.astype(np.float64), rcond=None)[0]
        return cls(coef, float(strength))

    def shrink(
        self, bias: np.ndarray, factors: np.ndarray, counts: np.ndarray, side: ItemSide
    ) -> tuple[np.ndarray, np.ndarray]:
        """(bias, factors) of these items pulled toward their predicted rows by count."""
        counts = np.asarray(counts, np.float64)
        rows = np.hstack([np.asarray(bias, np.float64)[:, None], factors.astype(np.float64)])
        if rows.shape[1] != self.coef.shape[1]:
            raise ValueError("the prior was fitted for another number of factors")
        means = side.features(counts) @ self.coef
        keep = (counts / (counts + self.strength))[:, None]
        shrunk = (keep * rows + (1.0 - keep) * means).astype(factors.dtype)
        return np.ascontiguousarray(shrunk[:, 0]), np.ascontiguousarray(shrunk[:, 1:])


def apply_item_prior(
    factors: Factors, counts: np.ndarray, side: ItemSide, strength: float, ridge: float
) -> tuple[Factors, ItemPrior]:
    """`factors` with every movie's bias and factors pulled toward its side-information
    prior (see the module docstring), and the prior, for movies added later."""
    if len(counts) != len(side.genres) or len(counts) != len(factors.item_bias):
        raise ValueError("one count and one side entry per item are required")
    rows = np.hstack([factors.item_bias[:, None], factors.item_factors])
    prior = ItemPrior.fit(rows, counts, side, strength, ridge)
    bias, vectors = prior.shrink(factors.item_bias, factors.item_factors, counts, side)
    log.debug("item prior: %d of %d movies unrated", int((counts == 0).sum()), len(counts))
    return dataclasses.replace(factors, item_bias=bias, item_factors=vectors), prior
