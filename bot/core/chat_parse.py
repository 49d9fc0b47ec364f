"""Understand free-text chat: "se7en 4.5", "I'd give alien ★★★★", "something like heat"."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

Intent = Literal["rate", "recommend", "similar", "myratings", "help"]

MAX_TEXT = 500
MAX_TITLE = 120  # longer "titles" without stars are chatter, not a movie name
_MENTION = re.compile(r"<(?:@!?&?|#)\d+>|<a?:\w+:\d+>")  # users, roles, channels, custom emoji
_INVISIBLE = re.compile("[\ufe0e\ufe0f\u200d\u20e3]")  # emoji variation selectors, joiners
_KEEP_SYMBOLS = frozenset("★⭐🌟")
_WORD_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_HALF = r"(?:\s+and\s+a\s+half)"
_FRACTION = re.compile(r"(?<![\w.,])(\d+(?:[.,]\d+)?)\s*(?:/|out of)\s*(10|5|100)\b")
_STAR_GLYPHS = re.compile(r"([★⭐🌟]+)\s*(½)?")
_NUMBER_STARS = re.compile(
    rf"(?<![\w.,])(\d(?:[.,]5)?½?|one|two|three|four|five)({_HALF}?)\s*(?:stars?\b|[★⭐🌟])"
    rf"({_HALF}?)"
)
_TRAILING_NUMBER = re.compile(rf"(?<![\w.,/])(\d(?:[.,]\d+)?½?)({_HALF}?)\s*$")
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
_LEADING_FILLER = re.compile(r"^(?:for|to)\s+(?=\S)")  # "5 stars for casablanca"
_TRAILING_FILLER = re.compile(r"\s*(?:[-:,=]|\bis\b|\bas\b|\ba\b|\bto\b|\bit\b|\bgets?\b)\s*$")


@dataclass(frozen=True)
class ChatRequest:
    """What a message asks for; `stars` is None when a rating is missing its stars."""

    intent: Intent
    title: str = ""
    stars: float | None = None
    bare_number: bool = False  # stars came from a lone trailing number ("toy story 2")


def clean(text: str) -> str:
    """Drop mentions, emoji and surrounding noise (star glyphs stay); cap the length."""
    text = _INVISIBLE.sub("", _MENTION.sub(" ", (text or "")[: MAX_TEXT * 4]))
    text = "".join(
        " " if unicodedata.category(c) in ("So", "Sk", "Cs", "Co") and c not in _KEEP_SYMBOLS else c
        for c in text
    )
    return re.sub(r"\s+", " ", text).strip()[:MAX_TEXT]


def round_half(value: float) -> float:
    """Nearest half star within 0.5..5."""
    return min(5.0, max(0.5, round(value * 2) / 2))


def _number(raw: str, *halves: str) -> float:
    """The value of "4", "4,5", "3½" or "four", plus any "and a half"."""
    value = _WORD_NUMBERS.get(raw)
    if value is None:
        value = float(raw.rstrip("½").replace(",", ".")) + (0.5 if raw.endswith("½") else 0.0)
    return value + (0.5 if any(halves) else 0.0)


def _without(text: str, m: re.Match[str]) -> str:
    """The text with the match cut out."""
    return re.sub(r"\s+", " ", text[: m.start()] + " " + text[m.end() :]).strip()


def extract_stars(text: str) -> tuple[float | None, str, bool]:
    """Find a rating in the text: (stars or None, the text without it, came from a bare number)."""
    m = _FRACTION.search(text)
    if m:
        value = float(m.group(1).replace(",", ".")) / float(m.group(2)) * 5
        return round_half(value), _without(text, m), False
    m = _NUMBER_STARS.search(text)
    if m:
        value = _number(m.group(1), m.group(2), m.group(3))
        if 0 < value <= 5:
            return round_half(value), _without(text, m), False
    m = _STAR_GLYPHS.search(text)
    if m:
        value = len(m.group(1)) + (0.5 if m.group(2) else 0)
        return round_half(value), _without(text, m), False
    m = _TRAILING_NUMBER.search(text)
    if m:
        value = _number(m.group(1), m.group(2))
        if 0 < value <= 5:
            return round_half(value), _without(text, m), True
    return None, text, False


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
    stars, rest, bare = extract_stars(lower)
    title = _LEADING_FILLER.sub("", _RATE_FILLER.sub("", rest)).strip()
    while True:
        trimmed = _TRAILING_FILLER.sub("", title).strip(" \"'.!?")
        if trimmed == title:
            break
        title = trimmed
    if not re.search(r"\w", title):
        return ChatRequest("help")
    if stars is None and not _RATE_FILLER.match(lower) and not _looks_like_title(title):
        return ChatRequest("help")
    return ChatRequest("rate", title, stars, bare)


def _looks_like_title(text: str) -> bool:
    """Short phrases are treated as titles to rate (the bot then asks for stars)."""
    return len(text.split()) <= 8 and len(text) <= MAX_TITLE
