"""One call from a dataset name to parsed arrays: locate or download, then parse with a cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from recommender.config import ALSConfig
from recommender.download import ensure_dataset, resolve_movielens_dir
from recommender.model import ALSModel, FitEngine
from recommender.movielens import MovieLens, load_movielens
from recommender.priors import ItemSide
from recommender.titles import TitleIndex
from recommender.vocab import Vocabulary


def load_dataset(
    name: str, data_dir: Path, movielens_dir: Path | None = None, progress: bool = True
) -> MovieLens:
    """Find (or download) a dataset and parse it, caching parsed arrays under data_dir/cache.

    `movielens_dir` defaults to the MOVIELENS_DIR environment variable; it is never written.
    """
    source = movielens_dir if movielens_dir is not None else resolve_movielens_dir()
    folder = ensure_dataset(name, data_dir, source, progress=progress)
    return load_movielens(name, folder, cache_dir=data_dir / "cache")


def fit_full(
    ml: MovieLens, config: ALSConfig | None = None, engine: FitEngine | None = None
) -> ALSModel:
    """Fit on every rating of a dataset with the catalog as the movie vocabulary (and its
    genres and years as the sparse movies' prior); `engine` as for `ALSModel.fit`."""
    items = Vocabulary(ml.catalog.movie_ids)
    side = ItemSide.from_catalog(ml.catalog, items.ids)
    return ALSModel.fit(ml.ratings, config, items=items, side=side, engine=engine)


def rating_counts(ml: MovieLens) -> np.ndarray:
    """Ratings per catalog row."""
    rows = np.searchsorted(ml.catalog.movie_ids, ml.ratings.items)
    return np.bincount(rows, minlength=len(ml.catalog))


def title_index(ml: MovieLens) -> TitleIndex:
    """A title index whose near-ties go to the more-rated movie."""
    return TitleIndex(ml.catalog, rating_counts(ml))


# Datasets that number movies the same way (GroupLens's current MovieLens ids). ML-100K,
# ML-1M and ML-10M each have numberings of their own.
_MOVIELENS_IDS = frozenset({"ml-latest-small", "ml-latest", "ml-20m", "ml-25m", "ml-32m"})


def id_space(name: str) -> str:
    """The movie-id numbering a dataset uses: "movielens" for the current releases, else its name.

    Ratings stored against one dataset stay valid for any other of the same id space.
    """
    return "movielens" if name in _MOVIELENS_IDS else name
