"""The emulator's world: users, guilds, channels, messages, commands, Discord-shaped payloads."""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar
from urllib.parse import quote

log = logging.getLogger(__name__)

DISCORD_EPOCH_MS = 1420070400000
ALL_PERMISSIONS = (1 << 53) - 1
ADMINISTRATOR = 1 << 3
# view channel, send messages, embed links, attach files, read history, reactions, connect,
# speak, use application commands: roughly what @everyone gets on a fresh server.
DEFAULT_EVERYONE_PERMISSIONS = (
    (1 << 10) | (1 << 11) | (1 << 14) | (1 << 15) | (1 << 16) | (1 << 6)
) | ((1 << 20) | (1 << 21) | (1 << 31))
MANAGE_CHANNELS = 1 << 4
VIEW_CHANNEL = 1 << 10
CONNECT = 1 << 20
MUTE_MEMBERS = 1 << 22
MOVE_MEMBERS = 1 << 24
MANAGE_EVENTS = 1 << 33
CREATE_EVENTS = 1 << 44
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7
CHANNEL_TEXT, CHANNEL_DM, CHANNEL_VOICE, CHANNEL_STAGE = 0, 1, 2, 13
EVENT_SCHEDULED, EVENT_ACTIVE, EVENT_COMPLETED, EVENT_CANCELED = 1, 2, 3, 4
ENTITY_STAGE, ENTITY_VOICE, ENTITY_EXTERNAL = 1, 2, 3
POLL_INTERVAL = 0.02
MENTION_RE = re.compile(r"<@!?(\d+)>")
T = TypeVar("T")


def iso_now() -> str:
    """The current time as Discord's ISO-8601 timestamp."""
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True)
class MessageEvent:
    """One change to a stored message, in the order it happened (clients see them in this order)."""

    kind: Literal["create", "edit", "delete"]
    message_id: int
    channel_id: int
    deleted: dict[str, Any] | None = None  # for "delete": the message as it was


@dataclass
class EmuUser:
    """A Discord user (human or bot)."""

    id: int
    name: str
    bot: bool = False

    def payload(self) -> dict[str, Any]:
        """The user object Discord sends."""
        return {
            "id": str(self.id),
            "username": self.name,
            "global_name": self.name,
            "discriminator": "0",
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
        }


@dataclass
class EmuChannel:
    """A guild text/voice channel or a DM channel."""

    id: int
    name: str
    type: int
    guild_id: int | None = None
    position: int = 0
    recipient_id: int | None = None

    def payload(self, state: EmulatorState) -> dict[str, Any]:
        """The channel object Discord sends."""
        if self.type == CHANNEL_DM:
            recipient = state.users[self.recipient_id or 0]
            return {"id": str(self.id), "type": 1, "recipients": [recipient.payload()]}
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "name": self.name,
            "guild_id": str(self.guild_id),
            "position": self.position,
            "permission_overwrites": [],
            "parent_id": None,
            "nsfw": False,
        }
        if self.type in (CHANNEL_VOICE, CHANNEL_STAGE):
            data.update(bitrate=64000, user_limit=0, rtc_region=None)
        else:
            data.update(topic=None, last_message_id=None, rate_limit_per_user=0)
        return data


@dataclass
class EmuRole:
    """A guild role; the @everyone role has the guild's id."""

    id: int
    name: str
    permissions: int
    position: int = 0

    def payload(self) -> dict[str, Any]:
        """The role object Discord sends."""
        return {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": 0,
            "colors": {"primary_color": 0},
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }


@dataclass
class EmuMember:
    """A user's membership in a guild."""

    user: EmuUser
    roles: list[int] = field(default_factory=list)
    joined_at: str = field(default_factory=iso_now)


