"""`python -m bot loadtest`: the paced load and the rising-load ramp, on the tiny dataset."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.__main__ import _counts
from bot.loadtest import run_loadtest, run_ramp
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
