"""Understand list requests in chat: "add alien to my watchlist", "take heat off my watchlist",
"what's on my watchlist", "not interested in cats"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from bot.core.chat_parse import clean

ListAction = Literal["add", "remove", "show"]
_LIST = r"(?:my\s+)?watch\s*-?\s*list"
_POLITE = r"(?:\s+(?:please|pls|thanks|thx|now))?"
_ADD = re.compile(
    rf"^(?:please\s+|pls\s+|can\s+you\s+|could\s+you\s+)?(?:add|put|save|stick|throw|pop)\s+"
    rf"(?P<title>.+?)\s+(?:to|on|onto|in|into)\s+{_LIST}{_POLITE}$"
)
_REMOVE = re.compile(
    rf"^(?:please\s+|pls\s+)?(?:remove|delete|drop|take|cross)\s+(?P<title>.+?)\s+"
    rf"(?:from|off|out\s+of)\s+{_LIST}{_POLITE}$"
)
_SHOW = re.compile(
    rf"^(?:(?:show|list|display|see|check)\s+(?:me\s+)?|what'?s\s+(?:on|in)\s+|"
    rf"what\s+is\s+(?:on|in)\s+)?{_LIST}{_POLITE}$"
)
_NOT_INTERESTED = re.compile(
    rf"^(?:i'?m\s+|i\s+am\s+)?not\s+interested\s+in\s+(?P<title>.+?){_POLITE}$|"
    rf"^(?:never|don'?t|do\s+not|stop)\s+(?:suggest|recommend)(?:ing)?\s+(?P<title2>.+?)"
    rf"(?:\s+(?:to\s+me|again|ever))*{_POLITE}$"
)


@dataclass(frozen=True)
class ListRequest:
    """What a list message asks: an action on a list, with a title unless it shows the list."""

    action: ListAction
    list: Literal["watchlist", "not_interested"] = "watchlist"
    title: str = ""


def parse_list_request(text: str) -> ListRequest | None:
    """The list request a chat message makes, or None when it makes none."""
    lower = clean(text).lower().replace("’", "'").rstrip("?!. ")
    if (
        "watch" not in lower
        and "interested" not in lower
        and "suggest" not in lower
        and ("recommend" not in lower)
    ):
        return None
    if m := _ADD.match(lower):
        return ListRequest("add", "watchlist", _title(m.group("title")))
    if m := _REMOVE.match(lower):
        return ListRequest("remove", "watchlist", _title(m.group("title")))
    if _SHOW.match(lower):
        return ListRequest("show")
    if m := _NOT_INTERESTED.match(lower):
        return ListRequest("add", "not_interested", _title(m.group("title") or m.group("title2")))
    return None


def _title(text: str) -> str:
    """The title without quotes or a leading "the movie"."""
    title = re.sub(r"^(?:the\s+)?(?:movie|film)\s+", "", text.strip(" \"'“”"))
    return title.strip(" \"'“”")
