"""Offline mode: the bundled emulator plus a console, through exactly the bot's Discord code path.

Type `/rate movie:se7en stars:5`, `/recommend`, `/similar movie:alien`, plain text to chat
with the bot, `click <label or number>` / `select <number> <value>` for the last message's
components, `as <name>` to switch user, `help`, `quit`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import shlex
import sys
from collections.abc import Callable

from bot.app import emulator_settings, running_bot
from bot.emulator import DiscordEmulator, Message, render_message
from bot.settings import Settings

log = logging.getLogger(__name__)

GUILD_ID = 900_000_000_000_000_001
ADMINISTRATOR = 8
USERS = {
    "you": 500_000_000_000_000_001,
    "sam": 500_000_000_000_000_002,
    "alex": 500_000_000_000_000_003,
}
_OPTION = re.compile(r"(\w+):")


def parse_command(line: str) -> tuple[str, dict[str, str]]:
    """ "/rate movie:se7en stars:5" -> ("rate", {"movie": "se7en", "stars": "5"})."""
    body = line.strip().lstrip("/")
    head, _, rest = body.partition(" ")
    options: dict[str, str] = {}
    marks = list(_OPTION.finditer(rest))
    for k, mark in enumerate(marks):
        end = marks[k + 1].start() if k + 1 < len(marks) else len(rest)
        options[mark.group(1)] = rest[mark.end() : end].strip().strip('"')
    return head, options


class Console:
    """Reads lines, drives the emulator as a user, prints what the bot answers."""

    def __init__(self, emu: DiscordEmulator, write: Callable[[str], None]) -> None:
        self.emu = emu
        self.write = write
        self.user = USERS["you"]
        self.last: Message | None = None

    @property
    def channel(self) -> int:
        return self.emu.state.guilds[GUILD_ID].text_channel_id

    def show(self, message: Message | None) -> None:
        if message is None:
            self.write("(no reply)")
            return
        self.last = message
        self.write(render_message(message.data))

    async def handle(self, line: str) -> bool:
        """Run one console line; False means quit."""
        line = line.strip()
        if not line:
            return True
        if line in ("quit", "exit"):
            return False
        if line == "help":
            self.write(__doc__ or "")
        elif line.startswith("as "):
            name = line[3:].strip()
            if name not in USERS:
                self.write(f"users: {', '.join(USERS)}")
            else:
                self.user = USERS[name]
                self.write(f"you are now {name}")
        elif line.startswith("/"):
            name, options = parse_command(line)
            inter = await self.emu.slash(name, options, user_id=self.user, guild_id=GUILD_ID)
            self.show(await inter.final(timeout=60))
            await self._more(inter)
        elif line.startswith(("click ", "select ")):
            await self._component(line)
        else:
            await self.emu.send_message(self.channel, self.user, line, mention_bot=True)
            self.show(await self.emu.next_message(self.channel, timeout=30))
        for problem in self.emu.violations:
            self.write(f"[emulator] Discord would reject: {problem}")
        self.emu.violations.clear()
        return True

    async def _more(self, inter: object) -> None:
        await asyncio.sleep(0.2)
        for follow in getattr(inter, "followups", []):
            self.show(follow)

    async def _component(self, line: str) -> None:
        if self.last is None:
            self.write("nothing to click yet")
            return
        words = shlex.split(line)
        message = self.emu.message(self.last.id)
        if words[0] == "click":
            label = " ".join(words[1:])
            buttons = message.buttons
            chosen = next((b for b in buttons if b.label == label), None)
            if chosen is None and label.isdigit() and 0 < int(label) <= len(buttons):
                chosen = buttons[int(label) - 1]
            if chosen is None:
                self.write(f"buttons: {[b.label for b in buttons]}")
                return
            inter = await self.emu.click(message, chosen.custom_id, user_id=self.user)
        else:
            selects = message.selects
            index = int(words[1]) - 1 if len(words) > 2 else 0
            inter = await self.emu.select(
                message, selects[index].custom_id, words[2:] or words[1:], user_id=self.user
            )
        await inter.response(timeout=30)
        await asyncio.sleep(0.2)
        self.show(self.emu.message(message.id) if inter.original is None else inter.original)
        for follow in inter.followups:
            self.show(follow)


async def run_offline(
    settings: Settings,
    lines: asyncio.Queue[str | None] | None = None,
    write: Callable[[str], None] = print,
) -> None:
    """Start the emulator and the bot against it, then run the console until quit/EOF.

    Lines come from stdin unless a queue is given; output goes to `write` (stdout by default).
    """
    async with DiscordEmulator() as emu:
        emu.add_guild(GUILD_ID, "Offline Movie Club", owner_id=USERS["you"])
        for name, uid in USERS.items():
            emu.add_member(GUILD_ID, uid, name, permissions=ADMINISTRATOR if name == "you" else 0)
        # its own database and models: console users never mix with a real server's data
        offline = emulator_settings(
            settings,
            emu,
            GUILD_ID,
            database_path=settings.data_dir / "offline" / "moviebot.db",
            models_path=settings.data_dir / "offline" / "models",
        )
        write("Starting offline mode (local Discord emulator). Loading the model…")
        async with running_bot(offline):
            await emu.wait_until_connected(timeout=600)
            await emu.wait_commands_registered(guild_id=GUILD_ID, timeout=600)
            write("Ready. Try: /rate movie:se7en stars:5 · /recommend · /similar movie:alien")
            write("Type 'help' for more, 'quit' to leave.")
            console = Console(emu, write)
            while True:
                if lines is None:
                    line = await asyncio.to_thread(_read_line)
                else:
                    line = await lines.get()
                if line is None:
                    break
                try:
                    if not await console.handle(line):
                        break
                except Exception as exc:  # keep the console alive on bad input
                    write(f"error: {exc}")


def _read_line() -> str | None:
    try:
        return input("> ")
    except EOFError:
        return None
    finally:
        sys.stdout.flush()
