"""A damaged or unusable database is caught at start; check, backup and restore work."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bot.store import Store, maintenance
from bot.store.database import StoreUnusable

ALICE = 1234567890123456789
ROOT = Path(__file__).resolve().parents[3]


async def filled(path: Path, count: int = 400) -> None:
    """A database with ratings in several pages, closed cleanly."""
    async with Store(path) as store:
        await store.ratings.rate_many([(ALICE + k % 7, k + 1, 4.0) for k in range(count)])
        await store.skips.skip(ALICE, 5)


def overwrite_page(path: Path, page: int) -> None:
    """Scribble over one page of the file (1-based), as a bad disk or a stray write would."""
    size = sqlite3.connect(path).execute("PRAGMA page_size").fetchone()[0]
    with path.open("r+b") as fh:
        fh.seek((page - 1) * size)
        fh.write(bytes(range(256)) * (size // 256))


def run_cli(*args: str, database: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_PATH": str(database), "DATA_DIR": str(database.parent)}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


@pytest.mark.parametrize("page", ["last", 3])
async def test_a_damaged_page_stops_the_store_with_the_recovery_steps(tmp_path: Path, page):
    path = tmp_path / "moviebot.db"
    await filled(path)
    pages = path.stat().st_size // sqlite3.connect(path).execute("PRAGMA page_size").fetchone()[0]
    overwrite_page(path, pages if page == "last" else page)
    with pytest.raises(StoreUnusable, match="is damaged") as caught:
        await Store.open(path)
    assert "python -m bot restore" in str(caught.value) and ".recover" in str(caught.value)


async def test_a_wrecked_header_is_named_not_a_traceback(tmp_path: Path):
    path = tmp_path / "moviebot.db"
    await filled(path)
    with path.open("r+b") as fh:
        fh.write(b"this is not sqlite at all")
    with pytest.raises(StoreUnusable, match=r"moviebot.db is damaged \(file is not a database"):
        await Store.open(path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write read-only files")
async def test_a_read_only_database_names_the_file_and_the_fix(tmp_path: Path):
    path = tmp_path / "moviebot.db"
    await filled(path)
    path.chmod(stat.S_IRUSR)
    tmp_path.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with pytest.raises(StoreUnusable, match="writable"):
            await Store.open(path)
    finally:
        tmp_path.chmod(stat.S_IRWXU)


async def test_check_db_command_reports_ok_then_damage(tmp_path: Path):
    path = tmp_path / "moviebot.db"
    await filled(path)
    good = run_cli("check-db", database=path)
    assert good.returncode == 0 and good.stdout.strip() == f"{path}: ok"
    overwrite_page(path, 3)
    bad = run_cli("check-db", database=path)
    assert bad.returncode == 1 and "is damaged" in bad.stdout and "restore" in bad.stdout


async def test_backup_while_writing_is_consistent_and_restores(tmp_path: Path):
    path = tmp_path / "moviebot.db"
    async with Store(path) as store:
        await store.ratings.rate_many([(ALICE, k, 3.0) for k in range(1, 301)])
        writes = asyncio.gather(*(store.ratings.rate(ALICE + 1, k, 5.0) for k in range(1, 201)))
        copy = await asyncio.to_thread(maintenance.backup, path, tmp_path / "copy.db")
        await writes
        assert await store.ratings.count_user_ratings(ALICE + 1) == 200
    assert maintenance.integrity_problems(copy) == []
    rows = sqlite3.connect(copy).execute("SELECT count(*) FROM ratings WHERE user_id = ?", (ALICE,))
    assert rows.fetchone()[0] == 300  # everything committed before the copy began
    overwrite_page(path, 3)
    restored = run_cli("restore", str(copy), database=path)
    assert restored.returncode == 0, restored.stderr
    async with Store(path) as store:  # opens: the damage is gone
        assert await store.ratings.count_user_ratings(ALICE) == 300


async def test_backup_command_writes_a_dated_copy_and_refuses_a_damaged_restore(tmp_path: Path):
    path = tmp_path / "moviebot.db"
    await filled(path)
    made = run_cli("backup", database=path)
    assert made.returncode == 0, made.stderr
    target = Path(made.stdout.strip())
    assert target.parent == tmp_path / "backups" and maintenance.integrity_problems(target) == []
    broken = tmp_path / "broken.db"
    shutil.copy(target, broken)
    overwrite_page(broken, 3)
    refused = run_cli("restore", str(broken), database=path)
    assert refused.returncode == 1 and "not a sound backup" in refused.stderr
    assert maintenance.integrity_problems(path) == []


async def test_a_deleted_wal_is_noticed_and_nothing_acknowledged_is_lost(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    path = tmp_path / "moviebot.db"
    async with Store(path) as store:
        for k in range(1, 51):
            await store.ratings.rate(ALICE, k, 4.0)
        Path(f"{path}-wal").unlink()  # the operator error
        with caplog.at_level(logging.ERROR):
            for k in range(51, 101):
                await store.ratings.rate(ALICE, k, 4.0)
        assert any("-wal was deleted while the bot runs" in r.message for r in caplog.records)
        crashed = tmp_path / "after-a-crash.db"  # what a SIGKILL would leave: the main file
        shutil.copy(path, crashed)
    rows = sqlite3.connect(crashed).execute("SELECT count(*) FROM ratings").fetchone()
    assert rows[0] == 100
