"""Snapshots: round trip, atomic writes, mismatch and corruption errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from recommender.config import ALSConfig
from recommender.model import ALSModel
from recommender.snapshot import SnapshotError, load_model, metadata_path, save_model
from tests.recommender.test_model import taste_fixture

CONFIG = ALSConfig(factors=4, iterations=4)


@pytest.fixture(scope="module")
def model() -> ALSModel:
    return ALSModel.fit(taste_fixture(), CONFIG)


def test_round_trip_preserves_predictions(model: ALSModel, tmp_path: Path):
    path = save_model(model, tmp_path / "models" / "m.npz", extra={"rmse": 0.9})
    meta = json.loads(metadata_path(path).read_text())
    assert meta["fingerprint"] == model.fingerprint and meta["config"]["factors"] == 4
    assert meta["rmse"] == 0.9
    loaded = load_model(path, expect_fingerprint=model.fingerprint, expect_config=CONFIG)
    np.testing.assert_array_equal(loaded.predict(2, [1, 2, 3]), model.predict(2, [1, 2, 3]))
    assert loaded.recommend(3, 5)[0].tolist() == model.recommend(3, 5)[0].tolist()
    assert loaded.meta["rmse"] == 0.9
    assert sorted(f.name for f in path.parent.iterdir()) == ["m.json", "m.npz"]  # no temp files


def test_mismatched_data_or_config_is_a_clear_error(model: ALSModel, tmp_path: Path):
    path = save_model(model, tmp_path / "m.npz")
    with pytest.raises(SnapshotError, match="other data"):
        load_model(path, expect_fingerprint="0" * 32)
    with pytest.raises(SnapshotError, match="hyperparameters"):
        load_model(path, expect_config=ALSConfig(factors=5))


def test_corrupt_snapshot_is_a_clear_error(model: ALSModel, tmp_path: Path):
    path = save_model(model, tmp_path / "m.npz")
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(SnapshotError, match="unreadable"):
        load_model(path)
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.npz")
