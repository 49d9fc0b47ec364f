"""SQL text both dialects share where they agree on nothing simpler."""

from __future__ import annotations

# "No limit" for a `LIMIT ? OFFSET ?` page: SQLite rejects LIMIT NULL, PostgreSQL rejects -1.
NO_LIMIT = 2**62
