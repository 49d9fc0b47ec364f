"""Atomic model snapshots: one .npz of arrays plus a small JSON sidecar of metadata."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from recommender.als import Factors
from recommender.atomic import atomic_write
from recommender.config import ALSConfig, RankingConfig
from recommender.model import ALSModel
from recommender.priors import ItemPrior
from recommender.solvers import GaussianPrior
from recommender.vocab import Vocabulary

FORMAT_VERSION = 1


class SnapshotError(ValueError):
    """A snapshot is unreadable, corrupt, or does not match the data or settings."""


def metadata_path(path: Path) -> Path:
    """The JSON sidecar next to a snapshot."""
    return Path(path).with_suffix(".json")


def save_model(model: ALSModel, path: Path, extra: dict[str, object] | None = None) -> Path:
    """Write `path` (.npz) and its .json sidecar atomically (temp file, fsync, rename)."""
    path = Path(path).with_suffix(".npz")
    path.parent.mkdir(parents=True, exist_ok=True)
    f = model.factors
    meta = {
        "format": FORMAT_VERSION,
        "fingerprint": model.fingerprint,
        "config": model.config.to_dict(),
        "ranking": model.ranking.to_dict(),
        "rating_range": list(model.rating_range),
        "n_users": len(model.users),
        "n_items": len(model.items),
        "n_ratings": int(model.user_items.nnz),
        **model.meta,
        **(extra or {}),
    }
    arrays = {
        "mu": np.array(f.mu),
        "user_bias": f.user_bias,
        "user_factors": f.user_factors,
        "item_bias": f.item_bias,
        "item_factors": f.item_factors,
        "users": model.users.ids,
        "items": model.items.ids,
        "indptr": model.user_items.indptr,
        "indices": model.user_items.indices,
        "data": model.user_items.data,
        "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
    }
    if f.pref_user is not None and f.pref_item is not None:
        arrays["pref_user"], arrays["pref_item"] = f.pref_user, f.pref_item
    for side, prior in (("user", f.user_prior), ("item", f.item_prior)):
        if prior is not None:
            arrays[f"{side}_prior_mean"] = prior.mean
            arrays[f"{side}_prior_precision"] = prior.precision
            arrays[f"{side}_prior_noise"] = np.array(prior.noise_precision)
    if model.side_prior is not None:
        arrays["side_prior_coef"] = model.side_prior.coef
    atomic_write(path, lambda tmp: np.savez(tmp, **arrays))
    sidecar = json.dumps(meta, indent=2, default=str).encode()
    atomic_write(metadata_path(path), lambda tmp: tmp.write_bytes(sidecar))
    return path


def read_metadata(path: Path) -> dict[str, object]:
    """The metadata stored inside a snapshot (the sidecar is for people, the npz is truth)."""
    try:
        with np.load(Path(path).with_suffix(".npz")) as z:
            return json.loads(z["meta"].tobytes().decode())
    except FileNotFoundError:
        raise
    except Exception as exc:
        raise SnapshotError(f"{path}: unreadable snapshot ({exc})") from exc


def load_model(
    path: Path,
    expect_fingerprint: str | None = None,
    expect_config: ALSConfig | None = None,
) -> ALSModel:
    """Load a snapshot; SnapshotError if corrupt or fitted on other data or settings."""
    path = Path(path).with_suffix(".npz")
    try:
        with np.load(path) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(arrays["meta"].tobytes().decode())
    except FileNotFoundError:
        raise
    except Exception as exc:
        raise SnapshotError(f"{path}: unreadable snapshot ({exc})") from exc
    if meta.get("format") != FORMAT_VERSION:
        raise SnapshotError(f"{path}: snapshot format {meta.get('format')} is not supported")
    if expect_fingerprint is not None and meta["fingerprint"] != expect_fingerprint:
        raise SnapshotError(
            f"{path}: snapshot was fitted on other data "
            f"(fingerprint {meta['fingerprint']}, data has {expect_fingerprint})"
        )
    config = ALSConfig(**meta["config"])
    if expect_config is not None and config != expect_config:
        raise SnapshotError(f"{path}: fitted with other hyperparameters ({config})")
    try:
        users, items = Vocabulary(arrays["users"]), Vocabulary(arrays["items"])
        matrix = sp.csr_matrix(
            (arrays["data"], arrays["indices"], arrays["indptr"]), shape=(len(users), len(items))
        )
        factors = Factors(
            float(arrays["mu"]),
            arrays["user_bias"],
            arrays["user_factors"],
            arrays["item_bias"],
            arrays["item_factors"],
            pref_user=arrays.get("pref_user"),
            pref_item=arrays.get("pref_item"),
            user_prior=_prior(arrays, "user"),
            item_prior=_prior(arrays, "item"),
        )
        if factors.user_factors.shape[0] != len(users) or factors.item_factors.shape[0] != len(
            items
        ):
            raise ValueError("factor shapes do not match the vocabularies")
    except (KeyError, ValueError) as exc:
        raise SnapshotError(f"{path}: inconsistent snapshot ({exc})") from exc
    return ALSModel(
        config,
        factors,
        users,
        items,
        matrix,
        meta["fingerprint"],
        RankingConfig(**meta["ranking"]),
        tuple(meta["rating_range"]),  # type: ignore[arg-type]
        {k: v for k, v in meta.items() if k in ("fit_seconds", "fitted_at", "rmse")},
        side_prior=(
            ItemPrior(arrays["side_prior_coef"], config.side_prior)
            if "side_prior_coef" in arrays
            else None
        ),
    )


def _prior(arrays: dict[str, np.ndarray], side: str) -> GaussianPrior | None:
    """A sampled model's fold-in prior for `side`, if the snapshot has one."""
    if f"{side}_prior_mean" not in arrays:
        return None
    return GaussianPrior(
        arrays[f"{side}_prior_mean"],
        arrays[f"{side}_prior_precision"],
        float(arrays[f"{side}_prior_noise"]),
    )
