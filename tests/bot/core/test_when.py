"""Durations and start times as members type them, and the answers to what cannot be read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.core.when import parse_duration, parse_start, poll_duration

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2025, 6, 4, 19, 0, tzinfo=UTC)  # a Wednesday, 21:00 in Paris


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 5400),
        ("45m", 2700),
        ("2h", 7200),
        ("1h30m", 5400),
        ("1.5 hours", 5400),
        ("1d", 86400),
    ],
)
def test_durations(text: str, seconds: float):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "says"),
    [("soon", "as a duration"), ("3 weeks", "not a unit I know"), ("0m", "1 minute to 7 days")],
)
def test_bad_vote_lengths_say_what_works(text: str, says: str):
    with pytest.raises(ValueError, match=says):
        poll_duration(text)
    assert poll_duration("7d") == 7 * 86400


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("in 2h", datetime(2025, 6, 4, 21, 0, tzinfo=UTC)),
        ("22:30", datetime(2025, 6, 4, 22, 30, tzinfo=PARIS)),  # still ahead today
        ("20:30", datetime(2025, 6, 5, 20, 30, tzinfo=PARIS)),  # passed: tomorrow
        ("tonight 23h", datetime(2025, 6, 4, 23, 0, tzinfo=PARIS)),
        ("tomorrow 8:30 pm", datetime(2025, 6, 5, 20, 30, tzinfo=PARIS)),
        ("fri 9pm", datetime(2025, 6, 6, 21, 0, tzinfo=PARIS)),
        ("wednesday 20:00", datetime(2025, 6, 11, 20, 0, tzinfo=PARIS)),  # today's has passed
        ("2025-06-07 20:30 UTC", datetime(2025, 6, 7, 20, 30, tzinfo=UTC)),
        (
            "2025-06-07 20:30 America/New_York",
            datetime(2025, 6, 7, 20, 30, tzinfo=ZoneInfo("America/New_York")),
        ),
        ("21h15 +02:00", datetime(2025, 6, 4, 21, 15, tzinfo=timezone(timedelta(hours=2)))),
    ],
)
def test_start_times(text: str, expected: datetime):
    assert parse_start(text, NOW, PARIS) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("soon", "try `in 2h`"),
        ("tomorrow", "Add a time of day"),
        ("2025-13-01 20:00", "not a real date"),
        ("25:00", "not a time of day"),
        ("13pm", "from 1 to 12"),
        ("20:30 Mars/Olympus", "not a time zone I know"),
        ("20:30 utc+15", "not a real UTC offset"),
    ],
)
def test_unreadable_start_times_say_what_to_type(text: str, says: str):
    with pytest.raises(ValueError, match=says):
        parse_start(text, NOW, PARIS)
