"""`python -m bot loadtest`: simulated members hammer the bot through the emulator during refits.

Each simulated member sends a paced mix of /rate, /recommend, /similar and autocomplete;
refits run back to back for the whole time. Reports first-response latency as Discord
measures it (dispatch to first callback), whether every interaction met the 3 s deadline,
and whether every acknowledged rating is in the store. `--ramp` raises the number of
members step by step until first-response p99 passes a limit, which tells how many
interactions per second one process sustains.
"""

from __future__ import annotations

import asyncio
import logging
import random
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bot.app import emulator_settings, running_bot
from bot.core.model_server import ModelServer
from bot.discord.client import MovieBot
from bot.emulator import DiscordEmulator, Interaction
from bot.settings import Settings
from recommender.bench import latency_summary

log = logging.getLogger(__name__)

GUILD = 700_000_000_000_000_001
FIRST_USER = 710_000_000_000_000_001
RAMP = (25, 50, 100, 200, 400, 800)
QUERIES = ["se7en", "star wars", "pulp fictoin", "alien", "toy story", "fargo", "godfather"]


async def _member(
    emu: DiscordEmulator,
    user: int,
    count: int,
    movie_ids: list[int],
    rng: random.Random,
    sent: list[Interaction],
    ratings: dict[tuple[int, int], float],
) -> None:
    """One member's paced session: a mix of commands with think time in between."""
    for _ in range(count):
        await asyncio.sleep(rng.uniform(0.2, 0.9))
        kind = rng.choices(["rate", "recommend", "similar", "autocomplete"], [4, 2, 2, 2])[0]
        if kind == "rate":
            movie = rng.choice(movie_ids)
            stars = rng.randint(1, 10) / 2
            inter = await emu.slash(
                "rate", {"movie": f"m:{movie}", "stars": stars}, user_id=user, guild_id=GUILD
            )
            sent.append(inter)
            message = await inter.final(timeout=10)
            if message is not None and ("Rated" in message.content or "Updated" in message.content):
                ratings[(user, movie)] = stars
        elif kind == "autocomplete":
            inter = emu.autocomplete_interaction(
                "rate", {"movie": rng.choice(QUERIES)}, "movie", user_id=user, guild_id=GUILD
            )
            sent.append(inter)
            await inter.response(timeout=10)
        else:
            options = {"movie": rng.choice(QUERIES)} if kind == "similar" else {}
            inter = await emu.slash(kind, options, user_id=user, guild_id=GUILD)
            sent.append(inter)
            await inter.final(timeout=10)


async def _keep_refitting(models: ModelServer, stop: asyncio.Event) -> int:
    """Start a refit whenever none is running, until told to stop; returns how many ran."""
    runs = 0
    while not stop.is_set():
        task = models.refit()
        runs += 1
        await task
    return runs


