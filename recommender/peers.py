"""Peer libraries timed on the same matrices as our fit, for `bench --compare-implicit` only.

`implicit` (C++ conjugate-gradient ALS of the preference model) and LensKit (exact explicit
ALS with biases) are benchmark references, never dependencies: each is imported only when
installed, e.g. in a separate virtual environment with this project on PYTHONPATH.
"""

from __future__ import annotations

import importlib.util
import time

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from recommender.config import ALSConfig

PEERS: tuple[str, ...] = ("implicit", "lenskit")


def installed(name: str) -> bool:
    """Whether the peer package `name` can be imported here (without importing it)."""
    return importlib.util.find_spec(name) is not None


def missing_message(name: str) -> str:
    """What to tell someone who asked to compare against a peer that is not installed."""
    return (
        f"{name} is not installed in this environment, so it is not timed: install it in a "
        f"separate virtual environment (pip install {name}) and run this benchmark there with "
        "this project on PYTHONPATH"
    )


def _median_step(stamps: list[float]) -> float:
    """Median of the gaps between stamps after the first (the first iteration warms up)."""
    gaps = np.diff(stamps[1:]) if len(stamps) > 2 else np.diff(stamps)
    return float(np.median(gaps))


def implicit_seconds_per_iteration(matrix: sp.csr_matrix, cfg: ALSConfig) -> float:
    """Median seconds per iteration of implicit's CPU ALS (3 CG steps, OpenMP on every core,
    BLAS at one thread as implicit asks) on who-rated-what, our preference model's input."""
    from implicit.cpu.als import AlternatingLeastSquares

    seen = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    seen.data[:] = 1.0
    with threadpool_limits(limits=1, user_api="blas"):  # before construction, which checks it
        model = AlternatingLeastSquares(
            factors=cfg.factors,
            regularization=cfg.implicit_reg,
            alpha=cfg.implicit_alpha,
            iterations=cfg.iterations,
            use_cg=True,
            random_state=cfg.seed,
        )
        stamps = [time.perf_counter()]
        model.fit(seen, show_progress=False, callback=lambda *_: stamps.append(time.perf_counter()))
    return _median_step(stamps)


def lenskit_seconds_per_iteration(matrix: sp.csr_matrix, cfg: ALSConfig) -> float:
    """Median seconds per epoch of LensKit's explicit biased ALS (exact solves) on the ratings."""
    import pandas as pd
    from lenskit.als import BiasedMFScorer
    from lenskit.data import from_interactions_df
    from lenskit.training import TrainingOptions

    coo = matrix.tocoo()
    frame = pd.DataFrame({"user_id": coo.row, "item_id": coo.col, "rating": coo.data})
    data = from_interactions_df(frame)
    scorer = BiasedMFScorer(embedding_size=cfg.factors, epochs=cfg.iterations)
    trainer = scorer.create_trainer(data, TrainingOptions())
    stamps = [time.perf_counter()]
    for _ in range(cfg.iterations):
        trainer.train_epoch()
        stamps.append(time.perf_counter())
    return _median_step(stamps)


TIMERS = {"implicit": implicit_seconds_per_iteration, "lenskit": lenskit_seconds_per_iteration}
