"""Files in the exact shapes Letterboxd and IMDb export, built by the tests."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Sequence

LB_RATINGS = ("Date", "Name", "Year", "Letterboxd URI", "Rating")
LB_WATCHED = ("Date", "Name", "Year", "Letterboxd URI")
LB_DIARY = ("Date", "Name", "Year", "Letterboxd URI", "Rating", "Rewatch", "Tags", "Watched Date")
LB_IMPORT = ("Title", "Year", "tmdbID", "imdbID", "Rating10", "WatchedDate")
IMDB_RATINGS = (
    "Const", "Your Rating", "Date Rated", "Title", "URL", "Title Type", "IMDb Rating",
    "Runtime (mins)", "Year", "Genres", "Num Votes", "Release Date", "Directors",
)  # fmt: skip


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]], bom: bool = False) -> bytes:
    """A CSV as the sites write it: quoted where needed, \\n line ends, UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return ("\ufeff" if bom else "").encode() + out.getvalue().encode("utf-8")


def uri(k: int) -> str:
    """A Letterboxd short link."""
    return f"https://boxd.it/{k:x}A"


def lb_ratings(films: Sequence[tuple[str, int, float]]) -> bytes:
    """ratings.csv: (name, year, stars 0.5..5)."""
    rows = [(f"2024-01-{k % 28 + 1:02d}", n, y, uri(k), s) for k, (n, y, s) in enumerate(films)]
    return csv_bytes(LB_RATINGS, rows)


def lb_watched(films: Sequence[tuple[str, int]]) -> bytes:
    """watched.csv or watchlist.csv: (name, year)."""
    rows = [(f"2023-06-{k % 28 + 1:02d}", n, y, uri(100 + k)) for k, (n, y) in enumerate(films)]
    return csv_bytes(LB_WATCHED, rows)


def lb_diary(entries: Sequence[tuple[str, int, float | None, str]]) -> bytes:
    """diary.csv: (name, year, stars or None, watched date)."""
    rows = [
        (d, n, y, uri(200 + k), s, "Yes" if k % 2 else "", "", d)
        for k, (n, y, s, d) in enumerate(entries)
    ]
    return csv_bytes(LB_DIARY, rows)


def letterboxd_zip(
    ratings: Sequence[tuple[str, int, float]] = (),
    watched: Sequence[tuple[str, int]] = (),
    watchlist: Sequence[tuple[str, int]] = (),
    diary: Sequence[tuple[str, int, float | None, str]] = (),
    extra: dict[str, bytes] | None = None,
) -> bytes:
    """A Letterboxd export zip: the CSVs we read plus the ones we ignore (profile, reviews,
    comments, lists/, likes/), as the site packs them."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "profile.csv",
            csv_bytes(("Date Joined", "Username", "Given Name"), [("2019-01-01", "cinephile", "")]),
        )
        archive.writestr("ratings.csv", lb_ratings(ratings))
        archive.writestr("watched.csv", lb_watched(watched))
        archive.writestr("watchlist.csv", lb_watched(watchlist))
        archive.writestr("diary.csv", lb_diary(diary))
        archive.writestr("reviews.csv", csv_bytes((*LB_DIARY, "Review"), []))
        archive.writestr("comments.csv", csv_bytes(("Date", "Content", "Comment"), []))
        archive.writestr(
            "lists/favourites.csv",
            b"Letterboxd list export v7\nDate,Name,Tags,URL,Description\n\n"
            b"Position,Name,Year,URL,Description\n1,Alien,1979,https://boxd.it/2aHi,\n",
        )
        archive.writestr("likes/films.csv", lb_watched(watched[:1]))
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def imdb_ratings(films: Sequence[tuple[str, str, int, int, str]]) -> bytes:
    """IMDb's ratings export: (tt id, title, year, your rating 1..10, title type)."""
    rows = [
        (tt, r, "2022-03-04", t, f"https://www.imdb.com/title/{tt}/", kind, "7.9", "120", y,
         "Drama, Thriller", "123456", f"{y}-05-01", "Some Director")
        for tt, t, y, r, kind in films
    ]  # fmt: skip
    return csv_bytes(IMDB_RATINGS, rows)


def import_format(rows: Sequence[tuple[str, int | str, str, str, int | str, str]]) -> bytes:
    """Letterboxd's import format: (title, year, tmdbID, imdbID, Rating10, WatchedDate)."""
    return csv_bytes(LB_IMPORT, rows)


def zip_of(files: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip holding exactly these files (names used as given, even unsafe ones)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0))
            info.compress_type = method
            archive.writestr(info, data)
    return buffer.getvalue()


def zip_bomb(size: int = 60 * 1024 * 1024) -> bytes:
    """A small zip whose ratings.csv unpacks to `size` bytes of one repeated row."""
    header = b"Date,Name,Year,Letterboxd URI,Rating\n"
    row = b"2024-01-01,Alien,1979,https://boxd.it/x,4\n"
    body = header + row * ((size - len(header)) // len(row))
    return zip_of({"ratings.csv": body})
