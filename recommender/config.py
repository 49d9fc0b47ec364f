"""Typed, validated settings for fitting (`ALSConfig`) and ranking (`RankingConfig`).

Kept apart from the training code so that `als`, `solvers` and `model` all depend on this
module and never on each other for their settings (no import circle).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Literal

SolverName = Literal["exact", "cg"]
ModelName = Literal["als", "bayes"]
DType = Literal["float32", "float64"]

SOLVERS: tuple[SolverName, ...] = ("exact", "cg")
MODELS: tuple[ModelName, ...] = ("als", "bayes")
DTYPES: tuple[DType, ...] = ("float32", "float64")


@dataclass(frozen=True)
class ALSConfig:
    """ALS hyperparameters; defaults chosen by RMSE and precision@10 on ml-100k fold u1 only.

    Rating model (explicit stars, r ≈ mu + b_u + c_i + x_u·y_i):

    - factors: latent dimensions of the rating model (>= 1); 32 chosen on u1.
    - iterations: full ALS sweeps, users then movies (>= 0); 15 chosen on u1.
    - reg: ridge penalty on factor vectors, scaled per row by n^reg_exponent (>= 0); 1.2
      chosen on u1.
    - reg_bias: ridge penalty on the user and movie biases, same scaling (>= 0); 0.5 chosen
      on u1.
    - reg_exponent: how a row's penalty grows with its rating count n (0 = flat, 1 = ALS-WR);
      0.5 did better than ALS-WR here.
    - init_scale: standard deviation of the random initial factors (> 0); small so the first
      sweep is driven by the ratings rather than the noise.

    Preference model (implicit "who rated what", Hu, Koren & Volinsky 2008), used to rank:

    - implicit_factors: latent dimensions of the preference model (>= 0); 0 disables it and
      ranking falls back to stars plus a popularity prior. 32 chosen on u1.
    - implicit_reg: ridge penalty of the preference model (>= 0); 30 chosen on u1 for
      precision@10 (1.0 gave 0.282 over u1..u5, 30 gives 0.30; 50 gained no precision and
      pushed lists toward the most-rated movies).
    - implicit_alpha: extra confidence of a rated movie over an unrated one (>= 0); 5 chosen
      on u1.

    Numerics:

    - solver: "cg" (default: a few warm-started conjugate-gradient steps per row, same RMSE
      on u1..u5 and 1.8-3.8× faster per iteration) or "exact" (batched normal equations);
      fold-in is always an exact solve.
    - cg_steps: conjugate-gradient steps per row and half-step (>= 1); 3 reach the exact
      solver's RMSE.
    - seed: seed of the random initial factors, so fits are reproducible.
    - dtype: factor precision, "float32" (default: half the memory and bandwidth) or
      "float64" (for exactness checks).
    - threads: worker threads for chunk solves (0 = one per core).

    Side-information prior for sparse movies (`recommender.priors`), chosen on an inner
    temporal split of ml-latest-small's temporal training part (each user's latest fifth of
    their training ratings held out; never the test part), RMSE there in brackets:

    - side_prior: strength k, in ratings, with which a movie's fitted bias and factors are
      pulled toward what its genres, release period and rating count predict, as
      (n q + k m) / (n + k) (>= 0; 0 turns it off); a movie with no ratings gets m. Applied
      to the ALS rating model when the fit is given the catalog's genres and years. 3
      (0.8604; off 0.8714, 2 0.8607, 4 0.8605, 10 0.8626); also better on every ML-100K
      fold.
    - side_prior_ridge: ridge penalty of the regression that predicts m (> 0); 1 (10 gave
      0.8608).

    Rating model fitted by Gibbs sampling instead (`recommender.bayes`), chosen on a seeded
    fifth of u1.base held out from the rest (RMSE there in brackets):

    - model: "als" (default) or "bayes" (Bayesian ALS: 0.879 against 0.910 over u1..u5,
      35-110× the fit time).
    - bayes_factors: latent dimensions of the sampled rating model (>= 1); 10 (0.8833; 5
      gave 0.8831, 20 0.8855).
    - bayes_burn_in, bayes_samples: sweeps discarded, then sweeps averaged (>= 0, >= 1); 20
      and 100 (200 gave 0.8841, 50 0.8838 at half the cost).
    - bayes_keep: 0 (default) serves the posterior-mean factors; S > 0 serves S samples side
      by side instead (S times wider, exactly their average prediction).
    - bayes_noise: rating noise precision (> 0), or 0 (default) to sample it (without the
      implicit term, 0.8999 against 0.9122 with BPMF's fixed 2).
    - bayes_beta: pseudo-rows of the Normal-Wishart hyperprior at the zero mean (> 0).
    - bayes_implicit: users also weigh movies' preference factors and movies users' (who
      rated what, from the training ratings alone), an SVD++-like term (0.8833 against
      0.8999 without); needs implicit_factors > 0.
    """

    factors: int = 32
    iterations: int = 15
    reg: float = 1.2
    reg_bias: float = 0.5
    reg_exponent: float = 0.5
    init_scale: float = 0.1
    implicit_factors: int = 32
    implicit_reg: float = 30.0
    implicit_alpha: float = 5.0
    solver: SolverName = "cg"
    cg_steps: int = 3
    seed: int = 42
    dtype: DType = "float32"
    threads: int = 0
    model: ModelName = "als"
    bayes_factors: int = 10
    bayes_burn_in: int = 20
    bayes_samples: int = 100
    bayes_keep: int = 0
    bayes_noise: float = 0.0
    bayes_beta: float = 2.0
    bayes_implicit: bool = True
    side_prior: float = 3.0
    side_prior_ridge: float = 1.0

    def __post_init__(self) -> None:
        if self.factors < 1 or self.iterations < 0:
            raise ValueError("factors must be >= 1 and iterations >= 0")
        if self.implicit_factors < 0 or self.implicit_alpha < 0 or self.implicit_reg < 0:
            raise ValueError("implicit_factors, implicit_alpha and implicit_reg must be >= 0")
        if self.reg < 0 or self.reg_bias < 0 or self.init_scale <= 0:
            raise ValueError("regularization must be >= 0 and init_scale > 0")
        if self.solver not in SOLVERS or self.cg_steps < 1:
            raise ValueError("solver must be 'exact' or 'cg', with cg_steps >= 1")
        if self.dtype not in DTYPES:
            raise ValueError("dtype must be float32 or float64")
        if self.model not in MODELS or self.bayes_factors < 1 or self.bayes_burn_in < 0:
            raise ValueError("model must be 'als' or 'bayes', bayes_factors >= 1, burn-in >= 0")
        if self.bayes_samples < 1:
            raise ValueError("bayes_samples must be >= 1")
        if not 0 <= self.bayes_keep <= self.bayes_samples or self.bayes_noise < 0:
            raise ValueError("0 <= bayes_keep <= bayes_samples and bayes_noise >= 0 required")
        if self.bayes_beta <= 0:
            raise ValueError("bayes_beta must be > 0")
        if self.side_prior < 0 or self.side_prior_ridge <= 0:
            raise ValueError("side_prior must be >= 0 and side_prior_ridge > 0")

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON metadata (snapshots, evaluation reports)."""
        return asdict(self)

    def n_threads(self) -> int:
        """Worker threads for chunk solves (0 = one per core)."""
        return self.threads if self.threads > 0 else max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class RankingConfig:
    """How predictions become a ranking; tuned for precision@10 on ml-100k fold u1.

    With preference factors the rank score is preference + stars_weight × stars −
    popularity_penalty × log-support; without them, stars + popularity_weight × log-support.
    Log-support is log(1 + ratings) / log(1 + the most-rated movie's ratings), 0..1.

    - stars_weight: weight of predicted stars (0.5-5) against the preference score (about
      0-1) in the rank score (>= 0); 0.2 chosen on u1.
    - popularity_penalty: how much log-support is taken off the rank score (>= 0), so
      "popular with everyone" does not crowd out taste; 0.3 brings the mean popularity
      rank of the top 10 on u1..u5 from 79 back to 91 at the same precision@10.
    - penalty_ratings: the penalty applies in full only to users who rated many movies, as
      n / (n + penalty_ratings) (> 0): a new member's preference scores are too weak to
      stand it, and for them the popular picks are the safe ones. 20 chosen on u1.
    - min_support: most ratings a movie needs before it is recommended or offered as
      similar (>= 0, capped at the most-rated movie's count); 20 keeps lists to movies
      people see.
    - support_share: for personal and group picks, the floor is lowered below min_support
      until the movies at or above it hold this share of all ratings (0..1; 0 keeps
      min_support). 0.9 keeps 20 on ML-100K and gives 4 on ml-latest-small, where a floor
      of 20 left 13 % of the rated movies. "More like this" keeps min_support: on
      ml-latest-small the lower floor cost its lists a sixth of their held-out hits.
    - cold_start_damping: pseudo-ratings at the global mean blended into each movie's mean
      for the popular list (>= 0); 25 keeps films with a few 5-star ratings off its top.
    - wanted_bonus: added to a member's rank score for movies they said they want to see
      (a watchlist) when picking for a group (>= 0); 0.3 is about the spread of a member's
      top 30 preference scores, so a wanted movie competes with their best but does not
      override what the others would suffer (a product choice: MovieLens has no
      watchlists to measure it on).
    - shown_knee, shown_ceiling: predictions shown to people bend smoothly from the knee
      toward the ceiling instead of being clipped at 5 (`ALSModel.shown_stars`); knee <
      ceiling <= 5. On ML-100K u1, held-out ratings of movies predicted 4.75-5.5 averaged
      4.72-4.75, so 4.4 and 4.9 show 4.7-4.9 there, ordered as the raw predictions are.

    "More like this" blends three signals (`ALSModel.item_similarities`). On ML-100K u1,
    against factor cosine alone, held-out liked movies in the top 10 went from 57.5 % to
    59.6 % of seed movies and genre agreement from 0.33 to 0.56; Toy Story's list went from
    one animated film to three and Pulp Fiction's gained Reservoir Dogs:

    - similar_corating: weight of the co-rating cosine against the factor cosine (0..1);
      0.5 chosen on u1.
    - similar_popularity_exponent: the co-rating cosine is co / (n_seed^(1-e) · n_other^e);
      0.5 is the plain cosine, 0.8 (chosen on u1) stops blockbusters that everyone rated
      from being "like" everything.
    - similar_shrink: co-ratings needed before a co-rating cosine counts fully (>= 0); 20
      keeps pairs that a handful of people happened to rate together from looking close.
    - similar_genre: weight of shared genres (Jaccard, 0..1) when the model has genres
      (>= 0); 0.15 chosen on u1.
    """

    stars_weight: float = 0.2
    popularity_weight: float = 0.6
    popularity_penalty: float = 0.3
    penalty_ratings: float = 20.0
    min_support: int = 20
    support_share: float = 0.9
    cold_start_damping: float = 25.0
    wanted_bonus: float = 0.3
    shown_knee: float = 4.4
    shown_ceiling: float = 4.9
    similar_corating: float = 0.5
    similar_popularity_exponent: float = 0.8
    similar_shrink: float = 20.0
    similar_genre: float = 0.15

    def __post_init__(self) -> None:
        weights = (
            self.stars_weight,
            self.popularity_weight,
            self.popularity_penalty,
            self.cold_start_damping,
            self.wanted_bonus,
        )
        if min(weights) < 0 or self.penalty_ratings <= 0:
            raise ValueError(
                "stars_weight, popularity_weight, popularity_penalty, cold_start_damping and "
                "wanted_bonus must be >= 0, penalty_ratings > 0"
            )
        if self.min_support < 0:
            raise ValueError("min_support must be >= 0")
        if not (0.0 <= self.similar_corating <= 1.0 and 0 <= self.similar_popularity_exponent <= 1):
            raise ValueError("similar_corating and similar_popularity_exponent must be in 0..1")
        if min(self.similar_shrink, self.similar_genre) < 0:
            raise ValueError("similar_shrink and similar_genre must be >= 0")
        if not self.shown_knee < self.shown_ceiling <= 5.0:
            raise ValueError("shown_knee < shown_ceiling <= 5 is required")
        if not 0.0 <= self.support_share <= 1.0:
            raise ValueError("support_share must be between 0 and 1")

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON metadata (snapshots, evaluation reports)."""
        return asdict(self)
