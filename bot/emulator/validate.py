"""Pure checks of bot payloads against Discord's documented limits; each returns problem strings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

CONTENT_MAX = 2000
EMBEDS_MAX = 10
EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
EMBED_FIELDS_MAX = 25
EMBED_FIELD_NAME_MAX = 256
EMBED_FIELD_VALUE_MAX = 1024
EMBED_FOOTER_MAX = 2048
EMBED_AUTHOR_MAX = 256
EMBED_TOTAL_MAX = 6000
ACTION_ROWS_MAX = 5
ROW_BUTTONS_MAX = 5
CUSTOM_ID_MAX = 100
BUTTON_LABEL_MAX = 80
SELECT_OPTIONS_MAX = 25
SELECT_PLACEHOLDER_MAX = 150
SELECT_OPTION_TEXT_MAX = 100
V2_COMPONENTS_MAX = 40
COMMAND_NAME_MAX = 32
COMMAND_DESCRIPTION_MAX = 100
COMMAND_OPTIONS_MAX = 25
COMMAND_TOTAL_MAX = 4000
CHOICES_MAX = 25
CHOICE_NAME_MAX = 100
CHOICE_VALUE_MAX = 100
GLOBAL_CHAT_COMMANDS_MAX = 100
CONTEXT_COMMANDS_MAX = 15
MODAL_TITLE_MAX = 45
MODAL_ROWS_MAX = 5
TEXT_INPUT_LABEL_MAX = 45
TEXT_INPUT_VALUE_MAX = 4000
TEXT_INPUT_PLACEHOLDER_MAX = 100

FLAG_COMPONENTS_V2 = 1 << 15
OPTION_SUBCOMMAND, OPTION_GROUP = 1, 2
OPTION_STRING, OPTION_INTEGER, OPTION_NUMBER = 3, 4, 10
OPTION_CHANNEL = 7
SELECT_TYPES = {3, 5, 6, 7, 8}
MESSAGE_CALLBACKS = {4, 7}


def _length(value: Any, path: str, low: int, high: int, *, required: bool = True) -> list[str]:
    """Check a string field's length is within [low, high]; absent fields fail only if required."""
    if value is None:
        return [f"{path}: required"] if required and low > 0 else []
    if not isinstance(value, str):
        return [f"{path}: must be a string, got {type(value).__name__}"]
    if not low <= len(value) <= high:
        return [f"{path}: length must be {low}..{high}, got {len(value)}"]
    return []


def _is_chat_name(name: str) -> bool:
    """Whether `name` fits Discord's slash-name rule ^[-_\\p{L}\\p{N}]{1,32}$ in lowercase form."""
    return (
        1 <= len(name) <= COMMAND_NAME_MAX
        and all(ch.isalnum() or ch in "-_" for ch in name)
        and name == name.lower()
    )


def validate_embed(embed: Mapping[str, Any], path: str = "embeds.0") -> list[str]:
    """Per-embed limits: title, description, fields, footer and author."""
    problems = _length(embed.get("title"), f"{path}.title", 0, EMBED_TITLE_MAX)
    problems += _length(embed.get("description"), f"{path}.description", 0, EMBED_DESCRIPTION_MAX)
    fields = embed.get("fields") or []
    if len(fields) > EMBED_FIELDS_MAX:
        problems.append(f"{path}.fields: at most {EMBED_FIELDS_MAX} fields, got {len(fields)}")
    for i, field in enumerate(fields):
        problems += _length(field.get("name"), f"{path}.fields.{i}.name", 1, EMBED_FIELD_NAME_MAX)
        problems += _length(
            field.get("value"), f"{path}.fields.{i}.value", 1, EMBED_FIELD_VALUE_MAX
        )
    footer = embed.get("footer") or {}
    problems += _length(footer.get("text"), f"{path}.footer.text", 0, EMBED_FOOTER_MAX)
    author = embed.get("author") or {}
    problems += _length(author.get("name"), f"{path}.author.name", 0, EMBED_AUTHOR_MAX)
    return problems


