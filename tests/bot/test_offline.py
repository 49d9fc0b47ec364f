"""Offline mode: the console drives the real bot through the emulator, as a user would.

The end-to-end tests run `python -m bot offline` in a pseudo-terminal, type lines and wait for
what it prints; the rest check the console's parsing helpers and its terminal.
"""

from __future__ import annotations

import asyncio
import os
import pty
import re
import select
import signal
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.emulator.messages import Button, Select
from bot.offline import (
    PROMPT,
    CommandLineError,
    Terminal,
    describe_command,
    parse_command,
    pick_button,
    pick_options,
    run_offline,
)
from tests.bot.conftest import TINY_MODEL_ENV, e2e_settings
from tests.bot.history_builders import lb_ratings
from tests.conftest import write_ml100k

STARTUP = 180.0  # loading, the first fit in a worker process and login, on a busy machine
ROOT = Path(__file__).resolve().parents[2]  # the checkout under test, whatever is installed
ANSWER = 60.0

COMMANDS: list[dict[str, Any]] = [
    {
        "name": "rate",
        "type": 1,
        "description": "Rate a movie.",
        "options": [
            {"name": "movie", "type": 3, "required": True, "description": "The movie."},
            {
                "name": "stars",
                "type": 10,
                "required": True,
                "description": "Stars.",
                "choices": [{"name": "★★★★★ 5", "value": 5.0}, {"name": "½ 0.5", "value": 0.5}],
            },
        ],
    },
    {
        "name": "similar",
        "type": 1,
        "description": "More like this.",
        "options": [
            {"name": "movie", "type": 3, "required": True, "description": "The movie."},
            {
                "name": "count",
                "type": 4,
                "description": "How many.",
                "min_value": 1,
                "max_value": 20,
            },
        ],
    },
    {"name": "status", "type": 1, "description": "How the model is doing.", "options": []},
    {
        "name": "clubmovie",
        "type": 1,
        "description": "Manage club movies.",
        "default_member_permissions": "32",
        "options": [
            {
                "name": "rename",
                "type": 1,
                "description": "Give a club movie another title.",
                "options": [
                    {"name": "movie", "type": 3, "required": True, "description": "Which."},
                    {"name": "title", "type": 3, "required": True, "description": "New title."},
                ],
            },
            {"name": "remove", "type": 1, "description": "Remove one.", "options": []},
        ],
    },
    {
        "name": "night",
        "type": 1,
        "description": "Pick for a group.",
        "options": [
            {"name": "friend", "type": 6, "description": "Who."},
            {"name": "voice", "type": 5, "description": "Use voice."},
        ],
    },
]


# --- parsing helpers ---------------------------------------------------------------------------


def test_only_the_commands_own_option_names_split_options():
    assert parse_command("/rate movie:Star Trek: First Contact stars:4", COMMANDS) == (
        "rate",
        {"movie": "Star Trek: First Contact", "stars": "4"},
    )
    assert parse_command("/rate stars:4 movie:the shawshank redemption", COMMANDS) == (
        "rate",
        {"stars": "4", "movie": "the shawshank redemption"},
    )
    assert parse_command("/similar movie:Mission: Impossible count:3", COMMANDS) == (
        "similar",
        {"movie": "Mission: Impossible", "count": "3"},
    )
    assert parse_command("/status", COMMANDS) == ("status", {})


def test_quotes_protect_a_value_and_leading_text_fills_the_first_required_option():
    assert parse_command('/similar movie:"alien"', COMMANDS) == ("similar", {"movie": "alien"})
    assert parse_command('/similar movie:"the count: 3 stars:" count:2', COMMANDS) == (
        "similar",
        {"movie": "the count: 3 stars:", "count": "2"},
    )
    assert parse_command("/similar alien count:3", COMMANDS) == (
        "similar",
        {"movie": "alien", "count": "3"},
    )
    assert parse_command("/rate Haven't Seen It stars:5", COMMANDS) == (
        "rate",
        {"stars": "5", "movie": "Haven't Seen It"},
    )


