"""The `movie` option: fuzzy autocomplete, and free text resolved or answered with choices."""

from __future__ import annotations

import string
from dataclasses import dataclass, field

import discord
from discord import app_commands

from bot.core.club_movies import title_with_year
from bot.core.queries import Queries
from bot.discord.interaction import Interaction
from bot.discord.views import DidYouMeanView, MoviePicked
from recommender.data import Movie
from recommender.titles import TitleMatch

MAX_QUERY = 200
CLOSE_MATCH = 85.0  # below this search score a candidate is a guess, not a likely typo
VALUE_PREFIX = "m:"


@dataclass(frozen=True)
class MovieQuery:
    """What the user gave: a movie we are sure of, or the text and its candidates."""

    text: str
    movie: Movie | None = None
    candidates: list[TitleMatch] = field(default_factory=list)


def parse_query(queries: Queries, value: str) -> MovieQuery:
    """An autocomplete pick ("m:123") or free text resolved by the title index."""
    text = (value or "").strip()[:MAX_QUERY]
    if text.startswith(VALUE_PREFIX):
        picked = text[len(VALUE_PREFIX) :]
        if picked.isdigit():
            try:
                return MovieQuery(text, queries.movie(int(picked)))
            except ValueError:
                return MovieQuery(text)
        text = picked.strip()  # a broken pick ("m:"): only what follows may name a movie
    found = queries.resolve(text)
    movie = queries.movie(found.movie.movie_id) if found.movie else None
    return MovieQuery(text, movie, found.candidates)


class MovieTransformer(app_commands.Transformer):
    """String option with title autocomplete; transforms into a MovieQuery."""

    @property
    def type(self) -> discord.AppCommandOptionType:
        return discord.AppCommandOptionType.string

    @property
    def max_value(self) -> int:
        return MAX_QUERY

    async def autocomplete(  # type: ignore[override]
        self, interaction: Interaction, value: str
    ) -> list[app_commands.Choice[str]]:
        """Up to 25 titles matching what was typed so far (most popular first when empty)."""
        pairs = interaction.client.services.queries.autocomplete((value or "")[:MAX_QUERY], 25)
        return [
            app_commands.Choice(name=label, value=f"{VALUE_PREFIX}{mid}") for label, mid in pairs
        ]

    async def transform(self, interaction: Interaction, value: str) -> MovieQuery:
        """Resolve now; ambiguity is handled by the command with buttons."""
        return parse_query(interaction.client.services.queries, value)


MovieArg = app_commands.Transform[MovieQuery, MovieTransformer]


def not_found_text(text: str, covers: str) -> str:
    """What we say when nothing looks like the title (or nothing was typed at all), with what
    the catalog covers so a member knows why."""
    shown = discord.utils.escape_markdown(text[:80])
    if not shown:
        return "Please type a movie title, or pick one from the list as you type."
    return (
        f"I couldn't find a movie called “{shown}”. I know {covers}; try picking one from the "
        "list as you type, or type it with its year (`Oppenheimer (2023)`) to add it to the "
        "club's movies."
    )


async def with_movie(interaction: Interaction, query: MovieQuery, on_pick: MoviePicked) -> None:
    """Continue with the movie if we are sure; otherwise ask with "did you mean" buttons."""
    if query.movie is not None:
        await on_pick(interaction, query.movie)
        return
    services = interaction.client.services
    covers = services.queries.catalog_summary()
    add = addable(query.text)
    if add is None and services.pages.enabled and query.text.strip():
        await interaction.response.defer(ephemeral=True, thinking=True)  # TMDB may be slow
        add = await services.pages.suggest(query.text)  # TMDB knows the year
    if not query.candidates and add is None:
        await _answer(interaction, not_found_text(query.text, covers))
        return
    view = DidYouMeanView(
        interaction.user.id, query.candidates, on_pick, origin=interaction, add=add
    )
    await _answer(interaction, which_one_text(query.text, query.candidates, covers, add), view)


async def _answer(interaction: Interaction, text: str, view: discord.ui.View | None = None) -> None:
    """Reply privately, or fill in the deferred reply."""
    if interaction.response.is_done():
        await interaction.edit_original_response(content=text, view=view)
    else:
        await interaction.response.send_message(
            text, ephemeral=True, **({"view": view} if view else {})
        )


def addable(text: str) -> str | None:
    """ "Oppenheimer (2023)" when the text names a title and a year, else None."""
    parsed = title_with_year(text)
    if parsed is None:
        return None
    title, year = parsed
    return f"{title if title != title.lower() else string.capwords(title)} ({year})"


def which_one_text(
    text: str, candidates: list[TitleMatch], covers: str, add: str | None = None
) -> str:
    """The "did you mean" question; when nothing is close, say so, what the catalog holds,
    and (given a title with its year) that it can be added to the club's movies."""
    shown = discord.utils.escape_markdown(text[:80])
    if candidates and candidates[0].score >= CLOSE_MATCH:
        return f"Which movie did you mean by “{shown}”?"
    head = f"I don't know a movie called “{shown}” (I know {covers})."
    if add is None:
        return f"{head} Type it with its year to add it to the club's movies. The closest titles:"
    if not candidates:
        return f"{head} Add it to the club's movies?"
    return f"{head} Add it to the club's movies, or pick one of the closest titles:"
