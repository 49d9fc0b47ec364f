"""Reading uploaded history files: every export shape we accept, and every bad file refused
with a specific answer."""

from __future__ import annotations

import zipfile

import pytest

from bot.core.history_files import (
    MAX_ROWS,
    MAX_UPLOAD_BYTES,
    HistoryFileError,
    check_upload_size,
    read_history,
)
from tests.bot.history_builders import (
    IMDB_RATINGS,
    LB_RATINGS,
    csv_bytes,
    imdb_ratings,
    import_format,
    lb_diary,
    lb_ratings,
    lb_watched,
    letterboxd_zip,
    zip_bomb,
    zip_of,
)


def test_letterboxd_zip_reads_ratings_diary_watched_and_watchlist_and_nothing_else():
    data = letterboxd_zip(
        ratings=[("The Matrix", 1999, 4.5), ("Se7en", 1995, 5.0)],
        watched=[("The Matrix", 1999), ("Alien", 1979)],
        watchlist=[("Heat", 1995)],
        diary=[("Se7en", 1995, 3.0, "2020-01-01"), ("Jaws", 1975, None, "2021-07-04")],
    )
    found = read_history("letterboxd-cinephile-2024-05-01-12-00-utc.zip", data)
    assert found.source == "Letterboxd"
    assert found.upload == "`letterboxd-cinephile-2024-05-01-12-00-utc.zip`"
    assert list(found.files) == [
        "ratings.csv",
        "diary.csv",
        "watched.csv",
        "watchlist.csv",
    ]
    rated = [(r.title, r.year, r.stars, r.rank) for r in found.rows if r.list == "ratings"]
    assert rated == [
        ("The Matrix", 1999, 4.5, 0),
        ("Se7en", 1995, 5.0, 0),
        ("Se7en", 1995, 3.0, 1),  # diary.csv: ranks after ratings.csv
    ]
    seen = {(r.title, r.year) for r in found.rows if r.list == "seen"}
    assert seen == {("The Matrix", 1999), ("Alien", 1979), ("Jaws", 1975)}
    assert [(r.title, r.list) for r in found.rows if r.list == "watchlist"] == [
        ("Heat", "watchlist")
    ]


def test_single_letterboxd_csvs_are_told_apart_by_columns_and_name():
    assert {r.list for r in read_history("ratings.csv", lb_ratings([("Alien", 1979, 4)])).rows} == {
        "ratings"
    }
    watched = read_history("watched.csv", lb_watched([("Alien", 1979)]))
    assert [r.list for r in watched.rows] == ["seen"]
    watchlist = read_history("watchlist.csv", lb_watched([("Alien", 1979)]))
    assert [r.list for r in watchlist.rows] == ["watchlist"]
    diary = read_history("diary.csv", lb_diary([("Alien", 1979, 2.5, "2022-02-02")]))
    assert [(r.stars, r.date) for r in diary.rows] == [(2.5, "2022-02-02")]


def test_imdb_ratings_become_half_stars_and_only_movies_count():
    data = imdb_ratings(
        [
            ("tt0133093", "The Matrix", 1999, 9, "movie"),
            ("tt0078748", "Alien", 1979, 1, "Movie"),
            ("tt0903747", "Breaking Bad", 2008, 10, "tvSeries"),
            ("tt0959621", "Pilot", 2008, 8, "TV Episode"),
            ("tt0000001", "Carmencita", 1894, 6, "short"),
        ]
    )
    found = read_history("ratings.csv", data)
    assert found.source == "IMDb"
    assert [(r.imdb, r.title, r.stars) for r in found.rows] == [
        (133093, "The Matrix", 4.5),
        (78748, "Alien", 0.5),
    ]
    assert found.skipped == {
        "TV titles (only movies are imported)": 2,
        "shorts (only movies are imported)": 1,
    }


def test_letterboxd_import_format_takes_any_subset_of_its_columns():
    data = import_format(
        [
            ("The Matrix", 1999, "603", "tt0133093", 9, "2020-01-01"),
            ("Alien", 1979, "", "", "", ""),
            ("", "", "", "tt0114369", 10, ""),
        ]
    )
    found = read_history("my-ratings.csv", data)
    assert found.source == "Letterboxd import format"
    assert [(r.list, r.title, r.tmdb, r.imdb, r.stars) for r in found.rows] == [
        ("ratings", "The Matrix", 603, 133093, 4.5),
        ("seen", "Alien", None, None, None),
        ("ratings", None, None, 114369, 5.0),
    ]
    only_ids = csv_bytes(("imdbID", "Rating10"), [("tt0133093", 8)])
    assert [r.stars for r in read_history("x.csv", only_ids).rows] == [4.0]
    named = read_history("watchlist.csv", csv_bytes(("Title", "Year"), [("Heat", 1995)]))
    assert [r.list for r in named.rows] == ["watchlist"]


def test_a_byte_order_mark_and_utf16_are_read():
    with_bom = csv_bytes(LB_RATINGS, [("2024-01-01", "Amélie", 2001, "u", 4)], bom=True)
    assert read_history("ratings.csv", with_bom).rows[0].title == "Amélie"
    utf16 = with_bom.decode("utf-8-sig").encode("utf-16")
    assert read_history("ratings.csv", utf16).rows[0].title == "Amélie"


