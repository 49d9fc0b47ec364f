"""Bring a member's history in (Letterboxd, IMDb) and take it out again (/export).

An import is planned first: every row is matched to a movie (by id, else by name and year;
unsure ones wait for the member's say), nothing is saved until the member confirms, and the
confirmation is one transaction through `RatingsService.import_history`. The export writes
Letterboxd's import format, so a member can take their history to Letterboxd or back here.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.core.club_movies import ClubMovies
from bot.core.history_files import HistoryFile, HistoryRow, read_history
from bot.core.member_lists import LEAVES
from bot.core.model_server import ModelServer
from bot.core.ratings import ImportResult, RatingsService
from bot.store.backend import StoreBackend
from bot.store.schema import HistoryBatch, NewClubMovie
from recommender.data import Catalog, Movie, natural_title
from recommender.history_match import HistoryMatcher

Progress = Callable[[int, int], Awaitable[None]]
CHUNK = 500  # rows matched per step; progress is reported between steps
_YEAR_TAIL = re.compile(r"\s*\((\d{4})\)\s*$")
_ALIASES = re.compile(r"\s*\([^()]*\)\s*$")
_TT = re.compile(r"/title/(tt\d+)")
EXPORT_COLUMNS = ("Title", "Year", "tmdbID", "imdbID", "Rating10", "WatchedDate")
LIST_COLUMNS = ("Title", "Year", "tmdbID", "imdbID")
LIST_ORDER = ("watchlist", "not_interested", "seen")  # later ones win where lists exclude
LIST_FILES = (("watchlist", "watchlist.csv"), ("not_interested", "not-interested.csv"))


@dataclass
class Unsure:
    """Rows the matcher was not sure about: the candidates, and which one the member took."""

    row: HistoryRow
    candidates: tuple[Movie, ...]
    choice: int | None = None  # index into candidates; None: not imported


@dataclass
class ImportPlan:
    """What a file would change for one member; nothing is saved until `HistoryImports.commit`.

    `existing` is the member's ratings when the plan was made, (stars, source) per movie;
    the commit checks again inside its transaction.
    """

    member: int
    file: HistoryFile
    ratings: dict[int, HistoryRow]
    lists: dict[str, set[int]]
    unsure: list[Unsure]
    unknown: list[HistoryRow]
    existing: dict[int, tuple[float, str]]
    listed: dict[str, set[int]]
    adds_left: int = 0
    overwrite: bool = False
    add_unknown: bool = False
    done: bool = field(default=False)

    def final_ratings(self) -> dict[int, float]:
        """Sure ratings plus the unsure ones the member accepted (sure ones win)."""
        stars = {m: r.stars for m, r in self.ratings.items() if r.stars is not None}
        for item in self.unsure:
            if item.choice is not None and item.row.stars is not None:
                stars.setdefault(item.candidates[item.choice].movie_id, item.row.stars)
        return stars

    def final_lists(self) -> dict[str, set[int]]:
        """List entries to add: seen marks only for movies without a rating anywhere."""
        lists = {name: set(ids) for name, ids in self.lists.items()}
        for item in self.unsure:
            if item.choice is not None and item.row.list != "ratings":
                lists.setdefault(item.row.list, set()).add(item.candidates[item.choice].movie_id)
        rated = set(self.final_ratings()) | set(self.existing)
        lists["seen"] = lists.get("seen", set()) - rated
        return {n: ids - self.listed.get(n, set()) for n, ids in lists.items() if ids}

    def counts(self) -> dict[str, int]:
        """new / changed / same / conflicts among ratings, plus new list entries per list."""
        out = {"new": 0, "changed": 0, "same": 0, "conflicts": 0}
        for movie, stars in self.final_ratings().items():
            known = self.existing.get(movie)
            if known is None:
                out["new"] += 1
            elif known[0] == stars:
                out["same"] += 1
            elif known[1] == "import":
                out["changed"] += 1
            else:
                out["conflicts"] += 1
        for name, ids in self.final_lists().items():
            out[name] = len(ids)
        return out

    def conflicts(self) -> list[tuple[int, float, float]]:
        """(movie, your stars here, the file's stars) where a Discord rating differs."""
        return [
            (movie, self.existing[movie][0], stars)
            for movie, stars in self.final_ratings().items()
            if movie in self.existing
            and self.existing[movie][1] != "import"
            and self.existing[movie][0] != stars
        ]

    def addable(self) -> list[HistoryRow]:
        """Unknown movies that could become club movies (they need a title and a year)."""
        return [r for r in self.unknown if r.title and r.year]

    @property
    def changes(self) -> int:
        """How many ratings and list entries a commit would write (counting conflicts only
        when the member chose the file's stars)."""
        counts = self.counts()
        total = counts["new"] + counts["changed"] + (counts["conflicts"] if self.overwrite else 0)
        total += sum(v for k, v in counts.items() if k in ("seen", "watchlist", "not_interested"))
        if self.add_unknown:
            total += min(self.adds_left, len(self.addable()))
        return total


class HistoryImports:
    """Plan imports, commit them through the ratings service, and export a member's history."""

    def __init__(
        self,
        store: StoreBackend,
        models: ModelServer,
        ratings: RatingsService,
        clubs: ClubMovies,
    ) -> None:
        self._store = store
        self._models = models
        self._ratings = ratings
        self._clubs = clubs
        self._matcher: HistoryMatcher | None = None

    @staticmethod
    async def read(filename: str, data: bytes) -> HistoryFile:
        """Parse an upload off the event loop; HistoryFileError says what is wrong with it."""
        return await asyncio.to_thread(read_history, filename, data)

    def matcher(self) -> HistoryMatcher:
        """The matcher for the current catalog and title index (rebuilt when they change)."""
        catalog, titles = self._models.catalog, self._models.titles
        known = self._matcher
        if known is None or known.catalog is not catalog or known.titles is not titles:
            known = self._matcher = HistoryMatcher(catalog, titles)
        return known

    async def plan(
        self, member: int, file: HistoryFile, progress: Progress | None = None
    ) -> ImportPlan:
        """Match every row and compare with what the member has; saves nothing."""
        matcher = await asyncio.to_thread(self.matcher)
        catalog = self._models.catalog
        rows = list(file.rows)
        results = []
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            results += await asyncio.to_thread(
                lambda c=chunk: [matcher.match(r.title, r.year, r.imdb, r.tmdb) for r in c]
            )
            if progress is not None:
                await progress(min(start + CHUNK, len(rows)), len(rows))
        ratings: dict[int, HistoryRow] = {}
        lists: dict[str, set[int]] = {}
        unsure: dict[tuple, Unsure] = {}
        unknown: dict[tuple, HistoryRow] = {}
        for row, found in zip(rows, results, strict=True):
            key = ((row.title or "").casefold(), row.year, row.imdb, row.tmdb)
            if found.movie_id is not None:
                movie = catalog.canonical(found.movie_id)
                if row.list == "ratings":
                    if movie not in ratings or _better(row, ratings[movie]):
                        ratings[movie] = row
                else:
                    lists.setdefault(row.list, set()).add(movie)
            elif found.candidates:
                known = unsure.get(key)
                if known is None or (row.list == "ratings" and _better(row, known.row)):
                    movies = tuple(catalog.movie(m) for m in found.candidates)
                    unsure[key] = Unsure(row, movies)
            elif key not in unknown or (row.list == "ratings" and _better(row, unknown[key])):
                unknown[key] = row
        existing = {
            r.movie_id: (r.stars, r.source) for r in await self._store.ratings.user_ratings(member)
        }
        listed = {
            name: await self._store.lists.movies(member, name)
            for name in ("seen", "watchlist", "not_interested")
        }
        return ImportPlan(
            member,
            file,
            ratings,
            lists,
            list(unsure.values()),
            list(unknown.values()),
            existing,
            listed,
            adds_left=await self._clubs.adds_left(member),
        )

    async def commit(self, plan: ImportPlan) -> ImportResult:
        """Save a plan as the member chose, in one transaction, then fold them in once."""
        new_movies: list[NewClubMovie] = []
        if plan.add_unknown:
            for row, title, genres in await self._clubs.from_history(
                plan.addable(), plan.member, plan.adds_left
            ):
                kinds = () if row.list == "ratings" else (row.list,)
                new_movies.append(NewClubMovie(title, genres, row.stars, kinds))
        lists = plan.final_lists()
        entries = tuple(
            (name, movie) for name in LIST_ORDER for movie in sorted(lists.get(name, ()))
        )
        batch = HistoryBatch(
            plan.member,
            plan.final_ratings(),
            entries,
            tuple(new_movies),
            plan.overwrite,
            LEAVES,
        )
        result = await self._ratings.import_history(batch)
        plan.done = True
        return result

    async def export(self, member: int) -> list[tuple[str, bytes]]:
        """The member's ratings and seen marks, watchlist and "not interested" marks as CSV
        files in Letterboxd's import format: (file name, bytes), empty lists left out."""
        catalog = self._models.catalog
        rows = await self._store.ratings.user_ratings(member, order="movie")
        rated = [(r.movie_id, r.stars) for r in rows if r.movie_id in catalog]
        seen = [
            (m, None)
            for m in sorted(await self._store.lists.movies(member, "seen"))
            if m in catalog and m not in {r for r, _ in rated}
        ]
        files = []
        if rated or seen:
            files.append(("ratings.csv", _csv(catalog, [*rated, *seen], EXPORT_COLUMNS)))
        for name, filename in LIST_FILES:
            ids = sorted(m for m in await self._store.lists.movies(member, name) if m in catalog)
            if ids:
                files.append((filename, _csv(catalog, [(m, None) for m in ids], LIST_COLUMNS)))
        return files


def _better(row: HistoryRow, other: HistoryRow) -> bool:
    """Whether `row` should win over `other` for the same movie: a rating over none, then the
    better file (ratings.csv over diary.csv), then the later date."""
    if (row.stars is None) != (other.stars is None):
        return row.stars is not None
    if row.rank != other.rank:
        return row.rank < other.rank
    return row.date >= other.date


def export_title(movie: Movie) -> tuple[str, str]:
    """(name, year) as Letterboxd expects them: "The Usual Suspects", "1995"."""
    title = natural_title(movie.title)
    year = _YEAR_TAIL.search(title)
    name = title[: year.start()] if year else title
    while (shorter := _ALIASES.sub("", name)) and shorter != name:
        name = shorter
    return name.strip(), str(movie.year or (year.group(1) if year else ""))


def _csv(catalog: Catalog, rows: list[tuple[int, float | None]], columns: tuple[str, ...]) -> bytes:
    """One CSV in Letterboxd's import format."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for movie_id, stars in rows:
        movie = catalog.movie(movie_id)
        name, year = export_title(movie)
        row = catalog.row(movie_id)
        tmdb = int(catalog.tmdb_ids[row])
        imdb = _TT.search(catalog.imdb_urls[row] or "")
        values = [name, year, str(tmdb) if tmdb > 0 else "", imdb.group(1) if imdb else ""]
        if "Rating10" in columns:
            values += ["" if stars is None else str(round(stars * 2)), ""]
        writer.writerow(values)
    return out.getvalue().encode("utf-8")
