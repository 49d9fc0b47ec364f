"""Matching ML-100K movies to today's MovieLens ids: by name and year, never by a guess."""

from __future__ import annotations

from recommender.catalog_match import match_catalogs
from recommender.data import Catalog


def catalog(rows: list[tuple[int, str]]) -> Catalog:
    """A small catalog from (id, MovieLens title) rows."""
    return Catalog.build(
        movie_ids=[m for m, _ in rows],
        titles=[t for _, t in rows],
        genre_lists=[[] for _ in rows],
    )


def test_names_articles_aliases_and_years_decide():
    old = catalog(
        [
            (1, "Toy Story (1995)"),
            (12, "Usual Suspects, The (1995)"),
            (11, "Seven (Se7en) (1995)"),
            (5, "Hamlet (1996)"),
            (6, "Hamlet (1948)"),
            (7, "Unknown Picture (1994)"),
            (8, "Heat (1995)"),
        ]
    )
    new = catalog(
        [
            (1, "Toy Story (1995)"),
            (50, "The Usual Suspects (1995)"),
            (47, "Seven (a.k.a. Se7en) (1995)"),
            (1411, "Hamlet (1996)"),
            (7210, "Hamlet (1948)"),
            (6, "Heat (1995)"),
            (9000, "Heat (1972)"),
        ]
    )
    assert match_catalogs(old, new) == {1: 1, 12: 50, 11: 47, 5: 1411, 6: 7210, 8: 6}


def test_a_title_in_another_year_is_not_the_same_movie():
    old = catalog([(1, "Solaris (1972)")])
    new = catalog([(2, "Solaris (2002)")])
    assert match_catalogs(old, new) == {}
