"""The gateway websocket: HELLO, IDENTIFY/RESUME, heartbeats and ordered, sequenced dispatches."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web

from .state import EmulatorState

log = logging.getLogger(__name__)

OP_DISPATCH, OP_HEARTBEAT, OP_IDENTIFY, OP_RESUME, OP_RECONNECT = 0, 1, 2, 6, 7
OP_REQUEST_MEMBERS, OP_INVALID_SESSION, OP_HELLO, OP_HEARTBEAT_ACK = 8, 9, 10, 11
INTENT_GUILDS = 1 << 0
INTENT_MEMBERS = 1 << 1
INTENT_VOICE_STATES = 1 << 7
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DM_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15
INTENT_SCHEDULED_EVENTS = 1 << 16
EVENT_INTENTS = {
    "GUILD_CREATE": INTENT_GUILDS,
    "GUILD_DELETE": INTENT_GUILDS,
    "CHANNEL_CREATE": INTENT_GUILDS,
    "GUILD_ROLE_CREATE": INTENT_GUILDS,
    "GUILD_ROLE_UPDATE": INTENT_GUILDS,
    "GUILD_MEMBER_ADD": INTENT_MEMBERS,
    "GUILD_MEMBER_UPDATE": INTENT_MEMBERS,
    "GUILD_MEMBER_REMOVE": INTENT_MEMBERS,
    "VOICE_STATE_UPDATE": INTENT_VOICE_STATES,
    "GUILD_SCHEDULED_EVENT_CREATE": INTENT_SCHEDULED_EVENTS,
    "GUILD_SCHEDULED_EVENT_UPDATE": INTENT_SCHEDULED_EVENTS,
    "GUILD_SCHEDULED_EVENT_DELETE": INTENT_SCHEDULED_EVENTS,
    "GUILD_SCHEDULED_EVENT_USER_ADD": INTENT_SCHEDULED_EVENTS,
    "GUILD_SCHEDULED_EVENT_USER_REMOVE": INTENT_SCHEDULED_EVENTS,
}
MESSAGE_EVENTS = {"MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE"}


class Connection:
    """One websocket; a single writer task sends queued frames so their order is kept."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        """Start the writer for this socket."""
        self.ws = ws
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.identified = False
        self.writer = asyncio.create_task(self._write())

    def send(self, payload: dict[str, Any] | str) -> None:
        """Queue a frame (plain text JSON, which discord.py accepts despite asking for zlib)."""
        self.queue.put_nowait(payload if isinstance(payload, str) else json.dumps(payload))

    async def _write(self) -> None:
        """Send queued frames in order until told to stop or the socket closes."""
        while (text := await self.queue.get()) is not None:
            if self.ws.closed:
                return
            try:
                await self.ws.send_str(text)
            except (ConnectionError, RuntimeError) as exc:
                log.debug("gateway send failed: %s", exc)
                return

    async def close(self, code: int = 1000) -> None:
        """Flush nothing more, stop the writer and close the socket."""
        self.queue.put_nowait(None)
        await asyncio.gather(self.writer, return_exceptions=True)
        if not self.ws.closed:
            await self.ws.close(code=code)


class Gateway:
    """Single-shard gateway for one bot; `dispatch` is synchronous, so call order is send order."""

    def __init__(
        self,
        state: EmulatorState,
        resume_url: Callable[[], str],
        token: str | None = None,
        heartbeat_interval_ms: int = 41250,
    ) -> None:
        """Remember the world and how to describe ourselves in READY."""
        self.state = state
        self.resume_url = resume_url
        self.token = token
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.session_id: str | None = None
        self.intents = 0
        self.seq = 0
        self.history: list[tuple[int, str]] = []
        self.connection: Connection | None = None
        self.connections: set[Connection] = set()
        self.ready = False
        self.identify_count = 0
        self.resume_count = 0
        self.on_dispatch: Callable[[str, dict[str, Any]], None] | None = None

    def wants(self, event: str, data: dict[str, Any]) -> bool:
        """Whether the bot's intents subscribe it to this event."""
        if event in MESSAGE_EVENTS:
            bit = INTENT_GUILD_MESSAGES if data.get("guild_id") else INTENT_DM_MESSAGES
            return bool(self.intents & bit)
        bit = EVENT_INTENTS.get(event)
        return bit is None or bool(self.intents & bit)

    def _redact(self, event: str, data: dict[str, Any]) -> dict[str, Any]:
        """Without MESSAGE_CONTENT, guild messages not mentioning the bot arrive without content."""
        if (
            event not in ("MESSAGE_CREATE", "MESSAGE_UPDATE")
            or self.intents & INTENT_MESSAGE_CONTENT
        ):
            return data
        bot_id = str(self.state.bot_user.id)
        if not data.get("guild_id") or data.get("author", {}).get("id") == bot_id:
            return data
        if any(user.get("id") == bot_id for user in data.get("mentions") or []):
            return data
        return {**data, "content": "", "embeds": [], "attachments": [], "components": []}

    def dispatch(self, event: str, data: dict[str, Any]) -> int | None:
        """Queue an event for the bot with the next sequence number (None if not sent)."""
        if self.session_id is None:
            log.debug("no gateway session; dropping %s", event)
            return None
        if not self.wants(event, data):
            log.debug("intents exclude %s; not sent", event)
            return None
        self.seq += 1
        data = self._redact(event, data)
        text = json.dumps({"op": OP_DISPATCH, "t": event, "s": self.seq, "d": data})
        self.history.append((self.seq, text))
        if self.connection is not None and self.connection.identified:
            self.connection.send(text)
        if self.on_dispatch is not None:
            self.on_dispatch(event, data)
        return self.seq

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """Serve one gateway websocket connection until it closes."""
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        conn = Connection(ws)
        self.connections.add(conn)
        conn.send({"op": OP_HELLO, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._receive(conn, json.loads(msg.data))
                elif msg.type == WSMsgType.ERROR:
                    log.debug("gateway socket error: %s", ws.exception())
        finally:
            self.connections.discard(conn)
            if self.connection is conn:
                self.connection = None
            await conn.close()
        return ws

    async def _receive(self, conn: Connection, msg: dict[str, Any]) -> None:
        """Handle one opcode from the bot."""
        op, data = msg.get("op"), msg.get("d")
        if op == OP_HEARTBEAT:
            conn.send({"op": OP_HEARTBEAT_ACK})
        elif op == OP_IDENTIFY:
            await self._identify(conn, data or {})
        elif op == OP_RESUME:
            self._resume(conn, data or {})
        elif op == OP_REQUEST_MEMBERS:
            self._send_members(conn, data or {})
        else:
            log.debug("gateway op %s ignored", op)

    async def _identify(self, conn: Connection, data: dict[str, Any]) -> None:
        """Start a fresh session: READY, then GUILD_CREATE for every guild."""
        if self.token is not None and data.get("token") != self.token:
            log.warning("IDENTIFY with a wrong token; closing with 4004")
            await conn.close(code=4004)
            return
        self.intents = int(data.get("intents") or 0)
        self.session_id = secrets.token_hex(16)
        self.seq = 0
        self.history.clear()
        self.identify_count += 1
        self._adopt(conn)
        bot = self.state.bot_user
        self.dispatch(
            "READY",
            {
                "v": 10,
                "user": {**bot.payload(), "verified": True, "mfa_enabled": False, "flags": 0},
                "guilds": [{"id": str(gid), "unavailable": True} for gid in self.state.guilds],
                "session_id": self.session_id,
                "resume_gateway_url": self.resume_url(),
                "application": {"id": str(self.state.application_id), "flags": 0},
                "private_channels": [],
                "relationships": [],
                "shard": [0, 1],
            },
        )
        all_members = bool(self.intents & INTENT_MEMBERS)
        for guild_id in list(self.state.guilds):
            self.dispatch(
                "GUILD_CREATE", self.state.guild_payload(guild_id, all_members=all_members)
            )
        self.ready = True
        self.state.notify()

    def _resume(self, conn: Connection, data: dict[str, Any]) -> None:
        """Replay events after the client's sequence, or invalidate an unknown session."""
        if data.get("session_id") != self.session_id or self.session_id is None:
            conn.send({"op": OP_INVALID_SESSION, "d": False})
            return
        self.resume_count += 1
        after = int(data.get("seq") or 0)
        self._adopt(conn, replay_after=after)
        self.dispatch("RESUMED", {})

    def _adopt(self, conn: Connection, replay_after: int | None = None) -> None:
        """Make `conn` the live connection; on resume, queue the events it missed."""
        if self.connection is not None and self.connection is not conn:
            old = self.connection
            asyncio.get_running_loop().create_task(old.close(code=4009))
        self.connection = conn
        conn.identified = True
        if replay_after is not None:
            for seq, text in self.history:
                if seq > replay_after:
                    conn.send(text)

    def _send_members(self, conn: Connection, data: dict[str, Any]) -> None:
        """Answer a member request with one GUILD_MEMBERS_CHUNK."""
        guild_id = int(data.get("guild_id") or 0)
        guild = self.state.guilds.get(guild_id)
        if guild is None:
            return
        query = (data.get("query") or "").lower()
        ids = {int(uid) for uid in data.get("user_ids") or []}
        members = [
            self.state.member_payload(guild_id, uid)
            for uid, member in guild.members.items()
            if (not ids or uid in ids) and member.user.name.lower().startswith(query)
        ]
        self.dispatch(
            "GUILD_MEMBERS_CHUNK",
            {
                "guild_id": str(guild_id),
                "members": members,
                "chunk_index": 0,
                "chunk_count": 1,
                "not_found": [str(uid) for uid in ids if uid not in guild.members],
                "nonce": data.get("nonce"),
            },
        )

    def request_reconnect(self) -> None:
        """Send op 7 RECONNECT: the bot reconnects and RESUMEs, getting missed events replayed."""
        if self.connection is not None:
            self.connection.send({"op": OP_RECONNECT, "d": None})

    async def close(self) -> None:
        """Close every socket (the bot will see a disconnect)."""
        for conn in list(self.connections):
            await conn.close(code=1000)
        self.connection = None
        self.ready = False