def test_subcommands_and_mistakes_are_named():
    assert parse_command("/clubmovie rename movie:Opp 2023 title:Oppenheimer (2023)", COMMANDS) == (
        "clubmovie rename",
        {"movie": "Opp 2023", "title": "Oppenheimer (2023)"},
    )
    with pytest.raises(CommandLineError, match="needs one of: rename, remove"):
        parse_command("/clubmovie movie:x", COMMANDS)
    with pytest.raises(CommandLineError, match=r"no command /nope; the bot has /rate, /similar"):
        parse_command("/nope", COMMANDS)
    with pytest.raises(CommandLineError, match="/status takes no options"):
        parse_command("/status now", COMMANDS)
    with pytest.raises(CommandLineError, match="option movie given twice"):
        parse_command("/similar movie:a movie:b", COMMANDS)


def test_buttons_are_found_by_label_with_apostrophes_emoji_or_number():
    buttons = [
        Button("★", "c:1", False, 1),
        Button("Haven't seen it", "c:k", False, 2),
        Button("Rate similar movies", "rate-similar", False, 2),
    ]
    assert pick_button(buttons, "Haven't seen it").custom_id == "c:k"
    assert pick_button(buttons, "haven’t SEEN it").custom_id == "c:k"
    assert pick_button(buttons, "[🎬 Rate similar movies]").custom_id == "rate-similar"
    assert pick_button(buttons, "1").custom_id == "c:1"
    with pytest.raises(CommandLineError, match=r"buttons: 1:\[★\] 2:\[Haven't seen it\]"):
        pick_button(buttons, "4")


def test_menu_options_are_found_by_label_value_or_number():
    half = Select(
        "stars:half", 3, [("★★★★½ 4.5", "4.5"), ("★ 1", "1.0"), ("Schindler's List", "527")],
        None, 1, 2, False,
    )  # fmt: skip
    assert pick_options(half, "4.5") == ["4.5"]
    assert pick_options(half, "1") == ["1.0"]  # the value 1.0, not the first option
    assert pick_options(half, "3") == ["527"]  # no such value: the third option
    assert pick_options(half, "schindler's list") == ["527"]
    assert pick_options(half, "4.5 1") == ["4.5", "1.0"]
    with pytest.raises(CommandLineError, match=r"options: ★★★★½ 4.5 \(4.5\)"):
        pick_options(half, "7")


def test_help_lines_come_from_the_command_definitions():
    rate, similar, _, club, night = COMMANDS
    assert describe_command(rate) == [
        "  /rate movie:<text> stars:<5|0.5>",
        "      Rate a movie.",
    ]
    assert describe_command(similar)[0] == "  /similar movie:<text> [count:<1-20>]"
    assert describe_command(club) == [
        "  /clubmovie rename movie:<text> title:<text>",
        "      Give a club movie another title. [needs Manage Server]",
        "  /clubmovie remove",
        "      Remove one. [needs Manage Server]",
    ]
    assert describe_command(night)[0] == "  /night [friend:<member>] [voice:<true|false>]"


async def test_terminal_reads_piped_lines_echoes_them_and_ends_at_eof(tmp_path: Path):
    read_end, write_end = os.pipe()
    os.write(write_end, "/rate movie:Amélie stars:5\nlast line without newline".encode())
    os.close(write_end)
    out_path = tmp_path / "out.txt"
    with os.fdopen(read_end) as stdin, out_path.open("w") as stdout:
        terminal = Terminal(stdin, stdout)
        terminal.open()
        try:
            assert await terminal.read_line() == "/rate movie:Amélie stars:5"
            terminal.write("an answer")
            assert await terminal.read_line() == "last line without newline"
            assert await terminal.read_line() is None
            terminal.write("arrived while waiting")  # above a fresh prompt
            terminal.finish("Bye.")
        finally:
            terminal.close()
    assert out_path.read_text() == (
        f"{PROMPT}/rate movie:Amélie stars:5\nan answer\n{PROMPT}last line without newline\n"
        f"{PROMPT}\narrived while waiting\n{PROMPT}\nBye.\n"
    )


