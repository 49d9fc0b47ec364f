"""Two real bot processes (`python -m bot`, one shard each) against one emulator and one real
PostgreSQL: one fits, the other loads its snapshots, a rating given through one process shows
in the other's /recommend, and a process killed with SIGKILL loses no acknowledged rating."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import pytest

from bot.emulator import DiscordEmulator, Message
from bot.store.cluster import FIT_LOCK
from tests.bot.conftest import TINY_MODEL_ENV
from tests.bot.pg_server import PostgresServer
from tests.conftest import write_ml100k

ROOT = Path(__file__).resolve().parents[2]
# One guild per shard: (id >> 22) % 2 sends GUILD_A to shard 0, GUILD_B to shard 1.
GUILD_A = (250_000_000_000 << 22) | 1
GUILD_B = (250_000_000_001 << 22) | 1
ADMIN, ALICE = 2_000_000_000_000_000_001, 3_000_000_000_000_000_001
MANAGE_GUILD = 1 << 5
STARTUP = 180.0  # seconds a process may take to load, fit and connect on a loaded machine
ANSWER = 60.0
# (movie id in the fixture dataset, the title members type, stars)
RATINGS = [
    (1, "Toy Story", 5.0),
    (2, "GoldenEye", 1.0),
    (8, "Pulp Fiction", 4.5),
    (15, "Fargo", 5.0),
    (16, "Heat", 4.0),
    (17, "Casablanca", 2.0),
]


@dataclass
class BotProcess:
    """One `python -m bot` child owning one shard; its log goes to a file."""

    name: str
    env: dict[str, str]
    log: Path
    process: asyncio.subprocess.Process | None = None
    starts: int = field(default=0)

    async def start(self) -> None:
        self.starts += 1
        with self.log.open("a") as out:
            out.write(f"--- start {self.starts}\n")
            out.flush()
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", cwd=ROOT, env=self.env, stdout=out,
                stderr=out,
            )  # fmt: skip

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def count(self, line: str) -> int:
        return self.text().count(line)

    async def wait_log(self, line: str, timeout: float, times: int = 1) -> None:
        """Wait until the log shows `line` `times` times (fails early if the process ended)."""
        deadline = time.monotonic() + timeout
        while self.count(line) < times:
            if self.process is not None and self.process.returncode is not None:
                raise AssertionError(f"{self.name} exited ({self.process.returncode}):\n"
                                     f"{self.text()[-4000:]}")  # fmt: skip
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} never logged {line!r}:\n{self.text()[-4000:]}")
            await asyncio.sleep(0.05)

    async def kill(self) -> None:
        """SIGKILL: no clean shutdown of any kind."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


@dataclass
class Cluster:
    """The emulator, the database and the two processes."""

    emu: DiscordEmulator
    url: str
    a: BotProcess
    b: BotProcess

    async def fetch(self, sql: str) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.url)
        try:
            return await conn.fetch(sql)
        finally:
            await conn.close()

    async def run(self, guild: int, user: int, name: str, **options: object) -> Message:
        channel = self.emu.state.guilds[guild].text_channel_id
        inter = await self.emu.slash(
            name, options, user_id=user, guild_id=guild, channel_id=channel
        )
        message = await inter.final(ANSWER)
        assert message is not None, f"/{name} in guild {guild} produced no message"
        return message

    async def wait_connected(self, shard: int, identified_before: int) -> None:
        """Until the shard's process identified again and has its guild."""
        gateway = self.emu.gateway

        def done() -> bool:
            session = gateway.sessions.get(shard)
            return (
                gateway.identify_count > identified_before
                and session is not None
                and session.ready
                and session.connection is not None
            )

        await self.emu.wait_until(done, STARTUP, f"shard {shard}'s process to connect")


def picks(message: Message) -> list[str]:
    """The picks of a /recommend answer, as shown."""
    (embed,) = message.embeds
    return [f"{f.get('name')}|{f.get('value')}" for f in embed.get("fields", [])] + [
        embed.get("title", ""),
        embed.get("description", ""),
    ]


