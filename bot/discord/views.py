"""Interactive views: one owner-only base, a paginator, a confirmation, "did you mean" buttons."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from bot.core.club_movies import AlreadyKnown, ClubMovieError
from bot.discord.claims import claim
from bot.discord.errors import report_error
from bot.discord.interaction import Interaction
from bot.discord.text import NOT_YOURS, clip
from recommender.data import Movie, natural_title
from recommender.titles import TitleMatch

log = logging.getLogger(__name__)

MoviePicked = Callable[[Interaction, Movie], Awaitable[None]]


class OwnedView(discord.ui.View):
    """A view only its invoker may use; errors go through the same handler as commands.

    Every view the bot shows derives from this one, so a click that reaches a live view is
    marked claimed and the client's "menu expired" fallback leaves it alone.
    """

    def __init__(self, owner_id: int, *, timeout: float | None = 600) -> None:
        super().__init__(timeout=timeout)
        self.owner_id = owner_id

    async def interaction_check(self, interaction: Interaction) -> bool:
        """Admit only the invoker; tell anyone else kindly and privately."""
        claim(interaction)
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(NOT_YOURS, ephemeral=True)
        return False

    async def on_error(
        self, interaction: Interaction, error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        """Report like a command error would."""
        await report_error(interaction, error)


class Paginator(OwnedView):
    """Pages of embeds with previous/next buttons and a page counter."""

    def __init__(self, owner_id: int, pages: list[discord.Embed], start: int = 0) -> None:
        super().__init__(owner_id)
        self.pages = pages or [discord.Embed(description="Nothing here yet.")]
        self.index = max(0, min(start, len(self.pages) - 1))
        self._refresh()

    def _refresh(self) -> None:
        self.previous.disabled = self.index == 0
        self.next.disabled = self.index >= len(self.pages) - 1
        self.counter.label = f"{self.index + 1}/{len(self.pages)}"

    @property
    def page(self) -> discord.Embed:
        """The embed currently shown."""
        return self.pages[self.index]

    @discord.ui.button(label="◀ Prev", style=discord.ButtonStyle.secondary, custom_id="page:prev")
    async def previous(self, interaction: Interaction, button: discord.ui.Button) -> None:
        """Show the previous page."""
        self.index -= 1
        self._refresh()
        await interaction.response.edit_message(embed=self.page, view=self)

    @discord.ui.button(label="1/1", style=discord.ButtonStyle.secondary, disabled=True)
    async def counter(self, interaction: Interaction, button: discord.ui.Button) -> None:
        """Page counter (never clickable)."""

    @discord.ui.button(label="Next ▶", style=discord.ButtonStyle.secondary, custom_id="page:next")
    async def next(self, interaction: Interaction, button: discord.ui.Button) -> None:
        """Show the next page."""
        self.index += 1
        self._refresh()
        await interaction.response.edit_message(embed=self.page, view=self)


class ConfirmView(OwnedView):
    """Yes/no buttons; `confirmed` ends as True, False, or None on timeout."""

    def __init__(
        self,
        owner_id: int,
        on_confirm: Callable[[Interaction], Awaitable[None]],
        confirm_label: str = "Yes",
    ) -> None:
        super().__init__(owner_id, timeout=120)
        self.confirmed: bool | None = None
        self._on_confirm = on_confirm
        self.confirm.label = confirm_label

    @discord.ui.button(label="Yes", style=discord.ButtonStyle.danger, custom_id="confirm:yes")
    async def confirm(self, interaction: Interaction, button: discord.ui.Button) -> None:
        """Run the confirmed action."""
        self.confirmed = True
        self.stop()
        await self._on_confirm(interaction)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary, custom_id="confirm:no")
    async def cancel(self, interaction: Interaction, button: discord.ui.Button) -> None:
        """Do nothing and say so."""
        self.confirmed = False
        self.stop()
        await interaction.response.edit_message(
            content="Cancelled. Nothing was changed.", view=None
        )


class DidYouMeanView(OwnedView):
    """One button per candidate title; clicking continues the original action with it.

    `origin` is the interaction whose response asked the question: once a movie is picked, its
    buttons are removed so nobody can press a button that would no longer answer. With
    `add`, a "Title (Year)" the catalog lacks, one more button adds it to the club's movies.
    """

    def __init__(
        self,
        owner_id: int,
        candidates: list[TitleMatch],
        on_pick: MoviePicked,
        origin: Interaction | None = None,
        add: str | None = None,
    ) -> None:
        super().__init__(owner_id, timeout=300)
        self._on_pick = on_pick
        self._origin = origin
        for k, cand in enumerate(candidates[: 4 if add else 5]):
            button: discord.ui.Button = discord.ui.Button(
                label=clip(natural_title(cand.title), 80),
                style=discord.ButtonStyle.primary,
                custom_id=f"pick:{k}",
            )
            button.callback = self._callback(cand.movie_id)  # type: ignore[method-assign]
            self.add_item(button)
        if add:
            adder: discord.ui.Button = discord.ui.Button(
                label=clip(f"Add “{add}” to the club", 80),
                style=discord.ButtonStyle.success,
                emoji="➕",
                custom_id="pick:add",
            )
            adder.callback = self._adder(add)  # type: ignore[method-assign]
            self.add_item(adder)

    def _adder(self, typed: str) -> Callable[[Interaction], Awaitable[None]]:
        async def add(interaction: Interaction) -> None:
            try:
                movie = await interaction.client.services.clubs.add(typed, interaction.user.id)
            except AlreadyKnown as known:
                movie = known.movie  # someone was quicker, or it was there all along
            except ClubMovieError as refused:
                await interaction.response.send_message(str(refused), ephemeral=True)
                return
            self.stop()
            try:
                await self._on_pick(interaction, movie)
            finally:
                await self._close_question(movie)

        return add

    def _callback(self, movie_id: int) -> Callable[[Interaction], Awaitable[None]]:
        async def pick(interaction: Interaction) -> None:
            self.stop()
            movie = interaction.client.services.queries.movie(movie_id)
            try:
                await self._on_pick(interaction, movie)
            finally:
                await self._close_question(movie)

        return pick

    async def _close_question(self, movie: Movie) -> None:
        """Replace the question's buttons with the answer (best effort)."""
        if self._origin is None:
            return
        shown = discord.utils.escape_markdown(movie.display)
        try:
            await self._origin.edit_original_response(content=f"You picked **{shown}**.", view=None)
        except discord.HTTPException:
            log.info("could not close a did-you-mean question for %s", self._origin.user.id)