def embed_text_length(embed: Mapping[str, Any]) -> int:
    """Characters that count toward Discord's 6000-per-message embed total."""
    total = len(embed.get("title") or "") + len(embed.get("description") or "")
    for field in embed.get("fields") or []:
        total += len(field.get("name") or "") + len(field.get("value") or "")
    total += len((embed.get("footer") or {}).get("text") or "")
    total += len((embed.get("author") or {}).get("name") or "")
    return total


def validate_embeds(embeds: Iterable[Mapping[str, Any]]) -> list[str]:
    """All embeds of one message: count, each embed, and the 6000-character total."""
    embeds = list(embeds)
    problems = []
    if len(embeds) > EMBEDS_MAX:
        problems.append(f"embeds: at most {EMBEDS_MAX} embeds, got {len(embeds)}")
    for i, embed in enumerate(embeds):
        problems += validate_embed(embed, f"embeds.{i}")
    total = sum(embed_text_length(e) for e in embeds)
    if total > EMBED_TOTAL_MAX:
        problems.append(f"embeds: total text must be at most {EMBED_TOTAL_MAX}, got {total}")
    return problems


def _validate_button(button: Mapping[str, Any], path: str) -> list[str]:
    """A button needs a custom_id (or url/sku for link/premium styles) and a short label."""
    style = button.get("style")
    problems = []
    if style == 5:
        if not button.get("url"):
            problems.append(f"{path}.url: required for link buttons")
        if "custom_id" in button:
            problems.append(f"{path}.custom_id: link buttons cannot have a custom_id")
    elif style == 6:
        if not button.get("sku_id"):
            problems.append(f"{path}.sku_id: required for premium buttons")
    elif style in (1, 2, 3, 4):
        problems += _length(button.get("custom_id"), f"{path}.custom_id", 1, CUSTOM_ID_MAX)
    else:
        problems.append(f"{path}.style: unknown button style {style!r}")
    problems += _length(button.get("label"), f"{path}.label", 0, BUTTON_LABEL_MAX, required=False)
    if style != 6 and not button.get("label") and not button.get("emoji"):
        problems.append(f"{path}: a button needs a label or an emoji")
    return problems


def _validate_select(select: Mapping[str, Any], path: str) -> list[str]:
    """Selects: custom_id, placeholder, value bounds and (for string selects) 1..25 options."""
    problems = _length(select.get("custom_id"), f"{path}.custom_id", 1, CUSTOM_ID_MAX)
    problems += _length(
        select.get("placeholder"), f"{path}.placeholder", 0, SELECT_PLACEHOLDER_MAX, required=False
    )
    low, high = select.get("min_values", 1), select.get("max_values", 1)
    if not 0 <= low <= 25:
        problems.append(f"{path}.min_values: must be 0..25, got {low}")
    if not 1 <= high <= 25:
        problems.append(f"{path}.max_values: must be 1..25, got {high}")
    if low > high:
        problems.append(f"{path}: min_values {low} exceeds max_values {high}")
    if select.get("type") == 3:
        options = select.get("options") or []
        if not 1 <= len(options) <= SELECT_OPTIONS_MAX:
            problems.append(f"{path}.options: need 1..{SELECT_OPTIONS_MAX}, got {len(options)}")
        if high > len(options):
            problems.append(f"{path}.max_values: {high} exceeds the {len(options)} options")
        values = [o.get("value") for o in options]
        if len(set(values)) != len(values):
            problems.append(f"{path}.options: option values must be unique")
        for i, opt in enumerate(options):
            where = f"{path}.options.{i}"
            problems += _length(opt.get("label"), f"{where}.label", 1, SELECT_OPTION_TEXT_MAX)
            problems += _length(opt.get("value"), f"{where}.value", 1, SELECT_OPTION_TEXT_MAX)
            problems += _length(
                opt.get("description"),
                f"{where}.description",
                0,
                SELECT_OPTION_TEXT_MAX,
                required=False,
            )
    return problems


def _walk_components(
    components: Iterable[Mapping[str, Any]], path: str = "components"
) -> Iterable[tuple[str, Mapping[str, Any]]]:
    """Every component in a tree (rows, sections, containers, labels) with its path, depth first."""
    for i, comp in enumerate(components):
        where = f"{path}.{i}"
        yield where, comp
        yield from _walk_components(comp.get("components") or [], f"{where}.components")
        for key in ("component", "accessory"):
            if isinstance(comp.get(key), Mapping):
                yield f"{where}.{key}", comp[key]
                yield from _walk_components(comp[key].get("components") or [], f"{where}.{key}")


