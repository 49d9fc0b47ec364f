"""Title search: normalization, articles, aliases, years, typos, ties, hostile input."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.data import Catalog, Movie, natural_title
from recommender.titles import (
    TitleIndex,
    names_a_movie,
    names_every_word,
    normalize,
    title_variants,
)
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


def test_a_fragment_of_a_longer_title_is_asked_about_not_taken(index: TitleIndex):
    fragment = index.resolve("shawshank")
    assert fragment.movie is None
    assert fragment.candidates[0].title == "Shawshank Redemption, The (1994)"
    assert index.resolve("the shawshank redemption").movie is not None
    assert index.resolve("shawshank redemtion").movie is not None  # a typo, not a fragment


def test_real_catalog_fragments_and_mentions_ask_first(real_ml100k):
    index = TitleIndex(real_ml100k.catalog)
    for typed in ("@everyone", "everyone", "star", "the"):
        assert index.resolve(typed).movie is None, typed
    for typed, title in (("se7en", "Seven (Se7en) (1995)"), ("fargo", "Fargo (1996)")):
        assert index.resolve(typed).movie.title == title


@pytest.mark.parametrize(
    ("title", "display"),
    [
        ("Usual Suspects, The (1995)", "The Usual Suspects (1995)"),
        ("Misérables, Les (1995)", "Les Misérables (1995)"),
        (
            "City of Lost Children, The (Cité des enfants perdus, La) (1995)",
            "The City of Lost Children (La Cité des enfants perdus) (1995)",
        ),
        ("Walk in the Clouds, A (1995)", "A Walk in the Clouds (1995)"),
        ("Bear, The (Ours, L') (1988)", "The Bear (L'Ours) (1988)"),
        ("Postman, The (Postino, Il) (1994)", "The Postman (Il Postino) (1994)"),
        (
            "Children Are Watching Us, The (Bambini ci guardano, I) (1944)",
            "The Children Are Watching Us (I Bambini ci guardano) (1944)",
        ),
        (
            "Macbeth (a.k.a. Tragedy of Macbeth, The) (1971)",
            "Macbeth (a.k.a. The Tragedy of Macbeth) (1971)",
        ),
        ("Death Note: Desu nôto (2006–2007)", "Death Note: Desu nôto (2006–2007)"),
        (
            "Naked Gun: From the Files of Police Squad!, The",
            "The Naked Gun: From the Files of Police Squad!",
        ),
        # No article at the end of a name: left exactly as MovieLens spells it.
        ("I, Robot (2004)", "I, Robot (2004)"),
        ("Cry, the Beloved Country (1995)", "Cry, the Beloved Country (1995)"),
        ("Monsters, Inc. (2001)", "Monsters, Inc. (2001)"),
        ("Seven (Se7en) (1995)", "Seven (Se7en) (1995)"),
        ("(500) Days of Summer (2009)", "(500) Days of Summer (2009)"),
        ("Patrik Age 1.5 (Patrik 1,5) (2008)", "Patrik Age 1.5 (Patrik 1,5) (2008)"),
        ("Godfather: Part II, The (1974)", "The Godfather: Part II (1974)"),
    ],
)
def test_natural_title_moves_trailing_articles_to_the_front(title: str, display: str):
    assert natural_title(title) == display


def test_movie_display_keeps_title_as_movielens_spells_it():
    cat = Catalog.build([4], ["Usual Suspects, The (1995)"], [[]])
    movie = cat.movie(4)
    assert movie.title == "Usual Suspects, The (1995)"
    assert movie.display == "The Usual Suspects (1995)"
    assert Movie(1, "Alien (1979)", 1979, (), None, None).display == "Alien (1979)"


def test_a_leading_article_finds_a_title_stored_without_it():
    titles = ["Naked Gun 33 1/3: The Final Insult (1994)", "Naked (1993)", "Heat (1995)"]
    cat = Catalog.build([1, 2, 3], titles, [[], [], []])
    index = TitleIndex(cat, np.array([100, 10, 50]))
    assert index.search("the naked gun")[0].movie_id == 1
    assert index.search("naked gun")[0].movie_id == 1
    assert index.search("the heat")[0].movie_id == 3
    assert index.resolve("the naked gun").movie is None  # a fragment of the whole name


def test_real_100k_leading_article_search(real_ml100k):
    from recommender.datasets import title_index

    index = title_index(real_ml100k)
    assert index.search("the naked gun")[0].title == "Naked Gun 33 1/3: The Final Insult (1994)"


def test_real_latest_small_search_and_resolve(real_latest_small):
    from recommender.datasets import title_index

    index = title_index(real_latest_small)
    assert index.search("the matrix")[0].title == "Matrix, The (1999)"
    assert index.resolve("the matrix").movie.title == "Matrix, The (1999)"
    assert index.resolve("inception").movie.title == "Inception (2010)"
    assert index.resolve("the city of lost children").movie.movie_id == 29
    assert index.resolve("the").movie is None


@pytest.mark.parametrize(
    ("query", "title", "named"),
    [
        ("shawshank", "Shawshank Redemption, The (1994)", True),
        ("the shawshank redemption", "Shawshank Redemption, The (1994)", True),
        ("alein", "Alien (1979)", True),  # one typo
        ("pulp fictoin", "Pulp Fiction (1994)", True),
        ("se7en", "Seven (Se7en) (1995)", True),  # an alias
        ("usual suspects 1995", "Usual Suspects, The (1995)", True),
        ("how are you", "While You Were Sleeping (1995)", False),
        ("thank you", "That Thing You Do! (1996)", False),
        ("nice", "Venice/Venice (1992)", False),
        ("the matrix", "E.T. the Extra-Terrestrial (1982)", False),
        ("did anyone see dune", "Dune (1984)", False),
        ("", "Alien (1979)", False),
    ],
)
def test_names_every_word(query: str, title: str, named: bool):
    assert names_every_word(query, title) is named


CHATTER = [
    "who's coming to movie night",
    "that movie was so good",
    "did anyone see dune",
    "is movie night still on friday",
    "which one was your favorite",
    "i fell asleep halfway",
    "the ending was wild",
    "popcorn's ready",
    "thanks bro, that was a great pick",
    "lol that's so true",
    "can't wait for friday",
    "who picked this one",
    "my popcorn is gone",
]
TYPED_TITLES = [
    "shawshank", "star wars", "pulp fictoin", "the usual suspects", "alein", "8 1/2",
    "when harry met sally", "godfather", "cool runnings", "twelve monkeys", "toy story",
]  # fmt: skip


@pytest.mark.parametrize("dataset", ["real_ml100k", "real_latest_small"])
def test_real_catalogs_tell_chatter_from_titles(request: pytest.FixtureRequest, dataset: str):
    """However high fuzzy search scores server chatter, it never names a movie; typed titles,
    fragments and typos still do."""
    from recommender.datasets import title_index

    index = title_index(request.getfixturevalue(dataset))
    for text in CHATTER:
        assert not names_a_movie(text, index.resolve(text)), text
    for text in TYPED_TITLES:
        assert names_a_movie(text, index.resolve(text)), text