@dataclass
class EmuScheduledEvent:
    """A guild scheduled event: where, when, its status and who marked themselves interested."""

    id: int
    guild_id: int
    name: str
    scheduled_start_time: str
    entity_type: int
    privacy_level: int
    creator_id: int
    status: int = EVENT_SCHEDULED
    channel_id: int | None = None
    description: str | None = None
    scheduled_end_time: str | None = None
    location: str | None = None
    users: dict[int, None] = field(default_factory=dict)  # insertion-ordered set of user ids

    def payload(self, state: EmulatorState, *, with_user_count: bool = False) -> dict[str, Any]:
        """The guild scheduled event object Discord sends."""
        data: dict[str, Any] = {
            "id": str(self.id),
            "guild_id": str(self.guild_id),
            "channel_id": str(self.channel_id) if self.channel_id else None,
            "creator_id": str(self.creator_id),
            "creator": state.users[self.creator_id].payload(),
            "name": self.name,
            "description": self.description,
            "scheduled_start_time": self.scheduled_start_time,
            "scheduled_end_time": self.scheduled_end_time,
            "privacy_level": self.privacy_level,
            "status": self.status,
            "entity_type": self.entity_type,
            "entity_id": None,
            "entity_metadata": {"location": self.location} if self.location else None,
            "image": None,
            "recurrence_rule": None,
        }
        if with_user_count:
            data["user_count"] = len(self.users)
        return data


@dataclass
class EmuGuild:
    """A guild with its channels, roles, members, voice channel occupants and events."""

    id: int
    name: str
    owner_id: int
    text_channel_id: int
    voice_channel_id: int
    channels: dict[int, EmuChannel] = field(default_factory=dict)
    roles: dict[int, EmuRole] = field(default_factory=dict)
    members: dict[int, EmuMember] = field(default_factory=dict)
    voice_states: dict[int, int] = field(default_factory=dict)
    scheduled_events: dict[int, EmuScheduledEvent] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredFile:
    """An uploaded file (by a member or by the bot), served back from the emulator's CDN."""

    filename: str
    data: bytes = field(repr=False)
    content_type: str | None = None


