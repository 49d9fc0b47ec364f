"""Find the catalog movie behind a row of someone's viewing history (Letterboxd, IMDb).

By id first (IMDb `tt…` and TMDB ids, through the dataset's links); then by name and year:
any of a movie's names (main title, article forms, aliases) with the same year, or one year
off (datasets and sites disagree on festival and release years), is a sure match. Otherwise
the fuzzy title search proposes candidates of about the same year, which a person confirms;
a row with neither is unknown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from recommender.data import Catalog
from recommender.titles import TitleIndex, normalize, title_variants

_TT = re.compile(r"/title/tt(\d+)")
UNSURE_SCORE = 85.0  # below this search score a candidate is a guess, not a likely spelling
MAX_CANDIDATES = 3


@dataclass(frozen=True)
class HistoryMatch:
    """A sure movie, or candidates for a person to confirm (none: unknown)."""

    movie_id: int | None
    candidates: tuple[int, ...] = ()
    how: str = ""  # "imdb", "tmdb", "title", "search" or "" when unknown

    @property
    def sure(self) -> bool:
        """Whether the movie is certain."""
        return self.movie_id is not None

    @property
    def unknown(self) -> bool:
        """Whether nothing in the catalog looks like it."""
        return self.movie_id is None and not self.candidates


class HistoryMatcher:
    """Built once per catalog; `match` is cheap for ids and names, a search otherwise."""

    def __init__(self, catalog: Catalog, titles: TitleIndex | None = None) -> None:
        self.catalog = catalog
        self.titles = titles
        self._imdb: dict[int, int] = {}
        self._tmdb: dict[int, int] = {}
        self._names: dict[tuple[str, int], int] = {}
        self._undated: dict[str, set[int]] = {}
        ids = catalog.movie_ids.tolist()
        for row, movie in enumerate(ids):
            found = _TT.search(catalog.imdb_urls[row] or "")
            if found:
                self._imdb.setdefault(int(found.group(1)), movie)
            tmdb = int(catalog.tmdb_ids[row])
            if tmdb > 0:
                self._tmdb.setdefault(tmdb, movie)
            year = int(catalog.years[row])
            for name in title_variants(catalog.titles[row]):
                self._names.setdefault((name, year), movie)
                self._undated.setdefault(name, set()).add(movie)
        self.latest_year = int(catalog.years.max(initial=0)) or None

    def match(
        self,
        title: str | None,
        year: int | None,
        imdb: int | None = None,
        tmdb: int | None = None,
    ) -> HistoryMatch:
        """The movie a history row means (see the module doc for the order of evidence)."""
        if imdb is not None and imdb in self._imdb:
            return HistoryMatch(self._imdb[imdb], how="imdb")
        if tmdb is not None and tmdb in self._tmdb:
            return HistoryMatch(self._tmdb[tmdb], how="tmdb")
        if not title:
            return HistoryMatch(None)
        names = _names(title)
        if year is not None:
            for when in (year, year - 1, year + 1):
                for name in names:
                    if (name, when) in self._names:
                        return HistoryMatch(self._names[(name, when)], how="title")
        else:
            undated = {m for n in names for m in self._undated.get(n, ())}
            if len(undated) == 1:
                return HistoryMatch(undated.pop(), how="title")
            if undated:
                return HistoryMatch(None, tuple(sorted(undated))[:MAX_CANDIDATES], "title")
        return self._search(title, year)

    def _search(self, title: str, year: int | None) -> HistoryMatch:
        """Candidates of about the same year from the fuzzy title search."""
        if self.titles is None or (
            year is not None and self.latest_year is not None and year > self.latest_year + 1
        ):
            return HistoryMatch(None)  # newer than anything the catalog holds
        query = f"{title} {year}" if year else title
        found = []
        for hit in self.titles.search(query, 5):
            if hit.score < UNSURE_SCORE:
                continue
            if year is not None and (hit.year is None or abs(hit.year - year) > 1):
                continue
            found.append(hit.movie_id)
        return HistoryMatch(None, tuple(found[:MAX_CANDIDATES]), "search" if found else "")


def _names(title: str) -> list[str]:
    """The normalized names a history title answers to ("The Matrix" -> the matrix, matrix)."""
    out = title_variants(title)
    plain = normalize(title)
    if plain and plain not in out:
        out.append(plain)
    return out
