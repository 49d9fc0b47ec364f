"""A stand-in bot for the orphan test: starts a long refit worker, prints its pid, waits."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the project root

from bot.core.refit import FitJob, ProcessFitRunner
from recommender.config import ALSConfig


async def main(root: Path) -> None:
    """Run a fit that would take hours; the test kills us while it runs."""
    handoff = root / "handoff.npz"
    import numpy as np

    np.savez(handoff, users=np.zeros(0, np.int64), items=np.zeros(0, np.int32), stars=np.zeros(0))
    runner = ProcessFitRunner()
    config = replace(ALSConfig(factors=4, implicit_factors=4), iterations=10_000_000)
    job = FitJob("ml-100k", root / "data", root / "movielens", handoff, config, root / "s.npz")
    task = asyncio.create_task(runner(job))
    while runner.process is None or runner.process.pid is None:
        await asyncio.sleep(0.01)
    sys.stdout.write(f"{runner.process.pid}\n")
    sys.stdout.flush()
    await task


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
