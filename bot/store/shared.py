"""What several bot processes on one database share: published model versions and each
member's change number (kept by a trigger in PostgreSQL; SQLite, one process, leaves both
empty)."""

from __future__ import annotations

from bot.store.backend import Database
from bot.store.schema import PublishedModel
from bot.store.writer import SqlConnection

MODEL_CHANNEL = "moviebot_model"  # NOTIFY channel: a new snapshot version was published
CLUB_CHANNEL = "moviebot_club"  # NOTIFY channel: a club movie was added, renamed or removed


class SharedModelRepository:
    """Published snapshot versions and members' change numbers."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def publish(self, dataset: str, file: str) -> int:
        """Record a new snapshot version (and tell listening processes at COMMIT)."""

        async def op(conn: SqlConnection, now: float) -> tuple[int, int]:
            rows = list(
                await conn.execute_fetchall(
                    "INSERT INTO model_versions (dataset, file, published_at) VALUES (?, ?, ?) "
                    "RETURNING version",
                    (str(dataset), str(file), now),
                )
            )
            version = int(rows[0][0])
            if conn.dialect == "postgresql":  # delivered only if the transaction commits
                await conn.execute("SELECT pg_notify(?, ?)", (MODEL_CHANNEL, str(version)))
            return version, 0

        return await self._db.submit(op)

    async def latest(self, dataset: str) -> PublishedModel | None:
        """The newest published snapshot of a dataset, or None."""
        rows = await self._db.read(
            "SELECT version, dataset, file FROM model_versions WHERE dataset = ? "
            "ORDER BY version DESC LIMIT 1",
            (str(dataset),),
        )
        return PublishedModel(int(rows[0][0]), str(rows[0][1]), str(rows[0][2])) if rows else None

    async def member_seq(self, user_id: int) -> int:
        """A member's change number: it moves with every change to their ratings (0: none)."""
        rows = await self._db.read(
            "SELECT seq FROM member_changes WHERE user_id = ?", (int(user_id),)
        )
        return int(rows[0][0]) if rows else 0

    async def member_seqs(self) -> dict[int, int]:
        """Every member's change number."""
        rows = await self._db.read("SELECT user_id, seq FROM member_changes")
        return {int(u): int(q) for u, q in rows}