@dataclass
class _Load:
    """A running bot under load: the emulator, the bot, its members and what they sent."""

    emu: DiscordEmulator
    bot: MovieBot
    members: list[int]
    movie_ids: list[int]
    rng: random.Random
    sent: list[Interaction] = field(default_factory=list)
    acked: dict[tuple[int, int], float] = field(default_factory=dict)

    async def step(self, users: int, interactions: int) -> dict[str, object]:
        """`users` members send `interactions` in all; first-response figures of this step."""
        first = len(self.sent)
        per_user = [interactions // users + (k < interactions % users) for k in range(users)]
        start = time.perf_counter()
        await asyncio.gather(
            *(
                _member(
                    self.emu,
                    uid,
                    n,
                    self.movie_ids,
                    random.Random(self.rng.random()),
                    self.sent,
                    self.acked,
                )
                for uid, n in zip(self.members[:users], per_user, strict=True)
            )
        )
        seconds = time.perf_counter() - start
        step = self.sent[first:]
        latencies = [i.first_response_ms for i in step if i.first_response_ms is not None]
        arr = np.asarray(latencies or [float("nan")])
        return {
            "members": users,
            "interactions": len(step),
            "seconds": round(seconds, 2),
            "per_second": round(len(step) / seconds, 1) if seconds > 0 else None,
            "answered_in_time": sum(1 for ms in latencies if ms <= 3000),
            "first_response_ms": {
                **latency_summary(latencies or [float("nan")], 2),
                "max": round(float(arr.max()), 2),
            },
        }

    async def stored(self) -> int:
        """How many acknowledged ratings the store holds with the acknowledged stars."""
        count = 0
        for (user, movie), stars in self.acked.items():
            if await self.bot.services.queries.rating(user, movie) == stars:
                count += 1
        return count


@asynccontextmanager
async def _under_load(
    settings: Settings, members: int
) -> AsyncIterator[tuple[_Load, asyncio.Task[int]]]:
    """A bot on a fresh temp store with `members` members, refitting back to back meanwhile."""
    with tempfile.TemporaryDirectory(prefix="moviebot-load-") as tmp:
        root = Path(tmp)
        async with DiscordEmulator() as emu:
            emu.add_guild(GUILD, "Load Test Club")
            ids = [FIRST_USER + k for k in range(members)]
            for uid in ids:
                emu.add_member(GUILD, uid, f"member{uid - FIRST_USER}")
            run_settings = emulator_settings(
                settings,
                emu,
                GUILD,
                database_path=root / "load.db",
                database_url=None,
                data_dir=root / "data",
                refit_interval=3600,
            )
            async with running_bot(run_settings) as bot:
                await emu.wait_until_connected(timeout=600)
                await emu.wait_commands_registered(guild_id=GUILD, timeout=600)
                movie_ids = bot.services.models.catalog.movie_ids[:400].tolist()
                load = _Load(emu, bot, ids, movie_ids, random.Random(7))
                stop = asyncio.Event()
                refits = asyncio.create_task(_keep_refitting(bot.services.models, stop))
                try:
                    yield load, refits
                finally:
                    stop.set()
                    await refits


async def run_loadtest(settings: Settings, users: int = 50, interactions: int = 1000):
    """Run the load and return the report dict."""
    async with _under_load(settings, users) as (load, refits):
        step = await load.step(users, interactions)
        stored = await load.stored()
        violations = list(load.emu.violations)
    return {
        "interactions": step["interactions"],
        "answered_in_time": step["answered_in_time"],
        "ratings_sent": len(load.acked),
        "ratings_stored": stored,
        "first_response_ms": step["first_response_ms"],
        "refits_during_load": refits.result(),
        "violations": violations,
    }


async def run_ramp(
    settings: Settings,
    steps: Sequence[int] = RAMP,
    per_member: int = 10,
    p99_limit_ms: float = 500.0,
) -> dict[str, object]:
    """Raise the number of members step by step until first-response p99 passes the limit.

    Every member sends `per_member` paced interactions per step, refits running throughout;
    the last step under the limit is what one process sustains.
    """
    if not steps or min(steps) < 1 or per_member < 1:
        raise ValueError("steps and per_member must be positive")
    rows: list[dict[str, object]] = []
    async with _under_load(settings, max(steps)) as (load, refits):
        for users in steps:
            log.info("load step: %d members", users)
            row = await load.step(users, users * per_member)
            rows.append(row)
            if row["first_response_ms"]["p99"] > p99_limit_ms:
                break
        stored = await load.stored()
        violations = list(load.emu.violations)
    within = [r for r in rows if r["first_response_ms"]["p99"] <= p99_limit_ms]
    return {
        "p99_limit_ms": p99_limit_ms,
        "steps": rows,
        "sustained_per_second": max((r["per_second"] for r in within), default=None),
        "ratings_sent": len(load.acked),
        "ratings_stored": stored,
        "refits_during_load": refits.result(),
        "violations": violations,
    }
