"""Read a member's uploaded history: a Letterboxd export (zip or its CSVs), Letterboxd's import
format, or an IMDb ratings or watchlist export. Standard library only, with explicit limits.

Anything we cannot read safely is refused with a `HistoryFileError` whose message is meant for
the member as is; nothing is written for a refused file. Zips are never extracted to disk:
only the few CSVs an export holds are read, in memory, within size and ratio limits.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import re
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Literal

log = logging.getLogger(__name__)

MB = 1024 * 1024
MAX_UPLOAD_BYTES = 10 * MB  # the file as uploaded (a Letterboxd zip is usually under 1 MB)
MAX_UNPACKED_BYTES = 50 * MB  # every CSV read from a zip, unpacked, together
MAX_ZIP_ENTRIES = 5_000  # Letterboxd zips hold one file per list; a bomb holds millions
MAX_RATIO = 100  # unpacked / packed size of a CSV we read (text compresses ~5-10 to 1)
RATIO_FLOOR = MB  # small files may compress as well as they like
MAX_ROWS = 50_000  # rows in all the CSVs of one upload
LIMITS_TEXT = (
    f"files up to {MAX_UPLOAD_BYTES // MB} MB, zips unpacking to at most "
    f"{MAX_UNPACKED_BYTES // MB} MB, and {MAX_ROWS:,} rows"
)

ListName = Literal["ratings", "seen", "watchlist", "not_interested"]
Source = Literal["Letterboxd", "Letterboxd import format", "IMDb"]
# The CSVs of a Letterboxd export we read, best first when a movie appears in several.
LETTERBOXD_FILES = ("ratings.csv", "diary.csv", "watched.csv", "watchlist.csv")
_IGNORED_FOLDERS = {"lists", "likes", "deleted", "orphaned"}
_IMPORT_COLUMNS = {
    "letterboxduri", "tmdbid", "imdbid", "title", "year", "directors", "rating", "rating10",
    "watcheddate", "rewatch", "tags", "review",
}  # fmt: skip
_MAGIC = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive (send the .zip Letterboxd gave you, or its CSV files)"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"\xd0\xcf\x11\xe0", "an old Excel or Word file (save it as CSV)"),
    (b"SQLite format 3", "a database file"),
)
_IMDB_ID = re.compile(r"^tt(\d{1,10})$")
_YEAR = re.compile(r"^\s*(\d{4})")
EXPECTED = (
    "I can read a Letterboxd export (the .zip, or its ratings.csv, diary.csv, watched.csv or "
    "watchlist.csv), Letterboxd's import format (Title, Year, tmdbID, imdbID, Rating10, "
    "WatchedDate) and IMDb ratings or watchlist exports (Const, Your Rating, Title, Year, …)."
)


class HistoryFileError(ValueError):
    """A file we refuse to read; the message tells the member why and what to send instead."""


@dataclass(frozen=True)
class HistoryRow:
    """One movie from a member's file: how to find it, and what the file says about it."""

    list: ListName
    title: str | None
    year: int | None
    imdb: int | None = None  # the number of a "tt…" IMDb id
    tmdb: int | None = None
    stars: float | None = None  # 0.5..5 in half steps, for the "ratings" list
    date: str = ""  # ISO date the file gives (latest wins when a movie appears twice)
    rank: int = 0  # which file it came from: lower wins (ratings.csv over diary.csv)
    where: str = ""  # "ratings.csv:12", for logs

    @property
    def label(self) -> str:
        """ "Alien (1979)" for people to read."""
        name = self.title or (f"tt{self.imdb:07d}" if self.imdb else f"TMDB {self.tmdb}")
        return f"{name} ({self.year})" if self.year else name


@dataclass(frozen=True)
class HistoryFile:
    """What an upload holds: the rows we can use and what we skipped (reason -> count)."""

    source: Source
    upload: str  # the uploaded file's name, as shown to the member
    files: tuple[str, ...]  # the CSVs read inside a zip (empty for a CSV upload)
    rows: tuple[HistoryRow, ...]
    skipped: dict[str, int] = field(default_factory=dict)

    def count(self, name: ListName) -> int:
        """Rows for one list."""
        return sum(1 for r in self.rows if r.list == name)


def check_upload_size(size: int) -> None:
    """Refuse a file by its announced size, before downloading it."""
    if size > MAX_UPLOAD_BYTES:
        raise HistoryFileError(
            f"That file is {size / MB:.1f} MB; I take files up to {MAX_UPLOAD_BYTES // MB} MB "
            "(a Letterboxd export zip or an IMDb ratings CSV is usually well under 1 MB)."
        )


