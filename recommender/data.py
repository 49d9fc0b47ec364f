"""In-memory rating and catalog containers shared by loaders, the model and the bot."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from urllib.parse import quote

import numpy as np

_YEAR_RE = re.compile(r"\((\d{4})(?:[-–]\d{0,4})?\)\s*$")
_YEAR_TAIL = re.compile(r"\s*\(\d{4}(?:[-–]\d{0,4})?\)\s*$")
# Articles MovieLens moves to the end of a name ("Usual Suspects, The"); matched case-sensitively
# and only after ", " at the very end of a name, so "I, Robot" or "Cry, the Beloved" stay put.
DISPLAY_ARTICLES = (
    "The", "A", "An", "La", "Le", "Les", "L'", "Il", "Lo", "Gli", "I", "Das", "Der", "Die",
    "Den", "Det", "De", "En", "El", "Los", "Las", "Un", "Una", "Une", "O",
)  # fmt: skip
_MOVED_ARTICLE = re.compile(rf"^(.*\S), ({'|'.join(re.escape(a) for a in DISPLAY_ARTICLES)})$")
_GROUP = re.compile(r"(\([^()]*\))")
_AKA_PREFIX = re.compile(r"^(a\.k\.a\.\s+|aka\s+)", re.I)
_TRAILING_GROUP = re.compile(r"\s*\([^()]*\)$")
TMDB_SEARCH_URL = "https://www.themoviedb.org/search/movie?query="


@dataclass(frozen=True)
class Ratings:
    """Column arrays of (user, item, rating, timestamp); no per-row Python objects."""

    users: np.ndarray
    items: np.ndarray
    ratings: np.ndarray
    timestamps: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.users)
        if not (len(self.items) == len(self.ratings) == len(self.timestamps) == n):
            raise ValueError("rating columns must have equal lengths")

    @classmethod
    def build(
        cls,
        users: np.ndarray | list[int],
        items: np.ndarray | list[int],
        ratings: np.ndarray | list[float],
        timestamps: np.ndarray | list[int] | None = None,
    ) -> Ratings:
        """Build from anything array-like with canonical dtypes (ids int64 when they need it)."""
        u = np.asarray(users)
        u = u.astype(np.int32) if u.size == 0 or np.abs(u).max() < 2**31 else u.astype(np.int64)
        r = np.asarray(ratings, dtype=np.float32)
        ts = np.zeros(len(r), np.int64) if timestamps is None else np.asarray(timestamps, np.int64)
        return cls(u, np.asarray(items, dtype=np.int32), r, ts)

    def __len__(self) -> int:
        return len(self.users)

    def subset(self, mask_or_index: np.ndarray) -> Ratings:
        """Rows selected by a boolean mask or an index array."""
        return Ratings(
            self.users[mask_or_index],
            self.items[mask_or_index],
            self.ratings[mask_or_index],
            self.timestamps[mask_or_index],
        )

    def concat(self, other: Ratings) -> Ratings:
        """Both sets of rows; user ids widen to int64 if either side needs it."""
        udt = np.result_type(self.users.dtype, other.users.dtype)
        return Ratings(
            np.concatenate([self.users.astype(udt), other.users.astype(udt)]),
            np.concatenate([self.items, other.items]),
            np.concatenate([self.ratings, other.ratings]),
            np.concatenate([self.timestamps, other.timestamps]),
        )

    def fingerprint(self) -> str:
        """Content hash of who rated what how; identifies the data a model was fitted on."""
        h = hashlib.sha256()
        for arr in (self.users.astype(np.int64), self.items.astype(np.int64), self.ratings):
            h.update(np.ascontiguousarray(arr).tobytes())
        return h.hexdigest()[:32]

    def dedupe_latest(self) -> Ratings:
        """Keep one rating per (user, item): the latest by timestamp, then by position."""
        if len(self) == 0:
            return self
        order = np.lexsort((np.arange(len(self)), self.timestamps, self.items, self.users))
        u, i = self.users[order], self.items[order]
        last = np.ones(len(order), dtype=bool)
        last[:-1] = (u[1:] != u[:-1]) | (i[1:] != i[:-1])
        keep = np.sort(order[last])
        return self.subset(keep) if len(keep) != len(self) else self


@dataclass(frozen=True)
class Movie:
    """One catalog entry as the bot shows it."""

    movie_id: int
    title: str
    year: int | None
    genres: tuple[str, ...]
    imdb_url: str | None
    tmdb_url: str | None

    @property
    def display(self) -> str:
        """The title in natural word order, "The Usual Suspects (1995)", for people to read."""
        return natural_title(self.title)


@dataclass
class Catalog:
    """Movie metadata in parallel arrays, indexed by row; `aliases` maps merged ids.

    `tmdb_search`: the dataset has no TMDB ids (ML-100K), so links fall back to a title search.
    """

    movie_ids: np.ndarray
    titles: list[str]
    years: np.ndarray
    genre_names: tuple[str, ...]
    genre_masks: np.ndarray
    imdb_urls: list[str]
    tmdb_ids: np.ndarray
    aliases: dict[int, int] = field(default_factory=dict)
    tmdb_search: bool = False
    search_from: int | None = None  # rows from here on (a club's movies) link to a search
    _rows: dict[int, int] = field(init=False, repr=False)
    _movies: dict[int, Movie] = field(init=False, repr=False)  # built on first lookup

    def __post_init__(self) -> None:
        self.movie_ids = np.asarray(self.movie_ids, dtype=np.int32)
        self._rows = {int(m): r for r, m in enumerate(self.movie_ids.tolist())}
        self._movies = {}

    @classmethod
    def build(
        cls,
        movie_ids: list[int],
        titles: list[str],
        genre_lists: list[list[str]],
        imdb_urls: list[str] | None = None,
        tmdb_ids: list[int] | None = None,
        genre_names: tuple[str, ...] | None = None,
        aliases: dict[int, int] | None = None,
        tmdb_search: bool = False,
    ) -> Catalog:
        """Build from per-movie lists; years come from the "(YYYY)" suffix of each title."""
        names = genre_names or tuple(sorted({g for gl in genre_lists for g in gl}))
        if len(names) > 31:
            raise ValueError("at most 31 genres are supported")
        bit = {g: 1 << k for k, g in enumerate(names)}
        masks = np.array([sum(bit[g] for g in set(gl) if g in bit) for gl in genre_lists], np.int32)
        n = len(movie_ids)
        return cls(
            movie_ids=np.asarray(movie_ids, dtype=np.int32),
            titles=list(titles),
            years=np.array([parse_year(t) or 0 for t in titles], dtype=np.int16),
            genre_names=names,
            genre_masks=masks,
            imdb_urls=list(imdb_urls) if imdb_urls is not None else [""] * n,
            tmdb_ids=np.asarray(tmdb_ids if tmdb_ids is not None else [0] * n, dtype=np.int32),
            aliases=dict(aliases or {}),
            tmdb_search=tmdb_search,
        )

    def __len__(self) -> int:
        return len(self.movie_ids)

    def __contains__(self, movie_id: object) -> bool:
        try:
            return self.canonical(int(movie_id)) in self._rows  # type: ignore[call-overload]
        except (TypeError, ValueError):
            return False

    def coverage(self) -> tuple[int, int | None]:
        """(number of movies, latest release year or None): what the catalog can speak for."""
        latest = int(self.years.max(initial=0))
        return len(self), latest or None

    def canonical(self, movie_id: int) -> int:
        """The id a merged duplicate now lives under (identity for everything else)."""
        return self.aliases.get(int(movie_id), int(movie_id))

    def row(self, movie_id: int) -> int:
        """Row of a movie id; ValueError when unknown."""
        try:
            return self._rows[self.canonical(movie_id)]
        except KeyError:
            raise ValueError(f"unknown movie id {movie_id}") from None

    def title(self, movie_id: int) -> str:
        """Display title of a movie id."""
        return self.titles[self.row(movie_id)]

    def with_movies(
        self, movie_ids: list[int], titles: list[str], genre_lists: list[list[str]]
    ) -> Catalog:
        """This catalog plus extra movies (a club's own), which link to a TMDB search.

        Genres outside this catalog's names are dropped; ids must be new.
        """
        if set(movie_ids) & set(self._rows):
            raise ValueError("extra movies must have ids the catalog does not use")
        bit = {g.lower(): 1 << k for k, g in enumerate(self.genre_names)}
        masks = [sum({bit[g.lower()] for g in gl if g.lower() in bit}) for gl in genre_lists]
        n = len(movie_ids)
        return Catalog(
            movie_ids=np.concatenate([self.movie_ids, np.asarray(movie_ids, np.int32)]),
            titles=[*self.titles, *titles],
            years=np.concatenate(
                [self.years, np.array([parse_year(t) or 0 for t in titles], np.int16)]
            ),
            genre_names=self.genre_names,
            genre_masks=np.concatenate([self.genre_masks, np.asarray(masks, np.int32)]),
            imdb_urls=[*self.imdb_urls, *([""] * n)],
            tmdb_ids=np.concatenate([self.tmdb_ids, np.zeros(n, np.int32)]),
            aliases=dict(self.aliases),
            tmdb_search=self.tmdb_search,
            search_from=len(self) if self.search_from is None else self.search_from,
        )

    def genres_of_row(self, row: int) -> tuple[str, ...]:
        """Genre names of a row, in catalog genre order."""
        m = int(self.genre_masks[row])
        return tuple(g for k, g in enumerate(self.genre_names) if m >> k & 1)

    def genre_mask(self, genre: str) -> int:
        """Bit of one genre name (case-insensitive); ValueError when unknown."""
        for k, g in enumerate(self.genre_names):
            if g.lower() == genre.strip().lower():
                return 1 << k
        raise ValueError(f"unknown genre {genre!r}; known: {', '.join(self.genre_names)}")

    def movie(self, movie_id: int) -> Movie:
        """Everything the catalog knows about one movie (built once per movie: the bot asks
        for the same movies on every reply)."""
        r = self.row(movie_id)
        known = self._movies.get(r)
        if known is not None:
            return known
        tmdb = int(self.tmdb_ids[r])
        if tmdb > 0:
            tmdb_url: str | None = f"https://www.themoviedb.org/movie/{tmdb}"
        else:
            searchable = self.tmdb_search or (
                self.search_from is not None and r >= self.search_from
            )
            tmdb_url = tmdb_search_url(self.titles[r]) if searchable else None
        movie = self._movies[r] = Movie(
            movie_id=int(self.movie_ids[r]),
            title=self.titles[r],
            year=int(self.years[r]) or None,
            genres=self.genres_of_row(r),
            imdb_url=self.imdb_urls[r] or None,
            tmdb_url=tmdb_url,
        )
        return movie


def bit_count(masks: np.ndarray) -> np.ndarray:
    """Set bits per element of non-negative integer masks (how many genres a mask holds)."""
    masks = np.asarray(masks, dtype=np.int64).copy()
    count = np.zeros(masks.shape, dtype=np.int64)
    while masks.any():
        count += masks & 1
        masks >>= 1
    return count


def parse_year(title: str) -> int | None:
    """Release year from a MovieLens title such as "Heat (1995)"."""
    m = _YEAR_RE.search(title)
    return int(m.group(1)) if m else None


def _front_article(name: str) -> str:
    """ "Usual Suspects, The" -> "The Usual Suspects"; "Avventura, L'" -> "L'Avventura"."""
    m = _MOVED_ARTICLE.match(name)
    if not m:
        return name
    body, article = m.groups()
    return f"{article}{body}" if article.endswith("'") else f"{article} {body}"


def natural_title(title: str) -> str:
    """A MovieLens title with each name's trailing article moved to the front, year kept:
    "City of Lost Children, The (Cité des enfants perdus, La) (1995)" ->
    "The City of Lost Children (La Cité des enfants perdus) (1995)"."""
    year = _YEAR_TAIL.search(title)
    base, tail = (title[: year.start()], title[year.start() :]) if year else (title, "")
    pieces = []
    for piece in _GROUP.split(base):
        if piece.startswith("(") and piece.endswith(")"):
            inner = piece[1:-1].strip()
            aka = _AKA_PREFIX.match(inner)
            prefix = aka.group(1) if aka else ""
            pieces.append(f"({prefix}{_front_article(inner[len(prefix) :])})")
        else:
            core = piece.strip()
            pieces.append(piece.replace(core, _front_article(core), 1) if core else piece)
    return "".join(pieces) + tail


def tmdb_search_url(title: str) -> str:
    """A TMDB search for a movie's natural main name, without year or aliases."""
    name = _YEAR_TAIL.sub("", natural_title(title)).strip()
    while (short := _TRAILING_GROUP.sub("", name)) and short != name:
        name = short
    return TMDB_SEARCH_URL + quote(name, safe="")
