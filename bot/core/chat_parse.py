"""Understand free-text chat: "se7en 4.5", "I'd give alien ★★★★", "something like heat", "hi"."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

Intent = Literal[
    "rate", "unrate", "recommend", "similar", "myratings", "forget", "help", "smalltalk"
]  # fmt: skip
Talk = Literal[
    "greeting", "thanks", "bye", "how", "who", "ping", "laugh", "praise", "scold", "sorry",
    "ack", "emoji", "chatter",
]  # fmt: skip

MAX_TEXT = 500
MAX_TITLE = 120  # longer "titles" without stars are chatter, not a movie name
_CUSTOM_EMOJI = re.compile(r"<a?:\w+:\d+>")
_MENTION = re.compile(rf"<(?:@!?&?|#)\d+>|{_CUSTOM_EMOJI.pattern}")  # users, roles, channels
_INVISIBLE = re.compile("[\ufe0e\ufe0f\u200d\u20e3]")  # emoji variation selectors, joiners
_KEEP_SYMBOLS = frozenset("★⭐🌟")
_WORD_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_WORDS_BEYOND = {"zero": 0, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}
_HALF = r"(?:\s+and\s+a\s+half)"
_FRACTION = re.compile(
    r"(?<![\w.,])(\d+(?:[.,]\d+)?)\s*(?:/|out of)\s*(10|5|100)\b(?:\s*stars?\b)?"
)
_STAR_GLYPHS = re.compile(r"([★⭐🌟]+)\s*(½)?")
_NUMBER_STARS = re.compile(
    rf"(?<![\w.,])(\d(?:[.,]5)?½?|one|two|three|four|five)({_HALF}?)\s*(?:stars?\b|[★⭐🌟])"
    rf"({_HALF}?)"
)
_ANY_NUMBER_STARS = re.compile(  # explicit stars whatever the number: "6 stars", "ten stars"
    rf"(?<![\w.,/])(-?\d+(?:[.,]\d+)?|{'|'.join(_WORDS_BEYOND)})\s*(?:stars?\b|[★⭐🌟])"
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
_LEADING_FILLER = re.compile(
    r"^(?:(?:hi|hey|hello|yo|ok|okay|oh|so|well|um+|hm+|thanks|thx)\s*[,!.:]+\s*)?"  # "hey, …"
    r"(?:(?:for|to)\s+(?=\S))?"  # "5 stars for casablanca"
)
_TRAILING_FILLER = re.compile(r"\s*(?:[-:,=]|\bis\b|\bas\b|\ba\b|\bto\b|\bit\b|\bgets?\b)\s*$")
_POLITE = r"(?:please|pls|thanks|thx|now)"
_UNRATE = re.compile(
    r"^(?:please\s+|pls\s+)?(?:un-?rate|(?:remove|delete|undo|clear|drop|erase|forget|reset|"
    r"cancel|take\s+back|scrap)\s+(?:my\s+|the\s+)?(?:rating|stars|score|vote)s?\s+"
    r"(?:of|for|on|from))\s+(?P<title>.+?)"
    rf"(?:\s+{_POLITE})?$|"
    r"^(?:please\s+|pls\s+)?(?:remove|delete|drop|take|erase)\s+(?P<title2>.+?)\s+"
    rf"(?:from|off|out\s+of)\s+my\s+(?:ratings|list|rated\s+movies)(?:\s+{_POLITE})?$|"
    r"^(?:please\s+|pls\s+)?(?:un-?rate|(?:remove|delete|undo|clear)\s+(?:my\s+|a\s+)?rating)"
    rf"(?:\s+{_POLITE})?$"  # no title: the bot asks which
)
_FORGET = re.compile(
    r"^(?:please\s+|pls\s+)?(?:"
    r"forget\s+(?:about\s+)?me(?:\s+(?:completely|entirely|forever))?|"
    r"forget\s+(?:everything|all)\s+(?:you\s+know\s+)?about\s+me|"
    r"forget\s+who\s+i\s+am|"
    r"(?:delete|erase|wipe|purge)\s+me|"
    r"(?:delete|remove|erase|wipe|clear|purge)\s+(?:all\s+(?:of\s+)?)?(?:"
    r"my\s+(?:data|info|information|account|history|profile|stuff|ratings)|"
    r"everything\s+(?:you\s+(?:know|have|store|keep)\s+)?(?:about|on|of)\s+me)"
    rf")(?:\s+{_POLITE})?$"
)
# Help requests and small talk, as the units a short message is made of ("hi, thanks!"). Each
# alternative is matched whole and the longest wins; a message is small talk when units make up
# all of it. Kind "" marks words that only go with other units ("thanks so much", "hi all").
_YOU = r"(?:you|u|ya)"
_TALK_UNITS: dict[str, tuple[str, ...]] = {
    "help": (
        r"help(?:\s+me)?", r"commands?", r"command\s+list", r"menu", r"usage", r"info",
        r"features", r"instructions", rf"what\s+can\s+{_YOU}\s+do", rf"what\s+do\s+{_YOU}\s+do",
        r"what\s+are\s+your\s+commands", r"what'?s\s+new", r"what\s+is\s+new",
        r"anything\s+new", r"how\s+does\s+(?:this|it|this\s+bot)\s+work",
        r"how\s+(?:do\s+i|to|can\s+i)\s+(?:use|rate|talk\s+to)"
        r"(?:\s+(?:you|this|it|the\s+bot|this\s+bot|a\s+movie|movies))?",
    ),
    "thanks": (
        r"thanks?", r"thx", r"tx", r"ty", r"tysm", rf"thank\s*{_YOU}", r"cheers",
        r"much\s+appreciated", r"appreciate\s+it",
    ),
    "bye": (
        r"bye+", r"good\s*bye", r"bye\s+bye", r"good\s*night", r"nite", r"gn", r"night", r"cya",
        r"later", r"ttyl", r"gotta\s+go", rf"see\s+{_YOU}(?:\s+(?:later|soon|tomorrow|around))?",
        r"i'?m\s+off",
    ),
    "how": (
        rf"how\s+(?:are|r)\s+{_YOU}(?:\s+doing)?", r"how'?s\s+it\s+going",
        r"how\s+is\s+it\s+going", rf"how\s+{_YOU}\s+doing", r"how'?s\s+your\s+day",
        r"what'?s\s+up", r"wh?at\s*up", r"wassup", r"sup", rf"how\s+have\s+{_YOU}\s+been",
        rf"(?:are\s+)?{_YOU}\s+ok(?:ay)?",
    ),
    "who": (
        rf"who\s+are\s+{_YOU}", rf"what\s+are\s+{_YOU}", r"what'?s\s+your\s+name",
        rf"are\s+{_YOU}\s+(?:a\s+bot|real|alive|human|sentient|an?\s+ai|a\s+robot)",
        rf"who\s+(?:made|built|created)\s+{_YOU}",
    ),
    "ping": (
        rf"(?:are\s+)?{_YOU}\s+(?:there|awake|here|online)",
        r"any(?:one|body)(?:\s+(?:there|home|here))?",
        rf"can\s+{_YOU}\s+(?:hear|see)\s+me", r"ping", r"test(?:ing)?", r"just\s+testing",
    ),
    "laugh": (
        r"l+o+l+(?:o*l+)*", r"lmf?a+o+", r"rofl", r"a?(?:ha){2,}h?", r"(?:he){2,}", r"hihi+",
        r"xd+", r"kek", r"lul", r"heh",
    ),
    "praise": (
        r"good\s+(?:bot|job|work|one|stuff)", r"well\s+done", r"nice\s+(?:one|work|job|bot)",
        r"great\s+(?:job|work|bot|picks?)", rf"(?:i\s+)?love\s+(?:{_YOU}|this\s+bot|this)",
        rf"{_YOU}\s+rock", r"(?:so\s+|very\s+)?helpful",
        rf"(?:you'?re|{_YOU}\s+are|ur|u\s+r)\s+(?:the\s+best|awesome|great|amazing|cool|smart|"
        r"the\s+goat|a\s+legend)",
    ),
    "scold": (
        r"(?:bad|stupid|dumb|useless)\s+bot", rf"{_YOU}\s+suck",
        rf"(?:you'?re|{_YOU}\s+are|ur|u\s+r)\s+(?:dumb|stupid|useless|wrong|broken)",
        r"that'?s\s+(?:wrong|not\s+it)", r"wrong", r"useless", r"shut\s+up", r"go\s+away",
    ),
    "sorry": (
        r"sorry", r"my\s+bad", r"oops+", r"whoops", r"nvm", r"never\s*mind",
        r"ignore\s+(?:me|that|this)", r"wrong\s+(?:channel|bot)", r"not\s+you", r"nothing",
        r"forget\s+(?:it|that|about\s+it)",
    ),
    "ack": (
        r"ok(?:ay)?", r"k+", r"sure", r"yes+", r"yeah+", r"yep", r"yup", r"ya", r"no+", r"nope",
        r"nah", r"alright", r"fine", r"cool", r"nice+", r"neat", r"great", r"awesome", r"wow+",
        r"whoa", r"omg", r"true", r"same", r"fair", r"indeed", r"got\s+it", r"makes\s+sense",
        r"i\s+see", r"interesting", r"hm+", r"huh", r"meh", r"ugh", r"ya+y", r"woo+", r"woohoo",
        r"damn", r"dang", r"bruh", r"lit", r"sick", r"based", r"gg", r"brb", r"idk", r"oh+",
        r"ah+", r"uh+", r"um+", r"np", r"no\s+problem", r"(?:yes|no)\s+please",
        r"sounds\s+good", r"perfect", r"ikr", r"fr", r"facts", r"(?:big\s+)?mood", r"rip",
        r"welp", r"well", r"let'?s\s+go", r"lets\s+go", r"agreed", r"exactly", r"right",
    ),
    "greeting": (
        r"hi+", r"hey+", r"hello+", r"hiya", r"howdy", r"yo+", r"heya", r"hai", r"greetings",
        r"good\s+(?:morning|afternoon|evening|day)", r"g?morning", r"gm", r"evening",
        r"(?:movie\s*)?bot",
    ),
    "": (
        r"there", r"all", r"every(?:one|body)", r"y'?all", r"guys", r"folks", r"friend",
        r"buddy", r"pal", r"mate", r"man", r"dude", r"bro", r"again", r"please", r"pls",
        r"today", r"tonight", r"and", r"too", r"then", r"a\s+lot", r"so\s+much", r"very\s+much",
        r"a\s+bunch", r"for\s+(?:that|this|the\s+help|help|everything)", rf"to\s+{_YOU}",
        rf"{_YOU}\s+too", r"very", r"really", r"so",
    ),
}  # fmt: skip
_UNITS = tuple(
    (kind, re.compile(rf"(?:{alternative})(?=\s|$)"))
    for kind, alternatives in _TALK_UNITS.items()
    for alternative in alternatives
)
_WEAK_KINDS = ("greeting", "ack")  # "hi, thanks" is thanks; "ok bye" is bye


@dataclass(frozen=True)
class ChatRequest:
    """What a message asks for; `stars` is None when a rating is missing its stars."""

    intent: Intent
    title: str = ""
    stars: float | None = None
    bare_number: bool = False  # stars came from a lone trailing number ("toy story 2")
    rate_verb: bool = False  # "rate …", "I gave …": a rating was asked for even without stars
    out_of_range: float | None = None  # stars given outside ½..5 ("se7en 6 stars")
    talk: Talk | None = None  # the kind of small talk, for a fitting reply (or a hint for one)

    @property
    def sure(self) -> bool:
        """Whether the message is surely a rating, not a short phrase only guessed to be a title."""
        return self.stars is not None or self.out_of_range is not None or self.rate_verb


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
    if m and len(m.group(1)) <= 5:
        value = len(m.group(1)) + (0.5 if m.group(2) else 0)
        return round_half(value), _without(text, m), False
    m = _TRAILING_NUMBER.search(text)
    if m:
        value = _number(m.group(1), m.group(2))
        if 0 < value <= 5:
            return round_half(value), _without(text, m), True
    return None, text, False


def extract_out_of_range(text: str) -> tuple[float | None, str]:
    """Stars given explicitly but outside ½..5 ("6 stars", "0 stars", six ★): (value, rest)."""
    m = _ANY_NUMBER_STARS.search(text)
    if m:
        raw = m.group(1)
        value = _WORDS_BEYOND.get(raw)
        value = float(raw.replace(",", ".")) if value is None else float(value)
        if not 0 < value <= 5:
            return value, _without(text, m)
    m = _STAR_GLYPHS.search(text)
    if m and len(m.group(1)) > 5:
        return float(len(m.group(1))), _without(text, m)
    return None, text


def small_talk(text: str) -> tuple[str | None, bool]:
    """The kind of small talk (or "help") a message opens with, and whether that is all of it.

    Returns (None, False) when it does not open with any; the kind of "hi, thanks" is "thanks".
    """
    plain = re.sub(r"[^\w\s']", " ", text.replace("’", "'"))
    plain = re.sub(r"\s+", " ", plain).strip()
    kinds: list[str] = []
    pos = 0
    while pos < len(plain):
        hits = [
            (m.end(), -k, kind)
            for k, (kind, unit) in enumerate(_UNITS)
            if (m := unit.match(plain, pos))
        ]
        if not hits:
            break
        end, _, kind = max(hits)  # the longest; on a tie, the first in the table
        kinds.append(kind)
        pos = end + 1  # the space after the unit
    meaningful = [k for k in kinds if k]
    if not meaningful:
        return None, False
    if "help" in meaningful:
        return "help", pos >= len(plain)
    strong = [k for k in meaningful if k not in _WEAK_KINDS]
    return (strong or meaningful)[0], pos >= len(plain)


def _talk(kind: str | None) -> Talk | None:
    """A small-talk kind as the Talk literal (help is an intent of its own)."""
    return None if kind in (None, "help") else kind  # type: ignore[return-value]


def parse(text: str) -> ChatRequest:
    """Classify a chat message into one request the bot can answer."""
    body = clean(text)
    lower = body.lower().rstrip("?!. ")
    if not re.search(r"\w", lower) and not re.search(r"[★⭐🌟]", lower):
        return _wordless(text or "")
    m = _UNRATE.search(lower)
    if m:
        return ChatRequest("unrate", (m.group("title") or m.group("title2") or "").strip(" ?!.\"'"))
    if _FORGET.search(re.sub(r"[^\w\s']", " ", lower).strip()):
        return ChatRequest("forget")
    m = _SIMILAR.search(lower)
    if m:
        title = (m.group("title") or m.group("title2") or "").strip(" ?!.\"'")
        if title:
            return ChatRequest("similar", title)
    if _MYRATINGS.search(lower):
        return ChatRequest("myratings")
    if _RECOMMEND.search(lower):
        return ChatRequest("recommend")
    out_of_range, rest = extract_out_of_range(lower)  # first: "heat 7 ★" is not one star
    stars, rest, bare = (None, rest, False) if out_of_range is not None else extract_stars(lower)
    verb = bool(_RATE_FILLER.match(rest))
    guessing = stars is None and out_of_range is None and not verb  # a bare phrase: a title?
    kind, whole = small_talk(lower) if guessing else (None, False)
    if whole:
        return ChatRequest("help") if kind == "help" else ChatRequest("smalltalk", talk=_talk(kind))
    title = _LEADING_FILLER.sub("", _RATE_FILLER.sub("", rest)).strip()
    while True:
        trimmed = _TRAILING_FILLER.sub("", title).strip(" \"'.!?")
        if trimmed == title:
            break
        title = trimmed
    if not re.search(r"\w", title):
        return ChatRequest("help", out_of_range=out_of_range)
    if guessing and not _looks_like_title(title):
        return ChatRequest("smalltalk", talk=_talk(kind) or "chatter")
    return ChatRequest("rate", title, stars, bare, verb, out_of_range, _talk(kind))


def _wordless(text: str) -> ChatRequest:
    """A message without words: emoji get emoji back, a bare mention a hello, "?" the help."""
    text = text[: MAX_TEXT * 4]
    rest = _MENTION.sub(" ", text)
    if _CUSTOM_EMOJI.search(text) or any(unicodedata.category(c) in ("So", "Sk") for c in rest):
        return ChatRequest("smalltalk", talk="emoji")
    if "?" in rest:
        return ChatRequest("help")
    return ChatRequest("smalltalk", talk="greeting")


def _looks_like_title(text: str) -> bool:
    """Short phrases are treated as titles to rate (the bot then asks for stars)."""
    return len(text.split()) <= 8 and len(text) <= MAX_TITLE