def read_history(filename: str, data: bytes) -> HistoryFile:
    """Parse an upload (zip or CSV) into history rows; HistoryFileError if it can't be used."""
    check_upload_size(len(data))
    shown = _shown(filename)
    if not data.strip():
        raise HistoryFileError(f"{shown} is empty. {EXPECTED}")
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return _read_zip(shown, data)
    for magic, what in _MAGIC:
        if data.startswith(magic):
            raise HistoryFileError(f"{shown} is {what}, not a CSV or zip file. {EXPECTED}")
    table = _parse_csv(shown, _decode(shown, data))
    return _combine([(PurePosixPath(filename).name.lower(), shown, table)])


# ------------------------------------------------------------------------------ zips
def _read_zip(shown: str, data: bytes) -> HistoryFile:
    """The known CSVs of a Letterboxd export zip, read in memory within the limits."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, zlib.error, ValueError, EOFError) as exc:
        raise HistoryFileError(f"{shown} is a damaged zip file ({exc}). {EXPECTED}") from None
    if len(entries) > MAX_ZIP_ENTRIES:
        raise HistoryFileError(
            f"{shown} holds {len(entries):,} files; a Letterboxd export holds far fewer "
            f"(I read zips of up to {MAX_ZIP_ENTRIES:,} files)."
        )
    for entry in entries:
        if _unsafe_name(entry.filename):
            raise HistoryFileError(
                f"{shown} contains a file with an unsafe name ({_shown(entry.filename)}): it "
                "points outside the zip's own folder. I don't read zips like that; export a "
                "fresh one from Letterboxd."
            )
    wanted = _export_csvs(entries)
    if not wanted:
        names = ", ".join(_shown(e.filename) for e in entries[:5]) or "nothing"
        if any(e.filename.startswith("xl/") for e in entries):
            raise HistoryFileError(f"{shown} is an Excel workbook; save it as CSV. {EXPECTED}")
        raise HistoryFileError(
            f"{shown} has none of {', '.join(LETTERBOXD_FILES)} (it holds {names}). {EXPECTED}"
        )
    total = sum(e.file_size for e in wanted)
    if total > MAX_UNPACKED_BYTES:
        raise HistoryFileError(
            f"{shown} unpacks to {total / MB:.0f} MB; I unpack at most "
            f"{MAX_UNPACKED_BYTES // MB} MB. A real Letterboxd export is far smaller."
        )
    tables = []
    for entry in wanted:
        name = PurePosixPath(entry.filename).name.lower()
        where = f"{shown} › {name}"
        if entry.flag_bits & 0x1:
            raise HistoryFileError(f"{where} is password-protected; I can't read it.")
        if entry.file_size > RATIO_FLOOR and entry.file_size > MAX_RATIO * max(
            entry.compress_size, 1
        ):
            raise HistoryFileError(
                f"{where} is compressed more than {MAX_RATIO} to 1 ({entry.compress_size:,} "
                f"bytes unpacking to {entry.file_size:,}), which is how zip bombs look. I don't "
                "unpack files like that."
            )
        try:
            with archive.open(entry) as handle:
                raw = handle.read(entry.file_size + 1)  # never more than the zip declares
        except (zipfile.BadZipFile, zlib.error, NotImplementedError, EOFError, OSError) as exc:
            raise HistoryFileError(f"{where} is damaged ({exc}). {EXPECTED}") from None
        if len(raw) > entry.file_size:
            raise HistoryFileError(f"{where} is larger than the zip says; it looks tampered.")
        tables.append((name, where, _parse_csv(where, _decode(where, raw))))
    return _combine(tables, zipped=shown)


def _unsafe_name(name: str) -> bool:
    """Whether a name inside a zip escapes its folder (absolute, drive letter, `..`, NUL)."""
    if "\x00" in name:
        return True
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or ".." in parts or bool(re.match(r"^[A-Za-z]:", name))


def _export_csvs(entries: list[zipfile.ZipInfo]) -> list[zipfile.ZipInfo]:
    """The export's CSVs we read, at its top level or inside one folder (a re-zipped export)."""
    found: dict[str, zipfile.ZipInfo] = {}
    for entry in entries:
        path = PurePosixPath(entry.filename.replace("\\", "/"))
        name = path.name.lower()
        folders = [p.lower() for p in path.parts[:-1]]
        if entry.is_dir() or name not in LETTERBOXD_FILES or len(folders) > 1:
            continue
        if folders and folders[0] in _IGNORED_FOLDERS:
            continue
        found.setdefault(name, entry)
    return [found[n] for n in LETTERBOXD_FILES if n in found]


