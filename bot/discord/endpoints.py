"""The one place that points discord.py at another Discord-compatible API and gateway.

discord.py keeps both URLs as class attributes (`Route.BASE`, `DiscordWebSocket.
DEFAULT_GATEWAY`) with no per-client setting, so this adapter sets them for the lifetime of
a running bot and restores them afterwards. The end-to-end tests guard it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

log = logging.getLogger(__name__)

DEFAULT_API_BASE = Route.BASE
DEFAULT_GATEWAY = DiscordWebSocket.DEFAULT_GATEWAY


@contextmanager
def discord_endpoints(api_base: str | None, gateway_url: str | None) -> Iterator[None]:
    """Redirect REST (webhooks included) and gateway traffic inside the block; None = Discord."""
    saved = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE = api_base.rstrip("/") if api_base else DEFAULT_API_BASE
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url) if gateway_url else DEFAULT_GATEWAY
    if api_base or gateway_url:
        log.info(
            "Discord endpoints: REST %s, gateway %s", Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
        )
    try:
        yield
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = saved
