"""A one-movie-at-a-time rating card whose buttons survive restarts.

All state lives in the button custom ids (`rc:<mode>:<owner>:<movie>:<action>`) and in the
store, so a click after a restart continues where the user left off. Modes: `o` is
onboarding, `s<movie id>` walks movies similar to that movie.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import discord

from bot.core.card_sessions import Session, fresh_session
from bot.discord.claims import claim
from bot.discord.interaction import Interaction
from bot.discord.render import COLOR, movie_link, picks_embed, stars_text
from bot.discord.text import NOT_YOURS, clip, plural
from recommender.data import Movie

log = logging.getLogger(__name__)

ONBOARDING_GOAL = 10
RECENT = 4  # movies remembered for genre variety
CARD_ID = r"rc:(?P<mode>o|s\d+):(?P<owner>\d+):(?P<movie>\d+):(?P<action>[1-5]h?|t[01]|k|d)"
RATE_MORE_ID = r"rate-more"


def card_embed(movie: Movie, rated: int, note: str | None, goal: int | None) -> discord.Embed:
    """The card for one movie: title, year, genres, link, progress."""
    embed = discord.Embed(title=clip(movie.display, 256), colour=COLOR, url=movie_link(movie))
    embed.description = "Have you seen it? How many stars would you give it?"
    embed.add_field(name="Year", value=str(movie.year or "unknown"))
    embed.add_field(name="Genres", value=clip(", ".join(movie.genres) or "—", 1024))
    progress = f"Rated here: {rated}" + (f"/{goal}" if goal else "")
    embed.set_footer(text=f"{note} · {progress}" if note else progress)
    return embed


def card_view(mode: str, owner: int, movie_id: int, half: bool = False) -> discord.ui.View:
    """Star buttons (row 1), half-star toggle, skip and done (row 2)."""
    view = discord.ui.View(timeout=None)
    for n in range(1, 6):
        action = f"{n}h" if half else str(n)
        label = "★" * n + ("½" if half and n < 5 else "")
        view.add_item(CardButton(mode, owner, movie_id, action, label, row=0))
    toggle = "+½ on" if half else "+½"
    view.add_item(CardButton(mode, owner, movie_id, "t1" if half else "t0", toggle, row=1))
    view.add_item(CardButton(mode, owner, movie_id, "k", "Haven't seen it", row=1))
    view.add_item(CardButton(mode, owner, movie_id, "d", "Done", row=1))
    return view


_STYLES = {"k": discord.ButtonStyle.secondary, "d": discord.ButtonStyle.danger}


class CardButton(discord.ui.DynamicItem[discord.ui.Button], template=CARD_ID):
    """One button of a rating card; reconstructed from its custom id after a restart."""

    def __init__(self, mode: str, owner: int, movie_id: int, action: str, label: str, row: int):
        style = _STYLES.get(action[0], discord.ButtonStyle.primary)
        if action == "t1":
            style = discord.ButtonStyle.success
        elif action == "t0":
            style = discord.ButtonStyle.secondary
        super().__init__(
            discord.ui.Button(
                label=label,
                style=style,
                row=row,
                custom_id=f"rc:{mode}:{owner}:{movie_id}:{action}",
            )
        )
        self.mode, self.owner, self.movie_id, self.action = mode, owner, movie_id, action

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> CardButton:
        """Rebuild from the custom id of a clicked button (and claim the click)."""
        claim(interaction)
        return cls(
            match["mode"],
            int(match["owner"]),
            int(match["movie"]),
            match["action"],
            item.label or "",
            item.row or 0,
        )

    async def interaction_check(self, interaction: Interaction) -> bool:
        """Only the card's owner may click; others are told so privately."""
        if interaction.user.id == self.owner:
            return True
        await interaction.response.send_message(NOT_YOURS, ephemeral=True)
        return False

    async def callback(self, interaction: Interaction) -> None:
        """Rate, toggle, skip or finish, then show the next card."""
        services = interaction.client.services
        if self.action.startswith("t"):
            half = self.action == "t0"
            await interaction.response.edit_message(
                view=card_view(self.mode, self.owner, self.movie_id, half)
            )
            return
        session = await services.cards.load(self.owner, self.mode)
        if self.action == "d":
            await services.cards.end(self.owner, self.mode)
            text = f"Thanks! You rated {plural(session['rated'], 'movie')}. "
            text += "Try `/recommend` for your picks."
            await interaction.response.edit_message(content=text, embed=None, view=None)
            return
        movie = services.queries.movie(self.movie_id)
        if self.action == "k":
            await services.ratings.skip(self.owner, self.movie_id)
            note = f"Skipped {movie.display}"
        else:
            stars = min(5.0, float(self.action[0]) + (0.5 if self.action.endswith("h") else 0.0))
            source = "onboarding" if self.mode == "o" else "slash"
            result = await services.ratings.rate(self.owner, self.movie_id, stars, source)
            if result.previous is None:  # a double click or a stale card must not count twice
                session["rated"] += 1
            note = f"Saved {movie.display}: {stars_text(stars)}"
        session["recent"] = ([self.movie_id, *session["recent"]])[:RECENT]
        await show_next(interaction, self.owner, self.mode, session, note)


