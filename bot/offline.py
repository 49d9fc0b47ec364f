"""Offline mode: the bundled emulator plus a console, through exactly the bot's Discord code path.

Everything the bot shows a console member appears as it happens: replies, direct messages,
follow-ups that come later (a finished /refit) and edits. `help` lists the commands.
"""

from __future__ import annotations

import asyncio
import codecs
import os
import re
import shlex
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from bot.app import emulator_settings, running_bot
from bot.core.when import parse_duration
from bot.emulator import DiscordEmulator, FeedItem, Interaction, Message, render_message
from bot.emulator.messages import Button, Select, iter_components
from bot.emulator.options import (
    ATTACHMENT,
    BOOLEAN,
    CHANNEL,
    GROUP,
    INTEGER,
    MENTIONABLE,
    NUMBER,
    ROLE,
    STRING,
    SUBCOMMAND,
    USER,
    Upload,
)
from bot.emulator.state import (
    CHANNEL_DM,
    CREATE_EVENTS,
    EVENT_ACTIVE,
    EVENT_SCHEDULED,
    FLAG_LOADING,
)
from bot.settings import Settings

GUILD_ID = 900_000_000_000_000_001
ADMINISTRATOR = 8
MANAGE_GUILD = 1 << 5
USERS = {
    "you": 500_000_000_000_000_001,
    "sam": 500_000_000_000_000_002,
    "alex": 500_000_000_000_000_003,
}
PROMPT = "> "
ANSWER_TIMEOUT = 60.0
Command = Mapping[str, Any]


class CommandLineError(ValueError):
    """A console line that no Discord client would turn into that action; says what would."""


# --- parsing helpers ---------------------------------------------------------------------------


def find_command(commands: Sequence[Command], name: str) -> Command | None:
    """The slash command called `name` (the first one: guild commands come before global)."""
    return next((c for c in commands if c["name"] == name and c.get("type", 1) == 1), None)


def parse_command(line: str, commands: Sequence[Command]) -> tuple[str, dict[str, str]]:
    """ "/rate movie:Star Trek: First Contact stars:4" -> ("rate", {"movie": ..., "stars": "4"}).

    Only that command's (or subcommand's) option names start an option, so a value may contain
    "word:"; "quotes" protect even an option name. Text before the first option fills the first
    required option, as Discord's client does. Subcommands come back as "clubmovie rename".
    """
    head, _, rest = line.strip().removeprefix("/").partition(" ")
    command = find_command(commands, head)
    if command is None:
        names = ", ".join(f"/{c['name']}" for c in commands)
        raise CommandLineError(f"no command /{head}; the bot has {names}")
    path = [head]
    definitions = list(command.get("options") or [])
    while any(o["type"] in (SUBCOMMAND, GROUP) for o in definitions):
        subs = {o["name"]: o for o in definitions if o["type"] in (SUBCOMMAND, GROUP)}
        part, _, rest = rest.strip().partition(" ")
        if part not in subs:
            raise CommandLineError(f"/{' '.join(path)} needs one of: {', '.join(subs)}")
        path.append(part)
        definitions = list(subs[part].get("options") or [])
    return " ".join(path), split_options(rest, definitions, "/" + " ".join(path))


def split_options(text: str, definitions: Sequence[Command], where: str) -> dict[str, str]:
    """ "movie:alien count:3" -> {"movie": "alien", "count": "3"} for these option definitions."""
    names = [d["name"] for d in definitions]
    if not names:
        if text.strip():
            raise CommandLineError(f"{where} takes no options")
        return {}
    longest_first = sorted(names, key=len, reverse=True)
    mark = re.compile(r"(?<!\S)(" + "|".join(map(re.escape, longest_first)) + r"):")
    quoted = [m.span() for m in re.finditer(r'"[^"]*"', text)]
    marks = [m for m in mark.finditer(text) if not any(a < m.start() < b for a, b in quoted)]
    options: dict[str, str] = {}
    for k, found in enumerate(marks):
        end = marks[k + 1].start() if k + 1 < len(marks) else len(text)
        if found.group(1) in options:
            raise CommandLineError(f"{where}: option {found.group(1)} given twice")
        options[found.group(1)] = _unquote(text[found.end() : end])
    lead = _unquote(text[: marks[0].start()] if marks else text)
    if lead:
        required = [d["name"] for d in definitions if d.get("required")]
        free = [n for n in required or names if n not in options]
        if not free:
            raise CommandLineError(f"{where}: where does “{lead}” go? options: {', '.join(names)}")
        options[free[0]] = lead
    return options


