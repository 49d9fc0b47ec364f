"""The same ALS model fitted on Spark MLlib, for rating data beyond one machine.

Global mean and biases come from regularized alternating passes over a DataFrame (the
penalty `reg_bias · n^reg_exponent` of the NumPy engine), the rating factors from Spark's
ALS on the residuals r - mu - b_u - c_i, and the preference factors from Spark's implicit ALS
on "who rated what" (confidence 1 + implicit_alpha, as in `PreferenceSolver`).

Only what serving needs leaves Spark: every movie's bias and vectors, and the rows of the
users `keep` selects (a club's members). Other users' rows are left at zero, except that
`implicit_factors` of them carry a square root of the user side's preference Gram (RᵀR =
YᵀY over the users left out), which is all an item fold-in needs from them; fitted with
every user kept (evaluation), the factors are complete. pyspark is imported lazily: the
library works without it, and `require_spark` says what is missing.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from recommender.als import Factors
from recommender.config import ALSConfig
from recommender.data import Ratings
from recommender.vocab import Vocabulary

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from recommender.model import ALSModel

log = logging.getLogger(__name__)

DEFAULT_MASTER = "local[*]"
# Spark's ALS scales its penalty by each row's rating count (ALS-WR), the NumPy engine by
# its square root, so regParam is its own. Chosen on ML-100K fold u1 by RMSE: 0.13 (0.9286;
# 0.1 gave 0.9332, 0.12 0.9315, 0.15 0.9296, 0.2 0.9399; the NumPy engine 0.9194).
REG_PARAM = 0.13
# The preference model's, chosen on u1 by precision@10: 0.25 (0.3846; 0.05 gave 0.3564, 0.1
# 0.3658, 0.5 0.3792, 1 0.3318, 2 0.2379; the NumPy engine 0.3875).
IMPLICIT_REG_PARAM = 0.25
BIAS_PASSES = 5  # alternating bias passes over the DataFrame
INSTALL_HINT = "install the extra with `pip install -e '.[spark]'` (and Java 17)"


class SparkUnavailable(RuntimeError):
    """pyspark or Java is missing, so the Spark engine cannot run."""


def require_spark() -> None:
    """Raise SparkUnavailable, naming what to install, unless pyspark and Java are present."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise SparkUnavailable(f"the Spark engine needs pyspark: {INSTALL_HINT}") from None
    java_home = os.environ.get("JAVA_HOME", "")
    if not shutil.which("java") and not (java_home and Path(java_home, "bin", "java").exists()):
        raise SparkUnavailable(f"the Spark engine needs Java on PATH or JAVA_HOME: {INSTALL_HINT}")


