"""Rating commands: /rate, /unrate, /myratings, /forgetme."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.member_lists import LIST_NAMES, Listed
from bot.discord.cards import start_cards
from bot.discord.checks import per_user, raw_option
from bot.discord.client import MovieBot
from bot.discord.interaction import Interaction
from bot.discord.lists import ListPager
from bot.discord.member_data import forget_question, unrate_and_say
from bot.discord.movie_option import MovieArg, MovieQuery, with_movie
from bot.discord.render import COLOR, stars_text
from bot.discord.text import plural
from bot.discord.views import OwnedView, Paginator
from recommender.data import Movie

STAR_CHOICES = [
    app_commands.Choice(name=f"{stars_text(v / 2)}", value=v / 2) for v in range(10, 0, -1)
]


class StarsTransformer(app_commands.Transformer):
    """The stars option: ½ to 5 as choices; anything but a number (JSON true too) is refused."""

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.number

    @property
    def choices(self) -> list[app_commands.Choice[float]]:
        return STAR_CHOICES

    async def transform(self, interaction: Interaction, value: object) -> float:
        """The value as float; a raw bool or text never becomes stars."""
        raw = raw_option(interaction, "stars")
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise app_commands.TransformerError(raw, self.type, self)
        return float(raw)


StarsArg = app_commands.Transform[float, StarsTransformer]
PAGE_SIZE = 10


class RateNextView(OwnedView):
    """Offered after a rating: rate movies similar to the one just rated."""

    def __init__(self, owner_id: int, movie: Movie) -> None:
        super().__init__(owner_id)
        self.movie = movie

    @discord.ui.button(label="Rate similar movies", style=discord.ButtonStyle.primary, emoji="🎬")
    async def rate_similar(self, interaction: Interaction, button: discord.ui.Button):
        """Open a rating card that walks through movies similar to the one just rated."""
        self.stop()
        await start_cards(interaction, f"s{self.movie.movie_id}")


class Ratings(commands.Cog):
    """Everything about a user's own ratings."""

    def __init__(self, bot: MovieBot) -> None:
        self.bot = bot
        self.ratings = bot.services.ratings
        self.queries = bot.services.queries

    @app_commands.command(name="rate")
    @app_commands.checks.cooldown(10, 10.0, key=per_user)
    async def rate(self, interaction: Interaction, movie: MovieArg, stars: StarsArg) -> None:
        """Rate a movie from half a star to five stars.

        Args:
            movie: The movie; pick from the list or type a title.
            stars: How many stars you give it.
        """
        await self._rate(interaction, movie, stars)

    async def _rate(self, interaction: Interaction, query: MovieQuery, stars: float):
        async def save(inter: Interaction, movie: Movie) -> None:
            await inter.response.defer(ephemeral=True, thinking=True)
            result = await self.ratings.rate(inter.user.id, movie.movie_id, stars, "slash")
            verb = "Updated" if result.previous is not None else "Rated"
            text = f"{verb} **{movie.display}**: {stars_text(stars)}"
            if result.previous is not None and result.previous != stars:
                text += f" (was {result.previous:g})"
            text += f"\nYou have rated {plural(result.rated_count, 'movie')}."
            await inter.edit_original_response(
                content=text, view=RateNextView(inter.user.id, movie)
            )

        await with_movie(interaction, query, save)

    @app_commands.command(name="unrate")
    @app_commands.checks.cooldown(10, 10.0, key=per_user)
    async def unrate(self, interaction: Interaction, movie: MovieArg) -> None:
        """Remove one of your ratings.

        Args:
            movie: The movie whose rating you want to remove.
        """

        async def remove(inter: Interaction, film: Movie) -> None:
            text = await unrate_and_say(self.ratings, inter.user.id, film)
            await inter.response.send_message(text, ephemeral=True)

        await with_movie(interaction, movie, remove)

    @app_commands.command(name="myratings")
    @app_commands.checks.cooldown(5, 10.0, key=per_user)
    @app_commands.choices(
        show=[
            app_commands.Choice(name="ratings", value="ratings"),
            app_commands.Choice(name="seen", value="seen"),
            app_commands.Choice(name="not interested", value="not_interested"),
            app_commands.Choice(name="watchlist", value="watchlist"),
        ]
    )
    async def myratings(
        self,
        interaction: Interaction,
        page: app_commands.Range[int, 1, 1000] = 1,
        show: str = "ratings",
    ) -> None:
        """List the movies you have rated, newest first (or your seen, not interested or
        watchlist movies, which you can undo).

        Args:
            page: Which page to start on.
            show: Your ratings, or the movies you marked seen, not interested or to watch.
        """
        if show != "ratings":
            pager = await list_pager(interaction, show)
            pager.page = min(page - 1, pager.pages - 1)
            pager.refresh()
            await interaction.response.send_message(embed=pager.embed, view=pager, ephemeral=True)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        rows = await self.queries.ratings_of(interaction.user.id)
        if not rows:
            await interaction.edit_original_response(
                content="You haven't rated anything yet. Try `/rate` or `/onboard`."
            )
            return
        pages = []
        total = len(rows)
        for start in range(0, total, PAGE_SIZE):
            chunk = rows[start : start + PAGE_SIZE]
            lines = [
                f"{stars_text(r.stars)} · {self.queries.movie(r.movie_id).display}" for r in chunk
            ]
            embed = discord.Embed(title="Your ratings", colour=COLOR, description="\n".join(lines))
            embed.set_footer(text=f"{total} ratings")
            pages.append(embed)
        view = Paginator(interaction.user.id, pages, start=page - 1)
        await interaction.edit_original_response(embed=view.page, view=view)

    @app_commands.command(name="forgetme")
    @app_commands.checks.cooldown(3, 60.0, key=per_user)
    async def forgetme(self, interaction: Interaction) -> None:
        """Delete everything the bot knows about you: ratings, lists, votes, settings."""
        text, view = await forget_question(self.ratings, self.queries, interaction.user.id)
        await interaction.response.send_message(text, view=view, ephemeral=True)


async def list_pager(interaction: Interaction, name: str) -> ListPager:
    """One of the member's lists, paged, with a menu to undo a mark."""
    lists = interaction.client.services.lists
    member = interaction.user.id
    escape = discord.utils.escape_markdown

    async def undo(inter: Interaction, entry: Listed) -> str:
        await lists.remove(member, name, entry.movie.movie_id)
        return f"Took **{escape(entry.movie.display)}** off your {LIST_NAMES[name]} movies."

    hints = {
        "seen": "Movies you marked seen: they stay out of your picks.",
        "not_interested": "Movies you never want suggested, to you or to movie nights with you.",
        "watchlist": "/recommend from:watchlist picks the best of it for you",
    }
    return ListPager(
        member,
        f"Your {LIST_NAMES[name]} movies" if name != "watchlist" else "Your watchlist",
        await lists.entries(member, name),
        undo,
        "Undo one…" if name != "watchlist" else "Remove from my watchlist…",
        hints[name],
        empty=f"You have no {LIST_NAMES[name]} movies yet: the buttons under your "
        "`/recommend` picks and `/movie` add them.",
    )


async def setup(bot: MovieBot) -> None:
    """Extension entry point."""
    await bot.add_cog(Ratings(bot))
