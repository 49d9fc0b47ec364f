"""Read-only views of messages and interaction responses with helpers tests assert on."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

from .render import render_message
from .validate import SELECT_TYPES

FLAG_EPHEMERAL = 1 << 6


class Button(NamedTuple):
    """A button as a test sees it; unpacks as (label, custom_id, disabled, style)."""

    label: str | None
    custom_id: str | None
    disabled: bool
    style: int


class Select(NamedTuple):
    """A select menu; `options` holds (label, value) pairs for string selects."""

    custom_id: str
    type: int
    options: list[tuple[str, str]]
    placeholder: str | None
    min_values: int
    max_values: int
    disabled: bool


def iter_components(components: Any) -> Iterator[Mapping[str, Any]]:
    """Every component in a tree, depth first."""
    for comp in components or []:
        yield comp
        yield from iter_components(comp.get("components"))
        for key in ("component", "accessory"):
            if isinstance(comp.get(key), Mapping):
                yield from iter_components([comp[key]])


class _Content:
    """Shared accessors over a message-shaped payload (`self.data`)."""

    data: dict[str, Any]

    @property
    def content(self) -> str:
        """The text content ('' if none)."""
        return self.data.get("content") or ""

    @property
    def embeds(self) -> list[dict[str, Any]]:
        """Embed dicts as sent by the bot."""
        return list(self.data.get("embeds") or [])

    @property
    def attachments(self) -> list[dict[str, Any]]:
        """Attachment objects (filename, size, url, ...)."""
        return list(self.data.get("attachments") or [])

    @property
    def components(self) -> list[dict[str, Any]]:
        """Component dicts as sent by the bot."""
        return list(self.data.get("components") or [])

    @property
    def flags(self) -> int:
        """Message flags bit field."""
        return int(self.data.get("flags") or 0)

    @property
    def ephemeral(self) -> bool:
        """Whether only the invoking user can see it (flag 64)."""
        return bool(self.flags & FLAG_EPHEMERAL)

    @property
    def buttons(self) -> list[Button]:
        """All buttons, flattened across rows."""
        return [
            Button(c.get("label"), c.get("custom_id"), bool(c.get("disabled")), c.get("style", 0))
            for c in iter_components(self.components)
            if c.get("type") == 2
        ]

    @property
    def selects(self) -> list[Select]:
        """All select menus, flattened across rows."""
        return [
            Select(
                c.get("custom_id", ""),
                c.get("type", 3),
                [(o.get("label", ""), o.get("value", "")) for o in c.get("options") or []],
                c.get("placeholder"),
                c.get("min_values", 1),
                c.get("max_values", 1),
                bool(c.get("disabled")),
            )
            for c in iter_components(self.components)
            if c.get("type") in SELECT_TYPES
        ]

    @property
    def text(self) -> str:
        """Content, embeds and components rendered as plain text."""
        return render_message(self.data)

    def button(self, label: str) -> Button:
        """The button with this label (KeyError listing the labels present otherwise)."""
        for button in self.buttons:
            if button.label == label:
                return button
        raise KeyError(f"no button {label!r}; buttons: {[b.label for b in self.buttons]}")


class Message(_Content):
    """A snapshot of a stored message (later edits do not change it; re-fetch for those)."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        """Copy the payload so the snapshot stays stable."""
        self.data = copy.deepcopy(dict(data))

    @property
    def id(self) -> int:
        """The message snowflake."""
        return int(self.data["id"])

    @property
    def channel_id(self) -> int:
        """The channel the message is in."""
        return int(self.data["channel_id"])

    @property
    def author_id(self) -> int:
        """Who wrote it."""
        return int(self.data["author"]["id"])

    @property
    def reference_id(self) -> int | None:
        """The message this one replies to, if any."""
        ref = self.data.get("message_reference") or {}
        return int(ref["message_id"]) if ref.get("message_id") else None

    def __repr__(self) -> str:
        """Id plus the rendered text, so assertion failures are readable."""
        return f"<Message id={self.id} {self.text!r}>"


class Reply(_Content):
    """The first callback to an interaction: its type and data, plus the message it made."""

    def __init__(self, type: int, data: Mapping[str, Any] | None, message: Message | None) -> None:
        """Keep a copy of the callback data."""
        self.type = type
        self.data = copy.deepcopy(dict(data or {}))
        self.message = message

    @property
    def id(self) -> int:
        """The id of the message this response created or updated."""
        if self.message is None:
            raise ValueError(f"callback type {self.type} has no message")
        return self.message.id

    @property
    def deferred(self) -> bool:
        """Whether this was a deferral (type 5 or 6)."""
        return self.type in (5, 6)

    @property
    def choices(self) -> list[dict[str, Any]]:
        """Autocomplete choices (type 8)."""
        return list(self.data.get("choices") or [])

    def __repr__(self) -> str:
        """Type plus the rendered text."""
        return f"<Reply type={self.type} {self.text!r}>"
