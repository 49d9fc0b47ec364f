"""Rating-card sessions: each member's onboarding progress and their latest "similar" walk.

A member has at most two sessions, kept in one stored document: onboarding (mode "o") and
the most recent walk through movies similar to one movie (mode "s<movie id>").
"""

from __future__ import annotations

from typing import Any

from bot.store.backend import StoreBackend
from bot.store.schema import OnboardingSession

Session = dict[str, Any]  # {"mode": str, "rated": int, "recent": [movie ids]}


def fresh_session(mode: str) -> Session:
    """A new session for one mode: nothing rated, nothing shown."""
    return {"mode": mode, "rated": 0, "recent": []}


def _sessions(saved: OnboardingSession | None) -> dict[str, Session]:
    """Card sessions by mode from the stored row (older rows hold a single session)."""
    data = dict(saved.data) if saved is not None else {}
    if "mode" in data:
        return {str(data["mode"]): data}
    return {str(k): dict(v) for k, v in (data.get("sessions") or {}).items()}


class CardSessions:
    """Load, save and end members' card sessions."""

    def __init__(self, store: StoreBackend) -> None:
        self._store = store

    async def load(self, member: int, mode: str) -> Session:
        """The member's session for this mode, or a fresh one."""
        return _sessions(await self._store.sessions.load_session(member)).get(mode) or (
            fresh_session(mode)
        )

    async def save(self, member: int, session: Session, message_id: int | None) -> None:
        """Store one mode's session next to the others (onboarding plus the latest walk)."""
        sessions = _sessions(await self._store.sessions.load_session(member))
        mode = session["mode"]
        if mode == "o":
            kept = {k: v for k, v in sessions.items() if k != "o"}
        else:
            kept = {k: v for k, v in sessions.items() if k == "o"}
        kept[mode] = session
        await self._store.sessions.save_session(member, {"sessions": kept}, message_id)

    async def end(self, member: int, mode: str) -> None:
        """End one mode's session, keeping the member's other card session."""
        saved = await self._store.sessions.load_session(member)
        sessions = _sessions(saved)
        sessions.pop(mode, None)
        if sessions and saved is not None:
            await self._store.sessions.save_session(
                member, {"sessions": sessions}, saved.message_id
            )
        else:
            await self._store.sessions.end_session(member)