def _unquote(value: str) -> str:
    """Trim spaces and one pair of surrounding double quotes."""
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def option_definitions(commands: Sequence[Command], name: str) -> dict[str, Command]:
    """The options of a command path like "clubmovie rename", by name."""
    top, *path = name.split()
    command = find_command(commands, top) or {}
    definitions = list(command.get("options") or [])
    for part in path:
        sub = next((o for o in definitions if o["name"] == part), {})
        definitions = list(sub.get("options") or [])
    return {d["name"]: d for d in definitions}


def form_fields(modal: Mapping[str, Any]) -> dict[str, str]:
    """A form's text inputs: custom id -> label."""
    return {
        str(c.get("custom_id")): str(c.get("label") or "")
        for c in iter_components(modal.get("components"))
        if c.get("type") == 4
    }


MENTION = re.compile(r"<(@!?|#)(\d+)>")
TIMESTAMP = re.compile(r"<t:(-?\d+)(?::([tTdDfFR]))?>")


def as_shown(text: str, names: Callable[[str, int], str], now: float) -> str:
    """Text as a Discord client draws it: <@id> as @name, <#id> as #channel, <t:…> as a time
    (UTC; relative ones as "in 3 h" / "5 min ago" on the bot's clock)."""

    def stamp(match: re.Match[str]) -> str:
        when, style = int(match[1]), match[2] or "f"
        if style == "R":
            ahead = when - now
            size = abs(ahead)
            amount = (
                f"{size / 86400:.0f} d"
                if size >= 86400
                else f"{size / 3600:.0f} h"
                if size >= 3600
                else f"{max(1.0, size / 60):.0f} min"
            )
            return f"in {amount}" if ahead >= 0 else f"{amount} ago"
        moment = time.gmtime(when)
        formats = {"t": "%H:%M", "T": "%H:%M:%S", "d": "%Y-%m-%d", "D": "%d %b %Y"}
        return time.strftime(formats.get(style, "%a %d %b %Y %H:%M UTC"), moment)

    text = MENTION.sub(lambda m: names(m[1][0], int(m[2])), text)
    return TIMESTAMP.sub(stamp, text)


def _fold(text: str) -> str:
    """Case- and apostrophe-insensitive form for matching labels and names."""
    return " ".join(text.replace("’", "'").casefold().split())


