"""Point discord.py at any Discord-compatible REST API and gateway (e.g. the local emulator)."""

from __future__ import annotations

import logging

import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

log = logging.getLogger(__name__)

DEFAULT_API_BASE = Route.BASE
DEFAULT_GATEWAY = DiscordWebSocket.DEFAULT_GATEWAY


def configure_endpoints(api_base: str | None, gateway_url: str | None) -> None:
    """Redirect all REST (webhooks included) and gateway traffic; None restores the default."""
    Route.BASE = api_base.rstrip("/") if api_base else DEFAULT_API_BASE
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url) if gateway_url else DEFAULT_GATEWAY
    if api_base or gateway_url:
        log.info(
            "Discord endpoints: REST %s, gateway %s", Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
        )
