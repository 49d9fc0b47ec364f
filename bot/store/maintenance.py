"""Offline care of the database file: integrity check, online backup, restore.

All three use plain sqlite3 (no event loop): `backup` uses SQLite's online backup API, so
the copy is consistent even while the bot keeps writing; `restore` writes through SQLite
too, so the target's WAL is handled (never copy a database file over a live one by hand).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from bot.store.database import StoreUnusable, recovery_steps

log = logging.getLogger(__name__)


@contextlib.contextmanager
def _connect(path: Path, *, must_exist: bool = True) -> Iterator[sqlite3.Connection]:
    """A short-lived sqlite3 connection; StoreUnusable for a file that cannot be opened."""
    if must_exist and not path.is_file():
        raise StoreUnusable(f"{path} does not exist")
    try:
        conn = sqlite3.connect(path, timeout=30)
    except sqlite3.Error as exc:
        raise StoreUnusable(f"cannot open {path}: {exc}") from exc
    try:
        yield conn
    finally:
        conn.close()


def integrity_problems(path: Path) -> list[str]:
    """Every problem `PRAGMA integrity_check` finds (empty when the file is sound)."""
    with _connect(path) as conn:
        try:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
        except sqlite3.DatabaseError as exc:
            return [str(exc)]
    found = [str(r[0]) for r in rows]
    return [] if found == ["ok"] else found


def backup(path: Path, target: Path | None = None) -> Path:
    """A consistent copy of the live database, checked after writing; returns its path."""
    if target is None:
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        target = path.parent / "backups" / f"{path.stem}-{stamp}.db"
    if target.exists():
        raise StoreUnusable(f"{target} already exists; choose another --to")
    target.parent.mkdir(parents=True, exist_ok=True)
    with _connect(path) as source, _connect(target, must_exist=False) as copy:
        source.backup(copy)
    problems = integrity_problems(target)
    if problems:
        target.unlink(missing_ok=True)
        raise StoreUnusable(f"the backup of {path} failed its check: {'; '.join(problems[:3])}")
    log.info("backed up %s to %s", path, target)
    return target


def restore(backup_file: Path, path: Path) -> None:
    """Replace the database at `path` with a checked backup (stop the bot first)."""
    problems = integrity_problems(backup_file)
    if problems:
        raise StoreUnusable(
            f"{backup_file} is not a sound backup ({'; '.join(problems[:3])}); nothing changed"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with _connect(backup_file) as source, _connect(path, must_exist=False) as target:
        source.backup(target)
    log.info("restored %s from %s", path, backup_file)


def check(path: Path) -> str:
    """A one-paragraph verdict on the database file for `python -m bot check-db`."""
    problems = integrity_problems(path)
    if not problems:
        return f"{path}: ok"
    shown = "\n  ".join(problems[:20])
    return f"{path} is damaged:\n  {shown}\n{recovery_steps(path)}"
