"""Reach a store's database with a connection of its own, bypassing the store (either engine)."""

from __future__ import annotations

import sqlite3
from typing import Any

import asyncpg

from bot.store import Store
from bot.store.postgres import PostgresDatabase, numbered

# What either engine raises when a row breaks a constraint.
REFUSED = (sqlite3.IntegrityError, asyncpg.IntegrityConstraintViolationError)


async def bypass(store: Store, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one statement (`?` placeholders) on a fresh connection; its rows as tuples."""
    if isinstance(store.db, PostgresDatabase):
        conn = await asyncpg.connect(store.db._url)
        try:
            return [tuple(r) for r in await conn.fetch(numbered(sql), *params)]
        finally:
            await conn.close()
    lite = sqlite3.connect(store.path)
    try:
        rows = lite.execute(sql, params).fetchall()
        lite.commit()
        return rows
    finally:
        lite.close()


async def user_columns(store: Store) -> list[tuple[str, str]]:
    """Every (table, column) that identifies a user, found from the live schema."""
    if isinstance(store.db, PostgresDatabase):
        rows = await bypass(
            store,
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND column_name IN ('user_id', 'creator_id')",
        )
        return [(str(t), str(c)) for t, c in rows]
    tables = await bypass(store, "SELECT name FROM sqlite_master WHERE type='table'")
    found = []
    for (table,) in tables:
        for col in await bypass(store, f"PRAGMA table_info({table})"):
            if col[1] in ("user_id", "creator_id"):
                found.append((str(table), str(col[1])))
    return found