def validate_components(components: Iterable[Mapping[str, Any]], flags: int = 0) -> list[str]:
    """Message components: rows of at most 5 buttons or exactly one select, unique custom ids."""
    components = list(components)
    problems: list[str] = []
    if flags & FLAG_COMPONENTS_V2:
        count = sum(1 for _ in _walk_components(components))
        if count > V2_COMPONENTS_MAX:
            problems.append(f"components: at most {V2_COMPONENTS_MAX} in total, got {count}")
    else:
        if len(components) > ACTION_ROWS_MAX:
            problems.append(f"components: at most {ACTION_ROWS_MAX} rows, got {len(components)}")
        for r, row in enumerate(components):
            if row.get("type") != 1:
                problems.append(f"components.{r}: top-level components must be action rows")
                continue
            children = row.get("components") or []
            kinds = {c.get("type") for c in children}
            if not children:
                problems.append(f"components.{r}: an action row cannot be empty")
            elif kinds & SELECT_TYPES and len(children) > 1:
                problems.append(f"components.{r}: a select must be alone in its row")
            elif kinds == {2} and len(children) > ROW_BUTTONS_MAX:
                problems.append(
                    f"components.{r}: at most {ROW_BUTTONS_MAX} buttons, got {len(children)}"
                )
    seen: set[str] = set()
    for path, comp in _walk_components(components):
        if comp.get("type") == 2:
            problems += _validate_button(comp, path)
        elif comp.get("type") in SELECT_TYPES:
            problems += _validate_select(comp, path)
        custom_id = comp.get("custom_id")
        if custom_id is not None:
            if custom_id in seen:
                problems.append(f"{path}.custom_id: duplicate custom_id {custom_id!r}")
            seen.add(custom_id)
    return problems


def validate_message(payload: Mapping[str, Any], *, creating: bool = True) -> list[str]:
    """A message create/edit body: content, embeds, components; a new message cannot be empty."""
    flags = payload.get("flags") or 0
    problems = _length(payload.get("content"), "content", 0, CONTENT_MAX, required=False)
    problems += validate_embeds(payload.get("embeds") or [])
    problems += validate_components(payload.get("components") or [], flags)
    if flags & FLAG_COMPONENTS_V2 and (payload.get("content") or payload.get("embeds")):
        problems.append("content: cannot be combined with the IS_COMPONENTS_V2 flag")
    keys = ("content", "embeds", "components", "attachments", "sticker_ids", "poll", "files")
    if creating and not any(payload.get(key) for key in keys):
        problems.append("content: cannot send an empty message")
    return problems


def validate_autocomplete(
    choices: Iterable[Mapping[str, Any]], option_type: int | None = None
) -> list[str]:
    """Autocomplete results: at most 25 choices, names 1..100, values typed like the option."""
    choices = list(choices)
    problems = []
    if len(choices) > CHOICES_MAX:
        problems.append(f"choices: at most {CHOICES_MAX} choices, got {len(choices)}")
    for i, choice in enumerate(choices):
        problems += _length(choice.get("name"), f"choices.{i}.name", 1, CHOICE_NAME_MAX)
        problems += _check_choice_value(choice.get("value"), f"choices.{i}.value", option_type)
    return problems


def _check_choice_value(value: Any, path: str, option_type: int | None) -> list[str]:
    """A choice value must match the option type; strings are at most 100 characters."""
    if isinstance(value, str):
        if option_type in (OPTION_INTEGER, OPTION_NUMBER):
            return [f"{path}: must be a number for a numeric option, got a string"]
        return _length(value, path, 0, CHOICE_VALUE_MAX)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return [f"{path}: must be a string or number, got {type(value).__name__}"]
    if option_type == OPTION_STRING:
        return [f"{path}: must be a string for a string option"]
    if option_type == OPTION_INTEGER and not float(value).is_integer():
        return [f"{path}: must be an integer for an integer option"]
    return []