# --- in-process session (fast, on the tiny fixture) ---------------------------------------------


async def test_a_console_session_rates_clicks_chats_and_switches_member(tmp_path: Path):
    settings = e2e_settings(tmp_path)
    lines: asyncio.Queue[str | None] = asyncio.Queue()
    for line in (
        "/rate movie:se7en stars:5",
        "click 1",
        "as sam",
        "recommend me something",
        "as nobody",
        "/recommend count:x",
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
    assert "error: no member “nobody”; members: you, sam, alex" in text
    assert "error: count: expected a number, got 'x'" in text
    assert out[-1] == "Bye."
    assert "[emulator] Discord would reject" not in text
    assert (settings.data_dir / "offline" / "moviebot.db").is_file()  # its own database


async def test_a_console_session_imports_a_file_and_saves_the_export(tmp_path: Path):
    settings = e2e_settings(tmp_path)
    upload = tmp_path / "my ratings.csv"
    upload.write_bytes(lb_ratings([("Alien", 1979, 4.5), ("Heat", 1995, 4.0)]))
    lines: asyncio.Queue[str | None] = asyncio.Queue()
    for line in (
        f"/import file:{upload}",
        "click 1",
        f"/import file:{tmp_path / 'missing.csv'}",
        "/export",
        "quit",
    ):
        lines.put_nowait(line)
    out: list[str] = []
    await asyncio.wait_for(run_offline(settings, lines, out.append), 120)
    text = "\n".join(out)
    assert "| ** Import from Letterboxd **" in text and "✅ **2 new ratings**" in text
    assert "Imported from Letterboxd: 2 new ratings." in text
    assert f"error: file: no file at {tmp_path / 'missing.csv'}" in text
    saved = settings.data_dir / "offline" / "files" / "ratings.csv"
    assert f"(saved ratings.csv to {saved})" in text
    assert "Alien,1979,,,9," in saved.read_text()
    assert "[emulator] Discord would reject" not in text


async def test_a_whole_movie_night_in_the_console(tmp_path: Path):
    settings = e2e_settings(tmp_path)
    lines: asyncio.Queue[str | None] = asyncio.Queue()
    out: list[str] = []
    session = asyncio.create_task(run_offline(settings, lines, out.append))

    async def say(line: str, then: str) -> str:
        """Type a line; return what the console printed once `then` shows up."""
        start = len(out)
        lines.put_nowait(line)
        deadline = time.monotonic() + 60
        while not any(then in chunk for chunk in out[start:]):
            assert time.monotonic() < deadline, f"no {then!r} after {line!r}: {out[start:]}"
            await asyncio.sleep(0.01)
        return "\n".join(out[start:])

    await say("/rate movie:se7en stars:5", "Rated **")
    await say("/movienight start", "Choose who's watching")
    shown = await say("select 1 sam alex", "Movie night for you, sam, alex")
    tick = re.search(r"\[1\. (.+?)\] \[2\. ", shown)
    assert tick is not None
    title = tick[1]
    await say("click 1", "[edited]")
    await say("as sam", "you are now sam")
    shown = await say("click 1", "[edited]")
    assert "@you @sam" in shown  # who ticked, as a client shows mentions
    await say("as you", "you are now you")
    await say("click Close poll", "🍿 Tonight's movie")
    shown = await say("click Schedule it", "(the bot opened a form")
    assert "fill when:<When> where:<Where (voice channel or a place)>" in shown
    shown = await say("fill when:in 3h where:Movie Night", "📅")
    assert f"📅 **{title}** is on for " in shown and " in #Movie Night" in shown
    await say("as sam", "you are now sam")
    await say("interested", "(sam is interested in “Movie night: ")
    shown = await say("wait 2h50m", "⏰")
    assert "(the bot's clock moves 2h50m ahead)" in shown
    assert f"⏰ **{title}** starts in 10 min in #Movie Night. 1 member going: @sam." in shown
    await say("wait 2h10m", f"🎬 **{title}** is over. How did you like it, @sam?")
    shown = await say("click ★★★★", "Thanks!")
    assert f"Thanks! Your rating of **{title}** is now ★★★★ 4." in shown
    shown = await say("/movienight history", "Movie nights of Offline Movie Club")
    assert "4.0★ from 1 answer · 1 member went" in shown
    lines.put_nowait("quit")
    await asyncio.wait_for(session, 60)
    text = "\n".join(out)
    assert "[emulator] Discord would reject" not in text and "error:" not in text, text
    assert out[-1] == "Bye."


# --- end to end: `python -m bot offline` in a pseudo-terminal -----------------------------------


def offline_env(root: Path) -> dict[str, str]:
    """Environment for a console on the tiny dataset (plus two titles with colons), no network."""
    folder = write_ml100k(root / "movielens" / "ml-100k")
    item = (folder / "u.item").read_bytes().decode("latin-1")
    item = item.replace("Filler Movie 0 (1960)", "Star Trek: First Contact (1996)")
    item = item.replace("Filler Movie 1 (1961)", "Star Trek: The Wrath of Khan (1982)")
    (folder / "u.item").write_bytes(item.encode("latin-1"))
    env = dict(os.environ)
    env.update(
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p),
        DATA_DIR=str(root / "data"),
        MOVIELENS_DIR=str(root / "movielens"),
        **TINY_MODEL_ENV,
        LOG_LEVEL="WARNING",
        DISCORD_TOKEN="",
        TMDB_API_KEY="",
    )
    return env


