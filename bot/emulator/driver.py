"""DiscordEmulator: a fake Discord on 127.0.0.1 plus the API end-to-end tests drive it with."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from aiohttp import web

from .feed import MessageFeed
from .gateway import Gateway
from .interaction import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    MESSAGE_COMPONENT,
    MODAL_SUBMIT,
    Interaction,
)
from .messages import Message, Reply, iter_components
from .options import OptionBuilder, OptionError
from .server import API_PREFIX, DiscordServer
from .state import (
    CHANNEL_STAGE,
    CHANNEL_TEXT,
    CHANNEL_VOICE,
    DEFAULT_EVERYONE_PERMISSIONS,
    EVENT_ACTIVE,
    EVENT_SCHEDULED,
    EmuChannel,
    EmuGuild,
    EmulatorState,
    EmuMember,
    EmuRole,
    EmuScheduledEvent,
    EmuUser,
)
from .validate import SELECT_TYPES, event_status_problem, validate_scheduled_event

log = logging.getLogger(__name__)

MessageRef = Message | Reply | int
T = TypeVar("T")


class CommandUnavailable(LookupError):
    """The user could not invoke this command in Discord (unknown, DM-disabled or no permission)."""


class DiscordEmulator:
    """A local Discord for one bot: start it, point discord.py at it, then act as users."""

    def __init__(
        self,
        *,
        bot_user_id: int = 100_000_000_000_000_001,
        bot_name: str = "Movie Bot",
        application_id: int | None = None,
        token: str | None = None,
        response_deadline: float = 3.0,
        followup_window: float = 900.0,
        host: str = "127.0.0.1",
        port: int = 0,
        shard_count: int = 1,
    ) -> None:
        """Configure; nothing listens until `start()`. `token=None` accepts any bot token.
        With `shard_count` > 1 the bot must IDENTIFY once per shard (guilds are split by id)."""
        self.state = EmulatorState(
            EmuUser(bot_user_id, bot_name, bot=True), application_id or bot_user_id
        )
        self.host, self.port = host, port
        self.gateway = Gateway(
            self.state, lambda: self.gateway_url, token=token, shard_count=shard_count
        )
        self.server = DiscordServer(
            self.state,
            self.gateway,
            token=token,
            response_deadline=response_deadline,
            followup_window=followup_window,
        )
        self.interactions: list[Interaction] = []
        self._runner: web.AppRunner | None = None
        self._cursors: dict[int, int] = {}

    # --- lifecycle -------------------------------------------------------------------
    async def start(self) -> DiscordEmulator:
        """Listen on a free port (or the one given)."""
        self._runner = web.AppRunner(self.server.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.state.base_url = f"http://{self.host}:{self.port}"
        log.info("Discord emulator listening on %s", self.api_base)
        return self

    async def close(self) -> None:
        """Drop the gateway sockets and stop the server (close the bot first: no reconnects)."""
        await self.gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> DiscordEmulator:
        """`async with DiscordEmulator() as emu:` starts it."""
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        """And closes it."""
        await self.close()

    @property
    def api_base(self) -> str:
        """REST base URL to give bot.discord.endpoints.discord_endpoints."""
        return f"http://{self.host}:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        """Gateway websocket URL to give bot.discord.endpoints.discord_endpoints."""
        return f"ws://{self.host}:{self.port}/gateway"

    @property
    def bot_user_id(self) -> int:
        """The bot's user id."""
        return self.state.bot_user.id

    @property
    def application_id(self) -> int:
        """The bot's application id."""
        return self.state.application_id

    @property
    def violations(self) -> list[str]:
        """Everything the bot sent that Discord would have rejected; tests assert it is empty."""
        return self.state.violations

    @property
    def response_deadline(self) -> float:
        """Seconds the bot has for its first interaction callback (Discord: 3)."""
        return self.server.response_deadline

    @response_deadline.setter
    def response_deadline(self, seconds: float) -> None:
        """Tighten or relax the deadline, e.g. to test timeouts quickly."""
        self.server.response_deadline = seconds

    @property
    def attachment_size_limit(self) -> int:
        """The largest file a member's client uploads (Discord: 10 MiB, more with Nitro)."""
        return self.state.attachment_size_limit

    @attachment_size_limit.setter
    def attachment_size_limit(self, size: int) -> None:
        """Let members upload bigger (or only smaller) files."""
        self.state.attachment_size_limit = int(size)

    def file_data(self, attachment: Mapping[str, Any]) -> bytes:
        """The bytes of an attachment (one a member uploaded or one the bot sent)."""
        return self.state.files[int(attachment["id"])].data

    def downloaded(self, attachment_id: int | str) -> bool:
        """Whether anyone (the bot) fetched this attachment from the emulator's CDN."""
        return int(attachment_id) in self.state.downloads

    @property
    def unknown_routes(self) -> list[str]:
        """REST calls the emulator does not implement (answered 404)."""
        return self.state.unknown_routes

    async def wait_until(
        self, check: Callable[[], T | None], timeout: float = 5.0, what: str = "a condition"
    ) -> T:
        """Wait until `check()` is truthy (e.g. something on the bot side); returns its value."""
        return await self.state.wait_for(check, timeout, what)

    async def wait_until_connected(self, timeout: float = 10.0) -> None:
        """Wait until the bot identified (every shard) and READY plus GUILD_CREATEs were queued."""
        await self.state.wait_for(lambda: self.gateway.ready, timeout, "the bot to IDENTIFY")

    def force_reconnect(self, shard_id: int = 0) -> None:
        """Ask the bot to reconnect (op 7); it resumes and events sent meanwhile are replayed."""
        self.gateway.request_reconnect(shard_id)

    async def wait_commands_registered(
        self, *names: str, guild_id: int | None = None, timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        """Wait for a command sync (or until all `names` are visible); returns visible commands."""

        def done() -> bool:
            if names:
                return all(self.state.find_command(n, guild_id) for n in names)
            return self.state.command_puts > 0

        await self.state.wait_for(done, timeout, f"command registration {list(names)}")
        return self.commands(guild_id) + (self.commands() if guild_id is not None else [])

    def commands(self, guild_id: int | None = None) -> list[dict[str, Any]]:
        """Registered commands of a guild, or the global ones."""
        if guild_id is None:
            return list(self.state.global_commands or [])
        return list(self.state.guild_commands.get(guild_id, []))

    # --- world building -----------------------------------------------------------------
    def add_user(self, user_id: int, name: str | None = None, *, bot: bool = False) -> EmuUser:
        """A user who is not necessarily in any guild (e.g. for DMs)."""
        user = self.state.user(user_id, name, bot)
        user.name, user.bot = name or user.name, bot
        return user

    def add_guild(
        self,
        guild_id: int | None = None,
        name: str = "Movie Club",
        owner_id: int | None = None,
        *,
        everyone_permissions: int = DEFAULT_EVERYONE_PERMISSIONS,
    ) -> EmuGuild:
        """A guild with #general, a 'Movie Night' voice channel, its owner and the bot."""
        state = self.state
        gid = guild_id or state.next_id()
        owner = owner_id or state.next_id()
        text = EmuChannel(state.next_id(), "general", CHANNEL_TEXT, gid, 0)
        voice = EmuChannel(state.next_id(), "Movie Night", CHANNEL_VOICE, gid, 1)
        guild = EmuGuild(gid, name, owner, text.id, voice.id)
        guild.roles[gid] = EmuRole(gid, "@everyone", everyone_permissions)
        for channel in (text, voice):
            guild.channels[channel.id] = state.channels[channel.id] = channel
        state.guilds[gid] = guild
        guild.members[state.bot_user.id] = EmuMember(state.bot_user)
        guild.members[owner] = EmuMember(state.user(owner, f"owner{gid % 1000}"))
        session = self.gateway.sessions.get(self.gateway.shard_for(gid))
        if session is not None and session.ready:
            self.gateway.dispatch("GUILD_CREATE", self._guild_create(gid))
        return guild

    def _guild_create(self, guild_id: int) -> dict[str, Any]:
        """GUILD_CREATE honouring the bot's members intent."""
        intents = self.gateway.intents_for(guild_id)
        return self.state.guild_payload(guild_id, all_members=bool(intents & 2))

    def add_channel(
        self, guild_id: int, name: str, *, voice: bool = False, stage: bool = False
    ) -> EmuChannel:
        """Another text (or voice, or stage) channel in a guild."""
        guild = self.state.guilds[guild_id]
        kind = CHANNEL_STAGE if stage else CHANNEL_VOICE if voice else CHANNEL_TEXT
        channel = EmuChannel(self.state.next_id(), name, kind, guild_id, len(guild.channels))
        guild.channels[channel.id] = self.state.channels[channel.id] = channel
        self.gateway.dispatch("CHANNEL_CREATE", channel.payload(self.state))
        return channel

    def add_role(self, guild_id: int, name: str, permissions: int = 0) -> EmuRole:
        """A role members can be given."""
        guild = self.state.guilds[guild_id]
        role = EmuRole(self.state.next_id(), name, permissions, len(guild.roles))
        guild.roles[role.id] = role
        self.gateway.dispatch(
            "GUILD_ROLE_CREATE", {"guild_id": str(guild_id), "role": role.payload()}
        )
        return role

    def add_member(
        self,
        guild_id: int,
        user_id: int,
        name: str | None = None,
        *,
        permissions: int = 0,
        roles: Sequence[int] = (),
        bot: bool = False,
    ) -> EmuMember:
        """Put a user in a guild; `permissions` (e.g. 8 = administrator) is granted via a role."""
        guild = self.state.guilds[guild_id]
        user = self.add_user(user_id, name, bot=bot)
        member = EmuMember(user, list(roles))
        if permissions:
            member.roles.append(self.add_role(guild_id, f"{user.name}-perms", permissions).id)
        guild.members[user_id] = member
        data = {**self.state.member_payload(guild_id, user_id), "guild_id": str(guild_id)}
        self.gateway.dispatch("GUILD_MEMBER_ADD", data)
        return member

    def grant(self, guild_id: int, user_id: int, permissions: int) -> EmuRole:
        """Give a member (the bot too) permissions through a new role; returns the role."""
        guild = self.state.guilds[guild_id]
        member = guild.members[user_id]
        role = self.add_role(guild_id, f"{member.user.name}-grant", permissions)
        member.roles.append(role.id)
        self._member_update(guild_id, user_id)
        return role

    def revoke(self, guild_id: int, user_id: int, role_id: int) -> None:
        """Take a role (and the permissions it gave) away from a member."""
        self.state.guilds[guild_id].members[user_id].roles.remove(role_id)
        self._member_update(guild_id, user_id)

    def _member_update(self, guild_id: int, user_id: int) -> None:
        data = {**self.state.member_payload(guild_id, user_id), "guild_id": str(guild_id)}
        self.gateway.dispatch("GUILD_MEMBER_UPDATE", data)

    def remove_member(self, guild_id: int, user_id: int) -> None:
        """A user leaves the guild (and its voice channel)."""
        guild = self.state.guilds[guild_id]
        if user_id in guild.voice_states:
            self.set_voice_state(guild_id, user_id, None)
        member = guild.members.pop(user_id)
        self.gateway.dispatch(
            "GUILD_MEMBER_REMOVE", {"guild_id": str(guild_id), "user": member.user.payload()}
        )

    def set_voice_state(self, guild_id: int, user_id: int, channel_id: int | None) -> None:
        """Move a member into a voice channel (None = disconnect)."""
        guild = self.state.guilds[guild_id]
        if user_id not in guild.members:
            raise ValueError(f"user {user_id} is not a member of guild {guild_id}")
        if channel_id is None:
            guild.voice_states.pop(user_id, None)
        else:
            channel = guild.channels.get(channel_id)
            if channel is None or channel.type != CHANNEL_VOICE:
                raise ValueError(f"{channel_id} is not a voice channel of guild {guild_id}")
            guild.voice_states[user_id] = channel_id
        self.gateway.dispatch(
            "VOICE_STATE_UPDATE", self.state.voice_state_payload(guild_id, user_id)
        )

    # --- scheduled events --------------------------------------------------------------
    def scheduled_events(self, guild_id: int) -> list[dict[str, Any]]:
        """A guild's scheduled events as Discord would list them (with user counts)."""
        guild = self.state.guilds[guild_id]
        return [
            e.payload(self.state, with_user_count=True) for e in guild.scheduled_events.values()
        ]

    def _event(self, guild_id: int, event_id: int) -> EmuScheduledEvent:
        event = self.state.guilds[guild_id].scheduled_events.get(event_id)
        if event is None:
            raise LookupError(f"no scheduled event {event_id} in guild {guild_id}")
        return event

    def mark_interested(self, guild_id: int, event_id: int, user_id: int) -> None:
        """A member presses "Interested" on an event (only while it is scheduled or active)."""
        event = self._event(guild_id, event_id)
        if user_id not in self.state.guilds[guild_id].members:
            raise ValueError(f"user {user_id} is not a member of guild {guild_id}")
        if event.status not in (EVENT_SCHEDULED, EVENT_ACTIVE):
            raise ValueError(f"event {event_id} is over; nobody can mark it interested")
        if user_id in event.users:
            return
        event.users[user_id] = None
        self._event_user("GUILD_SCHEDULED_EVENT_USER_ADD", guild_id, event_id, user_id)

    def unmark_interested(self, guild_id: int, event_id: int, user_id: int) -> None:
        """A member takes back "Interested"."""
        event = self._event(guild_id, event_id)
        if user_id in event.users:
            del event.users[user_id]
            self._event_user("GUILD_SCHEDULED_EVENT_USER_REMOVE", guild_id, event_id, user_id)

    def _event_user(self, name: str, guild_id: int, event_id: int, user_id: int) -> None:
        data = {
            "guild_scheduled_event_id": str(event_id),
            "user_id": str(user_id),
            "guild_id": str(guild_id),
        }
        self.gateway.dispatch(name, data)
        self.state.notify()

    def set_event_status(self, guild_id: int, event_id: int, status: int) -> None:
        """A moderator (or Discord's own automation) starts, ends or cancels an event."""
        event = self._event(guild_id, event_id)
        problem = event_status_problem(event.status, status)
        if problem:
            raise ValueError(problem)
        event.status = status
        self.gateway.dispatch("GUILD_SCHEDULED_EVENT_UPDATE", event.payload(self.state))
        self.state.notify()

    def move_event(self, guild_id: int, event_id: int, start: str, end: str | None) -> None:
        """A moderator moves an event to other ISO8601 times (checked like the REST route)."""
        event = self._event(guild_id, event_id)
        merged = {
            **event.payload(self.state),
            "scheduled_start_time": start,
            "scheduled_end_time": end,
        }
        types = {cid: c.type for cid, c in self.state.guilds[guild_id].channels.items()}
        problems = validate_scheduled_event(merged, channel_types=types, now=datetime.now(UTC))
        if problems:
            raise ValueError("; ".join(problems))
        event.scheduled_start_time, event.scheduled_end_time = start, end
        self.gateway.dispatch("GUILD_SCHEDULED_EVENT_UPDATE", event.payload(self.state))
        self.state.notify()

    def delete_event(self, guild_id: int, event_id: int) -> None:
        """A moderator deletes an event."""
        event = self.state.guilds[guild_id].scheduled_events.pop(event_id)
        self.gateway.dispatch("GUILD_SCHEDULED_EVENT_DELETE", event.payload(self.state))
        self.state.notify()

    # --- interactions ------------------------------------------------------------------
    def _dispatch_interaction(
        self,
        kind: int,
        data: dict[str, Any],
        user_id: int,
        channel_id: int,
        *,
        message: Mapping[str, Any] | None = None,
        option_type: int | None = None,
    ) -> Interaction:
        """Build INTERACTION_CREATE like Discord, send it and track the handle."""
        state = self.state
        channel = state.channels[channel_id]
        user = state.users.get(user_id)
        if user is None:
            raise ValueError(f"unknown user {user_id}; add_member or add_user first")
        payload: dict[str, Any] = {
            "id": str(state.next_id()),
            "application_id": str(state.application_id),
            "type": kind,
            "data": data,
            "token": secrets.token_urlsafe(32),
            "version": 1,
            "locale": "en-US",
            "channel_id": str(channel_id),
            "channel": channel.payload(state),
            "entitlements": [],
            "attachment_size_limit": state.attachment_size_limit,
        }
        if channel.guild_id is not None:
            guild_id = channel.guild_id
            if user_id not in state.guilds[guild_id].members:
                raise ValueError(f"user {user_id} is not a member of guild {guild_id}")
            payload.update(
                guild_id=str(guild_id),
                guild_locale="en-US",
                guild={"id": str(guild_id), "locale": "en-US", "features": []},
                member=state.member_payload(guild_id, user_id, with_permissions=True),
                app_permissions=str(state.permissions(guild_id, state.bot_user.id)),
                authorizing_integration_owners={"0": str(guild_id)},
                context=0,
            )
        else:
            payload.update(
                user=user.payload(),
                app_permissions=str(DEFAULT_EVERYONE_PERMISSIONS),
                authorizing_integration_owners={"0": str(user_id)},
                context=1,
            )
        if message is not None:
            payload["message"] = dict(message)
        message_id = int(message["id"]) if message is not None else None
        inter = Interaction(state, payload, option_type=option_type, message_id=message_id)
        self.server.interactions[inter.id] = inter
        self.server.by_token[inter.token] = inter
        self.interactions.append(inter)
        inter.dispatched_at = time.monotonic()
        if self.gateway.dispatch("INTERACTION_CREATE", payload) is None:
            log.warning("interaction %s not delivered: the bot is not connected", inter.id)
        return inter

    def _command_context(
        self, name: str, user_id: int, guild_id: int | None, channel_id: int | None, check: bool
    ) -> tuple[dict[str, Any], list[str], int]:
        """Find the command a user can see and the channel it is used in."""
        top, *path = name.split()
        command = self.state.find_command(top, guild_id)
        if command is None:
            visible = [c["name"] for c in self.commands(guild_id) + self.commands()]
            raise CommandUnavailable(f"no command {top!r} registered; visible: {visible}")
        if guild_id is None:
            contexts = command.get("contexts")
            if command.get("dm_permission") is False or (contexts and 1 not in contexts):
                raise CommandUnavailable(f"{top!r} cannot be used in DMs")
            channel_id = channel_id or self.state.dm_channel(user_id).id
        else:
            channel_id = channel_id or self.state.guilds[guild_id].text_channel_id
            required = command.get("default_member_permissions")
            perms = self.state.permissions(guild_id, user_id)
            if check and required is not None and int(required) & ~perms:
                raise CommandUnavailable(f"user {user_id} lacks permissions {required} for {top!r}")
        return command, path, channel_id

    async def slash(
        self,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        user_id: int,
        guild_id: int | None = None,
        channel_id: int | None = None,
        check_permissions: bool = True,
    ) -> Interaction:
        """Invoke a slash command ('group sub' for subcommands); guild_id None means in a DM."""
        command, path, channel_id = self._command_context(
            name, user_id, guild_id, channel_id, check_permissions
        )
        data = OptionBuilder(self.state, guild_id).command_data(command, path, options or {})
        return self._dispatch_interaction(APPLICATION_COMMAND, data, user_id, channel_id)

    async def autocomplete(
        self,
        name: str,
        options: Mapping[str, Any],
        focused: str,
        *,
        user_id: int,
        guild_id: int | None = None,
        channel_id: int | None = None,
        timeout: float = 5.0,
    ) -> list[dict[str, Any]]:
        """Type into an autocomplete option and return the choices the bot offers."""
        inter = self.autocomplete_interaction(
            name, options, focused, user_id=user_id, guild_id=guild_id, channel_id=channel_id
        )
        return (await inter.response(timeout)).choices

    def autocomplete_interaction(
        self,
        name: str,
        options: Mapping[str, Any],
        focused: str,
        *,
        user_id: int,
        guild_id: int | None = None,
        channel_id: int | None = None,
    ) -> Interaction:
        """Dispatch an autocomplete interaction and return its handle without waiting."""
        command, path, channel_id = self._command_context(
            name, user_id, guild_id, channel_id, False
        )
        builder = OptionBuilder(self.state, guild_id)
        data = builder.command_data(command, path, options, focused=focused)
        return self._dispatch_interaction(
            AUTOCOMPLETE, data, user_id, channel_id, option_type=builder.focused_type
        )

    def _component(self, message: MessageRef, custom_id: str) -> tuple[dict, dict]:
        """The current stored message and its component with this custom_id."""
        mid = message if isinstance(message, int) else message.id
        data = self.state.messages.get(mid)
        if data is None:
            raise LookupError(f"message {mid} does not exist (deleted?)")
        for comp in iter_components(data.get("components")):
            if comp.get("custom_id") == custom_id:
                if comp.get("disabled"):
                    raise ValueError(f"component {custom_id!r} is disabled; users cannot use it")
                return data, dict(comp)
        ids = [c.get("custom_id") for c in iter_components(data.get("components"))]
        raise LookupError(f"no component {custom_id!r} on message {mid}; custom_ids: {ids}")

    async def click(self, message: MessageRef, custom_id: str, *, user_id: int) -> Interaction:
        """Press a button on a message."""
        data, comp = self._component(message, custom_id)
        if comp.get("type") != 2:
            raise ValueError(f"{custom_id!r} is not a button")
        payload = {"custom_id": custom_id, "component_type": 2}
        channel_id = int(data["channel_id"])
        return self._dispatch_interaction(
            MESSAGE_COMPONENT, payload, user_id, channel_id, message=data
        )

    async def click_as_seen(self, seen: Message, custom_id: str, *, user_id: int) -> Interaction:
        """Press a button on an older copy of a message (a double click, a stale client).

        Discord sends the message as it is now, so the button may no longer be on it.
        """
        comps = [c for c in iter_components(seen.data.get("components")) if c.get("type") == 2]
        if not any(c.get("custom_id") == custom_id for c in comps):
            raise LookupError(f"no button {custom_id!r} on the copy of message {seen.id}")
        return await self.forge_click(seen.id, custom_id, user_id=user_id)

    async def forge_click(self, message_id: int, custom_id: str, *, user_id: int) -> Interaction:
        """Deliver a click with any custom_id on an existing message, as a crafted client can."""
        data = self.state.messages.get(int(message_id))
        if data is None:
            raise LookupError(f"message {message_id} does not exist (deleted?)")
        payload = {"custom_id": custom_id, "component_type": 2}
        return self._dispatch_interaction(
            MESSAGE_COMPONENT, payload, user_id, int(data["channel_id"]), message=data
        )

    async def select(
        self, message: MessageRef, custom_id: str, values: Sequence[Any], *, user_id: int
    ) -> Interaction:
        """Pick values in a select menu (user ids for user selects, role ids for role selects)."""
        data, comp = self._component(message, custom_id)
        kind = comp.get("type")
        if kind not in SELECT_TYPES:
            raise ValueError(f"{custom_id!r} is not a select menu")
        low, high = comp.get("min_values", 1), comp.get("max_values", 1)
        if not low <= len(values) <= high:
            raise OptionError(f"{custom_id!r} takes {low}..{high} values, got {len(values)}")
        channel = self.state.channels[int(data["channel_id"])]
        builder = OptionBuilder(self.state, channel.guild_id)
        if kind == 3:
            allowed = [o["value"] for o in comp.get("options") or []]
            if any(v not in allowed for v in values):
                raise OptionError(f"values {list(values)} not all in options {allowed}")
        for value in values if kind != 3 else ():
            if kind == 5 or (kind == 7 and not builder.resolve_role(int(value))):
                builder.resolve_user(int(value))
            elif kind == 6 and not builder.resolve_role(int(value)):
                raise OptionError(f"unknown role {value}")
            elif kind == 8:
                builder.resolve_channel(int(value))
        payload: dict[str, Any] = {
            "custom_id": custom_id,
            "component_type": kind,
            "values": [str(v) for v in values],
        }
        if builder.resolved:
            payload["resolved"] = builder.resolved
        return self._dispatch_interaction(
            MESSAGE_COMPONENT, payload, user_id, channel.id, message=data
        )

    async def submit_modal(
        self, inter: Interaction, values: Mapping[str, str], *, timeout: float = 5.0
    ) -> Interaction:
        """Fill in and submit the modal the bot showed in answer to `inter`."""
        reply = await inter.response(timeout)
        if reply.type != 9 or inter.modal is None:
            raise ValueError(
                f"interaction {inter.id} was answered with type {reply.type}, not a modal"
            )

        def answer(comp: Mapping[str, Any]) -> dict[str, Any]:
            if comp.get("type") == 1:
                return {"type": 1, "components": [answer(c) for c in comp.get("components", [])]}
            if comp.get("type") == 18:
                return {"type": 18, "component": answer(comp["component"])}
            cid = comp.get("custom_id", "")
            if comp.get("type") == 4:
                return {"type": 4, "custom_id": cid, "value": values.get(cid, "")}
            return {"type": comp.get("type"), "custom_id": cid, "values": list(values.get(cid, []))}

        data = {
            "custom_id": inter.modal["custom_id"],
            "components": [answer(c) for c in inter.modal.get("components", [])],
        }
        message = inter.payload.get("message")
        return self._dispatch_interaction(
            MODAL_SUBMIT, data, inter.user_id, inter.channel_id, message=message
        )

    # --- chat messages ------------------------------------------------------------------
    async def send_message(
        self,
        channel_id: int,
        user_id: int,
        content: str,
        *,
        mention_bot: bool = False,
        reply_to: MessageRef | None = None,
    ) -> Message:
        """A user posts in a guild channel (optionally @mentioning the bot or replying)."""
        channel = self.state.channels[channel_id]
        guild = self.state.guilds.get(channel.guild_id or 0)
        if guild is not None and user_id not in guild.members:
            raise ValueError(f"user {user_id} is not a member of guild {channel.guild_id}")
        mention = f"<@{self.bot_user_id}>"
        if mention_bot and mention not in content:
            content = f"{mention} {content}"
        body: dict[str, Any] = {"content": content}
        if reply_to is not None:
            ref_id = reply_to if isinstance(reply_to, int) else reply_to.id
            body["message_reference"] = {"message_id": str(ref_id)}
        data = self.state.create_message(channel_id, user_id, body, nonce=str(self.state.next_id()))
        self.server._announce("MESSAGE_CREATE", data)
        return Message(data)

    async def send_dm(self, user_id: int, content: str) -> Message:
        """A user DMs the bot."""
        return await self.send_message(self.state.dm_channel(user_id).id, user_id, content)

    def dm_channel_id(self, user_id: int) -> int:
        """The id of the DM channel between the bot and a user."""
        return self.state.dm_channel(user_id).id

    async def next_message(self, channel_id: int, timeout: float = 5.0) -> Message:
        """The next message the bot sent to a channel via channel send (not interaction replies)."""
        cursor = self._cursors.get(channel_id, 0)

        def ready() -> Message | None:
            sent = self.server.sent.get(channel_id, [])
            for mid in sent[cursor:]:
                if mid in self.state.messages:
                    self._cursors[channel_id] = sent.index(mid) + 1
                    return Message(self.state.messages[mid])
            return None

        return await self.state.wait_for(ready, timeout, f"a bot message in channel {channel_id}")

    async def reply_to(self, message: MessageRef, timeout: float = 5.0) -> Message:
        """The bot's first message that replies to `message` (its message_reference)."""
        mid = message if isinstance(message, int) else message.id
        channel_id = int(self.state.messages[mid]["channel_id"])

        def answered() -> Message | None:
            for other in self.state.channel_messages.get(channel_id, []):
                data = self.state.messages[other]
                ref = (data.get("message_reference") or {}).get("message_id")
                if ref == str(mid) and int(data["author"]["id"]) == self.bot_user_id:
                    return Message(data)
            return None

        return await self.state.wait_for(answered, timeout, f"a reply to message {mid}")

    def feed(self) -> MessageFeed:
        """Every bot message from now on as it appears, changes or goes (see MessageFeed)."""
        return MessageFeed(self.state)

    async def next_dm(self, user_id: int, timeout: float = 5.0) -> Message:
        """The next message the bot sent to a user's DMs."""
        return await self.next_message(self.dm_channel_id(user_id), timeout)

    def messages(self, channel_id: int, *, include_ephemeral: bool = True) -> list[Message]:
        """All messages currently in a channel, oldest first."""
        found = (
            self.state.messages[mid] for mid in self.state.channel_messages.get(channel_id, [])
        )
        return [Message(m) for m in found if include_ephemeral or not m["flags"] & 64]

    def message(self, message: MessageRef) -> Message:
        """The current state of one message."""
        mid = message if isinstance(message, int) else message.id
        return Message(self.state.messages[mid])
