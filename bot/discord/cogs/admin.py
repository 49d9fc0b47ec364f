"""Operations: /status for everyone; /refit and /clubmovie for server managers."""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.club_movies import ClubMovieError
from bot.discord.checks import per_user
from bot.discord.client import MovieBot
from bot.discord.errors import UserFacingError
from bot.discord.interaction import Interaction
from bot.discord.movie_option import MovieArg, MovieQuery
from bot.discord.render import status_embed
from bot.discord.text import plural
from bot.store.schema import CLUB_MOVIE_IDS
from recommender.data import Movie

log = logging.getLogger(__name__)


class Admin(commands.Cog):
    """Model health and maintenance."""

    club = app_commands.Group(
        name="clubmovie",
        description="Rename, merge or remove movies this club added (server managers only)",
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )

    def __init__(self, bot: MovieBot) -> None:
        self.bot = bot
        self.models = bot.services.models
        self.queries = bot.services.queries
        self.clubs = bot.services.clubs

    @club.command(name="rename")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def rename(self, interaction: Interaction, movie: MovieArg, title: str) -> None:
        """Give a club movie another title.

        Args:
            movie: The club movie.
            title: The new title with its year, like "Oppenheimer (2023)".
        """
        film = club_movie(movie)
        try:
            renamed = await self.clubs.rename(film.movie_id, title)
        except ClubMovieError as refused:
            raise UserFacingError(str(refused)) from None
        await interaction.response.send_message(
            f"Renamed **{film.display}** to **{renamed.display}**.", ephemeral=True
        )

    @club.command(name="merge")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def merge(self, interaction: Interaction, movie: MovieArg, into: MovieArg) -> None:
        """Merge a club movie into another movie; its ratings move over.

        Args:
            movie: The club movie to merge away.
            into: The movie that keeps the ratings (the dataset's, or another club movie).
        """
        film = club_movie(movie)
        if into.movie is None:
            raise UserFacingError("Pick the movie to merge into from the list.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        moved = await self.clubs.merge(film.movie_id, into.movie.movie_id)
        await interaction.edit_original_response(
            content=f"Merged **{film.display}** into **{into.movie.display}**: "
            f"{plural(moved, 'rating')} moved."
        )

    @club.command(name="remove")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def remove(self, interaction: Interaction, movie: MovieArg) -> None:
        """Remove a club movie and its ratings.

        Args:
            movie: The club movie to remove.
        """
        film = club_movie(movie)
        await interaction.response.defer(ephemeral=True, thinking=True)
        deleted = await self.clubs.remove(film.movie_id)
        await interaction.edit_original_response(
            content=f"Removed **{film.display}** and {plural(deleted, 'rating')} of it."
        )

    @app_commands.command(name="status")
    @app_commands.checks.cooldown(3, 10.0, key=per_user)
    async def status(self, interaction: Interaction) -> None:
        """Model age, rating counts, last fit and next refit."""
        status = await self.queries.status()
        await interaction.response.send_message(embed=status_embed(status), ephemeral=True)

    @app_commands.command(name="refit")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.checks.has_permissions(manage_guild=True)
    @app_commands.checks.cooldown(1, 30.0, key=per_user)
    async def refit(self, interaction: Interaction) -> None:
        """Refit the recommendation model now (server managers only)."""
        already = self.models.refitting
        task = self.models.refit()
        text = (
            "A refit is already running; I'll tell you when the new model is serving."
            if already
            else "Refit started. I'll tell you here when the new model is serving."
        )
        await interaction.response.send_message(text, ephemeral=True)
        log.info("refit requested by user %s", interaction.user.id)
        ok = await task
        status = await self.queries.status()
        if ok:
            rmse = f" (held-out RMSE {status.last_fit_rmse:.3f})" if status.last_fit_rmse else ""
            done = f"✅ The new model is serving{rmse}."
        else:
            done = "⚠️ The refit failed; the previous model keeps serving. It will retry later."
        try:
            await interaction.followup.send(done, ephemeral=True)
        except discord.HTTPException:  # e.g. past Discord's 15-minute follow-up window
            log.info("could not report the refit result to user %s", interaction.user.id)


def club_movie(query: MovieQuery) -> Movie:
    """The club movie an option names; UserFacingError for anything else."""
    if query.movie is None:
        raise UserFacingError("Pick the club movie from the list as you type.")
    if query.movie.movie_id < CLUB_MOVIE_IDS:
        raise UserFacingError(f"**{query.movie.display}** comes with the dataset, not the club.")
    return query.movie


async def setup(bot: MovieBot) -> None:
    """Extension entry point."""
    await bot.add_cog(Admin(bot))
