"""Copy a club's whole database into another store (`python -m bot migrate-store`).

Meant for moving from the SQLite file to PostgreSQL: both stores are opened (and migrated)
to the same schema, every table is copied in one transaction on the target, and the copy
commits only if each table's count on the target equals the source's. A target that holds
any data is refused, so nothing is ever overwritten. Run it with the bot stopped.
"""

from __future__ import annotations

import logging
from pathlib import Path

from bot.store import Store
from bot.store.postgres import is_postgres_url
from bot.store.writer import SqlConnection

log = logging.getLogger(__name__)

# Every table, parents before children; meta holds the dataset and the change sequence.
TABLES = (
    "meta",
    "ratings",
    "fits",
    "skips",
    "onboarding_sessions",
    "polls",
    "poll_options",
    "poll_members",
    "poll_votes",
    "club_movies",
    "member_lists",
    "server_lists",
    "member_settings",
    "nights",
    "night_attendees",
)
# Derived tables, never copied: published snapshots belong to the source's model folder, and
# the target's trigger numbers its members' changes itself as the ratings arrive.
_DERIVED = frozenset({"model_versions", "member_changes"})
# Tables whose ids come from an identity column, which must continue after the copied ids.
_IDENTITIES = (("fits", "fit_id"), ("polls", "poll_id"), ("nights", "night_id"))


class TargetNotEmpty(RuntimeError):
    """The target store already holds data; migrate-store never overwrites."""


def store_target(text: str) -> str | Path:
    """A --from/--to value as a store target: sqlite:///relative, sqlite:////absolute, a
    plain file path, or a postgresql:// URL."""
    if is_postgres_url(text):
        return text
    if text.startswith("sqlite:///"):
        return Path(text.removeprefix("sqlite:///"))
    if "://" in text:
        raise ValueError("expected sqlite:///<file> or postgresql://… (got another scheme)")
    return Path(text)


async def _tables(store: Store) -> set[str]:
    """The tables the store's schema has (besides the engine's own bookkeeping)."""
    if store.db.dialect == "sqlite":
        rows = await store.db.read(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'"
        )
    else:
        rows = await store.db.read(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = "
            "current_schema() AND table_name <> 'schema_version'"
        )
    return {str(r[0]) for r in rows}


async def _counts(store: Store) -> dict[str, int]:
    """Rows per table, meta included."""
    return {t: int((await store.db.read(f"SELECT count(*) FROM {t}"))[0][0]) for t in TABLES}


async def copy_store(source: str | Path, target: str | Path) -> dict[str, int]:
    """Copy every table of `source` into the empty store `target`; rows copied per table.

    TargetNotEmpty if the target holds any row besides its bookkeeping; RuntimeError (and
    nothing written) if a count differs after the copy.
    """
    async with Store(source) as src, Store(target) as dst:
        missing = await _tables(src) - set(TABLES) - _DERIVED
        if missing:
            raise RuntimeError(f"migrate-store does not know the tables {sorted(missing)}")
        dst_location = dst.location

        async def op(conn: SqlConnection, now: float) -> tuple[dict[str, int], int]:
            for table in TABLES[1:]:
                held = list(await conn.execute_fetchall(f"SELECT count(*) FROM {table}"))
                if int(held[0][0]):
                    raise TargetNotEmpty(
                        f"{dst_location} already holds data ({table} has {held[0][0]} rows); "
                        "migrate-store only fills an empty database"
                    )
            copied: dict[str, int] = {}
            for table in TABLES:
                rows = [tuple(r) for r in await src.db.read(f"SELECT * FROM {table}")]
                if table == "meta":
                    await conn.executemany(
                        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) "
                        "DO UPDATE SET value = excluded.value",
                        [(str(k), v if conn.dialect == "sqlite" else str(v)) for k, v in rows],
                    )
                elif rows:
                    marks = ", ".join("?" * len(rows[0]))
                    await conn.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
                copied[table] = len(rows)
            if conn.dialect == "postgresql":
                for table, column in _IDENTITIES:
                    await conn.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                        f"max({column})) FROM {table} HAVING count(*) > 0"
                    )
            for table, expected in copied.items():
                found = list(await conn.execute_fetchall(f"SELECT count(*) FROM {table}"))
                if table == "meta" or int(found[0][0]) == expected:
                    continue
                raise RuntimeError(
                    f"{table}: copied {expected} rows but the target counts {found[0][0]}; "
                    "nothing was written"
                )
            return copied, 0

        copied = await dst.db.submit(op)
        after = await _counts(dst)
        before = await _counts(src)
        if after != before:  # committed, but say so loudly: the copy does not match
            raise RuntimeError(f"counts differ after the copy: source {before}, target {after}")
        log.info("copied %s into %s: %s", src.location, dst_location, copied)
        return copied
