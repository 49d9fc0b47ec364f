"""The aiohttp app: the REST subset of Discord API v10 a discord.py bot uses, plus /gateway."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from . import validate
from .gateway import Gateway
from .interaction import Interaction
from .messages import Message, Reply
from .state import (
    CONNECT,
    CREATE_EVENTS,
    ENTITY_STAGE,
    ENTITY_VOICE,
    EVENT_ACTIVE,
    EVENT_SCHEDULED,
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    MANAGE_CHANNELS,
    MANAGE_EVENTS,
    MOVE_MEMBERS,
    MUTE_MEMBERS,
    VIEW_CHANNEL,
    EmuGuild,
    EmulatorState,
    EmuScheduledEvent,
)

log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_response(data: Any, status: int = 200) -> web.Response:
    """A JSON response whose Content-Type is exactly application/json (discord.py requires it)."""
    body = json.dumps(data).encode()
    return web.Response(body=body, status=status, headers={"Content-Type": "application/json"})


def error(status: int, code: int, message: str, errors: dict | None = None) -> web.Response:
    """A Discord-style error body."""
    data: dict[str, Any] = {"message": message, "code": code}
    if errors:
        data["errors"] = errors
    return json_response(data, status)


def form_errors(problems: list[str]) -> dict[str, Any]:
    """Problems as Discord's nested `errors` object, keyed by the field path before the colon."""
    errors: dict[str, Any] = {}
    for problem in problems:
        path, _, message = problem.partition(": ")
        entry = errors.setdefault(path or "_", {"_errors": []})
        entry["_errors"].append({"code": "EMULATOR_LIMIT", "message": message or problem})
    return errors


