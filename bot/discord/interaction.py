"""The interaction type every handler receives: `discord.Interaction` of our `MovieBot`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

if TYPE_CHECKING:
    pass

Interaction = discord.Interaction["MovieBot"]
