"""The model-fit log: when each fit ran, on how much data, how it scored."""

from __future__ import annotations

import numbers
from typing import Literal

from bot.store.backend import Database
from bot.store.schema import FitRecord, finite_or_none
from bot.store.writer import CHANGE_SEQ, SqlConnection

_FIT_COLUMNS = (
    "fit_id, started_at, finished_at, ratings_used, change_seq, rmse, duration_s, status, error"
)


class FitLog:
    """Fits in order; each remembers the rating change sequence its data was taken at."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def fit_started(self, ratings_used: int) -> int:
        """Log a fit as running, remembering the change sequence; returns its id."""
        if isinstance(ratings_used, bool) or not isinstance(ratings_used, numbers.Integral):
            raise ValueError(f"ratings_used must be an integer, got {ratings_used!r}")
        if ratings_used < 0:
            raise ValueError(f"ratings_used must not be negative, got {ratings_used}")
        used = int(ratings_used)

        async def op(conn: SqlConnection, now: float) -> tuple[int, int]:
            rows = list(
                await conn.execute_fetchall(
                    "INSERT INTO fits (started_at, ratings_used, change_seq) VALUES "
                    f"(?, ?, {CHANGE_SEQ}) RETURNING fit_id",
                    (now, used),
                )
            )
            return int(rows[0][0]), 0

        return await self._db.submit(op)

    async def fit_finished(
        self,
        fit_id: int,
        rmse: float | None,
        duration_s: float,
        status: Literal["ok", "failed"],
        error: str | None = None,
    ) -> None:
        """Record how a running fit ended; LookupError if it is unknown or already finished."""
        if status not in ("ok", "failed"):
            raise ValueError(f"status must be 'ok' or 'failed', got {status!r}")
        score = finite_or_none("rmse", rmse)
        seconds = finite_or_none("duration_s", duration_s)
        if seconds is None or seconds < 0:
            raise ValueError(f"duration_s must be a non-negative number, got {duration_s!r}")
        message = None if error is None else str(error)

        async def op(conn: SqlConnection, now: float) -> tuple[None, int]:
            cursor = await conn.execute(
                "UPDATE fits SET finished_at = ?, rmse = ?, duration_s = ?, status = ?, "
                "error = ? WHERE fit_id = ? AND status = 'running'",
                (now, score, seconds, status, message, int(fit_id)),
            )
            if cursor.rowcount != 1:
                raise LookupError(f"no running fit with id {fit_id}")
            return None, 0

        await self._db.submit(op)

    async def last_fit(self, status: str | None = None) -> FitRecord | None:
        """The most recent fit (any status, including running), or the last with `status`."""
        if status is None:
            rows = await self._db.read(
                f"SELECT {_FIT_COLUMNS} FROM fits ORDER BY fit_id DESC LIMIT 1"
            )
        else:
            rows = await self._db.read(
                f"SELECT {_FIT_COLUMNS} FROM fits WHERE status = ? ORDER BY fit_id DESC LIMIT 1",
                (status,),
            )
        return FitRecord(*rows[0]) if rows else None

    async def changes_since_fit(self) -> int:
        """Rating changes since the data of the last successful fit was taken (all if none)."""
        rows = await self._db.read(
            f"SELECT {CHANGE_SEQ} - coalesce("
            "(SELECT change_seq FROM fits WHERE status = 'ok' ORDER BY fit_id DESC LIMIT 1), 0)"
        )
        return int(rows[0][0])