def _validate_option(option: Mapping[str, Any], path: str, depth: int) -> list[str]:
    """One command option (recursing into subcommands and groups)."""
    name, kind = option.get("name", ""), option.get("type")
    problems = [] if _is_chat_name(name) else [f"{path}.name: invalid option name {name!r}"]
    problems += _length(option.get("description"), f"{path}.description", 1, 100)
    if kind not in range(1, 12):
        return [*problems, f"{path}.type: unknown option type {kind!r}"]
    choices = option.get("choices") or []
    if choices:
        if kind not in (OPTION_STRING, OPTION_INTEGER, OPTION_NUMBER):
            problems.append(f"{path}.choices: only string/integer/number options have choices")
        if option.get("autocomplete"):
            problems.append(f"{path}: choices and autocomplete are mutually exclusive")
        if len(choices) > CHOICES_MAX:
            problems.append(f"{path}.choices: at most {CHOICES_MAX} choices, got {len(choices)}")
        for i, choice in enumerate(choices):
            where = f"{path}.choices.{i}"
            problems += _length(choice.get("name"), f"{where}.name", 1, CHOICE_NAME_MAX)
            problems += _check_choice_value(choice.get("value"), f"{where}.value", kind)
    if option.get("autocomplete") and kind not in (OPTION_STRING, OPTION_INTEGER, OPTION_NUMBER):
        problems.append(f"{path}.autocomplete: only string/integer/number options")
    for key in ("min_length", "max_length"):
        if key in option and (kind != OPTION_STRING or not 0 <= option[key] <= 6000):
            problems.append(f"{path}.{key}: only for string options, 0..6000")
    for key in ("min_value", "max_value"):
        if key in option and kind not in (OPTION_INTEGER, OPTION_NUMBER):
            problems.append(f"{path}.{key}: only for integer/number options")
    if "channel_types" in option and kind != OPTION_CHANNEL:
        problems.append(f"{path}.channel_types: only for channel options")
    subs = option.get("options") or []
    if kind == OPTION_GROUP:
        if depth > 0:
            problems.append(f"{path}: subcommand groups cannot be nested")
        if any(sub.get("type") != OPTION_SUBCOMMAND for sub in subs):
            problems.append(f"{path}.options: a group may only contain subcommands")
    if kind in (OPTION_SUBCOMMAND, OPTION_GROUP):
        problems += _validate_options(subs, f"{path}.options", depth + 1)
    elif subs:
        problems.append(f"{path}.options: only subcommands and groups have nested options")
    return problems


def _validate_options(options: list[Mapping[str, Any]], path: str, depth: int) -> list[str]:
    """Sibling options: count, unique names, required first, no mixing with subcommands."""
    problems = []
    if len(options) > COMMAND_OPTIONS_MAX:
        problems.append(f"{path}: at most {COMMAND_OPTIONS_MAX} options, got {len(options)}")
    names = [o.get("name") for o in options]
    if len(set(names)) != len(names):
        problems.append(f"{path}: option names must be unique")
    kinds = {o.get("type") for o in options}
    if kinds & {OPTION_SUBCOMMAND, OPTION_GROUP} and kinds - {OPTION_SUBCOMMAND, OPTION_GROUP}:
        problems.append(f"{path}: subcommands cannot be mixed with other options")
    seen_optional = False
    for i, option in enumerate(options):
        if option.get("required") and seen_optional:
            problems.append(f"{path}.{i}: required options must come before optional ones")
        seen_optional = seen_optional or not option.get("required")
        problems += _validate_option(option, f"{path}.{i}", depth)
    return problems


def _command_text_length(node: Mapping[str, Any]) -> int:
    """Characters counting toward the 4000 limit: names, descriptions, choice names and values."""
    total = len(node.get("name") or "") + len(node.get("description") or "")
    for choice in node.get("choices") or []:
        total += len(str(choice.get("name", ""))) + len(str(choice.get("value", "")))
    return total + sum(_command_text_length(o) for o in node.get("options") or [])