def _plain(value: Any) -> str:
    """A choice value as typed: 4.0 as 4."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def pick_button(buttons: Sequence[Button], text: str) -> Button:
    """The button a `click` names: its label (any case, with or without emoji) or its number."""
    wanted = _fold(text.strip().strip("[]"))
    for button in buttons:
        if _fold(button.label or "") == wanted:
            return button
    for button in buttons:
        if button.label and wanted.endswith(" " + _fold(button.label)):
            return button  # typed with its emoji in front, as rendered
    if wanted.isdigit() and 0 < int(wanted) <= len(buttons):
        return buttons[int(wanted) - 1]
    listed = " ".join(f"{k}:[{b.label}]" for k, b in enumerate(buttons, 1))
    raise CommandLineError(f"no button “{text}”; buttons: {listed or 'none'}")


def pick_options(select: Select, text: str) -> list[str]:
    """String-select values a `select` names: the whole text or each word, by label or value."""

    def one(token: str) -> str | None:
        folded = _fold(token)
        for label, value in select.options:
            if token == value or folded == _fold(label):
                return value
        for _label, value in select.options:
            try:
                if float(token) == float(value):
                    return value
            except ValueError:
                continue
        if token.isdigit() and 0 < int(token) <= len(select.options):
            return select.options[int(token) - 1][1]
        return None

    whole = one(text.strip())
    if whole is not None:
        return [whole]
    values = [one(token) for token in _words(text)]
    if not values or None in values:
        listed = ", ".join(f"{label} ({value})" for label, value in select.options)
        raise CommandLineError(f"no option “{text}”; options: {listed}")
    return [v for v in values if v is not None]


def _words(text: str) -> list[str]:
    """Words, honouring "quotes" when they balance (an apostrophe alone is just a letter)."""
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def describe_command(command: Command) -> list[str]:
    """Help lines for one registered command: its usage (one line per subcommand), then what."""
    needs = int(command.get("default_member_permissions") or 0)
    who = " [needs Manage Server]" if needs & MANAGE_GUILD else (" [restricted]" if needs else "")
    options = list(command.get("options") or [])
    subs = [o for o in options if o["type"] in (SUBCOMMAND, GROUP)]
    if not subs:
        usage = " ".join([f"/{command['name']}", *map(_usage, options)])
        return [f"  {usage}", f"      {command.get('description', '')}{who}"]
    lines = []
    for sub in subs:
        head = f"/{command['name']} {sub['name']}"
        usage = " ".join([head, *map(_usage, sub.get("options") or [])])
        lines += [f"  {usage}", f"      {sub.get('description', '')}{who}"]
    return lines


def _usage(option: Command) -> str:
    """ "stars:<5|4.5|…>" for a required option, "[count:<1-20>]" for an optional one."""
    kind = option["type"]
    if option.get("choices"):
        shape = "|".join(_plain(c["value"]) for c in option["choices"])
    elif kind in (INTEGER, NUMBER) and "min_value" in option and "max_value" in option:
        shape = f"{_plain(option['min_value'])}-{_plain(option['max_value'])}"
    else:
        shape = {
            STRING: "text",
            INTEGER: "whole number",
            NUMBER: "number",
            BOOLEAN: "true|false",
            USER: "member",
            CHANNEL: "channel",
            ROLE: "role",
            MENTIONABLE: "member or role",
            ATTACHMENT: "path of a file",
        }.get(kind, "value")
    text = f"{option['name']}:<{shape}>"
    return text if option.get("required") else f"[{text}]"


# --- the console -------------------------------------------------------------------------------


class Console:
    """Runs console lines as a member and writes everything the bot shows, as it arrives."""

    def __init__(
        self,
        emu: DiscordEmulator,
        write: Callable[[str], None],
        data: Sequence[str] = (),
        files: Path | None = None,
        later: Callable[[float], Awaitable[None]] | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        """Watch the bot's messages from now on; `data` says where offline data lives, files
        the bot sends are saved in `files`; `later` moves the bot's clock forward and waits for
        what was due; `now` reads that clock."""
        self.emu = emu
        self.write = write
        self.data = list(data)
        self.files = files
        self._saved: set[str] = set()
        self.later = later
        self.now = now
        self.user = USERS["you"]
        self.last: Message | None = None  # the latest shown message with buttons or menus
        self.form: Interaction | None = None  # the latest form the bot opened
        self.feed = emu.feed()
        self._violations = len(emu.violations)

    @property
    def channel(self) -> int:
        """The server's #general, where chat lines are posted."""
        return self.emu.state.guilds[GUILD_ID].text_channel_id

    @property
    def commands(self) -> list[dict[str, Any]]:
        """The slash commands a console member sees: the server's, then other global ones."""
        found: dict[str, dict[str, Any]] = {}
        for command in self.emu.commands(GUILD_ID) + self.emu.commands():
            if command.get("type", 1) == 1:
                found.setdefault(command["name"], command)
        return list(found.values())

    def name_of(self, user_id: int) -> str:
        """A user's name."""
        user = self.emu.state.users.get(user_id)
        return user.name if user else str(user_id)

    def _named(self, kind: str, snowflake: int) -> str:
        """A mention as a client shows it: @member or #channel."""
        if kind == "#":
            channel = self.emu.state.channels.get(snowflake)
            return f"#{channel.name}" if channel else "#unknown-channel"
        return f"@{self.name_of(snowflake)}"

    # --- output ----------------------------------------------------------------------------
    def pump(self) -> None:
        """Write every message change since the last call, and what Discord would reject."""
        for item in self.feed.drain():
            self._show(item)
        problems = self.emu.violations[self._violations :]
        self._violations += len(problems)
        for problem in problems:
            self.write(f"[emulator] Discord would reject: {problem}")

    async def watch(self) -> None:
        """Write messages as they arrive, also while the console waits for input."""
        while True:
            try:
                await self.feed.wait()
            except TimeoutError:
                continue
            self.pump()

    def _show(self, item: FeedItem) -> None:
        """One change as text: a DM under a header naming its recipient, edits tagged."""
        message = item.message
        body = as_shown(render_message(message.data), self._named, self.now()) or "(empty message)"
        if item.kind == "deleted":
            body = body.splitlines()[0]
        channel = self.emu.state.channels.get(message.channel_id)
        if channel is not None and channel.type == CHANNEL_DM:
            change = "" if item.kind == "new" else f", {item.kind}"
            head = f"[DM to {self.name_of(channel.recipient_id or 0)}{change}]"
            self.write(head + "\n" + "\n".join(f"  {line}" for line in body.splitlines()))
        else:
            self.write(body if item.kind == "new" else f"[{item.kind}] {body}")
        if item.kind != "deleted":
            self._save_files(message)
        if item.kind == "deleted":
            if self.last is not None and self.last.id == message.id:
                self.last = None
        elif message.components or (self.last is not None and self.last.id == message.id):
            self.last = message

    def _save_files(self, message: Message) -> None:
        """Save the files a message carries (once each) and say where they went."""
        for attachment in message.attachments:
            if self.files is None or attachment["id"] in self._saved:
                continue
            self._saved.add(attachment["id"])
            self.files.mkdir(parents=True, exist_ok=True)
            path = self.files / Path(attachment["filename"]).name
            path.write_bytes(self.emu.file_data(attachment))
            self.write(f"(saved {attachment['filename']} to {path})")

    # --- input -----------------------------------------------------------------------------
    async def handle(self, line: str) -> bool:
        """Run one console line; False means quit."""
        line = line.strip()
        word, _, rest = line.partition(" ")
        if not line:
            return True
        if line in ("quit", "exit"):
            return False
        if line == "help":
            self.write(self.help_text())
        elif word == "as" and len(rest.split()) == 1:
            self.user = self._member(rest)
            self.write(f"you are now {self.name_of(self.user)}")
        elif line.startswith("/"):
            await self._slash(line)
        elif word in ("click", "select") and rest:
            await self._component(word, rest)
        elif word == "fill" and rest:
            await self._fill(rest)
        elif word == "wait" and rest and self.later is not None:
            seconds = parse_duration(rest)
            self.write(f"(the bot's clock moves {rest.strip()} ahead)")
            await self.later(seconds)
        elif line in ("interested", "not interested"):
            self._interest(line == "interested")
        else:
            await self._chat(line)
        self.pump()
        return True

    async def _slash(self, line: str) -> None:
        """Invoke a slash command as the current member and wait for its answer."""
        commands = self.commands
        name, raw = parse_command(line, commands)
        definitions = option_definitions(commands, name)
        options = {key: self._typed(definitions[key], value) for key, value in raw.items()}
        inter = await self.emu.slash(name, options, user_id=self.user, guild_id=GUILD_ID)
        await self._answered(inter)

    async def _chat(self, line: str) -> None:
        """Post a line mentioning the bot and wait for the bot's reply to that very message."""
        said = await self.emu.send_message(self.channel, self.user, line, mention_bot=True)
        try:
            await self.emu.reply_to(said, timeout=ANSWER_TIMEOUT)
        except TimeoutError:
            self.pump()
            self.write("(no reply)")

    async def _component(self, verb: str, rest: str) -> None:
        """Press a button or choose in a menu of the latest message that has them."""
        data = self.emu.state.messages.get(self.last.id) if self.last is not None else None
        if data is None:
            self.write("no message with buttons or menus to use")
            return
        message = Message(data)
        if verb == "click":
            button = pick_button(message.buttons, rest)
            if button.custom_id is None:
                self.write(f"[{button.label}] is a link: Discord opens it in the browser")
                return
            inter = await self.emu.click(message, button.custom_id, user_id=self.user)
        else:
            selects = message.selects
            if not selects:
                raise CommandLineError("the last message has no menu; use click")
            first, _, after = rest.partition(" ")
            index = 0
            if first.isdigit() and after.strip() and 0 < int(first) <= len(selects):
                index, rest = int(first) - 1, after
            select = selects[index]
            if select.type == 3:
                values: list[Any] = pick_options(select, rest)
            else:
                by_name = {5: self._member, 6: self._role, 8: self._channel}
                pick = by_name.get(select.type, self._mentionable)
                values = [pick(word) for word in _words(rest)]
            inter = await self.emu.select(message, select.custom_id, values, user_id=self.user)
        await self._answered(inter)

    async def _answered(self, inter: Interaction) -> None:
        """Wait until the bot answered an interaction (a deferral: until it is filled in)."""

        def settled() -> bool:
            reply = inter.reply
            if reply is None:
                return False
            if reply.type == 5:
                original = self.emu.state.messages.get(inter.original_id or 0)
                return original is None or not original["flags"] & FLAG_LOADING
            if reply.type == 6:
                return inter.edits > 0 or bool(inter.followup_ids)
            return True

        try:
            await self.emu.wait_until(settled, ANSWER_TIMEOUT, "the bot's answer")
        except TimeoutError:
            self.pump()
            if inter.reply is None:
                self.write("(no answer: Discord would say “The application did not respond”)")
            else:
                self.write("(the bot is still working on it)")
            return
        if inter.reply is not None and inter.reply.type == 9 and inter.modal is not None:
            self.form = inter
            fields = form_fields(inter.modal)
            usage = " ".join(f"{cid}:<{label}>" for cid, label in fields.items())
            self.write(f"(the bot opened a form “{inter.modal.get('title', '')}”: fill {usage})")

    async def _fill(self, rest: str) -> None:
        """Fill in and send the latest form the bot opened."""
        if self.form is None or self.form.modal is None:
            raise CommandLineError("no form is open; a button like “Schedule it” opens one")
        fields = form_fields(self.form.modal)
        values = split_options(rest, [{"name": cid} for cid in fields], "fill")
        form, self.form = self.form, None
        await self._answered(await self.emu.submit_modal(form, values))

    def _interest(self, yes: bool) -> None:
        """Press (or take back) Interested on the server's latest upcoming event."""
        guild = self.emu.state.guilds[GUILD_ID]
        open_events = [
            e
            for e in guild.scheduled_events.values()
            if e.status in (EVENT_SCHEDULED, EVENT_ACTIVE)
        ]
        if not open_events:
            raise CommandLineError("there is no upcoming event; schedule a movie night first")
        event = open_events[-1]
        if yes:
            self.emu.mark_interested(GUILD_ID, event.id, self.user)
        else:
            self.emu.unmark_interested(GUILD_ID, event.id, self.user)
        said = "is interested in" if yes else "is no longer interested in"
        self.write(f"({self.name_of(self.user)} {said} “{event.name}”)")

    # --- values typed for users, flags, channels and roles ---------------------------------
    def _typed(self, definition: Command, raw: str) -> Any:
        """A typed option value as the Discord client would send it for that option."""
        kind = definition["type"]
        for choice in definition.get("choices") or []:
            if _fold(str(choice["name"])) == _fold(raw):
                return choice["value"]
        if kind == BOOLEAN:
            folded = raw.strip().lower()
            if folded not in ("true", "false", "yes", "no", "on", "off", "1", "0"):
                raise CommandLineError(f"{definition['name']}: say true or false, not “{raw}”")
            return folded in ("true", "yes", "on", "1")
        if kind == USER:
            return self._member(raw)
        if kind == MENTIONABLE:
            return self._mentionable(raw)
        if kind == ROLE:
            return self._role(raw)
        if kind == CHANNEL:
            return self._channel(raw)
        if kind == ATTACHMENT:
            path = Path(raw).expanduser()
            if not path.is_file():
                raise CommandLineError(f"{definition['name']}: no file at {path}")
            return Upload(path.name, path.read_bytes())
        return raw

    def _member(self, name: str) -> int:
        """A member by console name (you, sam, alex), user name, @name or id."""
        wanted = _fold(name.removeprefix("@"))
        if wanted in USERS:
            return USERS[wanted]
        guild = self.emu.state.guilds[GUILD_ID]
        for uid, member in guild.members.items():
            if _fold(member.user.name) == wanted:
                return uid
        if wanted.isdigit() and int(wanted) in guild.members:
            return int(wanted)
        raise CommandLineError(f"no member “{name}”; members: {', '.join(USERS)}")

    def _role(self, name: str) -> int:
        """A role of the server by name or id."""
        roles = self.emu.state.guilds[GUILD_ID].roles
        for rid, role in roles.items():
            if _fold(role.name) == _fold(name.removeprefix("@")) or str(rid) == name:
                return rid
        listed = ", ".join(r.name for r in roles.values())
        raise CommandLineError(f"no role “{name}”; roles: {listed}")

    def _mentionable(self, name: str) -> int:
        """A member, else a role."""
        try:
            return self._member(name)
        except CommandLineError:
            return self._role(name)

    def _channel(self, name: str) -> int:
        """A channel of the server by name (#general) or id."""
        channels = self.emu.state.guilds[GUILD_ID].channels
        for cid, channel in channels.items():
            if _fold(channel.name) == _fold(name.removeprefix("#")) or str(cid) == name:
                return cid
        listed = ", ".join(c.name for c in channels.values())
        raise CommandLineError(f"no channel “{name}”; channels: {listed}")

    # --- help ------------------------------------------------------------------------------
    def help_text(self) -> str:
        """Every registered command with its options, the console's own words, members, data."""
        lines = ["Slash commands (options in [brackets] are optional):"]
        for command in self.commands:
            lines += describe_command(command)
        guild = self.emu.state.guilds[GUILD_ID]
        members = ", ".join(
            name + (" (owner, administrator)" if uid == guild.owner_id else "")
            for name, uid in USERS.items()
        )
        lines += [
            "Movie options take free text: the bot resolves it or asks which movie you meant.",
            "",
            "Console:",
            "  <any other text>         say it to the bot: se7en 4.5 · recommend me something",
            "  click <label or number>  press a button on the latest message that has buttons",
            "  select [n] <values>      choose in its n-th menu (options by label or number,",
            "                           members by name: select 1 sam alex)",
            "  fill <field>:<text> ...  fill in and send the form the bot opened",
            "  interested               press Interested on the upcoming event (not interested)",
            "  wait <duration>          move the bot's clock ahead: wait 2h (votes end, reminders)",
            "  as <member>              act as another member",
            "  help · quit              Ctrl-D and Ctrl-C quit too",
            "",
            f"Members: {members}. You are {self.name_of(self.user)}.",
            *self.data,
        ]
        return "\n".join(lines)