def test_rows_off_the_scale_are_skipped_and_counted():
    data = csv_bytes(
        LB_RATINGS,
        [
            ("2024-01-01", "Alien", 1979, "u", 4),
            ("2024-01-01", "Heat", 1995, "u", 7),
            ("2024-01-01", "Jaws", 1975, "u", "lots"),
            ("2024-01-01", "", 1975, "u", 3),
        ],
    )
    found = read_history("ratings.csv", data)
    assert [r.title for r in found.rows] == ["Alien"]
    assert found.skipped == {"ratings off the ½–5 scale": 2, "rows without a title": 1}


# ------------------------------------------------------------------------- bad files
def refused(filename: str, data: bytes) -> str:
    with pytest.raises(HistoryFileError) as caught:
        read_history(filename, data)
    return str(caught.value)


def test_not_a_csv_or_zip():
    assert "is a PNG image, not a CSV or zip file" in refused(
        "poster.png", b"\x89PNG\r\n\x1a\n" + bytes(50)
    )
    assert "is a PDF document" in refused("export.pdf", b"%PDF-1.7\n...")
    assert "not a text file" in refused("blob.csv", b"Date,Name\x00\x01\x02")


def test_wrong_columns_name_what_was_found_and_what_is_expected():
    text = refused("movies.csv", csv_bytes(("movieId", "title", "genres"), [(1, "Toy Story", "")]))
    assert "columns I don't know (genres, movieid, title)" in text
    assert "Letterboxd export" in text and "IMDb" in text


def test_empty_files_and_files_with_only_a_header():
    assert "`ratings.csv` is empty" in refused("ratings.csv", b"")
    assert "is empty" in refused("ratings.csv", b"\n\n  \n")
    assert "has column names but no rows" in refused("ratings.csv", csv_bytes(LB_RATINGS, []))
    empty_export = letterboxd_zip()
    assert "has column names but no rows" in refused("letterboxd.zip", empty_export)


def test_too_big_is_refused_by_size_alone():
    with pytest.raises(HistoryFileError, match=r"50\.0 MB; I take files up to 10 MB"):
        check_upload_size(50 * 1024 * 1024)
    check_upload_size(MAX_UPLOAD_BYTES)
    assert "up to 10 MB" in refused("big.csv", b"x" * (MAX_UPLOAD_BYTES + 1))


def test_too_many_rows():
    rows = [("2024-01-01", f"Film {k}", 2000, "u", 3) for k in range(MAX_ROWS + 1)]
    assert f"more than {MAX_ROWS:,} rows" in refused("ratings.csv", csv_bytes(LB_RATINGS, rows))


def test_broken_encoding_says_where():
    data = csv_bytes(LB_RATINGS, [("2024-01-01", "Amélie", 2001, "u", 4)]).decode()
    latin1 = data.encode("latin-1")
    text = refused("ratings.csv", latin1)
    assert "isn't valid UTF-8 text (byte 0xe9 on line 2)" in text


def test_zip_bombs_are_not_unpacked():
    assert "unpacks to 60 MB; I unpack at most 50 MB" in refused("bomb.zip", zip_bomb())
    text = refused("bomb.zip", zip_bomb(20 * 1024 * 1024))
    assert "compressed more than 100 to 1" in text and "zip bombs" in text


def test_path_traversal_names_inside_a_zip_are_refused():
    ratings = lb_ratings([("Alien", 1979, 4)])
    for name in ("../ratings.csv", "/etc/ratings.csv", "export/../../ratings.csv", "C:\\r.csv"):
        text = refused("evil.zip", zip_of({"ratings.csv": ratings, name: b"x"}))
        assert "unsafe name" in text, name


def test_other_zip_problems():
    assert "has none of ratings.csv" in refused("photos.zip", zip_of({"a.jpg": b"\xff\xd8\xff"}))
    assert "Excel workbook" in refused("book.xlsx", zip_of({"xl/workbook.xml": b"<x/>"}))
    assert "damaged zip" in refused("cut.zip", letterboxd_zip([("Alien", 1979, 4)])[:200])
    many = {f"lists/l{k}.csv": b"x" for k in range(5_001)}
    assert "holds 5,001 files" in refused("lists.zip", zip_of(many, zipfile.ZIP_STORED))


def test_a_reziped_export_inside_one_folder_is_read_but_lists_are_not():
    inner = {
        "letterboxd-me/ratings.csv": lb_ratings([("Alien", 1979, 4)]),
        "letterboxd-me/lists/ratings.csv": lb_ratings([("Heat", 1995, 1)]),
    }
    found = read_history("export.zip", zip_of(inner))
    assert [r.title for r in found.rows] == ["Alien"]


def test_imdb_header_is_recognised_whatever_the_extra_columns():
    header = (*IMDB_RATINGS[:4], "Original Title", *IMDB_RATINGS[4:])
    row = ("tt0078748", 8, "2024-01-01", "Alien", "Alien", "u", "Movie", "8.5", "117", 1979, "",
           "1", "1979-05-25", "Ridley Scott")  # fmt: skip
    found = read_history("imdb.csv", csv_bytes(header, [row]))
    assert [(r.imdb, r.stars, r.year) for r in found.rows] == [(78748, 4.0, 1979)]
