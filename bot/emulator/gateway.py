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


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard that receives a guild's events (Discord's formula)."""
    return (int(guild_id) >> 22) % shard_count


def event_guild(event: str, data: dict[str, Any]) -> int | None:
    """The guild an event belongs to (None for DMs and session events)."""
    if event in ("GUILD_CREATE", "GUILD_DELETE", "GUILD_UPDATE"):
        return int(data["id"])
    guild = data.get("guild_id")
    return int(guild) if guild else None


class Session:
    """One shard's gateway session: its intents, sequence, replay history and live socket."""

    def __init__(self, shard_id: int, intents: int) -> None:
        self.shard_id = shard_id
        self.intents = intents
        self.session_id = secrets.token_hex(16)
        self.seq = 0
        self.history: list[tuple[int, str]] = []
        self.connection: Connection | None = None
        self.ready = False


class Gateway:
    """The gateway for one bot over `shard_count` shards; `dispatch` is synchronous, so call
    order is send order. Guild events go to the guild's shard, the rest to shard 0."""

    def __init__(
        self,
        state: EmulatorState,
        resume_url: Callable[[], str],
        token: str | None = None,
        heartbeat_interval_ms: int = 41250,
        shard_count: int = 1,
    ) -> None:
        """Remember the world and how to describe ourselves in READY."""
        self.state = state
        self.resume_url = resume_url
        self.token = token
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.shard_count = max(1, int(shard_count))
        self.sessions: dict[int, Session] = {}
        self.connections: set[Connection] = set()
        self.identify_count = 0
        self.resume_count = 0
        self.on_dispatch: Callable[[str, dict[str, Any]], None] | None = None

    # the single-shard view tests and the driver read (shard 0's session)
    @property
    def _first(self) -> Session | None:
        return self.sessions.get(0)

    @property
    def session_id(self) -> str | None:
        """Shard 0's session id (None before IDENTIFY)."""
        return self._first.session_id if self._first else None

    @property
    def seq(self) -> int:
        """Shard 0's latest sequence number."""
        return self._first.seq if self._first else 0

    @property
    def history(self) -> list[tuple[int, str]]:
        """Shard 0's dispatched events, as (seq, frame)."""
        return self._first.history if self._first else []

    @property
    def connection(self) -> Connection | None:
        """Shard 0's live socket."""
        return self._first.connection if self._first else None

    @property
    def intents(self) -> int:
        """The intents the bot identified with (shard 0's; every shard sends the same)."""
        return self._first.intents if self._first else 0

    @property
    def ready(self) -> bool:
        """Whether every shard identified and got its READY and GUILD_CREATEs."""
        return all(
            (s := self.sessions.get(k)) is not None and s.ready for k in range(self.shard_count)
        )

    def shard_for(self, guild_id: int | None) -> int:
        """The shard a guild's events go to (shard 0 for DMs)."""
        return 0 if guild_id is None else shard_of(guild_id, self.shard_count)

    def intents_for(self, guild_id: int | None) -> int:
        """The intents of the shard that serves this guild."""
        session = self.sessions.get(self.shard_for(guild_id))
        return session.intents if session else 0

    def wants(self, event: str, data: dict[str, Any], intents: int | None = None) -> bool:
        """Whether the bot's intents subscribe it to this event."""
        intents = self.intents if intents is None else intents
        if event in MESSAGE_EVENTS:
            bit = INTENT_GUILD_MESSAGES if data.get("guild_id") else INTENT_DM_MESSAGES
            return bool(intents & bit)
        bit = EVENT_INTENTS.get(event)
        return bit is None or bool(intents & bit)

    def _redact(self, event: str, data: dict[str, Any], intents: int) -> dict[str, Any]:
        """Without MESSAGE_CONTENT, guild messages not mentioning the bot arrive without content."""
        if event not in ("MESSAGE_CREATE", "MESSAGE_UPDATE") or intents & INTENT_MESSAGE_CONTENT:
            return data
        bot_id = str(self.state.bot_user.id)
        if not data.get("guild_id") or data.get("author", {}).get("id") == bot_id:
            return data
        if any(user.get("id") == bot_id for user in data.get("mentions") or []):
            return data
        return {**data, "content": "", "embeds": [], "attachments": [], "components": []}

    def dispatch(self, event: str, data: dict[str, Any]) -> int | None:
        """Queue an event on its guild's shard with that shard's next sequence number (None
        if not sent)."""
        session = self.sessions.get(self.shard_for(event_guild(event, data)))
        if session is None:
            log.debug("no gateway session for %s; dropping it", event)
            return None
        return self._send(session, event, data)

    def _send(self, session: Session, event: str, data: dict[str, Any]) -> int | None:
        if not self.wants(event, data, session.intents):
            log.debug("intents exclude %s; not sent", event)
            return None
        session.seq += 1
        data = self._redact(event, data, session.intents)
        text = json.dumps({"op": OP_DISPATCH, "t": event, "s": session.seq, "d": data})
        session.history.append((session.seq, text))
        if session.connection is not None and session.connection.identified:
            session.connection.send(text)
        if self.on_dispatch is not None:
            self.on_dispatch(event, data)
        return session.seq

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
            for session in self.sessions.values():
                if session.connection is conn:
                    session.connection = None
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
        """Start a fresh session for the shard named: READY, then GUILD_CREATE for each of
        its guilds. A shard outside the emulator's count is refused like Discord does."""
        if self.token is not None and data.get("token") != self.token:
            log.warning("IDENTIFY with a wrong token; closing with 4004")
            await conn.close(code=4004)
            return
        shard = data.get("shard")
        if shard is None and self.shard_count > 1:
            log.warning("IDENTIFY without a shard, but %d shards are required", self.shard_count)
            await conn.close(code=4011)  # Sharding required
            return
        shard_id, count = (int(shard[0]), int(shard[1])) if shard else (0, 1)
        if count != self.shard_count or not 0 <= shard_id < count:
            log.warning("IDENTIFY as shard %s of %s; this gateway has %s", shard_id, count,
                        self.shard_count)  # fmt: skip
            await conn.close(code=4010)  # Invalid shard
            return
        session = Session(shard_id, int(data.get("intents") or 0))
        self.sessions[shard_id] = session
        self.identify_count += 1
        self._adopt(session, conn)
        bot = self.state.bot_user
        guilds = [gid for gid in self.state.guilds if self.shard_for(gid) == shard_id]
        self._send(
            session,
            "READY",
            {
                "v": 10,
                "user": {**bot.payload(), "verified": True, "mfa_enabled": False, "flags": 0},
                "guilds": [{"id": str(gid), "unavailable": True} for gid in guilds],
                "session_id": session.session_id,
                "resume_gateway_url": self.resume_url(),
                "application": {"id": str(self.state.application_id), "flags": 0},
                "private_channels": [],
                "relationships": [],
                "shard": [shard_id, count],
            },
        )
        all_members = bool(session.intents & INTENT_MEMBERS)
        for guild_id in guilds:
            self._send(
                session,
                "GUILD_CREATE",
                self.state.guild_payload(guild_id, all_members=all_members),
            )
        session.ready = True
        self.state.notify()

    def _resume(self, conn: Connection, data: dict[str, Any]) -> None:
        """Replay events after the client's sequence, or invalidate an unknown session."""
        wanted = data.get("session_id")
        session = next((s for s in self.sessions.values() if s.session_id == wanted), None)
        if session is None or wanted is None:
            conn.send({"op": OP_INVALID_SESSION, "d": False})
            return
        self.resume_count += 1
        after = int(data.get("seq") or 0)
        self._adopt(session, conn, replay_after=after)
        self._send(session, "RESUMED", {})

    def _adopt(self, session: Session, conn: Connection, replay_after: int | None = None) -> None:
        """Make `conn` the shard's live connection; on resume, queue the events it missed."""
        if session.connection is not None and session.connection is not conn:
            old = session.connection
            asyncio.get_running_loop().create_task(old.close(code=4009))
        for other in self.sessions.values():  # a socket serves one shard only
            if other is not session and other.connection is conn:
                other.connection = None
        session.connection = conn
        conn.identified = True
        if replay_after is not None:
            for seq, text in session.history:
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
        self._send(
            self.sessions[self.shard_for(guild_id)],
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

    def request_reconnect(self, shard_id: int = 0) -> None:
        """Send op 7 RECONNECT: the bot reconnects and RESUMEs, getting missed events replayed."""
        session = self.sessions.get(shard_id)
        if session is not None and session.connection is not None:
            session.connection.send({"op": OP_RECONNECT, "d": None})

    async def close(self) -> None:
        """Close every socket (the bot will see a disconnect)."""
        for conn in list(self.connections):
            await conn.close(code=1000)
        for session in self.sessions.values():
            session.connection = None
            session.ready = False