# --- the terminal ------------------------------------------------------------------------------


class Terminal:
    """Stdin and stdout for the console: no blocking reader thread, so Ctrl-C quits at once,
    and messages that arrive while you type appear above a fresh prompt."""

    def __init__(self, stdin: TextIO | None = None, stdout: TextIO | None = None) -> None:
        """Use the process's stdin and stdout unless given others."""
        self._fd = (stdin or sys.stdin).fileno()
        self._out = stdout or sys.stdout
        self._tty_in = os.isatty(self._fd)
        self._tty_out = self._out.isatty()
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        self._eof = False
        self._arrived = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.prompting = False

    def open(self) -> None:
        """Watch stdin from the running loop (a regular file is simply read when needed)."""
        loop = asyncio.get_running_loop()
        try:
            loop.add_reader(self._fd, self._readable)
        except (PermissionError, OSError, ValueError):
            return
        self._loop = loop

    def close(self) -> None:
        """Stop watching stdin."""
        if self._loop is not None:
            self._loop.remove_reader(self._fd)
            self._loop = None

    def _readable(self) -> None:
        """Stdin has bytes (or reached its end): buffer them."""
        try:
            chunk = os.read(self._fd, 65536)
        except BlockingIOError:
            return
        except OSError:  # a closed terminal reads as end of input
            chunk = b""
        self._take(chunk)

    def _take(self, chunk: bytes) -> None:
        """Add read bytes to the buffer; empty bytes mean end of input."""
        if chunk:
            self._buffer += self._decoder.decode(chunk)
        else:
            self._buffer += self._decoder.decode(b"", final=True)
            self._eof = True
            self.close()
        self._arrived.set()

    async def read_line(self) -> str | None:
        """The next line typed (None at end of input), after showing the prompt."""
        self.prompting = True
        self._out.write(PROMPT)
        self._out.flush()
        while "\n" not in self._buffer and not self._eof:
            if self._loop is None:
                self._take(os.read(self._fd, 65536))
                continue
            self._arrived.clear()
            await self._arrived.wait()
        if "\n" in self._buffer:
            line, _, self._buffer = self._buffer.partition("\n")
        elif self._buffer:
            line, self._buffer = self._buffer, ""
        else:
            return None
        self.prompting = False
        if not self._tty_in:
            self._out.write(line + "\n")  # piped input: show what is being run
        return line.rstrip("\r")

    def write(self, text: str) -> None:
        """Write lines; while prompting, above the prompt, which is then shown again."""
        if self.prompting:
            self._out.write("\r\x1b[K" if self._tty_out else "\n")
        self._out.write(text + "\n")
        if self.prompting:
            self._out.write(PROMPT)
        self._out.flush()

    def finish(self, text: str) -> None:
        """The last words, on a line of their own."""
        if self.prompting:
            self._out.write("\n")
            self.prompting = False
        self.write(text)