class DiscordServer:
    """REST handlers over a shared EmulatorState, dispatching gateway events as Discord would."""

    def __init__(
        self,
        state: EmulatorState,
        gateway: Gateway,
        *,
        token: str | None = None,
        response_deadline: float = 3.0,
        followup_window: float = 900.0,
    ) -> None:
        """Wire the routes; interactions are looked up in `self.interactions`."""
        self.state = state
        self.gateway = gateway
        self.token = token
        self.response_deadline = response_deadline
        self.followup_window = followup_window
        self.interactions: dict[int, Interaction] = {}
        self.by_token: dict[str, Interaction] = {}
        self.sent: dict[int, list[int]] = {}
        self.app = web.Application(middlewares=[self._middleware])
        self._routes()

    def _routes(self) -> None:
        """Register every supported route, then the logging 404 catch-all."""
        p, r = API_PREFIX, self.app.router
        r.add_get("/gateway", self.gateway.handle)
        r.add_get(p + "/gateway", self.get_gateway)
        r.add_get(p + "/gateway/bot", self.get_gateway)
        r.add_get(p + "/users/@me", self.get_me)
        r.add_post(p + "/users/@me/channels", self.open_dm)
        r.add_get(p + "/users/{user_id}", self.get_user)
        r.add_get(p + "/oauth2/applications/@me", self.get_application)
        r.add_get(p + "/applications/@me", self.get_application)
        for path in ("/applications/{app}/commands", "/applications/{app}/guilds/{guild}/commands"):
            r.add_get(p + path, self.get_commands)
            r.add_put(p + path, self.put_commands)
        r.add_post(p + "/interactions/{iid}/{token}/callback", self.callback)
        r.add_post(p + "/webhooks/{app}/{token}", self.followup)
        hook = p + "/webhooks/{app}/{token}/messages/{mid}"
        r.add_get(hook, self.webhook_message)
        r.add_patch(hook, self.webhook_message)
        r.add_delete(hook, self.webhook_message)
        r.add_get(p + "/channels/{cid}", self.get_channel)
        r.add_post(p + "/channels/{cid}/messages", self.post_message)
        r.add_post(p + "/channels/{cid}/typing", self.no_content)
        msg = p + "/channels/{cid}/messages/{mid}"
        r.add_get(msg, self.channel_message)
        r.add_patch(msg, self.channel_message)
        r.add_delete(msg, self.channel_message)
        r.add_put(msg + "/reactions/{emoji}/@me", self.no_content)
        r.add_get(p + "/guilds/{guild}/members/{user_id}", self.get_member)
        r.add_get("/attachments/{aid}/{filename}", self.get_attachment)
        events = p + "/guilds/{guild}/scheduled-events"
        r.add_get(events, self.list_events)
        r.add_post(events, self.create_event)
        r.add_get(events + "/{event}", self.event)
        r.add_patch(events + "/{event}", self.event)
        r.add_delete(events + "/{event}", self.event)
        r.add_get(events + "/{event}/users", self.event_users)
        r.add_route("*", "/{tail:.*}", self.not_found)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Check bot auth where Discord needs it and log every request."""
        path = request.path
        needs_auth = path.startswith(API_PREFIX) and not path.startswith(
            (API_PREFIX + "/webhooks/", API_PREFIX + "/interactions/", API_PREFIX + "/gateway")
        )
        auth = request.headers.get("Authorization", "")
        if needs_auth and (not auth.startswith("Bot ") or self.token not in (None, auth[4:])):
            log.warning("%s %s: unauthorized", request.method, path)
            return error(401, 0, "401: Unauthorized")
        response = await handler(request)
        log.debug("%s %s -> %s", request.method, path, response.status)
        return response

    def reject(self, where: str, status: int, code: int, message: str) -> web.Response:
        """Answer like Discord and record the mistake as a violation."""
        self.state.violation(where, [f"{message} (HTTP {status}, code {code})"])
        return error(status, code, message)

    def invalid(self, where: str, problems: list[str]) -> web.Response:
        """400 Invalid Form Body for payloads over Discord's limits, recorded as violations."""
        self.state.violation(where, problems)
        return error(400, 50035, "Invalid Form Body", form_errors(problems))

    async def body(self, request: web.Request) -> dict[str, Any]:
        """The JSON body, or payload_json plus uploaded files as attachments for multipart."""
        if request.content_type.startswith("multipart/"):
            payload: dict[str, Any] = {}
            files = []
            reader = await request.multipart()
            async for part in reader:
                if part.name == "payload_json":
                    payload = json.loads(await part.text())
                elif getattr(part, "filename", None):
                    data = bytes(await part.read())
                    kind = part.headers.get("Content-Type")
                    files.append(self.state.add_file(part.filename or "file", data, kind))
            if files:  # an interaction callback carries its message under "data"
                callback = "type" in payload and isinstance(payload.get("data"), dict)
                (payload["data"] if callback else payload)["attachments"] = files
            return payload
        if not request.can_read_body:
            return {}
        return await request.json()

    async def not_found(self, request: web.Request) -> web.Response:
        """Unknown route: log it so a missing emulator feature is visible."""
        route = f"{request.method} {request.path}"
        log.warning("emulator has no route for %s", route)
        self.state.unknown_routes.append(route)
        return error(404, 0, "404: Not Found")

    async def no_content(self, request: web.Request) -> web.Response:
        """Endpoints whose effect tests do not need (typing, reactions)."""
        return web.Response(status=204)

    async def get_attachment(self, request: web.Request) -> web.Response:
        """The CDN: an uploaded file's bytes (every download is recorded for tests)."""
        aid = int(request.match_info["aid"]) if request.match_info["aid"].isdigit() else 0
        stored = self.state.files.get(aid)
        if stored is None or request.match_info["filename"] != stored.filename:
            return web.Response(status=404, text="Not Found")
        self.state.downloads.append(aid)
        kind = stored.content_type or "application/octet-stream"
        return web.Response(body=stored.data, headers={"Content-Type": kind})

    # --- identity ----------------------------------------------------------------
    async def get_gateway(self, request: web.Request) -> web.Response:
        """Where the gateway lives and how many shards to run (AutoShardedBot asks when it
        is not told a shard count)."""
        url = self.gateway.resume_url()
        limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
        shards = self.gateway.shard_count
        return json_response({"url": url, "shards": shards, "session_start_limit": limit})

    async def get_me(self, request: web.Request) -> web.Response:
        """The bot's own user, requested at login."""
        me = {**self.state.bot_user.payload(), "verified": True, "mfa_enabled": False, "flags": 0}
        return json_response(me)

    async def get_user(self, request: web.Request) -> web.Response:
        """Any known user."""
        user = self.state.users.get(int(request.match_info["user_id"]))
        if user is None:
            return error(404, 10013, "Unknown User")
        return json_response(user.payload())

    async def get_application(self, request: web.Request) -> web.Response:
        """Application info, requested at login."""
        bot = self.state.bot_user
        return json_response(
            {
                "id": str(self.state.application_id),
                "name": bot.name,
                "description": "",
                "icon": None,
                "bot_public": False,
                "bot_require_code_grant": False,
                "owner": bot.payload(),
                "verify_key": "0" * 64,
                "flags": 0,
                "team": None,
                "bot": bot.payload(),
                "interactions_endpoint_url": None,
            }
        )

    async def open_dm(self, request: web.Request) -> web.Response:
        """Open (or reuse) the DM channel with a user."""
        data = await self.body(request)
        user_id = int(data.get("recipient_id") or 0)
        if user_id not in self.state.users:
            return error(400, 50007, "Cannot send messages to this user")
        return json_response(self.state.dm_channel(user_id).payload(self.state))

    async def get_member(self, request: web.Request) -> web.Response:
        """One guild member, whatever the intents (like Discord)."""
        guild = self.state.guilds.get(int(request.match_info["guild"]))
        user_id = int(request.match_info["user_id"])
        if guild is None:
            return error(404, 10004, "Unknown Guild")
        if user_id not in guild.members:
            return error(404, 10007, "Unknown Member")
        return json_response(self.state.member_payload(guild.id, user_id))

    async def get_channel(self, request: web.Request) -> web.Response:
        """One channel."""
        channel = self.state.channels.get(int(request.match_info["cid"]))
        if channel is None:
            return error(404, 10003, "Unknown Channel")
        return json_response(channel.payload(self.state))

    # --- commands ------------------------------------------------------------------
    def _command_scope(self, request: web.Request) -> int | web.Response | None:
        """The guild id of a command route (None for global), or an error response."""
        if int(request.match_info["app"]) != self.state.application_id:
            return error(403, 50001, "Missing Access")
        guild = request.match_info.get("guild")
        if guild is None:
            return None
        if int(guild) not in self.state.guilds:
            return error(403, 50001, "Missing Access")
        return int(guild)

    async def get_commands(self, request: web.Request) -> web.Response:
        """The registered commands of a scope."""
        scope = self._command_scope(request)
        if isinstance(scope, web.Response):
            return scope
        if scope is None:
            return json_response(self.state.global_commands or [])
        return json_response(self.state.guild_commands.get(scope, []))

    async def put_commands(self, request: web.Request) -> web.Response:
        """Bulk overwrite (what CommandTree.sync does), validated against Discord's limits."""
        scope = self._command_scope(request)
        if isinstance(scope, web.Response):
            return scope
        commands = await self.body(request)
        where = f"PUT commands ({'global' if scope is None else f'guild {scope}'})"
        if not isinstance(commands, list):
            return self.invalid(where, ["_: expected a list of commands"])
        problems = validate.validate_commands(commands)
        if problems:
            return self.invalid(where, problems)
        log.info("registered %d commands (%s)", len(commands), where)
        return json_response(self.state.store_commands(scope, commands))

    # --- interactions ----------------------------------------------------------------
    def _bot_message(self, inter: Interaction, body: dict[str, Any]) -> dict[str, Any]:
        """Store a message the bot sent through an interaction (response or follow-up)."""
        user = self.state.users[inter.user_id]
        extra = {
            "webhook_id": str(self.state.application_id),
            "application_id": str(self.state.application_id),
            "type": 20 if inter.type == 2 else 0,
            "interaction_metadata": {
                "id": str(inter.id),
                "type": inter.type,
                "user": user.payload(),
                "authorizing_integration_owners": {},
            },
        }
        message = self.state.create_message(inter.channel_id, self.state.bot_user.id, body, **extra)
        self._announce("MESSAGE_CREATE", message)
        return message

    def _announce(self, event: str, message: dict[str, Any]) -> None:
        """Tell the gateway about a non-ephemeral message change, as Discord does."""
        if message["flags"] & FLAG_EPHEMERAL:
            return
        if event == "MESSAGE_DELETE":
            data = {k: message[k] for k in ("id", "channel_id", "guild_id") if k in message}
            self.gateway.dispatch(event, data)
            return
        data = dict(message)
        guild = self.state.guilds.get(int(data.get("guild_id") or 0))
        author_id = int(data["author"]["id"])
        if guild is not None and author_id in guild.members:
            data["member"] = self.state.member_payload(guild.id, author_id, with_user=False)
        self.gateway.dispatch(event, data)

    async def callback(self, request: web.Request) -> web.Response:
        """The first response to an interaction: deadline, single acknowledgement, limits."""
        iid, token = int(request.match_info["iid"]), request.match_info["token"]
        where = f"interaction {iid} callback"
        inter = self.interactions.get(iid)
        if inter is None or inter.token != token:
            return self.reject(where, 404, 10062, "Unknown interaction")
        body = await self.body(request)
        if inter.acknowledged:
            inter.rejections.append("already acknowledged")
            return self.reject(where, 400, 40060, "Interaction has already been acknowledged.")
        if inter.age() > self.response_deadline:
            inter.rejections.append(f"late by {inter.age() - self.response_deadline:.3f}s")
            self.state.violation(
                where,
                [f"first response after {inter.age():.3f}s (limit {self.response_deadline}s)"],
            )
            return error(404, 10062, "Unknown interaction")
        problems = validate.validate_callback(body, inter.type, inter.option_type)
        if problems:
            inter.rejections.extend(problems)
            return self.invalid(where, problems)
        inter.first_response_at = time.monotonic()
        kind, data = body["type"], dict(body.get("data") or {})
        message: dict[str, Any] | None = None
        if kind == 4:
            message = self._bot_message(inter, data)
        elif kind == 5:
            flags = FLAG_LOADING | (int(data.get("flags") or 0) & FLAG_EPHEMERAL)
            message = self._bot_message(inter, {"content": "", "flags": flags})
        elif kind in (6, 7) and inter.message_id in self.state.messages:
            message = self.state.messages[inter.message_id]
            if kind == 7:
                message = self.state.edit_message(inter.message_id, data)
                self._announce("MESSAGE_UPDATE", message)
        elif kind == 9:
            inter.modal = data
        if message is not None:
            inter.original_id = int(message["id"])
        inter.reply = Reply(kind, data, Message(message) if message else None)
        self.state.notify()
        if request.query.get("with_response") not in ("1", "true", "True"):
            return web.Response(status=204)
        info: dict[str, Any] = {"id": str(inter.id), "type": inter.type}
        resource: dict[str, Any] = {"type": kind}
        if message is not None:
            info["response_message_id"] = message["id"]
            info["response_message_loading"] = kind == 5
            info["response_message_ephemeral"] = bool(message["flags"] & FLAG_EPHEMERAL)
            if kind in (4, 5, 7):
                resource["message"] = message
        return json_response({"interaction": info, "resource": resource})

    def _webhook(self, request: web.Request, where: str) -> Interaction | web.Response:
        """The interaction behind a webhook token, if it is still usable."""
        inter = self.by_token.get(request.match_info["token"])
        if inter is None or int(request.match_info["app"]) != self.state.application_id:
            return self.reject(where, 404, 10015, "Unknown Webhook")
        if inter.age() > self.followup_window:
            return self.reject(where, 401, 50027, "Invalid Webhook Token")
        if not inter.acknowledged:
            return self.reject(where, 404, 10015, "Unknown Webhook")
        return inter

    async def followup(self, request: web.Request) -> web.Response:
        """A follow-up message; the first one after a deferral fills the 'thinking' message."""
        where = "webhook follow-up"
        inter = self._webhook(request, where)
        if isinstance(inter, web.Response):
            return inter
        body = await self.body(request)
        problems = validate.validate_message(body)
        if problems:
            return self.invalid(where, problems)
        original = self.state.messages.get(inter.original_id or 0)
        if original is not None and original["flags"] & FLAG_LOADING and not inter.followup_ids:
            message = self.state.edit_message(int(original["id"]), body)
            message["flags"] &= ~FLAG_LOADING
            self._announce("MESSAGE_UPDATE", message)
        else:
            message = self._bot_message(inter, body)
        inter.followup_ids.append(int(message["id"]))
        self.state.notify()
        if request.query.get("wait") in ("1", "true", "True"):
            return json_response(message)
        return web.Response(status=204)

    async def webhook_message(self, request: web.Request) -> web.Response:
        """GET/PATCH/DELETE @original or a follow-up of an interaction."""
        where = f"{request.method} webhook message {request.match_info['mid']}"
        inter = self._webhook(request, where)
        if isinstance(inter, web.Response):
            return inter
        raw = request.match_info["mid"]
        mid = inter.original_id if raw == "@original" else int(raw)
        if mid is None or mid not in self.state.messages:
            return self.reject(where, 404, 10008, "Unknown Message")
        if mid != inter.original_id and mid not in inter.followup_ids:
            return self.reject(where, 404, 10008, "Unknown Message")
        if request.method == "GET":
            return json_response(self.state.messages[mid])
        if request.method == "DELETE":
            self._announce("MESSAGE_DELETE", self.state.messages[mid])
            self.state.delete_message(mid)
            return web.Response(status=204)
        body = await self.body(request)
        problems = validate.validate_message(body, creating=False)
        if problems:
            return self.invalid(where, problems)
        message = self.state.edit_message(mid, body)
        message["flags"] &= ~FLAG_LOADING
        if mid == inter.original_id:
            inter.edits += 1
        self._announce("MESSAGE_UPDATE", message)
        self.state.notify()
        return json_response(message)

    # --- channel messages -----------------------------------------------------------
    async def post_message(self, request: web.Request) -> web.Response:
        """The bot sends a message to a channel (or DM), optionally replying to another."""
        cid = int(request.match_info["cid"])
        where = f"POST channel {cid} message"
        if cid not in self.state.channels:
            return self.reject(where, 404, 10003, "Unknown Channel")
        body = await self.body(request)
        problems = validate.validate_message(body)
        ref = body.get("message_reference") or {}
        missing = ref.get("message_id") and int(ref["message_id"]) not in self.state.messages
        if missing and ref.get("fail_if_not_exists", True):
            problems.append("message_reference: Unknown message")
        if problems:
            return self.invalid(where, problems)
        body["flags"] = int(body.get("flags") or 0) & ~FLAG_EPHEMERAL
        message = self.state.create_message(cid, self.state.bot_user.id, body)
        self.sent.setdefault(cid, []).append(int(message["id"]))
        self._announce("MESSAGE_CREATE", message)
        self.state.notify()
        return json_response(message)

    async def channel_message(self, request: web.Request) -> web.Response:
        """GET/PATCH/DELETE a channel message (only the bot's own can be edited)."""
        cid, mid = int(request.match_info["cid"]), int(request.match_info["mid"])
        where = f"{request.method} channel {cid} message {mid}"
        message = self.state.messages.get(mid)
        if message is None or int(message["channel_id"]) != cid:
            return self.reject(where, 404, 10008, "Unknown Message")
        if request.method == "GET":
            return json_response(message)
        if request.method == "DELETE":
            self._announce("MESSAGE_DELETE", message)
            self.state.delete_message(mid)
            return web.Response(status=204)
        if int(message["author"]["id"]) != self.state.bot_user.id:
            return self.reject(where, 403, 50005, "Cannot edit a message authored by another user")
        body = await self.body(request)
        problems = validate.validate_message(body, creating=False)
        if problems:
            return self.invalid(where, problems)
        message = self.state.edit_message(mid, body)
        self._announce("MESSAGE_UPDATE", message)
        return json_response(message)

    # --- guild scheduled events ---------------------------------------------------------
    def _event_permissions(self, guild: EmuGuild, kind: int, creating: bool, creator: int) -> int:
        """The permissions the bot needs to create (or modify/delete) an event of this kind."""
        if creating:
            needed = CREATE_EVENTS
        elif creator == self.state.bot_user.id:
            needed = 0  # CREATE_EVENTS or MANAGE_EVENTS, checked by the caller
        else:
            needed = MANAGE_EVENTS
        if kind == ENTITY_VOICE:
            needed |= VIEW_CHANNEL | CONNECT
        elif kind == ENTITY_STAGE:
            needed |= MANAGE_CHANNELS | MUTE_MEMBERS | MOVE_MEMBERS
        return needed

    def _lacks(self, guild: EmuGuild, needed: int, own_event: bool) -> bool:
        """Whether the bot lacks `needed` (and, for its own events, both event permissions)."""
        perms = self.state.permissions(guild.id, self.state.bot_user.id)
        if own_event and not perms & (CREATE_EVENTS | MANAGE_EVENTS):
            return True
        return bool(needed & ~perms)

    def _guild_or_error(self, request: web.Request) -> EmuGuild | web.Response:
        guild = self.state.guilds.get(int(request.match_info["guild"]))
        if guild is None or self.state.bot_user.id not in guild.members:
            return error(404, 10004, "Unknown Guild")
        return guild

    async def list_events(self, request: web.Request) -> web.Response:
        """Every event of a guild (with user counts when asked)."""
        guild = self._guild_or_error(request)
        if isinstance(guild, web.Response):
            return guild
        counts = request.query.get("with_user_count") in ("1", "true", "True")
        return json_response(
            [e.payload(self.state, with_user_count=counts) for e in guild.scheduled_events.values()]
        )

    async def create_event(self, request: web.Request) -> web.Response:
        """Create a scheduled event, checking Discord's field rules and permissions."""
        guild = self._guild_or_error(request)
        if isinstance(guild, web.Response):
            return guild
        where = f"POST guild {guild.id} scheduled event"
        body = await self.body(request)
        if "status" in body:
            return self.invalid(where, ["status: cannot be set when creating an event"])
        problems = validate.validate_scheduled_event(
            body, channel_types=self._channel_types(guild), now=self._now()
        )
        if problems:
            return self.invalid(where, problems)
        kind = int(body["entity_type"])
        if self._lacks(guild, self._event_permissions(guild, kind, True, 0), own_event=False):
            return self.reject(where, 403, 50013, "Missing Permissions")
        metadata = body.get("entity_metadata") or {}
        event = EmuScheduledEvent(
            id=self.state.next_id(),
            guild_id=guild.id,
            name=body["name"],
            scheduled_start_time=body["scheduled_start_time"],
            entity_type=kind,
            privacy_level=int(body["privacy_level"]),
            creator_id=self.state.bot_user.id,
            channel_id=int(body["channel_id"]) if body.get("channel_id") else None,
            description=body.get("description"),
            scheduled_end_time=body.get("scheduled_end_time"),
            location=metadata.get("location"),
        )
        guild.scheduled_events[event.id] = event
        data = event.payload(self.state)
        self.gateway.dispatch("GUILD_SCHEDULED_EVENT_CREATE", data)
        self.state.notify()
        return json_response(data)

    async def event(self, request: web.Request) -> web.Response:
        """GET, PATCH (fields or status) or DELETE one scheduled event."""
        guild = self._guild_or_error(request)
        if isinstance(guild, web.Response):
            return guild
        event = guild.scheduled_events.get(int(request.match_info["event"]))
        where = f"{request.method} guild {guild.id} scheduled event {request.match_info['event']}"
        if event is None:
            return self.reject(where, 404, 10070, "Unknown Guild Scheduled Event")
        if request.method == "GET":
            counts = request.query.get("with_user_count") in ("1", "true", "True")
            return json_response(event.payload(self.state, with_user_count=counts))
        own = event.creator_id == self.state.bot_user.id
        needed = self._event_permissions(guild, event.entity_type, False, event.creator_id)
        if self._lacks(guild, needed, own_event=own):
            return self.reject(where, 403, 50013, "Missing Permissions")
        if request.method == "DELETE":
            del guild.scheduled_events[event.id]
            self.gateway.dispatch("GUILD_SCHEDULED_EVENT_DELETE", event.payload(self.state))
            self.state.notify()
            return web.Response(status=204)
        body = await self.body(request)
        if event.status not in (EVENT_SCHEDULED, EVENT_ACTIVE):
            return self.reject(where, 400, 180000, "Cannot update a finished event")
        if "status" in body:
            problem = validate.event_status_problem(event.status, body["status"])
            if problem:
                return self.invalid(where, [problem])
        merged = {**event.payload(self.state), **body}
        if merged.get("entity_type") != validate.ENTITY_EXTERNAL:
            merged["entity_metadata"] = None  # Discord drops it silently for these
        problems = validate.validate_scheduled_event(
            merged,
            channel_types=self._channel_types(guild),
            now=self._now(),
            start_changed="scheduled_start_time" in body,
        )
        if problems:
            return self.invalid(where, problems)
        self._apply_event(event, merged)
        data = event.payload(self.state)
        self.gateway.dispatch("GUILD_SCHEDULED_EVENT_UPDATE", data)
        self.state.notify()
        return json_response(data)

    @staticmethod
    def _apply_event(event: EmuScheduledEvent, merged: dict[str, Any]) -> None:
        """Copy a validated, merged event payload back onto the stored event."""
        event.name = merged["name"]
        event.description = merged.get("description")
        event.scheduled_start_time = merged["scheduled_start_time"]
        event.scheduled_end_time = merged.get("scheduled_end_time")
        event.entity_type = int(merged["entity_type"])
        event.channel_id = int(merged["channel_id"]) if merged.get("channel_id") else None
        event.location = (merged.get("entity_metadata") or {}).get("location")
        event.status = int(merged["status"])

    async def event_users(self, request: web.Request) -> web.Response:
        """The users interested in an event, ascending by id, paged by before/after."""
        guild = self._guild_or_error(request)
        if isinstance(guild, web.Response):
            return guild
        event = guild.scheduled_events.get(int(request.match_info["event"]))
        if event is None:
            return error(404, 10070, "Unknown Guild Scheduled Event")
        limit = int(request.query.get("limit") or 100)
        if not 1 <= limit <= 100:
            return self.invalid("GET scheduled event users", ["limit: must be 1..100"])
        users = sorted(event.users)
        if request.query.get("before"):
            users = [u for u in users if u < int(request.query["before"])][-limit:]
        elif request.query.get("after"):
            users = [u for u in users if u > int(request.query["after"])][:limit]
        else:
            users = users[:limit]
        with_member = request.query.get("with_member") in ("1", "true", "True")
        rows = []
        for uid in users:
            row: dict[str, Any] = {
                "guild_scheduled_event_id": str(event.id),
                "user": self.state.users[uid].payload(),
            }
            if with_member and uid in guild.members:
                row["member"] = self.state.member_payload(guild.id, uid, with_user=False)
            rows.append(row)
        return json_response(rows)

    @staticmethod
    def _channel_types(guild: EmuGuild) -> dict[int, int]:
        return {cid: channel.type for cid, channel in guild.channels.items()}

    @staticmethod
    def _now() -> datetime:
        return datetime.now(UTC)
