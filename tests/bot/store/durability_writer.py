"""Child process for the SIGKILL durability test: rate in a loop, print ACK after each commit.

Usage: python tests/bot/durability_writer.py DB_PATH [CONCURRENCY]
Every printed "ACK user movie stars" line means that rate() has returned, i.e. committed.
Keys are unique, so a later write can never overwrite an acknowledged one.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the project root

from bot.store import Store

STARS = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0)
BASE_USER = 1234567890123456789


async def writer(store: Store, counter: itertools.count, out) -> None:
    """Rate forever; acknowledge each rating on stdout only after rate() returned."""
    while True:
        n = next(counter)
        user, movie, stars = BASE_USER + n % 11, n + 1, STARS[n % len(STARS)]
        await store.ratings.rate(user, movie, stars, "chat")
        out.write(f"ACK {user} {movie} {stars}\n")
        out.flush()


async def main(path: str, concurrency: int) -> None:
    """Open the store and run `concurrency` writers until killed."""
    store = await Store.open(path)
    counter = itertools.count()
    sys.stdout.write("READY\n")
    sys.stdout.flush()
    await asyncio.gather(*(writer(store, counter, sys.stdout) for _ in range(concurrency)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 8))
