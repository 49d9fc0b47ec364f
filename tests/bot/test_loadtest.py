"""`python -m bot loadtest` (paced load, rising-load ramp) and `bench --scale` (footprint)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.__main__ import _counts
from bot.bench import scale_footprint
from bot.loadtest import run_loadtest, run_ramp
from recommender.bench import SYNTHETIC
from tests.bot.conftest import e2e_settings


async def test_loadtest_answers_everything_and_keeps_every_rating(tmp_path: Path) -> None:
    report = await run_loadtest(e2e_settings(tmp_path), users=3, interactions=12)
    assert report["interactions"] == 12
    assert report["answered_in_time"] == 12
    assert report["ratings_stored"] == report["ratings_sent"]
    assert report["refits_during_load"] >= 1
    assert report["violations"] == []


async def test_ramp_runs_every_step_under_the_limit(tmp_path: Path) -> None:
    report = await run_ramp(e2e_settings(tmp_path), steps=(2, 4), per_member=2, p99_limit_ms=1e9)
    assert [s["members"] for s in report["steps"]] == [2, 4]
    assert [s["interactions"] for s in report["steps"]] == [4, 8]
    rates = [s["per_second"] for s in report["steps"]]
    assert report["sustained_per_second"] == max(rates) > 0
    assert report["ratings_stored"] == report["ratings_sent"]
    assert report["violations"] == []


async def test_ramp_stops_at_the_first_step_over_the_limit(tmp_path: Path) -> None:
    report = await run_ramp(e2e_settings(tmp_path), steps=(2, 4, 8), per_member=2, p99_limit_ms=0)
    assert [s["members"] for s in report["steps"]] == [2]
    assert report["sustained_per_second"] is None


def test_ramp_counts_are_parsed_strictly() -> None:
    assert _counts("25, 50,100") == (25, 50, 100)
    for bad in ("", "a,b", "0,5", "-1"):
        with pytest.raises(SystemExit, match="--ramp"):
            _counts(bad)


async def test_scale_footprint_fits_refits_and_measures_both_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(SYNTHETIC, "20k", (20_000, 300, 200))
    settings = e2e_settings(tmp_path, data_dir=tmp_path / "unused")
    report = await scale_footprint(settings, "20k")
    assert report["ratings"] == 20_000
    assert report["load_and_first_fit_s"] > 0 and report["refit_s"] > 0
    assert report["serving_rss_mb"] > 20  # the interpreter alone is bigger than this
    assert report["fit_worker_peak_rss_mb"] > 20  # the fit ran in a child process