# ------------------------------------------------------------------------------ CSVs
def _decode(where: str, raw: bytes) -> str:
    """Text from UTF-8 (with or without a byte-order mark) or UTF-16 with one."""
    encoding = "utf-16" if raw.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8-sig"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        bad = raw[exc.start : exc.start + 1]
        line = raw[: exc.start].count(b"\n") + 1
        raise HistoryFileError(
            f"{where} isn't valid UTF-8 text (byte 0x{bad.hex()} on line {line}). Letterboxd "
            "and IMDb export UTF-8: download the file again rather than re-saving it from a "
            "spreadsheet, or save it as “CSV UTF-8”."
        ) from None
    if "\x00" in text:
        raise HistoryFileError(f"{where} is not a text file. {EXPECTED}")
    return text


def _parse_csv(where: str, text: str) -> list[dict[str, str]]:
    """Rows as dicts keyed by lower-cased column names; the header is required."""
    first = text.split("\n", 1)[0]
    delimiter = ","
    if "," not in first:
        delimiter = ";" if ";" in first else ("\t" if "\t" in first else ",")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
        if header is None or not any(h.strip() for h in header):
            raise HistoryFileError(f"{where} is empty. {EXPECTED}")
        columns = [h.strip().lower() for h in header]
        rows: list[dict[str, str]] = []
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            rows.append(dict(zip(columns, (v.strip() for v in values), strict=False)))
            if len(rows) > MAX_ROWS:
                raise HistoryFileError(
                    f"{where} has more than {MAX_ROWS:,} rows; I read at most {MAX_ROWS:,} per "
                    "upload. Split it, or send your ratings file alone."
                )
    except csv.Error as exc:
        raise HistoryFileError(
            f"{where} isn't a readable CSV (line {reader.line_num}: {exc})."
        ) from None
    rows.insert(0, {c: c for c in columns})  # the header, for recognising the format
    return rows


# --------------------------------------------------------------------------- formats
def _combine(tables: list[tuple[str, str, list[dict[str, str]]]], zipped: str = "") -> HistoryFile:
    """Recognise each CSV's format and turn its rows into history rows."""
    if all(len(table) == 1 for _, _, table in tables):
        where = zipped or tables[0][1]
        raise HistoryFileError(f"{where} has column names but no rows: there is nothing in it.")
    rows: list[HistoryRow] = []
    skipped: Counter[str] = Counter()
    sources: list[Source] = []
    for name, where, table in tables:
        columns = set(table[0])
        body = table[1:]
        if {"const", "position"} <= columns:  # a watchlist or list (it may show ratings too)
            sources.append("IMDb")
            rows += _imdb(body, where, skipped, "watchlist")
        elif {"const", "your rating"} <= columns:
            sources.append("IMDb")
            rows += _imdb(body, where, skipped, "ratings")
        elif {"name", "year"} <= columns and ("letterboxd uri" in columns or "date" in columns):
            sources.append("Letterboxd")
            rows += _letterboxd(name, "rating" in columns, body, where, skipped)
        elif columns & {"title", "tmdbid", "imdbid", "letterboxduri"} and columns <= (
            _IMPORT_COLUMNS | {""}
        ):
            sources.append("Letterboxd import format")
            rows += _import_format(name, body, where, skipped)
        else:
            found = ", ".join(sorted(c for c in columns if c)[:12])
            raise HistoryFileError(f"{where} has columns I don't know ({found}). {EXPECTED}")
    if len(rows) > MAX_ROWS:
        raise HistoryFileError(
            f"{zipped or 'That upload'} has {len(rows):,} rows; I read at most {MAX_ROWS:,}."
        )
    if not rows:
        reasons = "; ".join(f"{n} {why}" for why, n in skipped.items()) or "no rows"
        raise HistoryFileError(f"I found no movies I can use in it ({reasons}).")
    files = tuple(name for name, _, _ in tables) if zipped else ()
    upload = zipped or tables[0][1]
    return HistoryFile(sources[0], upload, files, tuple(rows), dict(skipped))


def _letterboxd(
    name: str, rated: bool, body: list[dict[str, str]], where: str, skipped: Counter[str]
) -> list[HistoryRow]:
    """ratings.csv and diary.csv (stars 0.5..5), watched.csv and watchlist.csv (none)."""
    if name == "watchlist.csv" or "watchlist" in name:
        kind: ListName = "watchlist"
    else:
        kind = "ratings" if rated else "seen"
    rank = LETTERBOXD_FILES.index(name) if name in LETTERBOXD_FILES else 0
    out = []
    for line, row in enumerate(body, start=2):
        title = row.get("name") or None
        if not title:
            skipped["rows without a title"] += 1
            continue
        stars, this = None, kind
        if kind == "ratings":
            stars = _stars(row.get("rating", ""), 5)
            if stars is None and row.get("rating"):
                skipped["ratings off the ½–5 scale"] += 1
                continue
            this = "ratings" if stars is not None else "seen"  # a diary entry without stars
        date = row.get("watched date") or row.get("date") or ""
        out.append(
            HistoryRow(
                this,
                title,
                _year(row.get("year")),
                None,
                None,
                stars,
                date,
                rank,
                f"{where}:{line}",
            )
        )
    return out


