"""/watchlist (yours, paged, with remove) and /serverlist (the server's, edited by members)."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.member_lists import Listed
from bot.discord.checks import per_user
from bot.discord.client import MovieBot
from bot.discord.interaction import Interaction
from bot.discord.lists import ListPager
from bot.discord.members import member_name
from bot.discord.movie_option import MovieArg, with_movie
from recommender.data import Movie

escape = discord.utils.escape_markdown
WATCHLIST_FOOTER = "/recommend from:watchlist picks the best of it for you"
SERVER_FOOTER = "/serverlist add to add one · movie nights can draw from this list"


async def watchlist_pager(interaction: Interaction) -> ListPager:
    """The member's watchlist, paged, with a menu to take a movie off it."""
    lists = interaction.client.services.lists
    member = interaction.user.id

    async def remove(inter: Interaction, entry: Listed) -> str:
        await lists.remove(member, "watchlist", entry.movie.movie_id)
        return f"Took **{escape(entry.movie.display)}** off your watchlist."

    return ListPager(
        member,
        "Your watchlist",
        await lists.entries(member, "watchlist"),
        remove,
        "Remove from my watchlist…",
        WATCHLIST_FOOTER,
        empty="Your watchlist is empty. Press “Watchlist +” on `/movie`, your picks or "
        "`/similar`, or say “add alien to my watchlist”.",
    )


class Lists(commands.Cog):
    """Lists of movies to watch: each member's, and each server's."""

    server = app_commands.Group(
        name="serverlist",
        description="The server's list of movies to watch together",
        guild_only=True,
    )

    def __init__(self, bot: MovieBot) -> None:
        self.bot = bot
        self.lists = bot.services.lists

    @app_commands.command(name="watchlist")
    @app_commands.checks.cooldown(5, 10.0, key=per_user)
    async def watchlist(self, interaction: Interaction) -> None:
        """The movies on your watchlist, newest first, with a menu to remove them."""
        pager = await watchlist_pager(interaction)
        await interaction.response.send_message(embed=pager.embed, view=pager, ephemeral=True)

    @server.command(name="add")
    @app_commands.checks.cooldown(10, 60.0, key=per_user)
    async def server_add(self, interaction: Interaction, movie: MovieArg) -> None:
        """Put a movie on the server's list (everyone sees who added it).

        Args:
            movie: The movie to add.
        """
        guild = interaction.guild_id or 0

        async def add(inter: Interaction, film: Movie) -> None:
            fresh = await self.lists.add_to_server_list(guild, film.movie_id, inter.user.id)
            shown = escape(film.display)
            who = escape(inter.user.display_name)
            text = (
                f"**{who}** added **{shown}** to the server's list."
                if fresh
                else f"**{shown}** is already on the server's list."
            )
            await inter.response.send_message(text, ephemeral=not fresh)

        await with_movie(interaction, movie, add)

    @server.command(name="remove")
    @app_commands.checks.cooldown(10, 60.0, key=per_user)
    async def server_remove(self, interaction: Interaction, movie: MovieArg) -> None:
        """Take a movie off the server's list.

        Args:
            movie: The movie to take off.
        """
        guild = interaction.guild_id or 0

        async def remove(inter: Interaction, film: Movie) -> None:
            was = await self.lists.remove_from_server_list(guild, film.movie_id)
            shown = escape(film.display)
            text = (
                f"Took **{shown}** off the server's list."
                if was
                else f"**{shown}** isn't on the server's list."
            )
            await inter.response.send_message(text, ephemeral=True)

        await with_movie(interaction, movie, remove)

    @server.command(name="show")
    @app_commands.checks.cooldown(5, 10.0, key=per_user)
    async def server_show(self, interaction: Interaction) -> None:
        """The server's list, with who added each movie."""
        await interaction.response.defer(thinking=True)  # names may be asked of Discord
        guild = interaction.guild
        entries = await self.lists.server_list(interaction.guild_id or 0)
        names: dict[int, str] = {}
        for entry in entries:
            if guild is not None and entry.added_by is not None and entry.added_by not in names:
                name = await member_name(guild, entry.added_by)
                names[entry.added_by] = name or "a former member"

        async def remove(inter: Interaction, entry: Listed) -> str:
            await self.lists.remove_from_server_list(inter.guild_id or 0, entry.movie.movie_id)
            return f"Took **{escape(entry.movie.display)}** off the server's list."

        pager = ListPager(
            interaction.user.id,
            f"{guild.name if guild else 'This server'}'s list",
            entries,
            remove,
            "Take a movie off the server's list…",
            SERVER_FOOTER,
            names={k: escape(v) for k, v in names.items()},
            empty="The server's list is empty. `/serverlist add` puts a movie on it.",
        )
        await interaction.edit_original_response(embed=pager.embed, view=pager)


async def setup(bot: MovieBot) -> None:
    """Extension entry point."""
    await bot.add_cog(Lists(bot))
