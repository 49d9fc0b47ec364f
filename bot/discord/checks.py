"""Command checks shared by the cogs."""

from __future__ import annotations

from typing import Any

import discord


def per_user(interaction: discord.Interaction) -> int:
    """Cooldown bucket: the invoking user."""
    return interaction.user.id


def raw_option(interaction: discord.Interaction[Any], name: str) -> object:
    """An option's value exactly as Discord sent it (discord.py coerces numbers to float)."""
    for option in (interaction.data or {}).get("options", []):  # type: ignore[union-attr]
        if option.get("name") == name:
            return option.get("value")
    return None
