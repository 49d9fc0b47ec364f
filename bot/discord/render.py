"""Turn query results into Discord embeds and text: pure functions, limits respected."""

from __future__ import annotations

import discord

from bot.core.queries import GroupPick, Pick, Queries, Status
from bot.discord.text import clip
from bot.tmdb import MoviePage
from recommender.data import Movie

COLOR = discord.Colour.from_rgb(229, 160, 13)
DATA_CREDIT = "Poster and overview from TMDB"
PAGE_CREDIT = "Poster and overview from TMDB · where to stream by JustWatch"
FIELD_VALUE = 1024
DESCRIPTION = 4096
TITLE = 256


def stars_text(stars: float) -> str:
    """4.5 -> "★★★★½ 4.5"."""
    full = int(stars)
    half = "½" if stars - full >= 0.5 else ""
    return f"{'★' * full}{half} {stars:g}"


def predicted(stars: float) -> str:
    """Predicted stars rounded to a tenth: "≈4.3★"."""
    return f"≈{stars:.1f}★"


def movie_line(movie: Movie) -> str:
    """Title with genres, one line."""
    genres = f" · {', '.join(movie.genres)}" if movie.genres else ""
    return f"**{movie.display}**{genres}"


def title_of(queries: Queries, movie_id: int) -> str:
    """A movie's title, or a placeholder for one the catalog no longer has (a removed club
    movie named in an old poll or night)."""
    try:
        return queries.movie(movie_id).display
    except ValueError:
        return "a movie no longer in the catalog"


def movie_link(movie: Movie) -> str | None:
    """The best link we have for a movie."""
    return movie.imdb_url or movie.tmdb_url


def picks_embed(title: str, picks: list[Pick], footer: str | None = None) -> discord.Embed:
    """A numbered list of recommendations with predicted stars and reasons."""
    lines = []
    for k, p in enumerate(picks, 1):
        line = f"`{k:>2}.` {movie_line(p.movie)} — {predicted(p.stars)}"
        if p.reason:
            line += f"\n      *{p.reason}*"
        lines.append(line)
    embed = discord.Embed(title=clip(title, TITLE), colour=COLOR)
    embed.description = clip("\n".join(lines) or "Nothing to show.", DESCRIPTION)
    if footer:
        embed.set_footer(text=clip(footer, 2048))
    return embed


def similar_embed(movie: Movie, rows: list[tuple[Movie, float]]) -> discord.Embed:
    """Movies like one movie, with cosine similarity."""
    lines = [f"`{k:>2}.` {movie_line(m)} — {s:.2f}" for k, (m, s) in enumerate(rows, 1)]
    embed = discord.Embed(title=clip(f"More like {movie.display}", TITLE), colour=COLOR)
    embed.description = clip("\n".join(lines) or "No similar movies found.", DESCRIPTION)
    embed.set_footer(text="Similarity: shared fans, taste and genres (higher = closer)")
    return embed


def movie_embed(
    movie: Movie,
    average: float | None,
    count: int,
    mine: float | None,
    guess: float | None,
    page: MoviePage | None = None,
) -> discord.Embed:
    """Everything about one movie, including the caller's own and predicted rating, and the
    TMDB page (poster, overview, runtime, trailer, where to stream) when there is one."""
    embed = discord.Embed(title=clip(movie.display, TITLE), colour=COLOR, url=movie_link(movie))
    if page is not None:
        add_page(embed, page)
    embed.add_field(name="Year", value=str(movie.year or "unknown"))
    embed.add_field(name="Genres", value=clip(", ".join(movie.genres) or "—", FIELD_VALUE))
    avg = f"{average:.2f}★ from {count} ratings" if average is not None else "no ratings yet"
    embed.add_field(name="Average", value=avg)
    embed.add_field(name="Your rating", value=stars_text(mine) if mine else "not rated")
    if guess is not None and mine is None:
        embed.add_field(name="We think you'd give it", value=predicted(guess))
    links = [f"[IMDb]({movie.imdb_url})" if movie.imdb_url else ""]
    links.append(f"[TMDB]({movie.tmdb_url})" if movie.tmdb_url else "")
    if page is not None and page.trailer_url:
        links.append(f"[Trailer]({page.trailer_url})")
    if any(links):
        embed.add_field(name="Links", value=" · ".join(x for x in links if x), inline=False)
    return embed


def add_page(embed: discord.Embed, page: MoviePage) -> None:
    """Poster, overview, runtime and where to stream (with the attribution TMDB requires)."""
    if page.poster_url:
        embed.set_thumbnail(url=page.poster_url)
    if page.overview:
        embed.description = clip(page.overview, 1000)
    if page.runtime_min:
        embed.add_field(name="Runtime", value=f"{page.runtime_min} min")
    if page.providers:
        where = ", ".join(page.providers[:6])
        if page.providers_link:
            where = f"[{where}]({page.providers_link})"
        embed.add_field(name="Stream it on", value=clip(where, FIELD_VALUE), inline=False)
    embed.set_footer(text=PAGE_CREDIT if page.providers else DATA_CREDIT)


def group_embed(
    title: str, picks: list[GroupPick], names: dict[int, str], strategy: str
) -> discord.Embed:
    """Group picks with the group score and each member's predicted stars."""
    lines = []
    for k, p in enumerate(picks, 1):
        members = ", ".join(f"{names.get(u, u)} {s:.1f}" for u, s in p.member_stars.items())
        lines.append(f"`{k}.` {movie_line(p.movie)} — group {p.score:.1f}★\n      {members}")
    embed = discord.Embed(title=clip(title, TITLE), colour=COLOR)
    embed.description = clip("\n".join(lines) or "No movie fits everyone yet.", DESCRIPTION)
    embed.set_footer(text=f"Strategy: {strategy.replace('_', ' ')}")
    return embed


def duration(seconds: float | None) -> str:
    """Seconds as "3 min" / "2 h 5 min"."""
    if seconds is None:
        return "—"
    if seconds < 10:
        return f"{seconds:.1f} s"
    seconds = int(seconds)
    if seconds < 90:
        return f"{seconds} s"
    minutes = seconds // 60
    return f"{minutes} min" if minutes < 90 else f"{minutes // 60} h {minutes % 60} min"


def status_embed(status: Status) -> discord.Embed:
    """Model and data health for /status."""
    embed = discord.Embed(title="Movie club status", colour=COLOR)
    embed.add_field(name="Model age", value=duration(status.model_age_s))
    embed.add_field(name="MovieLens ratings", value=f"{status.movielens_ratings:,}")
    embed.add_field(name="Club ratings", value=f"{status.discord_ratings:,}")
    embed.add_field(name="Club raters", value=f"{status.discord_raters:,}")
    fit = duration(status.last_fit_seconds)
    if status.last_fit_rmse is not None:
        fit += f", RMSE {status.last_fit_rmse:.3f}"
    embed.add_field(name="Last fit", value=f"{fit} ({status.last_fit_status or 'none yet'})")
    nxt = "running now" if status.refitting else duration(status.next_refit_in_s)
    embed.add_field(name="Next refit check", value=f"{nxt} · {status.pending_changes} changes")
    if status.catalog:
        embed.add_field(name="Catalog", value=status.catalog, inline=False)
    return embed
