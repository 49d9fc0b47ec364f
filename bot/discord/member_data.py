"""A member's own data, changed the same way from slash commands and from chat: unrate, forget."""

from __future__ import annotations

import logging

from bot.core.queries import Queries
from bot.core.ratings import RatingsService
from bot.discord.interaction import Interaction
from bot.discord.views import ConfirmView
from recommender.data import Movie

log = logging.getLogger(__name__)


async def unrate_and_say(ratings: RatingsService, member: int, film: Movie) -> str:
    """Remove a member's rating of one movie and say what happened."""
    if await ratings.unrate(member, film.movie_id):
        return f"Removed your rating of **{film.display}**."
    return f"You hadn't rated **{film.display}**."


async def forget_question(
    ratings: RatingsService, queries: Queries, member: int
) -> tuple[str, ConfirmView]:
    """The "are you sure?" of /forgetme and of "forget me" in chat, with its buttons; nothing is
    deleted until the member presses "Delete everything"."""

    async def confirmed(inter: Interaction) -> None:
        deleted = await ratings.forget(inter.user.id)
        log.info("forgot a user on request (%d rows)", deleted)
        await inter.response.edit_message(
            content=f"Done. I deleted everything about you ({deleted} records).", view=None
        )

    count = await queries.rating_count(member)
    view = ConfirmView(member, confirmed, confirm_label="Delete everything")
    what = {0: "everything", 1: "your one rating and everything else"}.get(
        count, f"all {count} of your ratings and everything else"
    )
    text = f"This deletes {what} I store about you. It cannot be undone. Are you sure?"
    return text, view
