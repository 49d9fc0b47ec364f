"""`python -m bot loadtest`: simulated members hammer the bot through the emulator during refits.

Each simulated member sends a paced mix of /rate, /recommend, /similar and autocomplete;
refits run back to back for the whole time. Reports first-response latency as Discord
measures it (dispatch to first callback), whether every interaction met the 3 s deadline,
and whether every acknowledged rating is in the store.
"""

from __future__ import annotations

import asyncio
import logging
import random
import tempfile
from pathlib import Path

import numpy as np

from bot.app import emulator_settings, running_bot
from bot.core.model_server import ModelServer
from bot.emulator import DiscordEmulator, Interaction
from bot.settings import Settings
from recommender.bench import latency_summary

log = logging.getLogger(__name__)

GUILD = 700_000_000_000_000_001
FIRST_USER = 710_000_000_000_000_001
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


async def run_loadtest(settings: Settings, users: int = 50, interactions: int = 1000):
    """Run the load and return the report dict."""
    with tempfile.TemporaryDirectory(prefix="moviebot-load-") as tmp:
        root = Path(tmp)
        async with DiscordEmulator() as emu:
            emu.add_guild(GUILD, "Load Test Club")
            ids = [FIRST_USER + k for k in range(users)]
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
                stop = asyncio.Event()
                refits = asyncio.create_task(_keep_refitting(bot.services.models, stop))
                sent: list[Interaction] = []
                acked: dict[tuple[int, int], float] = {}
                per_user = [
                    interactions // users + (k < interactions % users) for k in range(users)
                ]
                rng = random.Random(7)
                await asyncio.gather(
                    *(
                        _member(emu, uid, n, movie_ids, random.Random(rng.random()), sent, acked)
                        for uid, n in zip(ids, per_user, strict=True)
                    )
                )
                stop.set()
                refit_runs = await refits
                stored = 0
                for (user, movie), stars in acked.items():
                    if await bot.services.queries.rating(user, movie) == stars:
                        stored += 1
                violations = list(emu.violations)
    latencies = [i.first_response_ms for i in sent if i.first_response_ms is not None]
    arr = np.asarray(latencies or [float("nan")])
    summary = latency_summary(latencies or [float("nan")], 2)
    return {
        "interactions": len(sent),
        "answered_in_time": sum(1 for ms in latencies if ms <= 3000),
        "ratings_sent": len(acked),
        "ratings_stored": stored,
        "first_response_ms": {**summary, "max": round(float(arr.max()), 2)},
        "refits_during_load": refit_runs,
        "violations": violations,
    }
