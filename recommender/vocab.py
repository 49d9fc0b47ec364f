"""An explicit, immutable mapping between external ids and dense row indices."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


class Vocabulary:
    """Maps int64 external ids (MovieLens ids, Discord snowflakes) to 0..n-1 and back."""

    __slots__ = ("_ids", "_index", "_sorter")

    def __init__(self, ids: Iterable[int] | np.ndarray) -> None:
        arr = np.asarray(ids if isinstance(ids, np.ndarray) else list(ids), dtype=np.int64)
        if arr.ndim != 1:
            raise ValueError("vocabulary ids must be one-dimensional")
        if len(np.unique(arr)) != len(arr):
            raise ValueError("vocabulary ids must be unique")
        self._ids = arr
        self._ids.setflags(write=False)
        self._index: dict[int, int] = {int(v): i for i, v in enumerate(arr.tolist())}
        self._sorter = np.argsort(arr, kind="stable")

    @classmethod
    def from_values(cls, values: np.ndarray) -> Vocabulary:
        """Build a sorted vocabulary from the distinct values of an array."""
        return cls(np.unique(np.asarray(values, dtype=np.int64)))

    @property
    def ids(self) -> np.ndarray:
        """External ids in index order (read-only)."""
        return self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, ext_id: object) -> bool:
        try:
            return int(ext_id) in self._index  # type: ignore[call-overload]
        except (TypeError, ValueError):
            return False

    def index(self, ext_id: int) -> int:
        """Index of one id; ValueError for an unknown id."""
        try:
            return self._index[int(ext_id)]
        except KeyError:
            raise ValueError(f"unknown id {ext_id}") from None

    def get(self, ext_id: int, default: int = -1) -> int:
        """Index of one id, or `default` when unknown."""
        return self._index.get(int(ext_id), default)

    def numbers(self, ext_ids: Iterable[int] | np.ndarray, missing: str = "error") -> np.ndarray:
        """Indices of many ids; `missing` is "error" (ValueError) or "negative" (-1)."""
        arr = np.asarray(ext_ids, dtype=np.int64).ravel()
        if len(self._ids) == 0:
            out = np.full(len(arr), -1, dtype=np.int64)
        else:
            sorter = self._sorter
            pos = np.searchsorted(self._ids, arr, sorter=sorter)
            pos = np.clip(pos, 0, len(self._ids) - 1)
            out = sorter[pos].astype(np.int64)
            out[self._ids[out] != arr] = -1
        if missing == "error" and (out < 0).any():
            raise ValueError(f"unknown ids: {arr[out < 0][:5].tolist()}")
        return out

    def id(self, index: int) -> int:
        """External id at one index."""
        return int(self._ids[index])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and np.array_equal(self._ids, other._ids)

    def __hash__(self) -> int:
        return hash(self._ids.tobytes())

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} ids)"
