"""atomic_write: the target appears whole or not at all, and no temp file is ever left."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recommender.atomic import atomic_write


def test_writes_the_target_and_nothing_else(tmp_path: Path):
    target = tmp_path / "handoff.json"
    atomic_write(target, lambda tmp: tmp.write_text('{"ok": true}'))
    assert target.read_text() == '{"ok": true}'
    assert [f.name for f in tmp_path.iterdir()] == ["handoff.json"]


def test_replaces_existing_content(tmp_path: Path):
    target = tmp_path / "state.txt"
    target.write_text("old")
    atomic_write(target, lambda tmp: tmp.write_text("new"))
    assert target.read_text() == "new"
    assert [f.name for f in tmp_path.iterdir()] == ["state.txt"]


def test_temp_name_keeps_the_suffix_so_numpy_writes_where_told(tmp_path: Path):
    target = tmp_path / "arrays.npz"
    seen: list[Path] = []

    def write(tmp: Path) -> None:
        seen.append(tmp)
        np.savez(tmp, a=np.arange(3))

    atomic_write(target, write)
    assert seen[0].suffix == ".npz" and seen[0].parent == tmp_path and seen[0] != target
    with np.load(target) as z:
        np.testing.assert_array_equal(z["a"], [0, 1, 2])
    assert [f.name for f in tmp_path.iterdir()] == ["arrays.npz"]


def test_failure_keeps_the_old_file_and_removes_the_temp(tmp_path: Path):
    target = tmp_path / "model.npz"
    target.write_bytes(b"previous snapshot")

    def half_write(tmp: Path) -> None:
        tmp.write_bytes(b"half of a new")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(target, half_write)
    assert target.read_bytes() == b"previous snapshot"
    assert [f.name for f in tmp_path.iterdir()] == ["model.npz"]


def test_failure_without_a_previous_file_leaves_the_folder_empty(tmp_path: Path):
    def fail(tmp: Path) -> None:
        tmp.write_text("partial")
        raise OSError("boom")

    with pytest.raises(OSError, match="boom"):
        atomic_write(tmp_path / "new.json", fail)
    assert list(tmp_path.iterdir()) == []


def test_a_writer_that_creates_nothing_is_an_error(tmp_path: Path):
    with pytest.raises(FileNotFoundError):
        atomic_write(tmp_path / "x.json", lambda tmp: None)
    assert list(tmp_path.iterdir()) == []