def _import_format(
    name: str, body: list[dict[str, str]], where: str, skipped: Counter[str]
) -> list[HistoryRow]:
    """Letterboxd's import format: any subset of its columns; rows without stars are "seen"
    (or watchlist / not interested entries, when the file is named so, as /export names them)."""
    if "watchlist" in name:
        unrated: ListName = "watchlist"
    elif "not-interested" in name or "not_interested" in name:
        unrated = "not_interested"
    else:
        unrated = "seen"
    out = []
    for line, row in enumerate(body, start=2):
        imdb, tmdb = _imdb_id(row.get("imdbid", "")), _int(row.get("tmdbid", ""))
        title = row.get("title") or None
        if not (title or imdb or tmdb):
            skipped["rows without a title or id"] += 1
            continue
        stars = _stars(row.get("rating10", ""), 10) if row.get("rating10") else None
        if stars is None and row.get("rating"):
            stars = _stars(row["rating"], 5)
        if stars is None and (row.get("rating10") or row.get("rating")):
            skipped["ratings off the scale"] += 1
            continue
        kind: ListName = "ratings" if stars is not None and unrated == "seen" else unrated
        out.append(
            HistoryRow(
                kind,
                title,
                _year(row.get("year")),
                imdb,
                tmdb,
                stars if kind == "ratings" else None,
                row.get("watcheddate", ""),
                0,
                f"{where}:{line}",
            )
        )
    return out


def _imdb(
    body: list[dict[str, str]], where: str, skipped: Counter[str], kind: ListName
) -> list[HistoryRow]:
    """IMDb's ratings export (1-10 become half stars) or a watchlist/list export; movies only."""
    out = []
    for line, row in enumerate(body, start=2):
        title_type = (row.get("title type") or "movie").strip().lower().replace(" ", "")
        if title_type not in ("movie", "film"):
            skipped[f"{_kind_name(title_type)} (only movies are imported)"] += 1
            continue
        imdb = _imdb_id(row.get("const", ""))
        title = row.get("title") or None
        if imdb is None and not title:
            skipped["rows without a title or id"] += 1
            continue
        stars = None
        if kind == "ratings":
            stars = _stars(row.get("your rating", ""), 10)
            if stars is None:
                skipped["ratings off IMDb's 1–10 scale"] += 1
                continue
        date = row.get("date rated") or row.get("created") or ""
        out.append(
            HistoryRow(
                kind, title, _year(row.get("year")), imdb, None, stars, date, 0, f"{where}:{line}"
            )
        )
    return out


def _kind_name(title_type: str) -> str:
    """ "tvSeries" -> "TV series and episodes" style plural for the skipped summary."""
    if title_type.startswith("tv"):
        return "TV titles"
    return {"short": "shorts", "video": "videos", "videogame": "video games"}.get(
        title_type, f"{title_type or 'untyped'} titles"
    )


def _stars(text: str, scale: int) -> float | None:
    """Stars 0.5..5 from a 0.5-5 (scale 5) or 1-10 (scale 10) value; None if off the scale."""
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    stars = value / 2 if scale == 10 else value
    if not 0.5 <= stars <= 5 or stars * 2 != int(stars * 2):
        return None
    return stars


def _year(text: str | None) -> int | None:
    """A release year from "1999" or "1999-03-31"; None when absent or implausible."""
    found = _YEAR.match(text or "")
    year = int(found.group(1)) if found else None
    return year if year is not None and 1870 <= year <= 2100 else None


def _int(text: str) -> int | None:
    """A positive id, or None."""
    text = text.strip()
    return int(text) if text.isdigit() and 0 < int(text) < 2**31 else None


def _imdb_id(text: str) -> int | None:
    """The number of an IMDb id, from "tt0133093" (or a bare number)."""
    found = _IMDB_ID.match(text.strip().lower())
    if found:
        return int(found.group(1))
    return _int(text)


def _shown(name: str) -> str:
    """A file name safe to show in a message: no markdown, no control characters, short."""
    clean = "".join(c for c in name if c.isprintable())[:80] or "the file"
    return "`" + clean.replace("`", "'") + "`"
