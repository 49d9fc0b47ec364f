"""ALS movie recommender: MovieLens loading, ALS fitting, the fitted model, title search."""

from recommender.als import ALSTrainer, Factors
from recommender.config import ALSConfig, RankingConfig
from recommender.data import Catalog, Movie, Ratings
from recommender.model import ALSModel
from recommender.titles import TitleIndex, TitleMatch
from recommender.vocab import Vocabulary

__all__ = [
    "ALSConfig",
    "ALSModel",
    "ALSTrainer",
    "Catalog",
    "Factors",
    "Movie",
    "RankingConfig",
    "Ratings",
    "TitleIndex",
    "TitleMatch",
    "Vocabulary",
]
