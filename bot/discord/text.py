"""Small text helpers shared by every reply: counts, clipping, the "not yours" answer."""

from __future__ import annotations

NOT_YOURS = "Those buttons belong to someone else. Run the command yourself to get your own."


def plural(count: int, noun: str) -> str:
    """Say "1 movie" or "2 movies"."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def clip(text: str, limit: int) -> str:
    """Shorten text to Discord's limit with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
