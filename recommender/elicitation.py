"""Which movie to ask a new user about next (rating elicitation, as MovieLens onboarding does).

Good questions are movies many people have seen (so the user likely has too) whose ratings
are spread out (so the answer says something about taste). The list is varied across
genres, and once the user has answered a few, it leans toward movies their preference
factors say they have probably seen.
"""

from __future__ import annotations

import numpy as np

from recommender.model import ALSModel, top_n


def informativeness(model: ALSModel) -> np.ndarray:
    """log(popularity) × rating spread per movie (0 for movies with under 2 ratings)."""
    m = model.user_items
    counts = model.item_counts.astype(np.float64)
    sums = np.bincount(m.indices, weights=m.data, minlength=len(model.items))
    squares = np.bincount(m.indices, weights=m.data.astype(np.float64) ** 2, minlength=len(counts))
    mean = sums / np.maximum(counts, 1)
    spread = np.sqrt(np.maximum(squares / np.maximum(counts, 1) - mean**2, 0))
    score = np.log1p(counts) * spread
    score[counts < 2] = 0.0
    return score


class Elicitor:
    """Ranks the next movie to show; build once per model, call `next` per click."""

    def __init__(self, model: ALSModel, genre_masks: np.ndarray) -> None:
        if len(genre_masks) != len(model.items):
            raise ValueError("genre_masks must have one entry per model item")
        self.model = model
        base = informativeness(model)
        self.base = base / max(float(base.max()), 1e-12)
        self.genre_masks = np.asarray(genre_masks, dtype=np.int64)

    def next(
        self,
        user: int | None,
        exclude: np.ndarray,
        recent: np.ndarray,
        n: int = 1,
        model: ALSModel | None = None,
    ) -> np.ndarray:
        """Best movie ids to ask about; `recent` are the last movies shown (for variety).

        `model` reads the user from a newer model of the same fit (one with the user folded
        in since this elicitor was built); its items must be this elicitor's items.
        """
        current = self.model if model is None else model
        if current.items is not self.model.items and current.items != self.model.items:
            raise ValueError("model must share the elicitor's items")
        scores = self.base.copy()
        idx = self.model.items.numbers(exclude, missing="negative")
        scores[idx[idx >= 0]] = -np.inf
        recent_idx = self.model.items.numbers(recent, missing="negative")
        recent_idx = recent_idx[recent_idx >= 0]
        if len(recent_idx):
            seen_genres = np.bitwise_or.reduce(self.genre_masks[recent_idx])
            overlap = _popcount(self.genre_masks & seen_genres)
            scores /= 1.0 + 0.35 * overlap
        if user is not None and current.has_user(user) and current.rated_count(user) >= 3:
            seen = current.preference_scores(user)
            if seen is not None:
                scores = scores + 0.5 * np.clip(seen, 0, 1)
        top = top_n(scores, n)
        return self.model.items.ids[top]


def _popcount(values: np.ndarray) -> np.ndarray:
    """Number of set bits per element (genre overlap counts)."""
    v = values.astype(np.uint64)
    count = np.zeros(v.shape, dtype=np.int64)
    while v.any():
        count += (v & np.uint64(1)).astype(np.int64)
        v >>= np.uint64(1)
    return count
