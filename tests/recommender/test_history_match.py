"""Matching rows of Letterboxd and IMDb history to catalog movies: ids, names, years, search."""

from __future__ import annotations

import pytest

from recommender.data import Catalog
from recommender.history_match import HistoryMatcher
from recommender.titles import TitleIndex


@pytest.fixture
def small() -> HistoryMatcher:
    """A catalog with links, articles, aliases and a remake."""
    catalog = Catalog.build(
        [1, 2, 3, 4, 5, 6],
        [
            "Matrix, The (1999)",
            "Seven (a.k.a. Se7en) (1995)",
            "Old Boy (2003)",
            "Oldboy (2013)",
            "Amelie (Fabuleux destin d'Amélie Poulain, Le) (2001)",
            "Hamlet (1996)",
        ],
        [["Sci-Fi"], ["Thriller"], ["Thriller"], ["Drama"], ["Comedy"], ["Drama"]],
        imdb_urls=[
            "https://www.imdb.com/title/tt0133093/",
            "https://www.imdb.com/title/tt0114369/",
            "",
            "",
            "",
            "",
        ],
        tmdb_ids=[603, 807, 0, 0, 194, 0],
    )
    return HistoryMatcher(catalog, TitleIndex(catalog))


def test_ids_win_over_names(small: HistoryMatcher):
    assert small.match("Something Else", 2020, imdb=133093).movie_id == 1
    assert small.match(None, None, tmdb=807).movie_id == 2
    found = small.match("The Matrix", 1999, imdb=9999999)  # an id the links lack
    assert (found.movie_id, found.how) == (1, "title")


def test_names_match_with_articles_aliases_accents_and_a_year_off_by_one(small: HistoryMatcher):
    assert small.match("The Matrix", 1999).movie_id == 1
    assert small.match("Se7en", 1995).movie_id == 2
    assert small.match("Amélie", 2001).movie_id == 5
    assert small.match("Amelie", 2002).movie_id == 5  # festival year vs release year
    assert small.match("Oldboy", 2013).movie_id == 4
    assert small.match("Hamlet", None).movie_id == 6  # the only Hamlet


def test_near_names_become_candidates_and_wrong_years_do_not(small: HistoryMatcher):
    found = small.match("Oldboy", 2003)  # Letterboxd's spelling of Old Boy (2003)
    assert found.movie_id is None and found.candidates[0] == 3 and found.how == "search"
    assert small.match("Hamlet", 1948).unknown  # the 1996 film is not this one
    assert small.match("Past Lives", 2023).unknown  # newer than the catalog: no search at all
    assert small.match(None, None).unknown


def test_real_latest_small(real_latest_small):
    catalog = real_latest_small.catalog
    matcher = HistoryMatcher(catalog, TitleIndex(catalog))
    sure = {
        ("The Matrix", 1999): 2571,
        ("Se7en", 1995): 47,
        ("Léon: The Professional", 1994): 293,
        ("Spirited Away", 2001): 5618,
        ("The Godfather", 1972): 858,
        ("The Dark Knight", 2008): 58559,
    }
    for (title, year), movie in sure.items():
        assert matcher.match(title, year).movie_id == movie, title
    assert matcher.match(None, None, imdb=111161).movie_id == 318  # Shawshank by IMDb id
    assert 122912 in matcher.match("Avengers: Infinity War", 2018).candidates
    assert 260 in matcher.match("Star Wars", 1977).candidates
    assert matcher.match("Parasite", 2019).unknown  # not Parasite (1982)
