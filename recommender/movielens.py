"""Parsers for the MovieLens formats (100k, 1m/10m, latest/25m/32m) into compact arrays."""

from __future__ import annotations

import csv
import hashlib
import io
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recommender.atomic import atomic_write
from recommender.data import Catalog, Ratings

log = logging.getLogger(__name__)

CACHE_VERSION = 2
ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip


class DatasetFormatError(ValueError):
    """A dataset file is malformed; the message names the file and line."""


@dataclass
class MovieLens:
    """A loaded dataset: catalog plus ratings keyed by (canonical) movie id."""

    name: str
    path: Path
    catalog: Catalog
    ratings: Ratings


def dataset_format(name: str) -> str:
    """Which on-disk format a dataset name uses: "100k", "dat" or "csv"."""
    if name == "ml-100k":
        return "100k"
    if name in ("ml-1m", "ml-10m"):
        return "dat"
    if name.startswith("ml-"):
        return "csv"
    raise ValueError(f"unknown dataset {name!r}")


def load_movielens(name: str, path: Path, cache_dir: Path | None = None) -> MovieLens:
    """Load a dataset folder (already on disk); parsed ratings are cached in `cache_dir`."""
    fmt = dataset_format(name)
    if fmt == "100k":
        catalog = load_100k_catalog(path)
        ratings_file, reader = path / "u.data", read_100k_ratings
    elif fmt == "dat":
        catalog = load_dat_catalog(path / "movies.dat")
        ratings_file, reader = path / "ratings.dat", read_dat_ratings
    else:
        catalog = load_csv_catalog(path / "movies.csv", path / "links.csv")
        ratings_file, reader = path / "ratings.csv", read_csv_ratings
    ratings = _cached(ratings_file, reader, cache_dir)
    return MovieLens(name, path, catalog, canonicalize(ratings, catalog))


def canonicalize(ratings: Ratings, catalog: Catalog) -> Ratings:
    """Map merged duplicate ids to their canonical id, drop unknown movies, dedupe."""
    items = ratings.items
    if catalog.aliases:
        src = np.fromiter(catalog.aliases.keys(), dtype=np.int32)
        dst = np.fromiter(catalog.aliases.values(), dtype=np.int32)
        items = items.copy()
        for s, d in zip(src.tolist(), dst.tolist(), strict=True):
            items[items == s] = d
        ratings = Ratings(ratings.users, items, ratings.ratings, ratings.timestamps)
    known = np.isin(ratings.items, catalog.movie_ids)
    if not known.all():
        log.info("dropping %d ratings of movies not in the catalog", int((~known).sum()))
        ratings = ratings.subset(known)
    return ratings.dedupe_latest() if catalog.aliases else ratings


def load_fold(path: Path, fold: str, catalog: Catalog) -> tuple[Ratings, Ratings]:
    """A canonical ml-100k split such as u1 (u1.base, u1.test), canonicalized like u.data."""
    train = read_100k_ratings(path / f"{fold}.base")
    test = read_100k_ratings(path / f"{fold}.test")
    return canonicalize(train, catalog), canonicalize(test, catalog)


def _cached(source: Path, reader: object, cache_dir: Path | None) -> Ratings:
    """Parse `source` with `reader`, reusing an .npz cache keyed by the file's size and mtime."""
    if not source.is_file():
        raise FileNotFoundError(f"{source}: file not found")
    if cache_dir is None:
        return reader(source)  # type: ignore[operator]
    st = source.stat()
    key = f"{source.resolve()}|{st.st_size}|{st.st_mtime_ns}|{CACHE_VERSION}"
    cache = cache_dir / f"{source.parent.name}-{hashlib.sha1(key.encode()).hexdigest()[:16]}.npz"
    if cache.is_file():
        try:
            with np.load(cache) as z:
                return Ratings(z["users"], z["items"], z["ratings"], z["timestamps"])
        except Exception as exc:
            log.warning("ignoring unreadable cache %s: %s", cache, exc)
    ratings: Ratings = reader(source)  # type: ignore[operator]
    cache_dir.mkdir(parents=True, exist_ok=True)
    arrays = {
        "users": ratings.users,
        "items": ratings.items,
        "ratings": ratings.ratings,
        "timestamps": ratings.timestamps,
    }
    atomic_write(cache, lambda tmp: np.savez(tmp, **arrays))
    return ratings


