"""Plain-text rendering of Discord message payloads, for console mode and readable test failures."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

SELECT_KINDS = {3: "select", 5: "user select", 6: "role select", 7: "mention select", 8: "channel"}


def _emoji(data: Mapping[str, Any] | None) -> str:
    """An emoji as text: its unicode name or :custom_name:."""
    if not data:
        return ""
    name = data.get("name") or ""
    return f":{name}:" if data.get("id") else name


def render_embed(embed: Mapping[str, Any]) -> list[str]:
    """An embed as indented lines: author, title, description, fields, footer."""
    lines = []
    author = (embed.get("author") or {}).get("name")
    if author:
        lines.append(author)
    if embed.get("title"):
        lines.append(f"** {embed['title']} **")
    if embed.get("description"):
        lines.extend(str(embed["description"]).splitlines())
    for field in embed.get("fields") or []:
        lines.append(f"{field.get('name', '')}: {field.get('value', '')}")
    footer = (embed.get("footer") or {}).get("text")
    if footer:
        lines.append(f"-- {footer}")
    return [f"| {line}" for line in lines] or ["| (empty embed)"]


def _render_component(comp: Mapping[str, Any]) -> list[str]:
    """One component (recursing into rows and containers) as lines of text."""
    kind = comp.get("type")
    if kind == 2:
        label = " ".join(p for p in (_emoji(comp.get("emoji")), comp.get("label") or "") if p)
        text = f"[{label}]"
        if comp.get("style") == 5:
            text += f"({comp.get('url')})"
        return [text + (" (disabled)" if comp.get("disabled") else "")]
    if kind in SELECT_KINDS:
        options = " | ".join(str(o.get("label")) for o in comp.get("options") or [])
        head = comp.get("placeholder") or SELECT_KINDS[kind]
        return [f"<{head}{': ' + options if options else ''}>"]
    if kind == 10:
        return str(comp.get("content", "")).splitlines()
    lines: list[str] = []
    children = list(comp.get("components") or [])
    if kind == 1:
        return [" ".join(line for child in children for line in _render_component(child))]
    for child in children:
        lines.extend(_render_component(child))
    if isinstance(comp.get("accessory"), Mapping):
        lines.extend(_render_component(comp["accessory"]))
    return lines


def render_components(components: Iterable[Mapping[str, Any]]) -> list[str]:
    """All components of a message, one action row per line."""
    return [line for comp in components for line in _render_component(comp) if line]


def render_message(payload: Mapping[str, Any]) -> str:
    """A message (or callback data) as text: content, embeds, buttons as [label], selects."""
    lines = []
    if payload.get("content"):
        lines.append(str(payload["content"]))
    for embed in payload.get("embeds") or []:
        lines.extend(render_embed(embed))
    for attachment in payload.get("attachments") or []:
        if attachment.get("filename"):
            lines.append(f"(attachment: {attachment['filename']})")
    lines.extend(render_components(payload.get("components") or []))
    return "\n".join(lines)
