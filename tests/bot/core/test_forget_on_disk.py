"""After /forgetme and the purge refit, no file the bot wrote holds the member's id."""

from __future__ import annotations

import struct
from dataclasses import replace
from pathlib import Path

import numpy as np

from bot.core.keys import MemberKeys
from bot.core.services import Services
from bot.store import Store
from tests.bot.conftest import eventually
from tests.bot.core.test_model_server import CountingRunner, make_settings

GONE = 1_234_567_890_123_456_789  # a realistic snowflake: its bytes never occur by chance
STAYS = 987_654_321_098_765_432


def id_patterns(member: int) -> list[bytes]:
    """Every form the id takes in our files: SQLite's big-endian integer, the model's int64
    key (little-endian, negated), and decimal text (JSON, logs)."""
    key = MemberKeys.key(member)
    return [
        struct.pack(">q", member),
        struct.pack("<q", key),
        np.int64(key).tobytes(),
        str(member).encode(),
        str(key).encode(),
    ]


def files_holding(root: Path, member: int) -> list[str]:
    """Files under root whose raw bytes contain any form of the member's id."""
    patterns = id_patterns(member)
    return [
        str(path.relative_to(root))
        for path in sorted(root.rglob("*"))
        if path.is_file() and any(p in path.read_bytes() for p in patterns)
    ]


async def test_forget_then_purge_leaves_no_trace_in_any_file(tmp_path: Path, ml100k_dir: Path):
    settings = replace(make_settings(tmp_path, ml100k_dir), purge_refit_delay=0.2)
    async with Store(settings.database_path) as store:
        services = Services.build(settings, store, CountingRunner())
        await services.start()  # with the refit loop: the purge must wake it
        try:
            for movie in range(1, 31):
                await services.ratings.rate(GONE, movie, 4.5)
                await services.ratings.rate(STAYS, movie, 2.0)
            assert await services.models.refit()  # both now in the snapshot files too
            assert files_holding(tmp_path, GONE), "the check must see the member before"
            fits = services.models.generation
            assert await services.ratings.forget(GONE) > 0
            wal = Path(f"{settings.database_path}-wal")
            assert not wal.exists() or wal.stat().st_size == 0  # truncated at once
            await eventually(
                lambda: services.models.generation > fits and not services.models.purge_due,
                "the purge refit the forget scheduled",
            )
            assert files_holding(tmp_path, GONE) == []
            assert files_holding(tmp_path, STAYS)  # the other member is still there
        finally:
            await services.close()
