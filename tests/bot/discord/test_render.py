"""Embeds and text: what users read, within Discord's limits."""

from __future__ import annotations

from bot.core.queries import GroupPick, Pick, Status
from bot.discord.movie_option import which_one_text
from bot.discord.render import (
    DESCRIPTION,
    TITLE,
    duration,
    group_embed,
    movie_embed,
    picks_embed,
    predicted,
    similar_embed,
    stars_text,
    status_embed,
)
from bot.discord.text import clip, plural
from recommender.data import Movie
from recommender.titles import TitleMatch

ALIEN = Movie(1, "Alien (1979)", 1979, ("Horror", "Sci-Fi"), "https://imdb.com/t/1", None)
HEAT = Movie(2, "Heat (1995)", 1995, (), None, "https://tmdb.org/m/2")


def test_stars_and_predictions_read_as_stars():
    assert stars_text(4.5) == "★★★★½ 4.5"
    assert stars_text(5.0) == "★★★★★ 5"
    assert stars_text(0.5) == "½ 0.5"
    assert predicted(4.26) == "≈4.3★"


def test_plural_and_clip():
    assert plural(1, "movie") == "1 movie" and plural(0, "vote") == "0 votes"
    assert clip("abc", 3) == "abc"
    assert clip("abcdef", 4) == "abc…" and len(clip("x" * 500, 256)) == 256


def test_picks_embed_numbers_movies_with_reasons_and_stays_within_limits():
    picks = [Pick(ALIEN, 4.26, "because you rated Aliens 5★"), Pick(HEAT, 3.0)]
    embed = picks_embed("Picks", picks, "≈ predicted stars")
    lines = embed.description.splitlines()
    assert lines[0].startswith("` 1.` **Alien (1979)** · Horror, Sci-Fi — ≈4.3★")
    assert "*because you rated Aliens 5★*" in lines[1]
    assert lines[2].startswith("` 2.` **Heat (1995)** — ≈3.0★")
    assert embed.footer.text == "≈ predicted stars"
    many = [Pick(Movie(k, "T" * 300, None, ("Drama",) * 5, None, None), 3.0) for k in range(40)]
    huge = picks_embed("x" * 400, many)
    assert len(huge.description) <= DESCRIPTION and len(huge.title) <= TITLE
    assert picks_embed("Empty", []).description == "Nothing to show."


def test_similar_and_movie_embeds():
    embed = similar_embed(ALIEN, [(HEAT, 0.8123)])
    assert embed.title == "More like Alien (1979)"
    assert embed.description == "` 1.` **Heat (1995)** — 0.81"
    assert similar_embed(ALIEN, []).description == "No similar movies found."
    fields = {f.name: f.value for f in movie_embed(ALIEN, 4.1234, 52, None, 3.94).fields}
    assert fields["Average"] == "4.12★ from 52 ratings"
    assert fields["Your rating"] == "not rated"
    assert fields["We think you'd give it"] == "≈3.9★"
    assert fields["Links"] == "[IMDb](https://imdb.com/t/1)"
    rated = {f.name: f.value for f in movie_embed(HEAT, None, 0, 4.5, 3.0).fields}
    assert rated["Average"] == "no ratings yet" and rated["Your rating"] == "★★★★½ 4.5"
    assert "We think you'd give it" not in rated  # no prediction once you rated it
    assert rated["Links"] == "[TMDB](https://tmdb.org/m/2)"


def test_group_embed_shows_each_member_and_the_strategy():
    pick = GroupPick(ALIEN, 3.6, {10: 3.6, 20: 4.4})
    embed = group_embed("Movie night", [pick], {10: "ann", 20: "ben"}, "least_misery")
    assert "group 3.6★" in embed.description and "ann 3.6, ben 4.4" in embed.description
    assert embed.footer.text == "Strategy: least misery"


def test_durations_and_status():
    assert [duration(x) for x in (None, 2.345, 45, 600, 7500)] == [
        "—",
        "2.3 s",
        "45 s",
        "10 min",
        "2 h 5 min",
    ]
    status = Status(120.0, 100_000, 12, 3, 4.2, 0.91234, "ok", None, 5, True)
    fields = {f.name: f.value for f in status_embed(status).fields}
    assert fields["MovieLens ratings"] == "100,000" and fields["Club raters"] == "3"
    assert fields["Last fit"] == "4.2 s, RMSE 0.912 (ok)"
    assert fields["Next refit check"] == "running now · 5 changes"


def test_did_you_mean_is_honest_when_nothing_is_close():
    typo = [TitleMatch(1, "Inception (2010)", 2010, 91.5)]
    junk = [TitleMatch(2, "TiMER (2009)", 2009, 80.6)]
    covers = "9,742 movies up to 2018"
    assert which_one_text("inceptoin", typo, covers) == "Which movie did you mean by “inceptoin”?"
    assert which_one_text("oppenheimer", junk, covers) == (
        "I don't know a movie called “oppenheimer” (I know 9,742 movies up to 2018). "
        "Type it with its year to add it to the club's movies. The closest titles:"
    )