class EmulatorState:
    """Everything the fake Discord knows; REST, gateway and the test driver all share one."""

    def __init__(self, bot_user: EmuUser, application_id: int) -> None:
        """Start with only the bot user."""
        self.bot_user = bot_user
        self.application_id = application_id
        self.users: dict[int, EmuUser] = {bot_user.id: bot_user}
        self.guilds: dict[int, EmuGuild] = {}
        self.channels: dict[int, EmuChannel] = {}
        self.dm_channels: dict[int, int] = {}
        self.messages: dict[int, dict[str, Any]] = {}
        self.channel_messages: dict[int, list[int]] = {}
        self.message_events: list[MessageEvent] = []
        self.global_commands: list[dict[str, Any]] | None = None
        self.guild_commands: dict[int, list[dict[str, Any]]] = {}
        self.command_puts = 0
        self.violations: list[str] = []
        self.unknown_routes: list[str] = []
        self.base_url = "http://127.0.0.1"  # where files are served; the driver sets the port
        self.attachment_size_limit = 10 * 1024 * 1024  # what a member's client may upload
        self.files: dict[int, StoredFile] = {}
        self.downloads: list[int] = []  # attachment ids fetched, in order
        self._counter = itertools.count()
        self._waiters: set[asyncio.Future[None]] = set()

    def next_id(self) -> int:
        """A fresh, increasing snowflake whose timestamp is now."""
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return (ms << 22) | (next(self._counter) & 0x3FFFFF)

    # --- change notification -------------------------------------------------
    def notify(self) -> None:
        """Wake everyone waiting in wait_for so they re-check their condition."""
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def wait_for(self, check: Callable[[], T | None], timeout: float, what: str) -> T:
        """Wait until `check()` is truthy (re-checked on every change and every 20 ms)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = check()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.add(waiter)
            try:
                await asyncio.wait_for(waiter, min(remaining, POLL_INTERVAL))
            except TimeoutError:
                pass
            finally:
                self._waiters.discard(waiter)

    def violation(self, where: str, problems: list[str]) -> None:
        """Record payload problems so tests can assert `emulator.violations == []`."""
        for problem in problems:
            text = f"{where}: {problem}"
            log.warning("Discord would reject this: %s", text)
            self.violations.append(text)
        self.notify()

    # --- files -----------------------------------------------------------------
    def add_file(
        self, filename: str, data: bytes, content_type: str | None = None
    ) -> dict[str, Any]:
        """Store a file and return the attachment object Discord sends for it."""
        aid = self.next_id()
        self.files[aid] = StoredFile(filename, bytes(data), content_type)
        url = f"{self.base_url}/attachments/{aid}/{quote(filename)}"
        payload: dict[str, Any] = {
            "id": str(aid),
            "filename": filename,
            "size": len(data),
            "url": url,
            "proxy_url": url,
        }
        if content_type:
            payload["content_type"] = content_type
        return payload

    # --- people and places ---------------------------------------------------
    def user(self, user_id: int, name: str | None = None, bot: bool = False) -> EmuUser:
        """The user with this id, created on first use."""
        if user_id not in self.users:
            self.users[user_id] = EmuUser(user_id, name or f"user{user_id}", bot)
        return self.users[user_id]

    def dm_channel(self, user_id: int) -> EmuChannel:
        """The DM channel between the bot and a user, opened on first use."""
        if user_id not in self.dm_channels:
            self.user(user_id)
            channel = EmuChannel(self.next_id(), "", CHANNEL_DM, recipient_id=user_id)
            self.channels[channel.id] = channel
            self.dm_channels[user_id] = channel.id
        return self.channels[self.dm_channels[user_id]]

    def permissions(self, guild_id: int, user_id: int) -> int:
        """A member's guild-level permissions: owner/admin get all, else the OR of their roles."""
        guild = self.guilds[guild_id]
        member = guild.members.get(user_id)
        if member is None:
            return 0
        if user_id == guild.owner_id:
            return ALL_PERMISSIONS
        perms = guild.roles[guild.id].permissions
        for role_id in member.roles:
            perms |= guild.roles[role_id].permissions
        return ALL_PERMISSIONS if perms & ADMINISTRATOR else perms

    def member_payload(
        self, guild_id: int, user_id: int, *, with_user: bool = True, with_permissions: bool = False
    ) -> dict[str, Any]:
        """The guild member object; interactions also carry computed permissions."""
        member = self.guilds[guild_id].members[user_id]
        data: dict[str, Any] = {
            "roles": [str(r) for r in member.roles],
            "joined_at": member.joined_at,
            "nick": None,
            "avatar": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
        }
        if with_user:
            data["user"] = member.user.payload()
        if with_permissions:
            data["permissions"] = str(self.permissions(guild_id, user_id))
        return data

    def voice_state_payload(self, guild_id: int, user_id: int) -> dict[str, Any]:
        """A VOICE_STATE_UPDATE-style voice state (channel_id None once the user left)."""
        guild = self.guilds[guild_id]
        channel_id = guild.voice_states.get(user_id)
        data: dict[str, Any] = {
            "guild_id": str(guild_id),
            "channel_id": str(channel_id) if channel_id else None,
            "user_id": str(user_id),
            "session_id": f"voice-{user_id}",
            "deaf": False,
            "mute": False,
            "self_deaf": False,
            "self_mute": False,
            "self_video": False,
            "suppress": False,
            "request_to_speak_timestamp": None,
        }
        if user_id in guild.members:
            data["member"] = self.member_payload(guild_id, user_id)
        return data

    def guild_payload(self, guild_id: int, *, all_members: bool) -> dict[str, Any]:
        """GUILD_CREATE data; without the members intent only the bot and voice members come."""
        guild = self.guilds[guild_id]
        wanted = [
            uid
            for uid in guild.members
            if all_members or uid == self.bot_user.id or uid in guild.voice_states
        ]
        return {
            "id": str(guild.id),
            "name": guild.name,
            "owner_id": str(guild.owner_id),
            "icon": None,
            "unavailable": False,
            "large": False,
            "member_count": len(guild.members),
            "features": [],
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "system_channel_id": str(guild.text_channel_id),
            "afk_channel_id": None,
            "joined_at": guild.members[self.bot_user.id].joined_at,
            "roles": [role.payload() for role in guild.roles.values()],
            "emojis": [],
            "stickers": [],
            "channels": [c.payload(self) for c in guild.channels.values()],
            "threads": [],
            "members": [self.member_payload(guild_id, uid) for uid in wanted],
            "voice_states": [
                {k: v for k, v in self.voice_state_payload(guild_id, uid).items() if k != "member"}
                for uid in guild.voice_states
            ],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [e.payload(self) for e in guild.scheduled_events.values()],
        }

    # --- messages --------------------------------------------------------------
    def create_message(
        self, channel_id: int, author_id: int, body: dict[str, Any], **extra: Any
    ) -> dict[str, Any]:
        """Store a new message built from a create body and return its full payload."""
        channel = self.channels[channel_id]
        content = body.get("content") or ""
        message: dict[str, Any] = {
            "id": str(self.next_id()),
            "channel_id": str(channel_id),
            "author": self.users[author_id].payload(),
            "content": content,
            "timestamp": iso_now(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts")),
            "mention_everyone": False,
            "mentions": self._mentions(content),
            "mention_roles": [],
            "attachments": list(body.get("attachments") or []),
            "embeds": list(body.get("embeds") or []),
            "components": list(body.get("components") or []),
            "pinned": False,
            "type": 0,
            "flags": int(body.get("flags") or 0),
        }
        if channel.guild_id is not None:
            message["guild_id"] = str(channel.guild_id)
        message.update(extra)
        ref = body.get("message_reference")
        if ref and ref.get("message_id"):
            referenced = dict(self.messages.get(int(ref["message_id"])) or {}) or None
            if referenced is not None:
                referenced.pop("referenced_message", None)
            message["type"] = 19
            message["message_reference"] = {
                "type": 0,
                "message_id": str(ref["message_id"]),
                "channel_id": str(ref.get("channel_id") or channel_id),
                **({"guild_id": str(channel.guild_id)} if channel.guild_id else {}),
            }
            message["referenced_message"] = referenced
        self.messages[int(message["id"])] = message
        self.channel_messages.setdefault(channel_id, []).append(int(message["id"]))
        self.message_events.append(MessageEvent("create", int(message["id"]), channel_id))
        self.notify()
        return message

    def edit_message(self, message_id: int, body: dict[str, Any]) -> dict[str, Any]:
        """Apply an edit body (only the keys present) to a stored message."""
        message = self.messages[message_id]
        for key in ("content", "embeds", "components", "attachments"):
            if key in body:
                message[key] = (
                    body[key] if body[key] is not None else ([] if key != "content" else "")
                )
        if "content" in body:
            message["mentions"] = self._mentions(message["content"])
        if body.get("flags") is not None:
            keep = message["flags"] & (FLAG_EPHEMERAL | FLAG_LOADING)
            message["flags"] = (int(body["flags"]) & ~(FLAG_EPHEMERAL | FLAG_LOADING)) | keep
        message["edited_timestamp"] = iso_now()
        channel_id = int(message["channel_id"])
        self.message_events.append(MessageEvent("edit", message_id, channel_id))
        self.notify()
        return message

    def delete_message(self, message_id: int) -> dict[str, Any] | None:
        """Remove a message from its channel; returns it, or None if unknown."""
        message = self.messages.pop(message_id, None)
        if message is not None:
            channel_id = int(message["channel_id"])
            self.channel_messages[channel_id].remove(message_id)
            self.message_events.append(MessageEvent("delete", message_id, channel_id, message))
            self.notify()
        return message

    def _mentions(self, content: str) -> list[dict[str, Any]]:
        """User objects for every <@id> in the content that names a known user."""
        ids = dict.fromkeys(int(m) for m in MENTION_RE.findall(content or ""))
        return [self.users[uid].payload() for uid in ids if uid in self.users]

    # --- commands ----------------------------------------------------------------
    def store_commands(self, guild_id: int | None, commands: list[dict[str, Any]]) -> list[dict]:
        """Replace a scope's commands like a bulk overwrite; ids survive for same name and type."""
        old = self.global_commands if guild_id is None else self.guild_commands.get(guild_id)
        old_ids = {(c["name"], c.get("type", 1)): c["id"] for c in old or []}
        stored = []
        for command in commands:
            kind = command.get("type", 1)
            item = {
                "type": kind,
                "description": "",
                "options": [],
                "default_member_permissions": None,
                "dm_permission": True,
                "nsfw": False,
                **command,
                "id": old_ids.get((command["name"], kind)) or str(self.next_id()),
                "application_id": str(self.application_id),
                "version": str(self.next_id()),
            }
            if guild_id is not None:
                item["guild_id"] = str(guild_id)
            stored.append(item)
        if guild_id is None:
            self.global_commands = stored
        else:
            self.guild_commands[guild_id] = stored
        self.command_puts += 1
        self.notify()
        return stored

    def find_command(self, name: str, guild_id: int | None, kind: int = 1) -> dict | None:
        """The command a user would see under `name`: guild commands first, then global."""
        scopes = [self.guild_commands.get(guild_id) or []] if guild_id else []
        scopes.append(self.global_commands or [])
        for scope in scopes:
            for command in scope:
                if command["name"] == name and command.get("type", 1) == kind:
                    return command
        return None