def spark_session(master: str = DEFAULT_MASTER, shuffle_partitions: int = 8) -> SparkSession:
    """A Spark session for fits: no web UI, no progress bars; a local master binds 127.0.0.1."""
    require_spark()
    from pyspark.sql import SparkSession

    # Python workers (the Gram reduction) must run this interpreter, which has NumPy.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(master)
        .appName("als-movie-bot")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
    )
    if master.startswith("local"):
        builder = builder.config("spark.driver.bindAddress", "127.0.0.1").config(
            "spark.driver.host", "127.0.0.1"
        )
    session = builder.getOrCreate()
    context = session.sparkContext
    context.setLogLevel("ERROR")
    if context.getCheckpointDir() is None and master.startswith("local"):
        # ALS checkpoints every 10 iterations when it can; without it, long fits overflow the
        # JVM stack on their lineage. A cluster needs a shared directory: set it there.
        folder = tempfile.mkdtemp(prefix="spark-checkpoints-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        context.setCheckpointDir(folder)
    return session


@dataclass
class _Fitted:
    """The last fit's Spark-side user state, kept for scoring held-out ratings in Spark."""

    user_bias: DataFrame
    user_factors: DataFrame
    users: Vocabulary


class SparkEngine:
    """Fits `Factors` on Spark; an `ALSModel.fit` engine (`fit(matrix, user_ids)`).

    `keep(user_ids) -> bool mask` picks the users whose rows leave Spark (None: all).
    """

    def __init__(
        self,
        config: ALSConfig | None = None,
        session: SparkSession | None = None,
        keep: Callable[[np.ndarray], np.ndarray] | None = None,
        reg_param: float = REG_PARAM,
        implicit_reg_param: float = IMPLICIT_REG_PARAM,
        master: str = DEFAULT_MASTER,
    ) -> None:
        self.config = config or ALSConfig()
        self._own_session = session is None
        self.session = session or spark_session(master)
        self.keep = keep
        self.reg_param, self.implicit_reg_param = reg_param, implicit_reg_param
        self._fitted: _Fitted | None = None
        self._scratch = tempfile.TemporaryDirectory(prefix="spark-fit-")

    def close(self) -> None:
        """Drop cached data and temp files; stop the session if this engine started it."""
        self._fitted = None
        self.session.catalog.clearCache()
        if self._own_session:
            self.session.stop()
        self._scratch.cleanup()

    def __enter__(self) -> SparkEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ input
    def frame(self, users: np.ndarray, items: np.ndarray, stars: np.ndarray) -> DataFrame:
        """(user index, item index, stars) arrays as a DataFrame, through a CSV hand-off file
        (no Python row objects: the JVM parses it in parallel)."""
        path = Path(self._scratch.name) / f"ratings-{time.monotonic_ns()}.csv"
        table = np.column_stack([users, items, stars]).astype(np.float64)
        np.savetxt(path, table, fmt=("%d", "%d", "%.7g"), delimiter=",")
        return self.session.read.csv(str(path), schema="user INT, item INT, rating DOUBLE")

    # -------------------------------------------------------------------- fit
    def fit(self, matrix: sp.csr_matrix, user_ids: np.ndarray) -> Factors:
        """Fit a users×items matrix (rows named by `user_ids`); returns full-shape `Factors`
        whose left-out user rows are filled as the module docstring says."""
        coo = matrix.tocoo()
        df = self.frame(coo.row, coo.col, coo.data)
        keep = np.ones(len(user_ids), bool) if self.keep is None else self.keep(user_ids)
        return self.fit_frame(df, matrix.shape, np.flatnonzero(keep), Vocabulary(user_ids))

    def fit_frame(
        self,
        ratings: DataFrame,
        shape: tuple[int, int],
        keep_rows: np.ndarray,
        users: Vocabulary,
    ) -> Factors:
        """Fit a DataFrame of (user, item, rating) indices; `keep_rows` are the user rows
        that leave Spark. Any DataFrame works, e.g. Parquet read in place on a cluster."""
        from pyspark.sql import functions as F

        cfg = self.config
        dt = np.dtype(cfg.dtype)
        start = time.perf_counter()
        ratings = ratings.select("user", "item", F.col("rating").cast("double")).cache()
        mu = float(ratings.agg(F.avg("rating")).first()[0])
        user_bias, item_bias = self._biases(ratings, mu)
        residual = (
            ratings.join(user_bias, "user")
            .join(F.broadcast(item_bias), "item")
            .select("user", "item", (F.col("rating") - mu - F.col("ub") - F.col("ib")).alias("r"))
        )
        explicit = self._als(rank=cfg.factors, regParam=self.reg_param, ratingCol="r").fit(residual)
        log.info("spark: biases and rating factors in %.1fs", time.perf_counter() - start)
        n_users, n_items = shape
        keep_rows = np.asarray(keep_rows, np.int64)
        keep_df = self._indices(keep_rows, len(keep_rows) == n_users)
        item_b = _column(item_bias, "item", "ib", n_items, dt)
        user_b = np.zeros(n_users, dt)
        user_b[keep_rows] = _column(user_bias.join(keep_df, "user"), "user", "ub", n_users, dt)[
            keep_rows
        ]
        item_f = _table(explicit.itemFactors, n_items, cfg.factors, dt)
        user_f = np.zeros((n_users, cfg.factors), dt)
        user_f[keep_rows] = _table(
            explicit.userFactors.join(keep_df.withColumnRenamed("user", "id"), "id"),
            n_users,
            cfg.factors,
            dt,
        )[keep_rows]
        pref_user = pref_item = None
        if cfg.implicit_factors:
            pref_user, pref_item = self._preference(ratings, shape, keep_rows, keep_df)
        self._fitted = _Fitted(user_bias, explicit.userFactors, users)
        log.info("spark fit: %.1fs", time.perf_counter() - start)
        return Factors(mu, user_b, user_f, item_b, item_f, pref_user=pref_user, pref_item=pref_item)

    def _biases(self, ratings: DataFrame, mu: float) -> tuple[DataFrame, DataFrame]:
        """User and item biases by alternating ridge passes, each row penalized like the NumPy
        engine's: b = Σ residual / (n + reg_bias · n^reg_exponent)."""
        from pyspark.sql import functions as F

        cfg = self.config

        def solve(frame: DataFrame, key: str, name: str) -> DataFrame:
            n = F.count("*")
            penalty = F.lit(cfg.reg_bias) * F.pow(n, F.lit(cfg.reg_exponent))
            return frame.groupBy(key).agg((F.sum("t") / (n + penalty)).alias(name))

        item_bias = ratings.select("item").distinct().withColumn("ib", F.lit(0.0))
        user_bias = None
        for _ in range(BIAS_PASSES):
            t = F.col("rating") - mu - F.col("ib")
            joined = ratings.join(F.broadcast(item_bias), "item").withColumn("t", t)
            user_bias = solve(joined, "user", "ub").localCheckpoint()
            t = F.col("rating") - mu - F.col("ub")
            joined = ratings.join(user_bias, "user").withColumn("t", t)
            item_bias = solve(joined, "item", "ib").localCheckpoint()
        return user_bias, item_bias

    def _preference(
        self, ratings: DataFrame, shape: tuple[int, int], keep_rows: np.ndarray, keep: DataFrame
    ) -> tuple[np.ndarray, np.ndarray]:
        """Implicit ALS on who rated what; the kept users' rows plus the Gram rows."""
        from pyspark.sql import functions as F

        cfg = self.config
        dt = np.dtype(cfg.dtype)
        k = cfg.implicit_factors
        n_users, n_items = shape
        implicit = self._als(
            rank=k,
            regParam=self.implicit_reg_param,
            implicitPrefs=True,
            alpha=cfg.implicit_alpha,
            ratingCol="seen",
        ).fit(ratings.select("user", "item", F.lit(1.0).alias("seen")))
        pref_item = _table(implicit.itemFactors, n_items, k, dt)
        kept = implicit.userFactors.join(keep.withColumnRenamed("user", "id"), "id")
        pref_user = np.zeros((n_users, k), dt)
        pref_user[keep_rows] = _table(kept, n_users, k, dt)[keep_rows]
        rest = np.setdiff1d(np.arange(n_users), keep_rows)
        if len(rest):
            left_out = implicit.userFactors.join(kept.select("id"), "id", "left_anti")
            gram = _gram(left_out, k)
            roots = gram_rows(gram)[: len(rest)]
            pref_user[rest[: len(roots)]] = roots.astype(dt)
        return pref_user, pref_item

    def _als(self, **params: Any) -> Any:
        """Spark's ALS over (user, item) indices with the settings both of our models share."""
        from pyspark.ml.recommendation import ALS

        cfg = self.config
        return ALS(
            maxIter=cfg.iterations,
            userCol="user",
            itemCol="item",
            seed=cfg.seed,
            numUserBlocks=self._blocks(),
            numItemBlocks=self._blocks(),
            **params,
        )

    def _blocks(self) -> int:
        """ALS blocks per side: one per core Spark has (more only adds shuffle overhead)."""
        return max(1, self.session.sparkContext.defaultParallelism)

    def _indices(self, rows: np.ndarray, everyone: bool) -> DataFrame:
        """A one-column DataFrame of user indices to keep (all rows: every user in Spark)."""
        if everyone:
            return self.session.range(len(rows)).selectExpr("CAST(id AS INT) AS user")
        return self.session.createDataFrame([(int(r),) for r in rows], "user INT")

    # ----------------------------------------------------------------- scoring
    def error_metrics(self, test: Ratings, model: ALSModel) -> tuple[float, float]:
        """RMSE and MAE of `model`'s clipped predictions on held-out ratings, as
        `evaluate.error_metrics` computes them, with the user side read in Spark from the last
        fit (unknown users get mu + movie bias); the item side is `model`'s own."""
        from pyspark.sql import functions as F

        if self._fitted is None:
            raise RuntimeError("no fit to score")
        fitted, f = self._fitted, model.factors
        users = fitted.users.numbers(test.users, missing="negative")
        df = self.frame(users, model.items.numbers(test.items), test.ratings)
        item_rows = [
            (i, float(b), v.tolist())
            for i, (b, v) in enumerate(zip(f.item_bias, f.item_factors, strict=True))
        ]
        items = self.session.createDataFrame(item_rows, "item INT, ib DOUBLE, y ARRAY<DOUBLE>")
        x = fitted.user_factors.select(F.col("id").alias("user"), F.col("features").alias("x"))
        dot = F.aggregate(F.zip_with("x", "y", lambda a, b: a * b), F.lit(0.0), lambda s, v: s + v)
        raw = (
            F.lit(f.mu)
            + F.coalesce(F.col("ub"), F.lit(0.0))
            + F.col("ib")
            + F.when(F.col("x").isNotNull(), dot).otherwise(0.0)
        )
        lo, hi = model.rating_range
        pred = F.least(F.greatest(raw, F.lit(lo)), F.lit(hi))
        scored = (
            df.join(fitted.user_bias, "user", "left")
            .join(x, "user", "left")
            .join(F.broadcast(items), "item")
            .select((pred - F.col("rating")).alias("e"))
        )
        row = scored.agg(F.sqrt(F.avg(F.col("e") ** 2)), F.avg(F.abs("e"))).first()
        return float(row[0]), float(row[1])


def gram_rows(gram: np.ndarray) -> np.ndarray:
    """k rows R with RᵀR = gram (a symmetric positive semi-definite k×k matrix)."""
    values, vectors = np.linalg.eigh(gram.astype(np.float64))
    return np.sqrt(np.clip(values, 0.0, None))[:, None] * vectors.T


def _gram(factors: DataFrame, k: int) -> np.ndarray:
    """Σ y yᵀ over a factor DataFrame's rows, summed per partition with NumPy."""

    def partial(rows: Any) -> list[np.ndarray]:
        block = np.array([r.features for r in rows], dtype=np.float64).reshape(-1, k)
        return [block.T @ block]

    parts = factors.select("features").rdd.mapPartitions(partial)
    return parts.treeReduce(np.add) if not parts.isEmpty() else np.zeros((k, k))


def _column(df: DataFrame, key: str, value: str, n: int, dt: np.dtype) -> np.ndarray:
    """A (key index, value) DataFrame collected into a dense array (missing keys: 0)."""
    out = np.zeros(n, dt)
    rows = df.select(key, value).collect()
    if rows:
        idx, vals = zip(*rows, strict=True)
        out[np.asarray(idx, np.int64)] = np.asarray(vals, np.float64)
    return out


def _table(df: DataFrame, n: int, k: int, dt: np.dtype) -> np.ndarray:
    """An ALS (id, features) DataFrame collected into an n×k array (missing ids: 0)."""
    out = np.zeros((n, k), dt)
    rows = df.select("id", "features").collect()
    if rows:
        out[np.array([r[0] for r in rows], np.int64)] = np.array([r[1] for r in rows])
    return out