def validate_command(command: Mapping[str, Any], path: str = "0") -> list[str]:
    """One application command definition as sent in a bulk overwrite."""
    kind = command.get("type", 1)
    name = command.get("name", "")
    if kind == 1:
        problems = [] if _is_chat_name(name) else [f"{path}.name: invalid command name {name!r}"]
        problems += _length(
            command.get("description"), f"{path}.description", 1, COMMAND_DESCRIPTION_MAX
        )
        problems += _validate_options(command.get("options") or [], f"{path}.options", 0)
        total = _command_text_length(command)
        if total > COMMAND_TOTAL_MAX:
            problems.append(
                f"{path}: combined text must be at most {COMMAND_TOTAL_MAX}, got {total}"
            )
    elif kind in (2, 3):
        problems = _length(name, f"{path}.name", 1, COMMAND_NAME_MAX)
        if command.get("description"):
            problems.append(f"{path}.description: context menu commands have no description")
        if command.get("options"):
            problems.append(f"{path}.options: context menu commands have no options")
    else:
        problems = [f"{path}.type: unknown command type {kind!r}"]
    perms = command.get("default_member_permissions")
    numeric = isinstance(perms, int) and not isinstance(perms, bool) and perms >= 0
    if perms is not None and not numeric and not (isinstance(perms, str) and perms.isdigit()):
        problems.append(f"{path}.default_member_permissions: must be a permission number or null")
    return problems


def validate_commands(commands: Iterable[Mapping[str, Any]]) -> list[str]:
    """A bulk overwrite: each command, unique names per type, and per-type command counts."""
    commands = list(commands)
    problems = []
    for i, command in enumerate(commands):
        problems += validate_command(command, str(i))
    for kind, limit in ((1, GLOBAL_CHAT_COMMANDS_MAX), (2, CONTEXT_COMMANDS_MAX), (3, 15)):
        names = [c.get("name") for c in commands if c.get("type", 1) == kind]
        if len(names) > limit:
            problems.append(f"commands: at most {limit} commands of type {kind}, got {len(names)}")
        if len(set(names)) != len(names):
            problems.append(f"commands: duplicate names among type {kind} commands")
    return problems


def validate_modal(data: Mapping[str, Any]) -> list[str]:
    """A modal: custom_id, title 1..45, 1..5 rows, text inputs with short labels."""
    problems = _length(data.get("custom_id"), "data.custom_id", 1, CUSTOM_ID_MAX)
    problems += _length(data.get("title"), "data.title", 1, MODAL_TITLE_MAX)
    rows = data.get("components") or []
    if not 1 <= len(rows) <= MODAL_ROWS_MAX:
        problems.append(f"data.components: need 1..{MODAL_ROWS_MAX}, got {len(rows)}")
    for path, comp in _walk_components(rows, "data.components"):
        if comp.get("type") == 18:
            problems += _length(comp.get("label"), f"{path}.label", 1, TEXT_INPUT_LABEL_MAX)
        if comp.get("type") == 4:
            problems += _length(comp.get("custom_id"), f"{path}.custom_id", 1, CUSTOM_ID_MAX)
            problems += _length(
                comp.get("label"), f"{path}.label", 1, TEXT_INPUT_LABEL_MAX, required=False
            )
            problems += _length(
                comp.get("value"), f"{path}.value", 0, TEXT_INPUT_VALUE_MAX, required=False
            )
            problems += _length(
                comp.get("placeholder"),
                f"{path}.placeholder",
                0,
                TEXT_INPUT_PLACEHOLDER_MAX,
                required=False,
            )
        elif comp.get("type") in SELECT_TYPES:
            problems += _validate_select(comp, path)
    return problems


def validate_callback(
    body: Mapping[str, Any], interaction_type: int, option_type: int | None = None
) -> list[str]:
    """An interaction callback: the response type must suit the interaction, then its data."""
    kind = body.get("type")
    allowed = {
        1: {1},
        2: {4, 5, 9},
        3: {4, 5, 6, 7, 9},
        4: {8},
        5: {4, 5, 6, 7},
    }.get(interaction_type, set())
    if kind not in allowed:
        return [
            f"type: response type {kind!r} is not valid for interaction type {interaction_type}"
        ]
    data = body.get("data") or {}
    if kind in MESSAGE_CALLBACKS:
        return validate_message(data, creating=kind == 4)
    if kind == 8:
        return validate_autocomplete(data.get("choices") or [], option_type)
    if kind == 9:
        return validate_modal(data)
    return []


