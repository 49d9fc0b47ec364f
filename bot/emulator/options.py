"""Turn a test's plain option values into the typed, resolved options a Discord client sends."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .state import EmulatorState

STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER = 3, 4, 5, 6, 7, 8, 9, 10
ATTACHMENT = 11
SUBCOMMAND, GROUP = 1, 2


def _shown(value: Any) -> str:
    """A choice value as a user would type it: 4.0 as 4, strings unquoted."""
    return f"{value:g}" if isinstance(value, float) else str(value)


class OptionError(ValueError):
    """The test asked for something a real Discord client would not let a user send."""


@dataclass(frozen=True)
class Upload:
    """A file a member attaches to a slash command's attachment option."""

    filename: str
    data: bytes = field(repr=False)
    content_type: str | None = None


class OptionBuilder:
    """Builds `data.options` and `data.resolved` for one command invocation."""

    def __init__(self, state: EmulatorState, guild_id: int | None) -> None:
        """Options resolve users, channels and roles against this guild."""
        self.state = state
        self.guild_id = guild_id
        self.resolved: dict[str, dict[str, Any]] = {}
        self.focused_type: int | None = None

    def resolve_user(self, user_id: int) -> None:
        """Add a user (and their membership in this guild) to `resolved`."""
        user = self.state.users.get(user_id)
        if user is None:
            raise OptionError(f"unknown user {user_id}")
        self.resolved.setdefault("users", {})[str(user_id)] = user.payload()
        guild = self.state.guilds.get(self.guild_id or 0)
        if guild is not None and user_id in guild.members:
            member = self.state.member_payload(
                guild.id, user_id, with_user=False, with_permissions=True
            )
            self.resolved.setdefault("members", {})[str(user_id)] = member

    def resolve_role(self, role_id: int) -> bool:
        """Add a role of this guild to `resolved`; False if there is no such role."""
        guild = self.state.guilds.get(self.guild_id or 0)
        if guild is None or role_id not in guild.roles:
            return False
        self.resolved.setdefault("roles", {})[str(role_id)] = guild.roles[role_id].payload()
        return True

    def resolve_channel(self, channel_id: int) -> dict[str, Any]:
        """Add a channel to `resolved` and return its payload."""
        channel = self.state.channels.get(channel_id)
        if channel is None:
            raise OptionError(f"unknown channel {channel_id}")
        data = {**channel.payload(self.state), "permissions": str((1 << 41) - 1)}
        self.resolved.setdefault("channels", {})[str(channel_id)] = data
        return data

    def value(self, definition: Mapping[str, Any], raw: Any) -> Any:
        """Check and convert one value as the Discord client would for this option type."""
        kind, name = definition["type"], definition["name"]
        if kind == STRING:
            value: Any = str(raw)
            low, high = definition.get("min_length", 0), definition.get("max_length", 6000)
            if not low <= len(value) <= high:
                raise OptionError(f"{name}: length must be {low}..{high}")
        elif kind in (INTEGER, NUMBER):
            if isinstance(raw, bool) or not isinstance(raw, int | float | str):
                raise OptionError(f"{name}: expected a number, got {raw!r}")
            try:
                value = float(raw)
            except ValueError:
                raise OptionError(f"{name}: expected a number, got {raw!r}") from None
            if kind == INTEGER:
                if not value.is_integer():
                    raise OptionError(f"{name}: expected an integer, got {raw!r}")
                value = int(value)
            if "min_value" in definition and value < definition["min_value"]:
                raise OptionError(f"{name}: below min_value {definition['min_value']}")
            if "max_value" in definition and value > definition["max_value"]:
                raise OptionError(f"{name}: above max_value {definition['max_value']}")
        elif kind == BOOLEAN:
            value = bool(raw)
        elif kind == USER:
            value = str(int(raw))
            self.resolve_user(int(raw))
        elif kind == ROLE:
            value = str(int(raw))
            if not self.resolve_role(int(raw)):
                raise OptionError(f"{name}: unknown role {raw}")
        elif kind == MENTIONABLE:
            value = str(int(raw))
            if not self.resolve_role(int(raw)):
                self.resolve_user(int(raw))
        elif kind == ATTACHMENT:
            if not isinstance(raw, Upload):
                raise OptionError(f"{name}: attach a file (an Upload), got {type(raw).__name__}")
            limit = self.state.attachment_size_limit
            if len(raw.data) > limit:
                raise OptionError(
                    f"{name}: {raw.filename} is {len(raw.data):,} bytes; the client uploads at "
                    f"most {limit:,} (raise attachment_size_limit for a boosted member)"
                )
            payload = self.state.add_file(raw.filename, raw.data, raw.content_type)
            payload["ephemeral"] = True
            self.resolved.setdefault("attachments", {})[payload["id"]] = payload
            value = payload["id"]
        elif kind == CHANNEL:
            value = str(int(raw))
            channel = self.resolve_channel(int(raw))
            allowed = definition.get("channel_types")
            if allowed and channel["type"] not in allowed:
                raise OptionError(f"{name}: channel type {channel['type']} not in {allowed}")
        else:
            raise OptionError(f"{name}: option type {kind} is not supported by the emulator")
        choices = definition.get("choices")
        if choices and value not in [c["value"] for c in choices]:
            listed = ", ".join(_shown(c["value"]) for c in choices)
            raise OptionError(f"{name}: {_shown(value)} is not one of the choices: {listed}")
        return value

    def build(
        self,
        definitions: list[dict[str, Any]],
        given: Mapping[str, Any],
        focused: str | None = None,
    ) -> list[dict[str, Any]]:
        """Typed option list in definition order; for autocomplete the focused one stays raw."""
        known = {d["name"]: d for d in definitions}
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise OptionError(f"unknown option(s) {unknown}; the command has {sorted(known)}")
        out = []
        for definition in definitions:
            name = definition["name"]
            if name not in given:
                if definition.get("required") and focused is None:
                    raise OptionError(f"missing required option {name!r}")
                continue
            if name == focused:
                if not definition.get("autocomplete"):
                    raise OptionError(f"option {name!r} does not have autocomplete")
                self.focused_type = definition["type"]
                item = {"name": name, "type": definition["type"], "value": str(given[name])}
                out.append({**item, "focused": True})
                continue
            value = self.value(definition, given[name])
            out.append({"name": name, "type": definition["type"], "value": value})
        if focused is not None and self.focused_type is None:
            raise OptionError(f"focused option {focused!r} has no value in options")
        return out

    def command_data(
        self,
        command: Mapping[str, Any],
        path: list[str],
        given: Mapping[str, Any],
        focused: str | None = None,
    ) -> dict[str, Any]:
        """The interaction `data` for a command, walking `path` through groups and subcommands."""
        data: dict[str, Any] = {"id": command["id"], "name": command["name"], "type": 1}
        if command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        definitions = command.get("options") or []
        target = data
        for part in path:
            match = [
                o for o in definitions if o["name"] == part and o["type"] in (SUBCOMMAND, GROUP)
            ]
            if not match:
                raise OptionError(f"no subcommand {part!r} in {command['name']!r}")
            node: dict[str, Any] = {"name": part, "type": match[0]["type"], "options": []}
            target["options"] = [node]
            target, definitions = node, match[0].get("options") or []
        if any(o["type"] in (SUBCOMMAND, GROUP) for o in definitions):
            names = [o["name"] for o in definitions]
            raise OptionError(f"{command['name']!r} needs a subcommand, one of {names}")
        target["options"] = self.build(definitions, given, focused)
        if self.resolved:
            data["resolved"] = self.resolved
        return data
