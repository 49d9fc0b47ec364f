"""The command tree and the one error handler: every failure becomes a friendly private reply."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands

log = logging.getLogger(__name__)

OOPS = "Something went wrong on my side. It has been logged; please try again in a moment."


class UserFacingError(app_commands.AppCommandError):
    """An error whose message is meant for the user as is (bad input, nothing found)."""


def friendly_message(error: Exception) -> str | None:
    """The text a user should see for an error, or None when it is our bug."""
    original = getattr(error, "original", error)
    if isinstance(error, app_commands.TransformerError) and error.__cause__ is None:
        # a value that is not one of the choices, e.g. from a client with stale definitions;
        # a transformer that crashed (it has a __cause__) is our bug and gets logged below
        return "I couldn't understand one of the options you gave. Please pick it from the list."
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Easy there! Try again in {error.retry_after:.0f} s."
    if isinstance(error, app_commands.MissingPermissions):
        return "You need the **Manage Server** permission to do that."
    if isinstance(error, app_commands.NoPrivateMessage):
        return "That command only works in a server."
    if isinstance(error, app_commands.CheckFailure):
        return "You can't use that command here."
    if isinstance(original, UserFacingError):
        return str(original)
    if isinstance(original, ValueError):
        # the services' way of rejecting bad input; logged briefly in case it hides a bug
        log.info("rejected input: %s", original)
        return f"That didn't work: {original}"
    return None


async def send_private(interaction: discord.Interaction[Any], content: str) -> None:
    """Answer ephemerally whether or not the interaction was already acknowledged."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(content, ephemeral=True)
        else:
            await interaction.response.send_message(content, ephemeral=True)
    except discord.HTTPException:
        log.warning("could not deliver an error message for interaction %s", interaction.id)


class MovieTree(app_commands.CommandTree[Any]):
    """CommandTree whose on_error answers users kindly and logs real failures with a traceback."""

    async def on_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        """Turn any exception into an ephemeral message; log tracebacks for our own bugs."""
        await report_error(interaction, error)


async def report_error(interaction: discord.Interaction[Any], error: Exception) -> None:
    """Shared by the tree and by views: friendly text for the user, traceback for us."""
    message = friendly_message(error)
    if message is None:
        command = interaction.command.qualified_name if interaction.command else "component"
        log.error("unhandled error in %s for user %s", command, interaction.user.id, exc_info=error)
        message = OOPS
    await send_private(interaction, message)
