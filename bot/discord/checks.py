"""Command checks shared by the cogs."""

from __future__ import annotations

import discord


def per_user(interaction: discord.Interaction) -> int:
    """Cooldown bucket: the invoking user."""
    return interaction.user.id
