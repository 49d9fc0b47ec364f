"""Understand free-text chat: "se7en 4.5", "I'd give alien ★★★★", "something like heat"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Intent = Literal["rate", "recommend", "similar", "myratings", "help"]

MAX_TEXT = 500
_MENTION = re.compile(r"<@!?&?\d+>")
_WORD_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "half": 0.5}
_FRACTION = re.compile(r"(\d+(?:[.,]\d+)?)\s*(?:/|out of)\s*(10|5|100)\b")
_STAR_GLYPHS = re.compile(r"([★⭐🌟]+)\s*(½)?")
_NUMBER_STARS = re.compile(
    r"(?:(\d(?:[.,]5)?|one|two|three|four|five)(?:\s+and\s+a\s+half)?\s*(?:stars?|★)|"
    r"(\d(?:[.,]\d+)?)\s*$)"
)
_RECOMMEND = re.compile(
    r"\b(recommend|suggest|what should i watch|what to watch|any (?:good )?(?:movie|film)s?|"
    r"pick (?:a|me a) (?:movie|film)|surprise me)\b"
)
_SIMILAR = re.compile(
    r"\b(?:something|anything|movies?|films?|more|stuff)\s+(?:like|similar to)\s+(?P<title>.+)$|"
    r"\bsimilar to\s+(?P<title2>.+)$"
)
_MYRATINGS = re.compile(r"\b(what (?:did|have) i (?:rate|rated)|my ratings|what i rated)\b")
_RATE_FILLER = re.compile(
    r"^(?:please\s+)?(?:i(?:'d| would)?\s+(?:give|rate)|i\s+gave|i\s+rated|give|rate|rating)\s+",
)
_TRAILING_FILLER = re.compile(r"\s*(?:[-:,=]|\bis\b|\bas\b|\ba\b|\bto\b|\bit\b|\bgets?\b)\s*$")


@dataclass(frozen=True)
class ChatRequest:
    """What a message asks for; `stars` is None when a rating is missing its stars."""

    intent: Intent
    title: str = ""
    stars: float | None = None
    bare_number: bool = False  # stars came from a lone trailing number ("toy story 2")


def clean(text: str) -> str:
    """Drop mentions and surrounding noise; cap the length."""
    text = _MENTION.sub(" ", text or "")[:MAX_TEXT]
    return re.sub(r"\s+", " ", text).strip()


def round_half(value: float) -> float:
    """Nearest half star within 0.5..5."""
    return min(5.0, max(0.5, round(value * 2) / 2))


def extract_stars(text: str) -> tuple[float | None, str]:
    """Find a rating in the text; returns (stars or None, the text without it)."""
    m = _FRACTION.search(text)
    if m:
        value = float(m.group(1).replace(",", ".")) / float(m.group(2)) * 5
        return round_half(value), (text[: m.start()] + text[m.end() :]).strip()
    m = _STAR_GLYPHS.search(text)
    if m:
        value = len(m.group(1)) + (0.5 if m.group(2) else 0)
        return round_half(value), (text[: m.start()] + text[m.end() :]).strip()
    m = _NUMBER_STARS.search(text)
    if m:
        raw = m.group(1) or m.group(2)
        value = _WORD_NUMBERS.get(raw)
        if value is None:
            value = float(raw.replace(",", "."))
        if "and a half" in m.group(0):
            value += 0.5
        if 0 < value <= 5:
            return round_half(value), (text[: m.start()] + text[m.end() :]).strip()
    return None, text


def parse(text: str) -> ChatRequest:
    """Classify a chat message into one request the bot can answer."""
    body = clean(text)
    lower = body.lower().rstrip("?!. ")
    if not lower:
        return ChatRequest("help")
    m = _SIMILAR.search(lower)
    if m:
        title = (m.group("title") or m.group("title2") or "").strip(" ?!.\"'")
        if title:
            return ChatRequest("similar", title)
    if _MYRATINGS.search(lower):
        return ChatRequest("myratings")
    if _RECOMMEND.search(lower):
        return ChatRequest("recommend")
    if lower in ("help", "hi", "hello", "hey", "commands"):
        return ChatRequest("help")
    stars, rest = extract_stars(lower)
    title = _RATE_FILLER.sub("", rest).strip()
    while True:
        trimmed = _TRAILING_FILLER.sub("", title).strip(" \"'.!?")
        if trimmed == title:
            break
        title = trimmed
    if not re.search(r"\w", title):
        return ChatRequest("help")
    if stars is None and not _RATE_FILLER.match(lower) and not _looks_like_title(title):
        return ChatRequest("help")
    bare = stars is not None and bool(re.search(r"\d(?:[.,]\d+)?\s*$", lower))
    return ChatRequest("rate", title, stars, bare)


def _looks_like_title(text: str) -> bool:
    """Short phrases are treated as titles to rate (the bot then asks for stars)."""
    return len(text.split()) <= 8
