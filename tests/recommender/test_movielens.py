"""Loaders: formats, encodings, duplicate merging, malformed files, real-data pitfalls."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recommender.data import Catalog
from recommender.movielens import (
    DatasetFormatError,
    load_csv_catalog,
    load_dat_catalog,
    load_fold,
    load_movielens,
    read_csv_ratings,
    read_dat_ratings,
)


def test_100k_fixture_merges_duplicates_and_drops_unknown(ml100k_dir: Path, tmp_path: Path):
    ml = load_movielens("ml-100k", ml100k_dir / "ml-100k", cache_dir=tmp_path / "cache")
    cat = ml.catalog
    dup_id = 51  # second "Chasing Amy (1997)" in the fixture
    assert cat.aliases == {dup_id: 13}
    assert sum(t == "Chasing Amy (1997)" for t in cat.titles) == 1
    assert 52 not in cat  # "unknown"
    assert dup_id in cat and cat.title(dup_id) == "Chasing Amy (1997)"
    assert "Misérables, Les (1995)" in cat.titles
    assert not np.isin(ml.ratings.items, [dup_id, 52]).any()
    assert ml.ratings.users.dtype == np.int32 and ml.ratings.ratings.dtype == np.float32
    assert ml.ratings.timestamps.dtype == np.int64
    pairs = ml.ratings.users.astype(np.int64) * 1000 + ml.ratings.items
    assert len(np.unique(pairs)) == len(pairs)


def test_duplicate_ratings_of_both_ids_keep_the_latest(tmp_path: Path, ml100k_dir: Path):
    folder = ml100k_dir / "ml-100k"
    with (folder / "u.data").open("a") as f:
        f.write("1\t13\t1\t900000000\n1\t51\t5\t900000001\n")
    ml = load_movielens("ml-100k", folder)
    mask = (ml.ratings.users == 1) & (ml.ratings.items == 13)
    assert mask.sum() == 1 and ml.ratings.ratings[mask][0] == 5.0


def test_parsed_ratings_are_cached_and_refreshed(ml100k_dir: Path, tmp_path: Path):
    cache = tmp_path / "cache"
    first = load_movielens("ml-100k", ml100k_dir / "ml-100k", cache_dir=cache)
    assert len(list(cache.glob("*.npz"))) == 1
    again = load_movielens("ml-100k", ml100k_dir / "ml-100k", cache_dir=cache)
    assert np.array_equal(first.ratings.items, again.ratings.items)
    with (ml100k_dir / "ml-100k" / "u.data").open("a") as f:
        f.write("2\t1\t4\t999999999\n")
    changed = load_movielens("ml-100k", ml100k_dir / "ml-100k", cache_dir=cache)
    assert len(changed.ratings) >= len(first.ratings)
    assert len(list(cache.glob("*.npz"))) == 2


@pytest.mark.parametrize(
    ("line", "lineno"),
    [("1\t2\tx\t5\n", 3), ("1\t2\t3\n", 3), ("1\t2\t99\t5\n", 3)],
)
def test_malformed_u_data_names_file_and_line(ml100k_dir: Path, line: str, lineno: int):
    path = ml100k_dir / "ml-100k" / "u.data"
    good = path.read_text().splitlines(keepends=True)[:2]
    path.write_text("".join(good) + line)
    with pytest.raises(DatasetFormatError, match=r"u\.data") as err:
        load_movielens("ml-100k", ml100k_dir / "ml-100k")
    if "invalid rating values" not in str(err.value):
        assert f"u.data:{lineno}" in str(err.value)


def test_malformed_u_item_names_line(ml100k_dir: Path):
    path = ml100k_dir / "ml-100k" / "u.item"
    lines = path.read_bytes().decode("latin-1").splitlines()
    lines[3] = "4|Broken title with too few fields"
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    with pytest.raises(DatasetFormatError, match=r"u\.item:4"):
        load_movielens("ml-100k", ml100k_dir / "ml-100k")


def test_fold_is_canonicalized(ml100k_dir: Path):
    ml = load_movielens("ml-100k", ml100k_dir / "ml-100k")
    train, test = load_fold(ml.path, "u1", ml.catalog)
    assert len(train) > len(test) > 0
    assert np.isin(train.items, ml.catalog.movie_ids).all()


def test_dat_format(tmp_path: Path):
    movies = "1::Toy Story (1995)::Animation|Children's|Comedy\n2::Misérables, Les (1995)::Drama\n"
    (tmp_path / "movies.dat").write_bytes(movies.encode("latin-1"))
    (tmp_path / "ratings.dat").write_text("1::1::5::978300760\n2::2::3::978302109\n")
    cat = load_dat_catalog(tmp_path / "movies.dat")
    assert cat.titles[1] == "Misérables, Les (1995)"
    assert cat.movie(1).genres == ("Animation", "Children's", "Comedy")
    r = read_dat_ratings(tmp_path / "ratings.dat")
    assert r.items.tolist() == [1, 2] and r.ratings.tolist() == [5.0, 3.0]


def test_csv_format_with_quoted_titles_and_links(tmp_path: Path):
    (tmp_path / "movies.csv").write_text(
        "movieId,title,genres\n1,Toy Story (1995),Adventure|Animation\n"
        '11,"American President, The (1995)",Comedy|Drama|Romance\n'
        "12,Some Film (2019),(no genres listed)\n",
        encoding="utf-8",
    )
    (tmp_path / "links.csv").write_text("movieId,imdbId,tmdbId\n1,0114709,862\n11,0112346,\n")
    (tmp_path / "ratings.csv").write_text(
        "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,11,3.5,964981247\n"
    )
    cat = load_csv_catalog(tmp_path / "movies.csv", tmp_path / "links.csv")
    movie = cat.movie(11)
    assert movie.title == "American President, The (1995)" and movie.year == 1995
    assert movie.imdb_url == "https://www.imdb.com/title/tt0112346/" and movie.tmdb_url is None
    assert cat.movie(1).tmdb_url == "https://www.themoviedb.org/movie/862"
    assert cat.movie(12).genres == ()
    r = read_csv_ratings(tmp_path / "ratings.csv")
    assert r.ratings.tolist() == [4.0, 3.5]


def test_csv_ratings_malformed_line(tmp_path: Path):
    path = tmp_path / "ratings.csv"
    path.write_text("userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,oops,3.5,964981247\n")
    with pytest.raises(DatasetFormatError, match=r"ratings\.csv:3"):
        read_csv_ratings(path)


def test_real_100k_pitfalls(real_ml100k):
    cat = real_ml100k.catalog
    assert len(cat.aliases) == 18
    assert cat.canonical(268) == 246 and cat.title(268) == "Chasing Amy (1997)"
    assert 267 not in cat
    assert "Misérables, Les (1995)" in cat.titles
    assert len(set(cat.titles)) == len(cat.titles)
    assert len(real_ml100k.ratings) == 99_684  # minus "unknown" and doubly rated duplicates


def test_100k_links_keep_imdb_and_search_tmdb_by_natural_title(ml100k_dir: Path):
    cat = load_movielens("ml-100k", ml100k_dir / "ml-100k").catalog
    suspects = cat.movie(4)  # "Usual Suspects, The (1995)"
    assert suspects.imdb_url == "http://us.imdb.com/M/title-exact?x"
    assert suspects.tmdb_url == (
        "https://www.themoviedb.org/search/movie?query=The%20Usual%20Suspects"
    )
    assert cat.movie(3).tmdb_url.endswith("?query=Seven")  # alias "(Se7en)" left out


def test_csv_links_never_fall_back_to_a_search(latest_small_dir: Path):
    ml = load_movielens("ml-latest-small", latest_small_dir / "ml-latest-small")
    assert ml.catalog.movie(1).tmdb_url == "https://www.themoviedb.org/movie/101"
    no_tmdb = ml.catalog.movie(3)
    assert no_tmdb.tmdb_url is None
    assert no_tmdb.imdb_url == "https://www.imdb.com/title/tt1000003/"


def test_csv_fixture_without_year_or_genres(latest_small_dir: Path):
    cat = load_movielens("ml-latest-small", latest_small_dir / "ml-latest-small").catalog
    untitled = cat.movie(cat.titles.index("Untitled Project") + 1)
    assert untitled.year is None and untitled.display == "Untitled Project"
    assert cat.movie(len(cat)).genres == ()
    assert not any("no genres" in g for g in cat.genre_names)


def test_coverage_counts_movies_and_latest_year(ml100k_dir: Path, latest_small_dir: Path):
    cat = load_movielens("ml-100k", ml100k_dir / "ml-100k").catalog
    assert cat.coverage() == (50, 1997)  # 52 rows minus a merged duplicate and "unknown"
    csv_cat = load_movielens("ml-latest-small", latest_small_dir / "ml-latest-small").catalog
    assert csv_cat.coverage() == (22, 2018)
    no_years = Catalog.build([1, 2], ["A", "B"], [[], []])
    assert no_years.coverage() == (2, None)


# Real ml-latest-small: the facts below are from its README.txt and movies.csv/links.csv.


def test_real_latest_small_sizes_and_rating_scale(real_latest_small):
    ml = real_latest_small
    assert len(ml.ratings) == 100_836
    assert len(np.unique(ml.ratings.users)) == 610
    assert len(ml.catalog) == 9_742 and not ml.catalog.aliases
    assert ml.catalog.coverage() == (9_742, 2018)
    assert np.array_equal(np.unique(ml.ratings.ratings), np.arange(1, 11) / 2)


def test_real_latest_small_quoted_titles_with_commas(real_latest_small):
    cat = real_latest_small.catalog
    lost = cat.movie(29)
    assert lost.title == "City of Lost Children, The (Cité des enfants perdus, La) (1995)"
    assert lost.year == 1995
    assert lost.genres == ("Adventure", "Drama", "Fantasy", "Mystery", "Sci-Fi")
    assert not any(t.startswith('"') or t.endswith('"') for t in cat.titles)
    assert cat.title(40) == "Cry, the Beloved Country (1995)"
    assert cat.movie(40).genres == ("Drama",)


def test_real_latest_small_links(real_latest_small):
    cat = real_latest_small.catalog
    missing = [791, 1107, 2851, 4051, 26587, 32600, 40697, 79299]
    assert np.flatnonzero(cat.tmdb_ids == 0).tolist() == [cat.row(m) for m in missing]
    for movie_id in missing:
        movie = cat.movie(movie_id)
        assert movie.tmdb_url is None
        assert movie.imdb_url and movie.imdb_url.startswith("https://www.imdb.com/title/tt")
    assert cat.movie(40697).imdb_url == "https://www.imdb.com/title/tt0105946/"
    matrix = cat.movie(2571)
    assert matrix.imdb_url == "https://www.imdb.com/title/tt0133093/"
    assert matrix.tmdb_url == "https://www.themoviedb.org/movie/603"


@pytest.mark.parametrize(
    ("movie_id", "title"),
    [
        (73, "Misérables, Les (1995)"),
        (1320, "Alien³ (a.k.a. Alien 3) (1992)"),
        (7209, "M. Hulot’s Holiday (Mr. Hulot's Holiday) (Vacances de Monsieur Hulot, Les) (1953)"),
        (741, "Ghost in the Shell (Kôkaku kidôtai) (1995)"),
    ],
)
def test_real_latest_small_non_ascii_titles_survive(real_latest_small, movie_id: int, title: str):
    assert real_latest_small.catalog.title(movie_id) == title


def test_real_latest_small_genres_and_years(real_latest_small):
    cat = real_latest_small.catalog
    assert "(no genres listed)" not in cat.genre_names
    assert not any("no genres" in g.lower() for g in cat.genre_names)
    assert int((cat.genre_masks == 0).sum()) == 34  # the "(no genres listed)" movies
    assert cat.movie(143410).genres == ()  # Hyena Road
    assert cat.movie(1).year == 1995
    death_note = cat.movie(171749)
    assert death_note.title == "Death Note: Desu nôto (2006–2007)" and death_note.year == 2006
    babylon = cat.movie(40697)
    assert babylon.title == "Babylon 5" and babylon.year is None
    assert int(cat.years[cat.row(40697)]) == 0
    assert cat.title(27008) == "From Dusk Till Dawn 2: Texas Blood Money (1999)"  # trailing space
    assert cat.movie(27008).year == 1999
