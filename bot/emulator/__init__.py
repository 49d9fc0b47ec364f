"""A local Discord emulator for end-to-end tests and offline console mode.

Start a `DiscordEmulator`, wrap the bot in `discord_endpoints(emu.api_base, emu.gateway_url)`,
log the bot in, then drive it with `slash`, `click`, `select`, `send_message`, ... and assert on
the replies and on `emu.violations` (payloads Discord would have rejected).
"""

from .driver import CommandUnavailable, DiscordEmulator
from .feed import FeedItem, MessageFeed
from .interaction import Interaction
from .messages import Button, Message, Reply, Select
from .options import OptionError, Upload
from .render import render_message

__all__ = [
    "Button",
    "CommandUnavailable",
    "DiscordEmulator",
    "FeedItem",
    "Interaction",
    "Message",
    "MessageFeed",
    "OptionError",
    "Reply",
    "Select",
    "Upload",
    "render_message",
]
