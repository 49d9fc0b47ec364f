"""End-to-end harness: the real bot logged in to the local Discord emulator over real sockets."""

from __future__ import annotations

import asyncio
import csv
import itertools
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import pytest_asyncio

from bot.app import running_bot
from bot.discord.client import MovieBot
from bot.emulator import DiscordEmulator, Interaction, Message
from bot.settings import Settings
from bot.store import Store
from recommender.config import ALSConfig
from tests.bot.pg_server import SKIP_REASON, PostgresServer, find_bin_dir
from tests.conftest import write_ml100k

GUILD = 1_000_000_000_000_000_001
ADMIN = 2_000_000_000_000_000_001
MANAGE_GUILD = 1 << 5
_ids = itertools.count(3_000_000_000_000_000_001)


LATEST_TITLES = [
    (2571, "Matrix, The (1999)", "Action|Sci-Fi|Thriller", "0133093", "603"),
    (2959, "Fight Club (1999)", "Action|Crime|Drama|Thriller", "0137523", "550"),
    (79132, "Inception (2010)", "Action|Crime|Drama|Mystery|Sci-Fi|Thriller|IMAX", "1375666", ""),
    (1, "Toy Story (1995)", "Adventure|Animation|Children|Comedy|Fantasy", "0114709", "862"),
    (318, "Shawshank Redemption, The (1994)", "Crime|Drama", "0111161", "278"),
    (176601, "Black Mirror", "(no genres listed)", "5290382", "413770"),
]


def write_modern_latest_small(folder: Path, seed: int = 0) -> Path:
    """A tiny ml-latest-small lookalike of recent films (links with and without tmdbId), to
    match the fake TMDB server's movies."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = list(LATEST_TITLES) + [
        (100 + k, f"Filler Film {k} ({1990 + k})", "Drama|Comedy", f"{k:07d}", str(90_000 + k))
        for k in range(30)
    ]
    rows.sort()  # GroupLens's files are in movieId order
    with (folder / "movies.csv").open("w", newline="") as fh:  # quotes titles with commas
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["movieId", "title", "genres"])
        writer.writerows((m, t, g) for m, t, g, _, _ in rows)
    (folder / "links.csv").write_text(
        "movieId,imdbId,tmdbId\n" + "".join(f"{m},{i},{d}\n" for m, _, _, i, d in rows)
    )
    rng = np.random.default_rng(seed)
    lines = ["userId,movieId,rating,timestamp"]
    for user in range(1, 41):
        for k in rng.choice(len(rows), 12, replace=False):
            stars = float(rng.integers(1, 11)) / 2
            lines.append(f"{user},{rows[k][0]},{stars:.1f},{1_500_000_000 + user * 100 + k}")
    (folder / "ratings.csv").write_text("\n".join(lines) + "\n")
    return folder


# The same small, fast model for a bot started as a subprocess (environment variables).
TINY_MODEL_ENV = {
    "DATASET": "ml-100k",
    "ALS_FACTORS": "4",
    "ALS_ITERATIONS": "5",
    "ALS_IMPLICIT_FACTORS": "4",
    "ALS_REG": "0.5",
    "REFIT_INTERVAL": "3600",
}


def e2e_settings(root: Path, **over: Any) -> Settings:
    """Settings for a bot on the tiny fixture dataset with a small, fast model."""
    write_ml100k(root / "movielens" / "ml-100k")
    base = Settings(
        dataset="ml-100k",
        discord_token="test-token",
        database_path=root / "bot.db",
        data_dir=root / "data",
        movielens_dir=root / "movielens",
        als=ALSConfig(factors=4, iterations=5, implicit_factors=4, reg=0.5),
        refit_interval=3600,
        dev_guild_id=GUILD,
    )
    return replace(base, **over)


async def eventually(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Wait until `condition()` holds (checked every few ms); fail naming `what` after timeout."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.01)


def store_of(bot: MovieBot) -> Store:
    """The store a running bot's services write to (tests read it back to check persistence)."""
    return bot.services.models.store


