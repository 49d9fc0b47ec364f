"""One dispatched interaction: what the bot answered, when, and the messages it produced."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .messages import Message, Reply
from .state import FLAG_LOADING

if TYPE_CHECKING:
    from .state import EmulatorState

PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 1, 2, 3, 4, 5


class Interaction:
    """Handle returned by slash/click/select/...; await `response()` or `final()` on it."""

    def __init__(
        self,
        state: EmulatorState,
        payload: dict[str, Any],
        *,
        option_type: int | None = None,
        message_id: int | None = None,
    ) -> None:
        """Wrap the INTERACTION_CREATE payload; the server fills in the rest as the bot answers."""
        self._state = state
        self.payload = payload
        self.id = int(payload["id"])
        self.token: str = payload["token"]
        self.type: int = payload["type"]
        self.channel_id = int(payload["channel_id"])
        self.guild_id = int(payload["guild_id"]) if payload.get("guild_id") else None
        user = payload["member"]["user"] if "member" in payload else payload["user"]
        self.user_id = int(user["id"])
        self.option_type = option_type
        self.message_id = message_id
        self.dispatched_at: float | None = None
        self.first_response_at: float | None = None
        self.reply: Reply | None = None
        self.original_id: int | None = None
        self.followup_ids: list[int] = []
        self.edits = 0
        self.rejections: list[str] = []
        self.modal: dict[str, Any] | None = None

    @property
    def acknowledged(self) -> bool:
        """Whether the bot's first callback was accepted."""
        return self.reply is not None

    @property
    def first_response_ms(self) -> float | None:
        """Milliseconds from dispatch to the accepted first callback (None if never answered)."""
        if self.dispatched_at is None or self.first_response_at is None:
            return None
        return (self.first_response_at - self.dispatched_at) * 1000.0

    def age(self) -> float:
        """Seconds since the interaction was dispatched."""
        return time.monotonic() - (self.dispatched_at or time.monotonic())

    def _what(self, thing: str) -> str:
        """A description for timeout errors, including any rejected attempts."""
        name = (self.payload.get("data") or {}).get("name") or (self.payload.get("data") or {}).get(
            "custom_id"
        )
        extra = f"; rejected: {self.rejections}" if self.rejections else ""
        return f"{thing} to interaction {self.id} ({name}){extra}"

    async def response(self, timeout: float = 5.0) -> Reply:
        """The first accepted callback (waits for it)."""
        return await self._state.wait_for(lambda: self.reply, timeout, self._what("a response"))

    @property
    def original(self) -> Message | None:
        """The current @original message, if one exists."""
        data = self._state.messages.get(self.original_id or 0)
        return Message(data) if data else None

    @property
    def followups(self) -> list[Message]:
        """Follow-up messages sent via the interaction webhook, current state, in order."""
        found = (self._state.messages.get(mid) for mid in self.followup_ids)
        return [Message(data) for data in found if data]

    async def wait_followups(self, count: int = 1, timeout: float = 5.0) -> list[Message]:
        """Wait until at least `count` follow-ups were sent; returns them all."""
        await self._state.wait_for(
            lambda: len(self.followup_ids) >= count, timeout, self._what(f"{count} follow-up(s)")
        )
        return self.followups

    async def final(self, timeout: float = 5.0) -> Message | None:
        """The resulting message once settled: deferrals wait for their edit or first follow-up."""
        loop_start = time.monotonic()
        reply = await self.response(timeout)
        remaining = max(0.0, timeout - (time.monotonic() - loop_start))
        if reply.type == 5:

            def loaded() -> dict[str, Any] | None:
                data = self._state.messages.get(self.original_id or 0)
                return data if data and not data["flags"] & FLAG_LOADING else None

            return Message(await self._state.wait_for(loaded, remaining, self._what("the edit")))
        if reply.type == 6:
            await self._state.wait_for(lambda: self.edits > 0, remaining, self._what("the edit"))
        if reply.type in (4, 5, 6, 7):
            return self.original
        return None

    def __repr__(self) -> str:
        """Id, type and whether answered."""
        return f"<Interaction id={self.id} type={self.type} acknowledged={self.acknowledged}>"