def _numeric_table(text: io.StringIO | Path, path: Path, delimiter: str, skip: int) -> np.ndarray:
    """Parse a 4-column numeric table fast; on failure, find and name the bad line."""
    try:
        return np.loadtxt(text, delimiter=delimiter, skiprows=skip, ndmin=2, dtype=np.float64)
    except ValueError as exc:
        if isinstance(text, io.StringIO):
            text.seek(0)
            lines = text
        else:
            lines = path.open("r", encoding="latin-1")
        with lines:
            for lineno, line in enumerate(lines, start=1):
                if lineno <= skip or not line.strip():
                    continue
                fields = line.rstrip("\r\n").split(delimiter)
                try:
                    ok = len(fields) == 4 and all(np.isfinite(float(x)) for x in fields)
                except ValueError:
                    ok = False
                if not ok:
                    raise DatasetFormatError(
                        f"{path}:{lineno}: malformed rating line {line.strip()[:80]!r}"
                    ) from None
        raise DatasetFormatError(f"{path}: malformed ratings ({exc})") from None


def _to_ratings(table: np.ndarray, path: Path) -> Ratings:
    """Validate a parsed (user, item, rating, timestamp) table and convert dtypes."""
    if len(table) == 0:
        return Ratings.build([], [], [], [])
    bad = ~np.isfinite(table).all(axis=1) | (table[:, 2] < 0) | (table[:, 2] > 10)
    bad |= (table[:, 0] <= 0) | (table[:, 1] <= 0)
    bad |= (table[:, 0] != np.floor(table[:, 0])) | (table[:, 1] != np.floor(table[:, 1]))
    if bad.any():
        raise DatasetFormatError(
            f"{path}: invalid rating values on data row {int(bad.argmax()) + 1}"
        )
    return Ratings(
        table[:, 0].astype(np.int32),
        table[:, 1].astype(np.int32),
        table[:, 2].astype(np.float32),
        table[:, 3].astype(np.int64),
    )


def read_100k_ratings(path: Path) -> Ratings:
    """Read a tab-separated ml-100k ratings file (u.data, uN.base, uN.test)."""
    return _to_ratings(_numeric_table(path, path, "\t", 0), path)


def read_dat_ratings(path: Path) -> Ratings:
    """Read an ml-1m / ml-10m "::"-separated ratings.dat."""
    text = io.StringIO(path.read_bytes().decode("latin-1").replace("::", "\t"))
    return _to_ratings(_numeric_table(text, path, "\t", 0), path)


def read_csv_ratings(path: Path) -> Ratings:
    """Read a ratings.csv (userId,movieId,rating,timestamp) with its header."""
    with path.open("r", encoding="utf-8") as f:
        header = f.readline().strip().split(",")
    if header[:3] != ["userId", "movieId", "rating"]:
        raise DatasetFormatError(f"{path}:1: unexpected header {header}")
    return _to_ratings(_numeric_table(path, path, ",", 1), path)


