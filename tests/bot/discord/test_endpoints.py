"""The one adapter that points discord.py at another API: set inside, restored after."""

from __future__ import annotations

import discord
import pytest

from bot.discord.endpoints import DEFAULT_API_BASE, DEFAULT_GATEWAY, discord_endpoints


def test_endpoints_are_set_inside_and_restored_after() -> None:
    with discord_endpoints("http://127.0.0.1:1/api/v10/", "ws://127.0.0.1:1/gateway"):
        assert discord.http.Route.BASE == "http://127.0.0.1:1/api/v10"
        assert str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == "ws://127.0.0.1:1/gateway"
    assert discord.http.Route.BASE == DEFAULT_API_BASE == "https://discord.com/api/v10"
    assert discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY == DEFAULT_GATEWAY


def test_nested_use_restores_the_outer_endpoints_even_after_an_error() -> None:
    with discord_endpoints("http://127.0.0.1:2/api", None):
        with pytest.raises(RuntimeError), discord_endpoints("http://127.0.0.1:3/api", None):
            assert discord.http.Route.BASE == "http://127.0.0.1:3/api"
            raise RuntimeError("boom")
        assert discord.http.Route.BASE == "http://127.0.0.1:2/api"
        assert discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY == DEFAULT_GATEWAY
    assert discord.http.Route.BASE == DEFAULT_API_BASE
