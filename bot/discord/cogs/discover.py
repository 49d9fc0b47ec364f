"""Discovery commands: /recommend, /similar, /movie."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.member_lists import LIST_NAMES
from bot.discord.checks import per_user
from bot.discord.client import MovieBot
from bot.discord.errors import UserFacingError
from bot.discord.interaction import Interaction
from bot.discord.lists import movie_buttons, picks_view, watchlist_menu
from bot.discord.movie_option import MovieArg, with_movie
from bot.discord.render import movie_embed, picks_embed, similar_embed
from recommender.data import Movie

COLD_START_HINT = (
    "These are crowd favourites. Rate a few movies (`/rate` or `/onboard`) "
    "and I'll learn your taste."
)


class Discover(commands.Cog):
    """Finding movies to watch."""

    def __init__(self, bot: MovieBot) -> None:
        self.bot = bot
        self.queries = bot.services.queries
        self.pages = bot.services.pages
        self.lists = bot.services.lists

    @app_commands.command(name="recommend")
    @app_commands.checks.cooldown(5, 10.0, key=per_user)
    @app_commands.rename(source="from")
    @app_commands.choices(
        source=[
            app_commands.Choice(name="everything", value="everything"),
            app_commands.Choice(name="watchlist", value="watchlist"),
        ]
    )
    async def recommend(
        self,
        interaction: Interaction,
        count: app_commands.Range[int, 1, 20] = 10,
        genre: str | None = None,
        source: str = "everything",
    ) -> None:
        """Your personal top picks, with why.

        Args:
            count: How many movies (1-20).
            genre: Only movies of this genre.
            source: Pick from every movie, or only from your watchlist.
        """
        genre = self.known_genre(genre)
        await interaction.response.defer(ephemeral=True, thinking=True)
        member = interaction.user.id
        only = await self.lists.movies(member, "watchlist") if source == "watchlist" else None
        picks, cold = await self.queries.recommend(member, count, genre, only)
        if only is not None:
            await self._from_watchlist(interaction, picks, cold, genre, len(only))
            return
        if cold:
            title = "Popular, well-loved movies" + (f" · {genre}" if genre else "")
            embed = picks_embed(title, picks, COLD_START_HINT)
        else:
            title = f"Picks for {interaction.user.display_name}"
            if genre:
                title += f" · {genre}"
            embed = picks_embed(title, picks, "≈ predicted stars for you")
        top = await self.pages.page(picks[0].movie) if picks else None
        if top is not None and top.poster_url:
            embed.set_thumbnail(url=top.poster_url)  # the first pick's poster
        await interaction.edit_original_response(embed=embed, view=picks_view(picks))

    async def _from_watchlist(
        self, interaction: Interaction, picks: list, cold: bool, genre: str | None, listed: int
    ) -> None:
        """Picks from the member's watchlist, best for them first."""
        if not picks:
            text = (
                "Your watchlist is empty: add movies with the “Watchlist +” button on `/movie`, "
                "your picks or `/similar`, or say “add alien to my watchlist”."
                if not listed
                else "Nothing on your watchlist fits" + (f" the genre {genre}." if genre else ".")
            )
            await interaction.edit_original_response(content=text)
            return
        title = "From your watchlist" + (f" · {genre}" if genre else "")
        hint = "best rated first" if cold else "≈ predicted stars for you"
        embed = picks_embed(title, picks, f"{hint} · {listed} on your watchlist")
        await interaction.edit_original_response(embed=embed, view=picks_view(picks, False))

    def known_genre(self, typed: str | None) -> str | None:
        """The catalog's spelling of a typed genre (None for none); UserFacingError if unknown."""
        if typed is None or not typed.strip():
            return None
        wanted = typed.strip().lower()
        names = self.queries.genre_names
        for name in names:
            if name.lower() == wanted:
                return name
        shown = discord.utils.escape_markdown(typed.strip()[:50])
        raise UserFacingError(
            f"I don't know the genre “{shown}”. Pick one from the list: {', '.join(names)}."
        )

    @recommend.autocomplete("genre")
    async def genre_autocomplete(
        self, interaction: Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """The catalog's genres that start with or contain what was typed."""
        typed = (current or "").strip().lower()
        hits = [g for g in self.queries.genre_names if typed in g.lower()]
        return [app_commands.Choice(name=g, value=g) for g in hits[:25]]

    @app_commands.command(name="similar")
    @app_commands.checks.cooldown(5, 10.0, key=per_user)
    async def similar(
        self,
        interaction: Interaction,
        movie: MovieArg,
        count: app_commands.Range[int, 1, 20] = 10,
    ) -> None:
        """Movies similar to one movie.

        Args:
            movie: The movie to start from.
            count: How many movies (1-20).
        """

        async def show(inter: Interaction, film: Movie) -> None:
            rows = self.queries.similar(film.movie_id, count)
            menu = watchlist_menu([m for m, _ in rows])
            extra = {"view": menu} if menu else {}
            await inter.response.send_message(embed=similar_embed(film, rows), **extra)

        await with_movie(interaction, movie, show)

    @app_commands.command(name="movie")
    @app_commands.checks.cooldown(5, 10.0, key=per_user)
    async def movie(self, interaction: Interaction, movie: MovieArg) -> None:
        """Details about a movie: year, genres, ratings, links, and your predicted stars.

        Args:
            movie: The movie to look up.
        """

        async def show(inter: Interaction, film: Movie) -> None:
            if self.pages.enabled:  # TMDB may take a moment: acknowledge within 3 s first
                await inter.response.defer(ephemeral=True, thinking=True)
            average, count = self.queries.movie_stats(film.movie_id)
            mine = await self.queries.rating(inter.user.id, film.movie_id)
            guess = await self.queries.predict(inter.user.id, film.movie_id)
            page = await self.pages.page(film)
            embed = movie_embed(film, average, count, mine, guess, page)
            lists = await self.lists.lists_with(inter.user.id, film.movie_id)
            if lists:
                shown = ", ".join(LIST_NAMES[name] for name in sorted(lists))
                embed.add_field(name="Your lists", value=shown)
            view = movie_buttons(film, lists)
            if inter.response.is_done():
                await inter.edit_original_response(embed=embed, view=view)
            else:
                await inter.response.send_message(embed=embed, view=view, ephemeral=True)

        await with_movie(interaction, movie, show)


async def setup(bot: MovieBot) -> None:
    """Extension entry point."""
    await bot.add_cog(Discover(bot))