class ConsoleProcess:
    """`python -m bot offline` on a pseudo-terminal: type lines, wait for what it prints."""

    def __init__(self, root: Path) -> None:
        """Start it with its own data folder; stderr goes to a file the test can read."""
        master, slave = pty.openpty()
        attrs = termios.tcgetattr(slave)
        attrs[3] &= ~termios.ECHO  # the output is then only what the console writes
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        self.stderr_path = root / "stderr.txt"
        with self.stderr_path.open("w") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "offline"],
                stdin=slave,
                stdout=slave,
                stderr=stderr,
                env=offline_env(root),
                cwd=root,
            )
        os.close(slave)
        self.master = master
        self.output = ""
        self.seen = 0

    def send(self, line: str) -> None:
        """Type a line and press Enter."""
        os.write(self.master, (line + "\n").encode())

    def _read(self, until: float) -> bool:
        """Read what is there (waiting until `until` at most); False once the terminal closed."""
        ready, _, _ = select.select([self.master], [], [], max(0.0, until - time.monotonic()))
        if not ready:
            return True
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: every process holding the terminal has exited
            return False
        if not data:
            return False
        text = data.decode(errors="replace").replace("\r\x1b[K", "").replace("\r\n", "\n")
        self.output += text
        return True

    def expect(self, text: str, timeout: float = ANSWER) -> str:
        """Wait until `text` is printed after the last expectation; returns the output up to it."""
        deadline = time.monotonic() + timeout
        while text not in self.output[self.seen :]:
            if time.monotonic() > deadline or not self._read(deadline):
                raise AssertionError(
                    f"{text!r} not printed within {timeout} s; output since the last match:\n"
                    f"{self.output[self.seen :]}\nstderr:\n{self.stderr_path.read_text()}"
                )
        end = self.output.index(text, self.seen) + len(text)
        chunk, self.seen = self.output[self.seen : end], end
        return chunk

    def ask(self, line: str, text: str, timeout: float = ANSWER) -> str:
        """Type a line, then wait for `text`."""
        self.send(line)
        return self.expect(text, timeout)

    def exit_code(self, timeout: float = ANSWER) -> int:
        """Wait for the process to end, reading its output meanwhile."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            if not self._read(min(deadline, time.monotonic() + 0.5)):
                break
        return self.proc.wait(max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        """Kill it if a failed test left it running."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