def load_100k_catalog(path: Path) -> Catalog:
    """Read u.item (latin-1, "|"-separated, 19 genre flags) and merge duplicate titles.

    u.item has IMDb search URLs but no TMDB ids, so TMDB links become title searches."""
    item_file = path / "u.item"
    ids: list[int] = []
    titles: list[str] = []
    genres: list[list[str]] = []
    urls: list[str] = []
    with item_file.open("r", encoding="latin-1", newline="") as f:
        for lineno, raw in enumerate(f, start=1):
            line = raw.rstrip("\r\n")
            if not line:
                continue
            parts = line.split("|")
            if len(parts) != 5 + len(ML100K_GENRES) or not parts[0].isdigit():
                raise DatasetFormatError(f"{item_file}:{lineno}: expected 24 '|' fields")
            flags = parts[5:]
            if any(fl not in ("0", "1") for fl in flags):
                raise DatasetFormatError(f"{item_file}:{lineno}: genre flags must be 0 or 1")
            if parts[1].strip().lower() == "unknown":
                log.debug("skipping untitled movie %s", parts[0])
                continue
            ids.append(int(parts[0]))
            titles.append(parts[1].strip())
            genres.append([g for g, fl in zip(ML100K_GENRES, flags, strict=True) if fl == "1"])
            urls.append(parts[4].strip())
    aliases = _duplicate_aliases(ids, titles)
    keep = [k for k, mid in enumerate(ids) if mid not in aliases]
    return Catalog.build(
        [ids[k] for k in keep],
        [titles[k] for k in keep],
        [genres[k] for k in keep],
        imdb_urls=[urls[k] for k in keep],
        genre_names=ML100K_GENRES,
        aliases=aliases,
        tmdb_search=True,
    )


def _duplicate_aliases(ids: list[int], titles: list[str]) -> dict[int, int]:
    """Map every id whose exact title appeared under a smaller id to that smaller id."""
    first: dict[str, int] = {}
    aliases: dict[int, int] = {}
    for mid, title in sorted(zip(ids, titles, strict=True)):
        if title in first:
            aliases[mid] = first[title]
        else:
            first[title] = mid
    return aliases


def load_dat_catalog(movies_file: Path) -> Catalog:
    """Read an ml-1m/ml-10m movies.dat ("id::title::A|B" lines; latin-1 or UTF-8).

    There are no link ids, so TMDB links become title searches."""
    raw = movies_file.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    ids: list[int] = []
    titles: list[str] = []
    genres: list[list[str]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("::")
        if len(parts) != 3 or not parts[0].isdigit():
            raise DatasetFormatError(f"{movies_file}:{lineno}: expected 'id::title::genres'")
        ids.append(int(parts[0]))
        titles.append(parts[1].strip())
        genres.append(_split_genres(parts[2]))
    return Catalog.build(ids, titles, genres, tmdb_search=True)


def _split_genres(field: str) -> list[str]:
    """Genres of a "A|B|C" field; "(no genres listed)" means none."""
    return [g for g in field.strip().split("|") if g and not g.startswith("(no genres")]


def load_csv_catalog(movies_file: Path, links_file: Path | None = None) -> Catalog:
    """Read movies.csv (quoted titles) and, when present, links.csv for IMDb/TMDB ids."""
    links: dict[int, tuple[str, int]] = {}
    if links_file is not None and links_file.is_file():
        with links_file.open("r", encoding="utf-8", newline="") as f:
            reader = csv.reader(f)
            next(reader, None)
            for lineno, row in enumerate(reader, start=2):
                if not row:
                    continue
                if len(row) != 3 or not row[0].isdigit():
                    raise DatasetFormatError(
                        f"{links_file}:{lineno}: expected movieId,imdbId,tmdbId"
                    )
                imdb = f"https://www.imdb.com/title/tt{row[1]}/" if row[1].isdigit() else ""
                tmdb = int(row[2]) if row[2].isdigit() else 0
                links[int(row[0])] = (imdb, tmdb)
    ids: list[int] = []
    titles: list[str] = []
    genres: list[list[str]] = []
    with movies_file.open("r", encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or [h.strip() for h in header[:2]] != ["movieId", "title"]:
            raise DatasetFormatError(f"{movies_file}:1: expected header movieId,title,genres")
        for lineno, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != 3 or not row[0].isdigit():
                raise DatasetFormatError(f"{movies_file}:{lineno}: expected movieId,title,genres")
            ids.append(int(row[0]))
            titles.append(row[1].strip())
            genres.append(_split_genres(row[2]))
    return Catalog.build(
        ids,
        titles,
        genres,
        imdb_urls=[links.get(m, ("", 0))[0] for m in ids],
        tmdb_ids=[links.get(m, ("", 0))[1] for m in ids],
    )
