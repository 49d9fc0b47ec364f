"""The refit worker: dies with the bot, leaves nothing behind, and fails with clear words."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing.context
import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bot.core.model_server import InitialFitFailed
from bot.core.refit import HANDOFF_NAME, WORKER_NICENESS, FitJob, ProcessFitRunner
from bot.core.services import Services
from bot.store import Store
from recommender.config import ALSConfig
from tests.bot.conftest import eventually
from tests.bot.core.test_model_server import CountingRunner, make_settings
from tests.conftest import write_ml100k


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


async def test_the_worker_dies_when_the_bot_is_killed(tmp_path: Path):
    write_ml100k(tmp_path / "movielens" / "ml-100k")
    script = Path(__file__).with_name("orphan_parent.py")
    bot = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        worker = int(await asyncio.wait_for(asyncio.to_thread(bot.stdout.readline), 60))
        assert alive(worker)
        bot.send_signal(signal.SIGKILL)
        bot.wait(10)
        await eventually(lambda: not alive(worker), "the orphaned worker to exit", timeout=15)
    finally:
        if bot.poll() is None:
            bot.kill()


async def test_start_removes_what_a_killed_bot_left(tmp_path: Path, ml100k_dir: Path, store):
    settings = make_settings(tmp_path, ml100k_dir)
    models = settings.model_dir
    models.mkdir(parents=True)
    leftovers = [HANDOFF_NAME, "ml-100k.next.npz", "ml-100k.next.json", ".ml-100k.123-ab.tmp.npz"]
    for name in leftovers:
        (models / name).write_bytes(b"every member's ratings")
    services = Services.build(settings, store, CountingRunner())
    await services.start(periodic=False)
    try:
        assert sorted(p.name for p in models.iterdir()) == ["ml-100k.json", "ml-100k.npz"]
    finally:
        await services.close()


async def test_a_too_small_memory_limit_names_the_setting(tmp_path: Path, ml100k_dir: Path):
    settings = replace(make_settings(tmp_path, ml100k_dir), refit_memory_limit_mb=64)
    async with Store(settings.database_path) as store:
        services = Services.build(settings, store, ProcessFitRunner())
        with pytest.raises(InitialFitFailed, match="REFIT_MEMORY_LIMIT_MB=64") as caught:
            await services.start(periodic=False)
        assert "previous model" not in str(caught.value)


async def test_a_corrupt_snapshot_is_reported_once_and_refitted(
    tmp_path: Path, ml100k_dir: Path, store, caplog: pytest.LogCaptureFixture
):
    settings = make_settings(tmp_path, ml100k_dir)
    first = Services.build(settings, store, CountingRunner())
    await first.start(periodic=False)
    await first.close()
    first.models.snapshot_path.write_bytes(b"not a snapshot at all")
    runner = CountingRunner()
    again = Services.build(settings, store, runner)
    with caplog.at_level(logging.WARNING):
        await again.start(periodic=False)
    await again.close()
    notes = [r.message for r in caplog.records if "snapshot" in r.message]
    assert len(notes) == 1 and "unreadable" in notes[0], notes
    assert runner.calls == 1


async def test_a_first_fit_failure_does_not_claim_an_old_model_serves(
    tmp_path: Path, ml100k_dir: Path, store, caplog: pytest.LogCaptureFixture
):
    async def broken(job):
        raise OSError("disk full")

    services = Services.build(make_settings(tmp_path, ml100k_dir), store, broken)
    with caplog.at_level(logging.ERROR), pytest.raises(InitialFitFailed, match="disk full"):
        await services.start(periodic=False)
    assert not any("previous model" in r.message for r in caplog.records)
    assert any("first model fit failed" in r.message for r in caplog.records)


async def test_a_worker_that_cannot_start_reports_why(monkeypatch: pytest.MonkeyPatch):
    def refuse(self: object) -> None:
        raise OSError("fork refused: too many processes")

    monkeypatch.setattr(multiprocessing.context.SpawnProcess, "start", refuse)
    job = FitJob("ml-100k", Path("."), None, Path("h.npz"), ALSConfig(), Path("s.npz"))
    with pytest.raises(OSError, match="fork refused"):  # not "can only join a started process"
        await ProcessFitRunner()(job)


async def test_the_worker_fits_at_a_lower_cpu_priority_than_the_bot(
    tmp_path: Path, ml100k_dir: Path
):
    """A refit must not take the CPU from the bot's answers on a busy machine."""
    settings = make_settings(tmp_path, ml100k_dir)
    runner = ProcessFitRunner()
    seen: set[int] = set()
    async with Store(settings.database_path) as store:
        services = Services.build(settings, store, runner)
        start = asyncio.create_task(services.start(periodic=False))
        while not start.done():
            child = runner.process
            if child is not None and child.pid is not None:
                with contextlib.suppress(ProcessLookupError):  # the fit may just have ended
                    seen.add(os.getpriority(os.PRIO_PROCESS, child.pid))
            await asyncio.sleep(0.001)
        await start
        await services.close()
    assert os.getpriority(os.PRIO_PROCESS, 0) + WORKER_NICENESS in seen
