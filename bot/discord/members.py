"""Member names for replies, without the privileged members intent."""

from __future__ import annotations

import logging

import discord

log = logging.getLogger(__name__)


async def member_name(guild: discord.Guild, user_id: int) -> str | None:
    """A member's display name (from the cache, else asked of Discord); None when they are not
    in this server."""
    member = guild.get_member(user_id)
    if member is None:
        try:
            member = await guild.fetch_member(user_id)
        except discord.NotFound:
            return None
        except discord.HTTPException:
            log.info("could not look up a member of guild %s", guild.id)
            return None
    return member.display_name
