"""Offline mode: the console drives the real bot through the emulator, as a user would."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.offline import parse_command, run_offline
from tests.bot.conftest import e2e_settings


def test_parse_command_splits_options_and_keeps_spaces_in_values():
    assert parse_command("/rate movie:the shawshank redemption stars:5") == (
        "rate",
        {"movie": "the shawshank redemption", "stars": "5"},
    )
    assert parse_command('/similar movie:"alien"') == ("similar", {"movie": "alien"})
    assert parse_command("/recommend") == ("recommend", {})


@pytest.mark.asyncio
async def test_a_console_session_rates_clicks_chats_and_switches_member(tmp_path: Path):
    settings = e2e_settings(tmp_path)
    lines: asyncio.Queue[str | None] = asyncio.Queue()
    for line in (
        "/rate movie:se7en stars:5",
        "click 1",
        "as sam",
        "recommend me something",
        "as nobody",
        "/recommend",
        "quit",
    ):
        lines.put_nowait(line)
    out: list[str] = []
    await asyncio.wait_for(run_offline(settings, lines, out.append), 120)
    text = "\n".join(out)
    assert "Rated **Seven (Se7en) (1995)**: ★★★★★ 5" in text
    assert "Have you seen it?" in text  # the "Rate similar movies" card opened
    assert "you are now sam" in text
    assert "Popular, well-loved movies" in text  # sam has no ratings yet
    assert "users: you, sam, alex" in text
    assert "[emulator] Discord would reject" not in text
    assert (settings.data_dir / "offline" / "moviebot.db").is_file()  # its own database
