"""Typed, validated settings for fitting (`ALSConfig`) and ranking (`RankingConfig`).

Kept apart from the training code so that `als`, `solvers` and `model` all depend on this
module and never on each other for their settings (no import circle).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Literal

SolverName = Literal["exact", "cg"]
DType = Literal["float32", "float64"]

SOLVERS: tuple[SolverName, ...] = ("exact", "cg")
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
    - implicit_reg: ridge penalty of the preference model (>= 0); 1.0 keeps its Gram matrix
      well conditioned.
    - implicit_alpha: extra confidence of a rated movie over an unrated one (>= 0); 5 chosen
      on u1.

    Numerics:

    - solver: "cg" (default: a few warm-started conjugate-gradient steps per row, same RMSE
      on u1..u5 and 1.5-2× faster) or "exact" (batched normal equations); fold-in is always
      an exact solve.
    - cg_steps: conjugate-gradient steps per row and half-step (>= 1); 3 reach the exact
      solver's RMSE.
    - seed: seed of the random initial factors, so fits are reproducible.
    - dtype: factor precision, "float32" (default: half the memory and bandwidth) or
      "float64" (for exactness checks).
    - threads: worker threads for chunk solves (0 = one per core).
    """

    factors: int = 32
    iterations: int = 15
    reg: float = 1.2
    reg_bias: float = 0.5
    reg_exponent: float = 0.5
    init_scale: float = 0.1
    implicit_factors: int = 32
    implicit_reg: float = 1.0
    implicit_alpha: float = 5.0
    solver: SolverName = "cg"
    cg_steps: int = 3
    seed: int = 42
    dtype: DType = "float32"
    threads: int = 0

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

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON metadata (snapshots, evaluation reports)."""
        return asdict(self)

    def n_threads(self) -> int:
        """Worker threads for chunk solves (0 = one per core)."""
        return self.threads if self.threads > 0 else max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class RankingConfig:
    """How predictions become a ranking; tuned for precision@10 on ml-100k fold u1.

    With preference factors the rank score is preference + stars_weight × stars; without
    them, stars + popularity_weight × a log-support prior.

    - stars_weight: weight of predicted stars (0.5-5) against the preference score (about
      0-1) in the rank score (>= 0); 0.3 chosen on u1.
    - popularity_weight: scale in stars of the log-support prior that models without
      preference factors add (>= 0); groups add a tenth of it, only to break near-ties.
    - min_support: ratings a movie needs before it is recommended or offered as similar
      (>= 0, capped at the most-rated movie's count); 20 keeps lists to movies people see.
    - cold_start_damping: pseudo-ratings at the global mean blended into each movie's mean
      for the popular list (>= 0); 25 keeps films with a few 5-star ratings off its top.
    """

    stars_weight: float = 0.3
    popularity_weight: float = 0.6
    min_support: int = 20
    cold_start_damping: float = 25.0

    def __post_init__(self) -> None:
        if min(self.stars_weight, self.popularity_weight, self.cold_start_damping) < 0:
            raise ValueError("stars_weight, popularity_weight and cold_start_damping must be >= 0")
        if self.min_support < 0:
            raise ValueError("min_support must be >= 0")

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON metadata (snapshots, evaluation reports)."""
        return asdict(self)
