"""Which clicks found a handler: views and restart-proof buttons claim the click they take.

discord.py gives every click to its live view or dynamic item first, in tasks created before
the client's `on_interaction` event, and both claim it in their first step. Whatever is left
unclaimed (a stale or forged button, a menu that is gone) gets the "expired" answer.
"""

from __future__ import annotations

from typing import Any

import discord

_CLAIMED = "claimed"


def claim(interaction: discord.Interaction[Any]) -> None:
    """Mark a click as taken by a handler."""
    interaction.extras[_CLAIMED] = True


def is_claimed(interaction: discord.Interaction[Any]) -> bool:
    """Whether a handler has taken this click."""
    return bool(interaction.extras.get(_CLAIMED))