# --- running it --------------------------------------------------------------------------------


async def run_offline(
    settings: Settings,
    lines: asyncio.Queue[str | None] | None = None,
    write: Callable[[str], None] | None = None,
) -> None:
    """Start the emulator and the bot against it, then run the console until quit/EOF/Ctrl-C.

    Lines come from stdin unless a queue is given; output goes to `write` (stdout by default).
    """
    if lines is None:
        terminal: Terminal | None = Terminal()
        next_line: Callable[[], Awaitable[str | None]] = terminal.read_line
        terminal.open()
    else:
        terminal, next_line = None, lines.get
    out = write or (terminal.write if terminal is not None else print)
    session = asyncio.ensure_future(_session(settings, next_line, out))
    interrupted = False

    def interrupt() -> None:
        nonlocal interrupted
        interrupted = True
        session.cancel()

    loop = asyncio.get_running_loop()
    catch_ctrl_c = terminal is not None
    if catch_ctrl_c:
        try:
            loop.add_signal_handler(signal.SIGINT, interrupt)
        except (NotImplementedError, RuntimeError):  # no signal handlers on this platform/thread
            catch_ctrl_c = False
    try:
        await session
    except asyncio.CancelledError:
        if not interrupted:
            raise
    finally:
        if catch_ctrl_c:
            loop.remove_signal_handler(signal.SIGINT)
        if terminal is not None:
            terminal.close()
    if terminal is not None and write is None:
        terminal.finish("Bye.")
    else:
        out("Bye.")


