"""What a user-side client draws as the bot posts, edits and deletes messages, in order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .messages import Message
from .render import render_message
from .state import FLAG_LOADING, EmulatorState

FeedKind = Literal["new", "edited", "deleted"]


@dataclass(frozen=True)
class FeedItem:
    """One visible change: a message appeared, changed, or went away."""

    kind: FeedKind
    message: Message


class MessageFeed:
    """The bot's messages from the moment the feed is made, as a Discord client would show them.

    Every channel counts (guild channels, DMs, ephemeral replies), so nothing the bot says is
    missed. A deferred "thinking" message appears once it has content; an edit that changes
    nothing visible is skipped; a message deleted before it was ever shown never appears.
    """

    def __init__(self, state: EmulatorState) -> None:
        """Start after every change so far."""
        self._state = state
        self._cursor = len(state.message_events)
        self._shown: dict[int, str] = {}

    def pending(self) -> bool:
        """Whether changes arrived since the last `drain` (some may turn out invisible)."""
        return self._cursor < len(self._state.message_events)

    def drain(self) -> list[FeedItem]:
        """The visible changes since the last call, oldest first."""
        events = self._state.message_events[self._cursor :]
        self._cursor += len(events)
        items: list[FeedItem] = []
        for event in events:
            if event.kind == "delete":
                if self._shown.pop(event.message_id, None) is not None and event.deleted:
                    items.append(FeedItem("deleted", Message(event.deleted)))
                continue
            data = self._state.messages.get(event.message_id)
            if data is None or data["flags"] & FLAG_LOADING:
                continue
            message = Message(data)
            if message.author_id != self._state.bot_user.id:
                continue
            text = render_message(data)
            before = self._shown.get(message.id)
            if before == text:
                continue
            self._shown[message.id] = text
            items.append(FeedItem("new" if before is None else "edited", message))
        return items

    async def wait(self, timeout: float = 3600.0) -> None:
        """Return once `pending()`; TimeoutError after `timeout` seconds without a change."""
        await self._state.wait_for(self.pending, timeout, "a message change")