async def next_movie(
    interaction: Interaction, owner: int, mode: str, recent: list[int]
) -> Movie | None:
    """Onboarding asks the most telling movie; similar mode walks that movie's neighbours."""
    queries = interaction.client.services.queries
    if mode == "o":
        return await queries.onboarding_next(owner, recent)
    return await queries.similar_unrated(owner, int(mode[1:]))


async def show_next(
    interaction: Interaction,
    owner: int,
    mode: str,
    session: Session,
    note: str | None,
    new_message: bool = False,
) -> None:
    """Persist the session and show the next card, or wrap up (goal reached / nothing left).

    Clicks on a card edit it; commands and `new_message` (a button on someone else's
    message) send a new private card instead.
    """
    services = interaction.client.services
    goal = ONBOARDING_GOAL if mode == "o" else None
    edit = interaction.type == discord.InteractionType.component and not new_message
    respond = interaction.response.edit_message if edit else interaction.response.send_message
    extra: dict[str, Any] = {"content": None} if edit else {"ephemeral": True}
    if goal is not None and session["rated"] >= goal:
        await services.cards.end(owner, mode)
        picks, _ = await services.queries.recommend(owner, 5)
        embed = picks_embed("Your first recommendations", picks, "Rate more any time: /onboard")
        text = f"{note}. That's {goal} ratings: here is what I think you'll love!"
        await respond(**{**extra, "content": text, "embed": embed, "view": rate_more_view()})
        return
    movie = await next_movie(interaction, owner, mode, session["recent"])
    if movie is None:
        await services.cards.end(owner, mode)
        text = "That's every movie I had for you here. Try `/recommend`!"
        text = f"{note}. {text}" if note else text
        await respond(**{**extra, "content": text, "embed": None, "view": None})
        return
    message_id = interaction.message.id if edit and interaction.message else None
    await services.cards.save(owner, session, message_id)
    embed = card_embed(movie, session["rated"], note, goal)
    await respond(**extra, embed=embed, view=card_view(mode, owner, movie.movie_id))


async def start_cards(
    interaction: Interaction, mode: str, resume: bool = False, new_message: bool = False
) -> None:
    """Open a card session for the invoker (resuming onboarding progress when asked)."""
    owner = interaction.user.id
    cards = interaction.client.services.cards
    session = await cards.load(owner, mode) if resume else fresh_session(mode)
    note = f"Welcome back: {session['rated']} rated so far" if session["rated"] else None
    await show_next(interaction, owner, mode, session, note, new_message)


class RateMoreButton(discord.ui.DynamicItem[discord.ui.Button], template=RATE_MORE_ID):
    """A "Rate more" button for any reply; works for whoever clicks it, even after restarts."""

    def __init__(self) -> None:
        super().__init__(
            discord.ui.Button(
                label="Rate more movies", style=discord.ButtonStyle.secondary, custom_id="rate-more"
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> RateMoreButton:
        """Nothing to decode: the clicker is the user."""
        claim(interaction)
        return cls()

    async def callback(self, interaction: Interaction) -> None:
        """Open (or resume) the clicker's onboarding cards in a new private message."""
        await start_cards(interaction, "o", resume=True, new_message=True)


def rate_more_view() -> discord.ui.View:
    """A view holding only the "Rate more" button."""
    view = discord.ui.View(timeout=None)
    view.add_item(RateMoreButton())
    return view