async def _session(
    settings: Settings,
    next_line: Callable[[], Awaitable[str | None]],
    write: Callable[[str], None],
) -> None:
    """The emulator, the bot logged in to it, and the console loop."""
    async with DiscordEmulator() as emu:
        emu.add_guild(GUILD_ID, "Offline Movie Club", owner_id=USERS["you"])
        for name, uid in USERS.items():
            emu.add_member(GUILD_ID, uid, name, permissions=ADMINISTRATOR if name == "you" else 0)
        emu.grant(GUILD_ID, emu.bot_user_id, CREATE_EVENTS)  # as invited (see the README)
        # its own database and models: console users never mix with a real server's data
        offline = emulator_settings(
            settings,
            emu,
            GUILD_ID,
            database_path=settings.data_dir / "offline" / "moviebot.db",
            database_url=None,
            models_path=settings.data_dir / "offline" / "models",
        )
        movielens = offline.movielens_dir or offline.data_dir / "movielens"
        data = [
            f"Offline data: database {offline.database_path}, models {offline.model_dir}, "
            f"MovieLens {offline.dataset} from {movielens} (DATASET, MOVIELENS_DIR, DATA_DIR).",
            f"Files the bot sends are saved in {settings.data_dir / 'offline' / 'files'}.",
        ]
        write("Starting offline mode (local Discord emulator). Loading the model…")
        async with running_bot(offline) as bot:
            await emu.wait_until_connected(timeout=600)
            await emu.wait_commands_registered(guild_id=GUILD_ID, timeout=600)

            async def later(seconds: float) -> None:
                """Skip the bot's clock ahead and wait until nothing due is left undone."""
                offline.clock.skip(seconds)
                services = bot.services
                while True:
                    await bot.timers.one_pass(ANSWER_TIMEOUT)
                    if not (await services.nights.ending() or await services.events.due()):
                        return

            console = Console(
                emu,
                write,
                data,
                settings.data_dir / "offline" / "files",
                later,
                offline.clock.now,
            )
            write("Ready. Try: /rate movie:se7en stars:5 · /recommend · /similar movie:alien")
            write("Type 'help' for every command, 'quit' (or Ctrl-C) to leave.")
            watcher = asyncio.create_task(console.watch(), name="offline-console-feed")
            try:
                while True:
                    line = await next_line()
                    if line is None:
                        break
                    try:
                        if not await console.handle(line):
                            break
                    except Exception as exc:  # keep the console alive on bad input
                        console.pump()
                        write(f"error: {exc}")
            finally:
                watcher.cancel()