@pytest.fixture
async def cluster(tmp_path: Path, postgres_server: PostgresServer) -> AsyncIterator[Cluster]:
    database = await postgres_server.create_database(migrated=False)  # the bots migrate it
    url = postgres_server.url(database)
    movielens = tmp_path / "movielens"
    write_ml100k(movielens / "ml-100k")
    async with DiscordEmulator(shard_count=2, response_deadline=ANSWER) as emu:
        for guild in (GUILD_A, GUILD_B):
            emu.add_guild(guild, f"Club {guild % 7}", owner_id=ADMIN)
            emu.add_member(guild, ADMIN, "admin", permissions=MANAGE_GUILD)
            emu.add_member(guild, ALICE, "alice")
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DISCORD_", "DATABASE_", "SHARD_", "MODEL_", "DEV_GUILD", "ALS_"))
        }
        base.update(
            DISCORD_TOKEN="test-token",
            DISCORD_API_BASE=emu.api_base,
            DISCORD_GATEWAY_URL=emu.gateway_url,
            DATABASE_URL=url,
            MOVIELENS_DIR=str(movielens),
            MODEL_DIR=str(tmp_path / "shared-models"),
            **TINY_MODEL_ENV,
            SHARD_COUNT="2",
            LOG_LEVEL="INFO",
        )
        a, b = (
            BotProcess(
                name,
                {**base, "SHARD_IDS": str(shard), "DATA_DIR": str(tmp_path / name)},
                tmp_path / f"{name}.log",
            )
            for shard, name in ((0, "a"), (1, "b"))
        )
        try:
            yield Cluster(emu, url, a, b)
        finally:
            for process in (a, b):
                await process.stop()
        await postgres_server.drop_database(database)


FITTER = "this process fits the model for every process"


async def test_two_processes_share_one_database_and_one_fit(cluster: Cluster) -> None:
    emu, a, b = cluster.emu, cluster.a, cluster.b
    await a.start()
    await b.start()
    await emu.wait_until_connected(timeout=STARTUP)
    await emu.wait_commands_registered("rate", "recommend", "refit", timeout=STARTUP)
    await a.wait_log("Shard ID 0 has connected", STARTUP)
    await b.wait_log("Shard ID 1 has connected", STARTUP)

    # exactly one fitter: one fit in the log, one holder of the lock, and one log saying so
    assert [a.count(FITTER), b.count(FITTER)] in ([1, 0], [0, 1])
    fitter, other = (a, b) if a.count(FITTER) else (b, a)
    assert [tuple(r) for r in await cluster.fetch("SELECT count(*) FROM fits")] == [(1,)]
    held = await cluster.fetch(
        f"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = {FIT_LOCK} "
        "AND granted"
    )
    assert held[0][0] == 1
    await other.wait_log("serving published snapshot version 1", STARTUP)

    # a /refit asked for in B (shard 1) runs in the fitter and the new snapshot serves in B
    refit = await emu.slash("refit", user_id=ADMIN, guild_id=GUILD_B)
    (done,) = await refit.wait_followups(1, timeout=STARTUP)
    assert done.content.startswith("✅ The new model is serving")
    assert [tuple(r) for r in await cluster.fetch("SELECT count(*) FROM fits")] == [(2,)]
    await other.wait_log("serving published snapshot version 2", ANSWER)
    assert fitter.count("refit done") == 2 and other.count("refit done") == 0  # first fit too

    # ratings given through A (shard 0) are in B's (shard 1) /recommend, as A computes them
    cold = await cluster.run(GUILD_B, ALICE, "recommend", count=5)
    assert cold.embeds[0]["title"].startswith("Popular")
    for _, title, stars in RATINGS[:3]:
        rated = await cluster.run(GUILD_A, ALICE, "rate", movie=title, stars=stars)
        assert "Rated" in rated.content
    in_b = await cluster.run(GUILD_B, ALICE, "recommend", count=5)
    in_a = await cluster.run(GUILD_A, ALICE, "recommend", count=5)
    assert in_b.embeds[0]["title"].startswith("Picks for")
    assert picks(in_b) == picks(in_a)

    # SIGKILL the fitter right after its answers: every acknowledged rating is kept, the
    # other process takes over fitting, and the restarted one follows and serves again
    home = GUILD_A if fitter is a else GUILD_B
    for _, title, stars in RATINGS[3:]:
        rated = await cluster.run(home, ALICE, "rate", movie=title, stars=stars)
        assert "Rated" in rated.content
    await fitter.kill()
    stored = await cluster.fetch(
        f"SELECT movie_id, stars FROM ratings WHERE user_id = {ALICE} ORDER BY movie_id"
    )
    assert [(r[0], r[1]) for r in stored] == [(m, stars) for m, _, stars in RATINGS]
    await other.wait_log(FITTER, STARTUP)
    shard = 0 if fitter is a else 1
    identified = emu.gateway.identify_count
    await fitter.start()
    await cluster.wait_connected(shard, identified)
    await fitter.wait_log("serving published snapshot version", STARTUP)
    assert fitter.count(FITTER) == 1  # from its first life only
    again = await cluster.run(home, ALICE, "recommend", count=5)
    elsewhere = await cluster.run(
        GUILD_B if home == GUILD_A else GUILD_A, ALICE, "recommend", count=5
    )
    assert again.embeds[0]["title"].startswith("Picks for") and picks(again) == picks(elsewhere)
    assert emu.violations == []
