"""A refit with ALS_ENGINE=spark: the same snapshot the serving side loads, members' rows in it.

Skipped with the reason when pyspark or Java is missing; CI installs both.
"""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyspark", reason="pyspark not installed: pip install -e '.[spark]'")
if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
    pytest.skip("Java not installed: the Spark engine needs Java 17", allow_module_level=True)

from bot.core.keys import MemberKeys
from bot.core.refit import FitJob, run_fit, write_member_ratings
from recommender.config import ALSConfig
from recommender.snapshot import load_model
from tests.conftest import write_ml100k


def test_a_spark_refit_writes_a_snapshot_with_only_the_members_rows(tmp_path: Path):
    write_ml100k(tmp_path / "movielens" / "ml-100k")
    members = np.array([111, 222, 111, 222, 222], np.int64)
    movies = np.array([1, 2, 3, 4, 5], np.int32)
    handoff = tmp_path / "handoff.npz"
    write_member_ratings(handoff, MemberKeys.keys(members), movies, np.array([5, 4, 3, 5, 1.0]))
    config = ALSConfig(factors=4, iterations=4, implicit_factors=3, implicit_reg=5.0)
    job = FitJob(
        "ml-100k",
        tmp_path / "data",
        tmp_path / "movielens",
        handoff,
        config,
        tmp_path / "models" / "ml-100k.npz",
        engine="spark",
        spark_master="local[2]",
    )
    result = run_fit(job)
    assert result.rmse is not None and math.isfinite(result.rmse) and result.rmse < 2.0
    model = load_model(result.snapshot, expect_config=config)
    f = model.factors
    member_rows = model.users.numbers(MemberKeys.keys(np.array([111, 222])))
    movielens_rows = np.flatnonzero(model.users.ids > 0)
    assert f.user_factors[member_rows].any(axis=1).all()
    assert not f.user_factors[movielens_rows].any() and not f.user_bias[movielens_rows].any()
    assert f.item_factors.shape == (len(model.items), 4) and f.pref_item.shape[1] == 3
    ids, _ = model.recommend(MemberKeys.key(222), 5)
    assert len(ids) and not np.isin(ids, [2, 4, 5]).any()
