"""Title search: normalization, articles, aliases, years, typos, ties, hostile input."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.data import Catalog
from recommender.titles import TitleIndex, normalize, title_variants
from tests.conftest import FIXTURE_TITLES


@pytest.fixture(scope="module")
def index() -> TitleIndex:
    titles = [*FIXTURE_TITLES, "Alien 3 (1992)", "Alien: Resurrection (1997)", "Hamlet (1990)"]
    cat = Catalog.build(list(range(1, len(titles) + 1)), titles, [[] for _ in titles])
    popularity = np.ones(len(titles))
    popularity[titles.index("Hamlet (1996)")] = 100  # the well-known one
    return TitleIndex(cat, popularity)


def top(index: TitleIndex, query: str) -> str:
    return index.search(query, 5)[0].title


def test_normalize_strips_case_accents_punctuation():
    assert normalize("Misérables, Les!") == "miserables les"
    assert normalize("  GoldenEye  ") == "goldeneye"
    assert normalize("Godfather: Part II") == "godfather part 2"


def test_variants_cover_articles_and_aliases():
    assert "the usual suspects" in title_variants("Usual Suspects, The (1995)")
    assert "se7en" in title_variants("Seven (Se7en) (1995)")
    veronique = title_variants("Double vie de Véronique, La (Double Life of Veronique, The) (1991)")
    assert "double life of veronique" in veronique and "la double vie de veronique" in veronique


@pytest.mark.parametrize(
    ("query", "title"),
    [
        ("the usual suspects", "Usual Suspects, The (1995)"),
        ("usual suspects", "Usual Suspects, The (1995)"),
        ("se7en", "Seven (Se7en) (1995)"),
        (
            "double life of veronique",
            "Double vie de Véronique, La (Double Life of Veronique, The) (1991)",
        ),
        ("LES MISERABLES", "Misérables, Les (1995)"),
        ("hamlet 1948", "Hamlet (1948)"),
        ("hamlet (1990)", "Hamlet (1990)"),
        ("hamlet", "Hamlet (1996)"),
        ("shawshenk", "Shawshank Redemption, The (1994)"),
        ("pulp fictoin", "Pulp Fiction (1994)"),
        ("alien", "Alien (1979)"),
        ("aliens", "Aliens (1986)"),
        ("twelve monkeys", "Twelve Monkeys (1995)"),
    ],
)
def test_search_finds_the_expected_movie_first(index: TitleIndex, query: str, title: str):
    assert top(index, query) == title


def test_resolve_is_confident_only_when_clear(index: TitleIndex):
    assert index.resolve("pulp fiction").movie.title == "Pulp Fiction (1994)"
    assert index.resolve("alien").movie.title == "Alien (1979)"
    assert index.resolve("hamlet 1948").movie.title == "Hamlet (1948)"
    ambiguous = index.resolve("hamlet")
    assert ambiguous.movie is None
    assert {c.title for c in ambiguous.candidates} >= {"Hamlet (1996)", "Hamlet (1948)"}


@pytest.mark.parametrize(
    "query", ["", "   ", "x" * 10_000, "映画が好き", "🎬🍿", "\x00\n\t", "!!!"]
)
def test_hostile_queries_return_empty_or_candidates_never_raise(index: TitleIndex, query: str):
    result = index.resolve(query)
    assert result.movie is None
    assert isinstance(index.search(query), list)


def test_autocomplete_respects_discord_limits():
    long_title = "A" * 150 + " (1999)"
    titles = [f"Movie Number {k} (2000)" for k in range(60)] + [long_title]
    cat = Catalog.build(list(range(1, 62)), titles, [[] for _ in titles])
    index = TitleIndex(cat)
    choices = index.autocomplete("movie number", 50)
    assert 0 < len(choices) <= 25
    assert all(1 <= len(name) <= 100 for name, _ in choices)
    assert index.autocomplete("", 25) and len(index.autocomplete("", 25)) == 25
    (name, movie_id), *_ = index.autocomplete("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 5)
    assert movie_id == 61 and len(name) == 100 and name.endswith("…")


def test_popularity_breaks_near_ties():
    titles = ["Crash (1996)", "Crash (2004)"]
    cat = Catalog.build([1, 2], titles, [[], []])
    assert TitleIndex(cat, np.array([1, 500])).search("crash")[0].movie_id == 2
    assert TitleIndex(cat, np.array([500, 1])).search("crash")[0].movie_id == 1


def test_real_catalog_titles(real_ml100k):
    counts = np.bincount(
        np.searchsorted(real_ml100k.catalog.movie_ids, real_ml100k.ratings.items),
        minlength=len(real_ml100k.catalog),
    )
    index = TitleIndex(real_ml100k.catalog, counts)
    assert index.resolve("se7en").movie.movie_id == 11
    assert index.resolve("the usual suspects").movie.movie_id == 12
    assert index.search("shawshenk")[0].title == "Shawshank Redemption, The (1994)"
    assert index.resolve("chasing amy").movie.movie_id == 246
