"""The Spark fit engine: same model and snapshot as the NumPy engine, on a local Spark.

One local[2] session serves the whole module (JVM start-up is paid once). Skipped with the
reason when pyspark or Java is missing; CI installs both.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyspark", reason="pyspark not installed: pip install -e '.[spark]'")
if not (shutil.which("java") or os.environ.get("JAVA_HOME")):
    pytest.skip("Java not installed: the Spark engine needs Java 17", allow_module_level=True)

from recommender.bench import synthetic_matrix
from recommender.config import ALSConfig
from recommender.data import Ratings
from recommender.evaluate import error_metrics, evaluate
from recommender.model import ALSModel
from recommender.snapshot import load_model, save_model
from recommender.spark_engine import SparkEngine, gram_rows, spark_session
from recommender.vocab import Vocabulary

SMALL = ALSConfig(factors=8, iterations=6, implicit_factors=6, implicit_reg=5.0)


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    """One local[2] Spark session for the module: no UI, two shuffle partitions, 127.0.0.1."""
    session = spark_session("local[2]", shuffle_partitions=2)
    yield session
    session.stop()


@pytest.fixture(scope="module")
def planted() -> tuple[Ratings, Ratings]:
    """Synthetic ratings from a planted low-rank taste: (train, held-out) with user ids 1..300."""
    m = synthetic_matrix(24_000, 300, 200, seed=3).tocoo()
    ratings = Ratings.build(m.row.astype(np.int64) + 1, m.col.astype(np.int64) + 1, m.data)
    test = np.random.default_rng(0).random(len(ratings)) < 0.1
    return ratings.subset(~test), ratings.subset(test)


ITEMS = Vocabulary(np.arange(1, 201))


def fit(spark: object, train: Ratings, keep=None) -> tuple[ALSModel, SparkEngine]:
    engine = SparkEngine(SMALL, session=spark, keep=keep)
    return ALSModel.fit(train, SMALL, items=ITEMS, engine=engine), engine


def test_spark_fit_has_the_numpy_engines_shapes_and_accuracy(spark, planted):
    train, test = planted
    model, engine = fit(spark, train)
    local = ALSModel.fit(train, SMALL, items=ITEMS)
    for name in ("user_bias", "user_factors", "item_bias", "item_factors", "pref_user"):
        ours, theirs = getattr(model.factors, name), getattr(local.factors, name)
        assert ours.shape == theirs.shape and ours.dtype == theirs.dtype, name
    assert model.factors.pref_item.shape == local.factors.pref_item.shape
    rmse, _ = error_metrics(model, test)
    baseline = float(np.sqrt(np.mean((test.ratings - train.ratings.mean()) ** 2)))
    assert rmse < baseline - 0.1  # the factors learned the planted taste
    assert abs(rmse - error_metrics(local, test)[0]) < 0.05
    # scored in Spark against the same fit: the same figures as the driver-side metric
    assert engine.error_metrics(test, model) == pytest.approx(error_metrics(model, test), abs=1e-4)


def test_only_kept_users_leave_spark_and_item_fold_ins_see_every_user(spark, planted):
    train, _ = planted
    full, _ = fit(spark, train)
    members = np.array([5, 17, 230])
    part, _ = fit(spark, train, keep=lambda ids: np.isin(ids, members))
    rows = part.users.numbers(members)
    rest = np.setdiff1d(np.arange(len(part.users)), rows)
    f, g = part.factors, full.factors
    np.testing.assert_allclose(f.item_factors, g.item_factors, atol=1e-4)
    np.testing.assert_allclose(f.pref_item, g.pref_item, atol=1e-4)
    np.testing.assert_allclose(f.user_factors[rows], g.user_factors[rows], atol=1e-4)
    np.testing.assert_allclose(f.user_bias[rows], g.user_bias[rows], atol=1e-4)
    assert not f.user_factors[rest].any() and not f.user_bias[rest].any()
    # the left-out users carry only their preference Gram, all an item fold-in needs
    assert np.count_nonzero(f.pref_user[rest].any(axis=1)) <= SMALL.implicit_factors
    np.testing.assert_allclose(f.pref_user.T @ f.pref_user, g.pref_user.T @ g.pref_user, atol=1e-3)
    a = part.with_item(999, members, np.array([5.0, 4.0, 4.5]))
    b = full.with_item(999, members, np.array([5.0, 4.0, 4.5]))
    np.testing.assert_allclose(a.factors.pref_item[-1], b.factors.pref_item[-1], atol=1e-3)


def test_gram_rows_reproduce_the_gram():
    y = np.random.default_rng(1).standard_normal((50, 4))
    r = gram_rows(y.T @ y)
    assert r.shape == (4, 4)
    np.testing.assert_allclose(r.T @ r, y.T @ y, atol=1e-9)


def test_a_spark_snapshot_loads_and_serves_like_a_numpy_one(spark, planted, tmp_path: Path):
    train, _ = planted
    model, _ = fit(spark, train, keep=lambda ids: ids <= 10)
    path = save_model(model, tmp_path / "spark.npz")
    served = load_model(path, expect_fingerprint=model.fingerprint, expect_config=SMALL)
    np.testing.assert_array_equal(served.factors.item_factors, model.factors.item_factors)
    ids, _ = served.recommend(3, 10)
    assert len(ids) == 10 and not np.isin(ids, train.items[train.users == 3]).any()
    # a newcomer folded in gets picks outside what they rated
    liked = train.items[(train.users == 3) & (train.ratings >= 4)][:8]
    member = served.with_user(-42, liked, np.full(len(liked), 5.0))
    picks, _ = member.recommend(-42, 10)
    assert len(picks) == 10 and not np.isin(picks, liked).any()
    # fitted users' picks agree with the NumPy engine's far beyond chance (~0.5 of 10)
    local = ALSModel.fit(train, SMALL, items=ITEMS)
    users = list(range(1, 11))
    shared = [
        len(np.intersect1d(served.recommend(u, 10)[0], local.recommend(u, 10)[0])) for u in users
    ]
    assert np.mean(shared) >= 4, shared


@pytest.mark.realdata
def test_ml100k_u1_rmse_is_within_001_of_the_numpy_engine(spark, real_ml100k):
    numpy_rmse = evaluate(real_ml100k, ("u1",))["rmse_mean"]
    with SparkEngine(ALSConfig(), session=spark) as engine:
        spark_rmse = evaluate(real_ml100k, ("u1",), engine=engine)["rmse_mean"]
    assert abs(spark_rmse - numpy_rmse) < 0.01, (spark_rmse, numpy_rmse)
