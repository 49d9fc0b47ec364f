"""Durations and start times as members type them: "2h", "1h30m", "in 90m", "fri 20:30".

Everything raises ValueError with a sentence a member can act on; times without a zone are
read in the club's zone (NIGHT_TIMEZONE).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MIN_POLL_S = 60.0
MAX_POLL_S = 7 * 86400.0
_UNITS = {
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)")
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAYS = {name: k for k, day in enumerate(_DAYS) for name in (day, day[:3])} | {
    "tues": 1,
    "thur": 3,
    "thurs": 3,
}
_CLOCK = re.compile(r"^(\d{1,2})(?:h|h?(?:[:.h](\d{2})))?\s*(am|pm)?$")
_OFFSET = re.compile(r"^(?:utc|gmt)?([+-])(\d{1,2})(?::?(\d{2}))?$")
WHEN_EXAMPLES = "`in 2h`, `20:30`, `tomorrow 20:30`, `fri 9pm` or `2025-06-07 20:30 Europe/Paris`"


def parse_duration(text: str) -> float:
    """Seconds in "90" (minutes), "45m", "2h", "1h30m", "1.5 hours", "1d"; ValueError if not."""
    raw = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", raw):
        return float(raw) * 60
    compact = re.sub(r"\s+", "", raw)
    parts = _PART.findall(compact)
    if not parts or "".join(n + u for n, u in parts) != compact:
        raise ValueError(f"I couldn't read “{text.strip()}” as a duration: try 30m, 2h or 1d.")
    total = 0.0
    for number, unit in parts:
        if unit not in _UNITS:
            raise ValueError(f"“{unit}” is not a unit I know: use m, h or d (like 30m, 2h, 1d).")
        total += float(number) * _UNITS[unit]
    return total


def poll_duration(text: str) -> float:
    """How long a vote stays open, from 1 minute to 7 days; ValueError saying the range."""
    seconds = parse_duration(text)
    if not MIN_POLL_S <= seconds <= MAX_POLL_S:
        raise ValueError("A vote can stay open from 1 minute to 7 days (like 30m, 2h or 1d).")
    return seconds


def _zone(word: str) -> tzinfo | None:
    """A time zone from "UTC", "Z", "+02:00", "utc-5" or an IANA name; None if it is not one."""
    low = word.lower()
    if low in ("utc", "gmt", "z"):
        return UTC
    match = _OFFSET.match(low)
    if match:
        sign, hours, minutes = match.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
        if delta > timedelta(hours=14):
            raise ValueError(f"“{word}” is not a real UTC offset (they go from -12 to +14).")
        return timezone(delta if sign == "+" else -delta)
    if "/" in word:
        try:
            return ZoneInfo(word)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"“{word}” is not a time zone I know (like Europe/Paris).") from None
    return None


def _clock(word: str) -> time | None:
    """A time of day from "20:30", "20h30", "8pm", "8:30pm", "21"; None if it is not one."""
    match = _CLOCK.match(word.lower())
    if match is None:
        return None
    hour, minute, half = int(match[1]), int(match[2] or 0), match[3]
    if half:
        if not 1 <= hour <= 12:
            raise ValueError(f"“{word}”: with am/pm the hour goes from 1 to 12.")
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour > 23 or minute > 59:
        raise ValueError(f"“{word}” is not a time of day.")
    return time(hour, minute)


def parse_start(text: str, now: datetime, zone: tzinfo) -> datetime:
    """When a night starts, as an aware datetime; ValueError naming what to type instead.

    "in 2h" counts from `now`; a time alone is the next time the clock shows it; a weekday is
    its next occurrence; "today"/"tonight"/"tomorrow" and YYYY-MM-DD dates need a time too.
    """
    raw = " ".join(text.strip().split())
    low = raw.lower()
    if low.startswith("in "):
        return now + timedelta(seconds=parse_duration(low[3:]))
    words = raw.replace(" am", "am").replace(" pm", "pm").split(" ")
    where = zone
    if len(words) > 1 and (found := _zone(words[-1])) is not None:
        where, words = found, words[:-1]
    local_now = now.astimezone(where)
    day: date | None = None
    at: time | None = None
    weekday = False
    for word in words:
        low = word.lower().rstrip(",")
        if low in ("today", "tonight"):
            day = local_now.date()
        elif low == "tomorrow":
            day = local_now.date() + timedelta(days=1)
        elif low in _WEEKDAYS and day is None:
            ahead = (_WEEKDAYS[low] - local_now.weekday()) % 7
            day, weekday = local_now.date() + timedelta(days=ahead), True
        elif re.fullmatch(r"\d{4}-\d{2}-\d{2}", low):
            try:
                day = date.fromisoformat(low)
            except ValueError:
                raise ValueError(f"“{word}” is not a real date.") from None
        elif (clock := _clock(low)) is not None and at is None:
            at = clock
        else:
            raise ValueError(f"I couldn't read “{raw}” as a time: try {WHEN_EXAMPLES}.")
    if at is None:
        raise ValueError(f"Add a time of day to “{raw}”, like 20:30 or 9pm.")
    if day is None:
        day = local_now.date()
        if datetime.combine(day, at, where) <= local_now:
            day += timedelta(days=1)
    elif weekday and datetime.combine(day, at, where) <= local_now:
        day += timedelta(days=7)
    return datetime.combine(day, at, where)


def zone_named(name: str) -> tzinfo:
    """The club's time zone from its name (settings were already checked)."""
    return UTC if name.upper() == "UTC" else ZoneInfo(name)