# --- guild scheduled events -------------------------------------------------------------------
EVENT_NAME_MAX = 100
EVENT_DESCRIPTION_MAX = 1000
EVENT_LOCATION_MAX = 100
PRIVACY_GUILD_ONLY = 2
ENTITY_STAGE, ENTITY_VOICE, ENTITY_EXTERNAL = 1, 2, 3
CHANNEL_VOICE, CHANNEL_STAGE = 2, 13
# status -> the statuses it may move to (completed and canceled are final)
EVENT_TRANSITIONS = {1: {2, 4}, 2: {3}, 3: set(), 4: set()}


def parse_timestamp(value: Any) -> datetime | None:
    """An ISO8601 timestamp as an aware datetime, or None if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def validate_scheduled_event(
    event: Mapping[str, Any],
    *,
    channel_types: Mapping[int, int],
    now: datetime,
    start_changed: bool = True,
) -> list[str]:
    """A scheduled event as it would be after a create or modify, by Discord's field rules.

    Name 1..100, description 1..1000, privacy GUILD_ONLY, a start time in the future (when it
    is being set), an end after the start; STAGE_INSTANCE and VOICE events need a channel of
    that kind in the guild and no entity_metadata; EXTERNAL events need no channel, an
    entity_metadata.location of 1..100 characters, and an end time.
    """
    problems = _length(event.get("name"), "name", 1, EVENT_NAME_MAX)
    description = event.get("description")
    if description is not None:
        problems += _length(description, "description", 1, EVENT_DESCRIPTION_MAX)
    if event.get("privacy_level") != PRIVACY_GUILD_ONLY:
        problems.append(
            f"privacy_level: must be {PRIVACY_GUILD_ONLY} (GUILD_ONLY), "
            f"got {event.get('privacy_level')!r}"
        )
    start = parse_timestamp(event.get("scheduled_start_time"))
    if start is None:
        problems.append("scheduled_start_time: required, an ISO8601 timestamp with a zone")
    elif start_changed and start <= now:
        problems.append("scheduled_start_time: cannot be in the past")
    end_raw = event.get("scheduled_end_time")
    end = parse_timestamp(end_raw)
    if end_raw is not None and end is None:
        problems.append("scheduled_end_time: must be an ISO8601 timestamp with a zone")
    if start is not None and end is not None and end <= start:
        problems.append("scheduled_end_time: must be after scheduled_start_time")
    kind = event.get("entity_type")
    channel = event.get("channel_id")
    metadata = event.get("entity_metadata")
    if kind in (ENTITY_STAGE, ENTITY_VOICE):
        wanted = CHANNEL_STAGE if kind == ENTITY_STAGE else CHANNEL_VOICE
        if channel is None:
            problems.append("channel_id: required for STAGE_INSTANCE and VOICE events")
        elif channel_types.get(int(channel)) != wanted:
            what = "stage" if kind == ENTITY_STAGE else "voice"
            problems.append(f"channel_id: must be a {what} channel of this guild")
        if metadata:
            problems.append("entity_metadata: must be null for STAGE_INSTANCE and VOICE events")
    elif kind == ENTITY_EXTERNAL:
        if channel is not None:
            problems.append("channel_id: must be null for EXTERNAL events")
        location = (metadata or {}).get("location") if isinstance(metadata, Mapping) else None
        if location is None:
            problems.append("entity_metadata.location: required for EXTERNAL events")
        else:
            problems += _length(location, "entity_metadata.location", 1, EVENT_LOCATION_MAX)
        if end_raw is None:
            problems.append("scheduled_end_time: required for EXTERNAL events")
    else:
        problems.append(f"entity_type: must be 1, 2 or 3, got {kind!r}")
    return problems


def event_status_problem(current: int, wanted: Any) -> str | None:
    """Why a status change is not allowed (SCHEDULED→ACTIVE|CANCELED, ACTIVE→COMPLETED)."""
    if wanted not in EVENT_TRANSITIONS:
        return f"status: unknown status {wanted!r}"
    if wanted != current and wanted not in EVENT_TRANSITIONS[current]:
        return f"status: cannot go from {current} to {wanted}"
    return None