@pytest.fixture
def console(tmp_path: Path) -> Iterator[ConsoleProcess]:
    """A started console, ready for input."""
    running = ConsoleProcess(tmp_path)
    try:
        running.expect("Ready.", STARTUP)
        running.expect(PROMPT)
        yield running
    finally:
        running.close()


def test_the_console_shows_what_discord_would_and_ctrl_c_quits(console: ConsoleProcess):
    shown = console.ask(
        "/rate movie:Star Trek: First Contact stars:4",
        "Rated **Star Trek: First Contact (1996)**: ★★★★ 4",
    )
    assert "unknown option" not in shown

    # a DM is shown, marked, before the reply that points to it
    shown = console.ask("recommend me something", "I sent your picks to you in a direct message.")
    assert "[DM to you]\n  | ** Picks for you **" in shown

    # after a "did you mean" click, each line gets its own answer (no stale replies)
    console.ask("hamlet 4", "Which movie did you mean")
    console.ask("click Hamlet (1948)", "[edited] **Hamlet (1948)** it is.")
    console.expect("Rated **Hamlet (1948)**: ★★★★ 4. You've rated 2 movies.")
    shown = console.ask("what did I rate", "I sent your ratings to you in a direct message.")
    assert "Your latest ratings (2 in all)" in shown and "Rated **" not in shown
    shown = console.ask("something like jaws", "** More like Jaws (1975) **")
    assert "I sent your" not in shown

    console.ask(
        "/rate movie:alien stars:7",
        "error: stars: 7 is not one of the choices: 5, 4.5, 4, 3.5, 3, 2.5, 2, 1.5, 1, 0.5\n",
    )

    console.ask("/onboard", "[+½] [Haven't seen it] [Done]")
    shown = console.ask("click Haven't seen it", "[+½] [Haven't seen it] [Done]")
    assert "[edited] | ** " in shown and "-- Skipped " in shown

    console.ask("/movienight start", "Choose who's watching (you're included):")
    console.ask("select 1 sam alex", "[edited] Finding a movie for you all…")
    console.expect("Movie night for you, sam, alex")

    shown = console.ask("help", "You are you.")
    assert "  /rate movie:<text> stars:<5|4.5|4|3.5|3|2.5|2|1.5|1|0.5>\n" in shown
    assert "  /clubmovie rename movie:<text> title:<text>\n" in shown
    start = "  /movienight start [strategy:<no misery|fair|most pleasure|average>] [voice:"
    assert start in shown
    assert "  /movienight history\n" in shown
    assert "Members: you (owner, administrator), sam, alex." in shown
    data = console.expect("(DATASET, MOVIELENS_DIR, DATA_DIR).")
    assert f"database {console.stderr_path.parent / 'data' / 'offline' / 'moviebot.db'}" in data

    # the refit's result comes later, while the console is waiting for input
    console.ask("/refit", "Refit started. I'll tell you here when the new model is serving.")
    console.expect(PROMPT)
    console.expect("✅ The new model is serving", STARTUP)
    console.expect(PROMPT)

    console.proc.send_signal(signal.SIGINT)
    console.expect("Bye.")
    assert console.exit_code() == 0
    assert "Traceback" not in console.stderr_path.read_text()


def test_ctrl_d_at_the_prompt_quits_cleanly(console: ConsoleProcess):
    os.write(console.master, b"\x04")
    console.expect("Bye.")
    assert console.exit_code() == 0
    assert "Traceback" not in console.stderr_path.read_text()


def test_quit_after_piped_lines_shows_them_and_exits_cleanly(tmp_path: Path):
    script = "/status\nas sam\nquit\n"
    done = subprocess.run(
        [sys.executable, "-m", "bot", "offline"],
        input=script,
        capture_output=True,
        text=True,
        env=offline_env(tmp_path),
        cwd=tmp_path,
        timeout=STARTUP,
    )
    assert done.returncode == 0, done.stderr
    assert f"{PROMPT}/status\n" in done.stdout  # piped lines are shown, as typed
    assert f"{PROMPT}as sam\nyou are now sam\n{PROMPT}quit\nBye.\n" in done.stdout