class Clock:
    """A fake clock that advances one second per reading, so orderings are deterministic."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._next = itertools.count(start, 1.0)

    def __call__(self) -> float:
        return next(self._next)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the whole run, started from the installed binaries."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        pytest.skip(SKIP_REASON)
    server = PostgresServer(bin_dir)
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def postgres_url(postgres_server: PostgresServer) -> AsyncIterator[str]:
    """A fresh, migrated database on the test server, dropped after the test."""
    name = await postgres_server.create_database()
    yield postgres_server.url(name)
    await postgres_server.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """A fresh store on a fake clock, closed after the test: a SQLite file in a temp folder,
    then a fresh database on the test PostgreSQL server."""
    if request.param == "sqlite":
        async with Store(tmp_path / "bot.db", clock=Clock()) as opened:
            yield opened
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = await server.create_database()
    try:
        async with Store(server.url(name), clock=Clock()) as opened:
            yield opened
    finally:
        await server.drop_database(name)


@dataclass
class Harness:
    """The emulator, the running bot, and helpers to act as server members."""

    emu: DiscordEmulator
    bot: MovieBot
    settings: Settings
    members: list[int] = field(default_factory=list)

    @property
    def store(self) -> Store:
        """The running bot's store."""
        return store_of(self.bot)

    @property
    def channel(self) -> int:
        """The guild's #general."""
        return self.emu.state.guilds[GUILD].text_channel_id

    @property
    def voice_channel(self) -> int:
        """The guild's voice channel."""
        return self.emu.state.guilds[GUILD].voice_channel_id

    def new_member(self, name: str | None = None, permissions: int = 0) -> int:
        """A fresh server member (fresh ids keep cooldowns and ratings independent per test)."""
        uid = next(_ids)
        self.emu.add_member(GUILD, uid, name or f"user{uid % 10_000}", permissions=permissions)
        self.members.append(uid)
        return uid

    async def slash(self, name: str, user: int, **options: Any) -> Interaction:
        """Run a slash command as a member in #general."""
        return await self.emu.slash(name, options, user_id=user, guild_id=GUILD)

    async def run(self, name: str, user: int, timeout: float = 10.0, **options: Any) -> Message:
        """Run a slash command and return the message it settled on."""
        inter = await self.slash(name, user, **options)
        message = await inter.final(timeout)
        assert message is not None, f"/{name} produced no message"
        return message

    async def click(self, message: Message, label: str, user: int) -> Interaction:
        """Press the button with this label."""
        current = self.emu.message(message.id)
        return await self.emu.click(current, current.button(label).custom_id, user_id=user)

    async def chat(self, user: int, text: str, timeout: float = 10.0) -> Message:
        """Mention the bot in #general and return its reply."""
        await self.emu.send_message(self.channel, user, text, mention_bot=True)
        return await self.emu.next_message(self.channel, timeout)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def harness(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Harness]:
    """One emulator + bot per test module (a model fit takes a couple of seconds)."""
    root = tmp_path_factory.mktemp("e2e")
    async with DiscordEmulator() as emu:
        emu.add_guild(GUILD, "Movie Club", owner_id=ADMIN)
        emu.add_member(GUILD, ADMIN, "admin", permissions=MANAGE_GUILD)
        settings = e2e_settings(root, api_base=emu.api_base, gateway_url=emu.gateway_url)
        async with running_bot(settings) as bot:
            await emu.wait_until_connected(timeout=60)
            await emu.wait_commands_registered(guild_id=GUILD, timeout=60)
            yield Harness(emu, bot, settings)


@asynccontextmanager
async def modern_harness(root: Path, **over: Any) -> AsyncIterator[Harness]:
    """The bot on a tiny ml-latest-small of recent films (see `write_modern_latest_small`)."""
    write_modern_latest_small(root / "movielens" / "ml-latest-small")
    async with DiscordEmulator() as emu:
        emu.add_guild(GUILD, "Movie Club", owner_id=ADMIN)
        emu.add_member(GUILD, ADMIN, "admin", permissions=MANAGE_GUILD)
        settings = e2e_settings(
            root,
            dataset="ml-latest-small",
            api_base=emu.api_base,
            gateway_url=emu.gateway_url,
            **over,
        )
        async with running_bot(settings) as bot:
            await emu.wait_until_connected(timeout=60)
            await emu.wait_commands_registered(guild_id=GUILD, timeout=60)
            yield Harness(emu, bot, settings)


@pytest.fixture(autouse=True)
def no_violations(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every end-to-end test must leave no payload that Discord would have rejected."""
    yield
    if "harness" in request.fixturenames:
        assert request.getfixturevalue("harness").emu.violations == []
