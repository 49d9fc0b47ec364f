"""Taste match between two people: how alike their tastes are, as a number from 0 to 100.

The score is the correlation of what the model predicts each of them would think of the same
popular movies, after removing what everyone thinks of each movie (the average predicted stars
of a fixed sample of users): two people match when they like and dislike the same films more
or less than people generally do. When they rated enough movies in common, the correlation of
their own (centred) stars on those movies is blended in, more as they share more. -1..1 maps
to 0..100, so 50 is "no more alike than chance". It only depends on the model and the ratings,
so it is the same every time it is asked, and symmetric.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from recommender.model import ALSModel

PROFILE_MOVIES = 400  # the most rated movies, on which taste profiles are compared
REFERENCE_USERS = 500  # users whose average predicted stars is the "everyone" baseline
MIN_SHARED = 5  # co-rated movies needed before their own stars count
SHARED_WEIGHT = 20  # shared movies at which own stars and profiles weigh the same


@dataclass(frozen=True)
class TasteMatch:
    """A match: the 0-100 score, and what it was made of."""

    score: int
    profile_r: float  # correlation of the two taste profiles (-1..1)
    shared: int  # movies both rated
    shared_r: float | None  # correlation of their stars on those (None: fewer than MIN_SHARED)


class TasteSpace:
    """The movies and baseline that taste profiles are measured on, built once per model."""

    def __init__(self, model: ALSModel, seed: int = 0) -> None:
        self.model = model
        counts = np.asarray(model.item_counts)
        top = np.argsort(-counts, kind="stable")[: min(PROFILE_MOVIES, len(counts))]
        self.movies = model.items.ids[np.sort(top)]
        fitted = np.asarray(model.users.ids)
        fitted = fitted[[model.has_user(int(u)) for u in fitted]] if len(fitted) else fitted
        rng = np.random.default_rng(seed)
        sample = rng.choice(fitted, min(REFERENCE_USERS, len(fitted)), replace=False)
        if len(sample):
            rows = [model.predict(int(u), self.movies) for u in sample]
            self.baseline = np.mean(rows, axis=0)
        else:
            self.baseline = np.zeros(len(self.movies))

    def profile(self, user: int, model: ALSModel | None = None) -> np.ndarray:
        """How much more (or less) than people generally the user would like each movie;
        `model` may be a later fold-in of the model this space was built on."""
        return (model or self.model).predict(int(user), self.movies) - self.baseline

    def match(
        self,
        a: int,
        b: int,
        stars_a: Mapping[int, float] | None = None,
        stars_b: Mapping[int, float] | None = None,
        model: ALSModel | None = None,
    ) -> TasteMatch:
        """The taste match of two users the model knows, with their ratings when given."""
        profile_r = correlation(self.profile(a, model), self.profile(b, model))
        shared_r, shared = co_rated(stars_a or {}, stars_b or {})
        return TasteMatch(blend(profile_r, shared_r, shared), profile_r, shared, shared_r)


def correlation(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation; 0 when either side does not vary."""
    x = np.asarray(x, dtype=np.float64) - np.mean(x)
    y = np.asarray(y, dtype=np.float64) - np.mean(y)
    norm = float(np.sqrt((x @ x) * (y @ y)))
    return float(np.clip((x @ y) / norm, -1.0, 1.0)) if norm > 1e-12 else 0.0


def co_rated(a: Mapping[int, float], b: Mapping[int, float]) -> tuple[float | None, int]:
    """(correlation of both users' stars, each centred on their own mean, over the movies
    both rated; None below MIN_SHARED) and how many movies they share."""
    common = sorted(set(a) & set(b))
    if len(common) < MIN_SHARED:
        return None, len(common)
    mean_a = float(np.mean(list(a.values())))
    mean_b = float(np.mean(list(b.values())))
    x = np.array([a[m] - mean_a for m in common])
    y = np.array([b[m] - mean_b for m in common])
    norm = float(np.sqrt((x @ x) * (y @ y)))
    return (float(np.clip((x @ y) / norm, -1.0, 1.0)) if norm > 1e-12 else 0.0), len(common)


def blend(profile_r: float, shared_r: float | None, shared: int) -> int:
    """The 0..100 score: profiles, with own stars on shared movies weighing in as they grow."""
    r = profile_r
    if shared_r is not None:
        weight = shared / (shared + SHARED_WEIGHT)
        r = (1 - weight) * profile_r + weight * shared_r
    return round(50 * (1 + r))
