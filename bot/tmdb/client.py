"""Async TMDB (API v3) client for movie pages: poster, trailer and where to stream it.

Remote trouble never reaches callers: every failure becomes None (or an empty list) plus a
warning at most once a minute per kind. Responses, 404s included, are cached in a small SQLite
file. The credential never appears in logs, cache keys or exception text.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import re
import sqlite3
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlencode

import aiohttp
import aiosqlite

log = logging.getLogger(__name__)

PAGE_URL = "https://www.themoviedb.org/movie/{}"
YOUTUBE_URL = "https://www.youtube.com/watch?v={}"
REJECTED_KEY_WARNING = "TMDB rejected the API key; movie pages will have no posters"

_POSTER_SIZE = "w342"
_FALLBACK_POSTER_SIZE = "w500"
_MAX_CONCURRENCY = 8
# TMDB documents a soft ceiling "in the 50 requests per second range"; stay below it.
_RATE_PER_S = 40.0
_BURST = 20
_BACKOFF_S = 0.25
_MAX_RETRY_AFTER_S = 10.0
_WARN_EVERY_S = 60.0
_KEEP_STALE_TTLS = 4  # expired rows are kept this many TTLs to serve when TMDB is down
_IMDB_ID = re.compile(r"tt\d{5,10}")
_YEAR = re.compile(r"(\d{4})-")
_API_KEY_PARAM = re.compile(r"(api_key=)[^&\s'\"]+")


@dataclass(frozen=True)
class TmdbConfig:
    """How to reach TMDB; `api_key` is a v3 key or a v4 read access token (a JWT)."""

    api_key: str = field(repr=False)
    region: str = "US"
    language: str = "en-US"
    base_url: str = "https://api.themoviedb.org/3"
    timeout_s: float = 5.0
    cache_ttl_s: float = 7 * 24 * 3600
    max_retries: int = 2

    def __post_init__(self) -> None:
        if self.timeout_s <= 0 or self.cache_ttl_s < 0 or self.max_retries < 0:
            raise ValueError("TmdbConfig needs timeout_s > 0, cache_ttl_s >= 0, max_retries >= 0")

    @property
    def uses_bearer(self) -> bool:
        """A v4 read access token goes in `Authorization: Bearer`; a v3 key in `api_key=`."""
        return self.api_key.startswith("eyJ") and self.api_key.count(".") == 2


@dataclass(frozen=True)
class MoviePage:
    """What the bot shows for one movie."""

    tmdb_id: int
    title: str
    year: int | None
    overview: str | None
    poster_url: str | None
    runtime_min: int | None
    genres: tuple[str, ...]
    trailer_url: str | None
    providers: tuple[str, ...]
    providers_link: str | None
    page_url: str


@dataclass(frozen=True)
class SearchHit:
    """One /search/movie result."""

    tmdb_id: int
    title: str
    year: int | None
    genre_ids: tuple[int, ...]
    poster_url: str | None


class _Miss(enum.Enum):
    """TMDB answered 404: the thing does not exist (cached like a body)."""

    MISS = enum.auto()


_MISS = _Miss.MISS
_Reply = dict[str, Any] | _Miss | None  # None: a remote problem, already logged


class _Warnings:
    """At most one WARNING per kind of failure a minute, so an outage cannot flood the log."""

    def __init__(self, every_s: float = _WARN_EVERY_S) -> None:
        self._every_s = every_s
        self._last: dict[str, float] = {}

    def warn(self, kind: str, msg: str, *args: object) -> None:
        now = time.monotonic()
        last = self._last.get(kind)
        if last is not None and now - last < self._every_s:
            log.debug(msg, *args, stacklevel=2)
            return
        self._last[kind] = now
        log.warning(msg, *args, stacklevel=2)


class _TokenBucket:
    """Spaces requests out to `rate` a second on average, allowing bursts of `burst`."""

    def __init__(self, rate: float, burst: int) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._stamp = time.monotonic()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now

    async def take(self) -> None:
        async with self._lock:
            self._refill()
            if self._tokens < 1:
                await asyncio.sleep((1 - self._tokens) / self._rate)
                self._refill()
            self._tokens -= 1


class _Cache:
    """Response bodies in their own SQLite file; any SQLite trouble turns the cache off."""

    def __init__(self, path: Path, ttl_s: float, clock: Callable[[], float]) -> None:
        self.path = path
        self._ttl_s = ttl_s
        self._clock = clock
        self._db: aiosqlite.Connection | None = None

    async def open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = await aiosqlite.connect(self.path)
        except (OSError, sqlite3.Error) as exc:
            self._broken(exc)
            return
        self._db = db
        try:
            await db.execute(
                "CREATE TABLE IF NOT EXISTS responses"
                " (key TEXT PRIMARY KEY, body TEXT, fetched_at REAL NOT NULL)"
            )
            oldest = self._clock() - self._ttl_s * _KEEP_STALE_TTLS
            await db.execute("DELETE FROM responses WHERE fetched_at < ?", (oldest,))
            await db.commit()
        except sqlite3.Error as exc:
            await self._drop(exc)

    async def close(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            try:
                await db.close()
            except sqlite3.Error as exc:
                log.debug("TMDB cache close failed: %s", type(exc).__name__)

    async def get(self, key: str) -> tuple[str | None, bool] | None:
        """(body or None for a cached 404, still fresh?) or None when nothing is stored."""
        if self._db is None:
            return None
        try:
            async with self._db.execute(
                "SELECT body, fetched_at FROM responses WHERE key = ?", (key,)
            ) as cursor:
                row = await cursor.fetchone()
        except sqlite3.Error as exc:
            await self._drop(exc)
            return None
        if row is None:
            return None
        body, fetched_at = row
        return body, self._clock() - fetched_at < self._ttl_s

    async def put(self, key: str, body: str | None) -> None:
        if self._db is None:
            return
        try:
            await self._db.execute(
                "INSERT OR REPLACE INTO responses (key, body, fetched_at) VALUES (?, ?, ?)",
                (key, body, self._clock()),
            )
            await self._db.commit()
        except sqlite3.Error as exc:
            await self._drop(exc)

    def _broken(self, exc: BaseException) -> None:
        log.warning(
            "TMDB cache %s is unusable (%s: %s); running without a cache",
            self.path,
            type(exc).__name__,
            exc,
        )

    async def _drop(self, exc: BaseException) -> None:
        self._broken(exc)
        await self.close()


class TmdbClient:
    """Use as `async with TmdbClient(config, cache_path)` or `await open()` ... `await close()`."""

    def __init__(
        self,
        config: TmdbConfig,
        cache_path: str | Path | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self._cache = (
            _Cache(Path(cache_path), config.cache_ttl_s, clock) if cache_path is not None else None
        )
        self._session: aiohttp.ClientSession | None = None
        self._limit = asyncio.Semaphore(_MAX_CONCURRENCY)
        self._bucket = _TokenBucket(_RATE_PER_S, _BURST)
        self._warnings = _Warnings()
        self._rejected = False
        self._poster_base: str | None = None
        self._poster_lock = asyncio.Lock()
        self._poster_retry_at = 0.0

    async def __aenter__(self) -> Self:
        return await self.open()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def open(self) -> Self:
        """Start the HTTP session and the cache; idempotent."""
        if self._session is not None:
            return self
        headers = {"Accept": "application/json"}
        if self.config.uses_bearer:
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        self._session = aiohttp.ClientSession(
            headers=headers, timeout=aiohttp.ClientTimeout(total=self.config.timeout_s)
        )
        if self._cache is not None:
            await self._cache.open()
        if not self.config.api_key:
            self._rejected = True
            log.warning("No TMDB API key configured; movie pages will have no posters")
        return self

    async def close(self) -> None:
        """Close the HTTP session and the cache; idempotent."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()
        if self._cache is not None:
            await self._cache.close()

    # ------------------------------------------------------------------ public API

    async def page(self, tmdb_id: int) -> MoviePage | None:
        """The movie page for a TMDB id, or None when unknown or TMDB is unreachable."""
        if isinstance(tmdb_id, bool) or not isinstance(tmdb_id, int) or tmdb_id <= 0:
            return None
        path = f"/movie/{tmdb_id}"
        params = {"append_to_response": "videos,watch/providers", "language": self.config.language}
        data = await self._get(path, params)
        if not isinstance(data, dict):
            return None
        poster_base = await self._poster_url_base() if _str(data.get("poster_path")) else None
        page = _movie_page(data, poster_base, self.config.region.upper())
        if page is None:
            self._warnings.warn("shape", "TMDB %s had no usable id or title", path)
        return page

    async def find_imdb(self, imdb_id: str) -> int | None:
        """The TMDB id of the movie with this IMDb id (tt…), or None."""
        imdb_id = imdb_id.strip()
        if not _IMDB_ID.fullmatch(imdb_id):
            return None
        path = f"/find/{imdb_id}"
        data = await self._get(path, {"external_source": "imdb_id"})
        if not isinstance(data, dict):
            return None
        results = data.get("movie_results")
        if not isinstance(results, list):
            self._warnings.warn("shape", "TMDB %s had no movie_results list", path)
            return None
        for result in results:
            tmdb_id = _int(result.get("id")) if isinstance(result, dict) else None
            if tmdb_id is not None:
                return tmdb_id
        return None

    async def search(self, title: str, year: int | None = None) -> list[SearchHit]:
        """Movies matching a title (optionally a release year), in TMDB's relevance order."""
        query = title.strip()
        if not query:
            return []
        params = {"query": query, "include_adult": "false", "language": self.config.language}
        if year is not None:
            params["year"] = str(year)
        data = await self._get("/search/movie", params)
        if not isinstance(data, dict):
            return []
        results = data.get("results")
        if not isinstance(results, list):
            self._warnings.warn("shape", "TMDB /search/movie had no results list")
            return []
        rows = [r for r in results if isinstance(r, dict)]
        wants_posters = any(_str(r.get("poster_path")) for r in rows)
        poster_base = await self._poster_url_base() if wants_posters else None
        return [hit for r in rows if (hit := _search_hit(r, poster_base)) is not None]

    # ------------------------------------------------------------------ plumbing

    async def _poster_url_base(self) -> str | None:
        """secure_base_url + poster size from /configuration, fetched once per client."""
        if self._poster_base is not None:
            return self._poster_base
        async with self._poster_lock:
            if self._poster_base is None and time.monotonic() >= self._poster_retry_at:
                data = await self._get("/configuration", {})
                self._poster_base = _poster_base(data) if isinstance(data, dict) else None
                if self._poster_base is None:
                    self._poster_retry_at = time.monotonic() + _WARN_EVERY_S
            return self._poster_base

    async def _get(self, path: str, params: Mapping[str, str]) -> _Reply:
        """A JSON object from the cache or TMDB; _MISS for a 404; None for any other problem."""
        if self._session is None:
            raise RuntimeError("TmdbClient is not open; use 'async with' or await open()")
        key = _cache_key(path, params)
        cached = await self._cache.get(key) if self._cache is not None else None
        if cached is not None and cached[1]:
            body = cached[0]
            if body is None:
                return _MISS
            data = _loads_object(body)
            if data is not None:
                return data
        reply = await self._fetch(self._session, path, params)
        if reply is _MISS:
            if self._cache is not None:
                await self._cache.put(key, None)
        elif reply is not None:
            if self._cache is not None:
                await self._cache.put(key, json.dumps(reply, separators=(",", ":")))
        elif cached is not None and cached[0] is not None:
            log.debug("TMDB %s: serving an expired cache entry", path)
            return _loads_object(cached[0])
        return reply

    async def _fetch(
        self, session: aiohttp.ClientSession, path: str, params: Mapping[str, str]
    ) -> _Reply:
        """One logical GET with retries on 429, 5xx, timeouts and connection errors."""
        url = self.config.base_url.rstrip("/") + path
        query = dict(params)
        if not self.config.uses_bearer:
            query["api_key"] = self.config.api_key
        attempts = self.config.max_retries + 1
        for attempt in range(attempts):
            if self._rejected:
                return None
            last = attempt == attempts - 1
            try:
                async with self._limit:
                    await self._bucket.take()
                    log.debug("TMDB GET %s (attempt %d/%d)", path, attempt + 1, attempts)
                    async with session.get(url, params=query, allow_redirects=False) as resp:
                        status = resp.status
                        retry_after = resp.headers.get("Retry-After")
                        body = await resp.read()
            except TimeoutError:
                if last:
                    self._warnings.warn(
                        "timeout", "TMDB %s timed out (%d attempts)", path, attempts
                    )
                    return None
                await asyncio.sleep(_BACKOFF_S * 2**attempt)
                continue
            except (aiohttp.ClientError, OSError) as exc:
                if last:
                    self._warnings.warn(
                        "network",
                        "TMDB %s unreachable (%d attempts): %s",
                        path,
                        attempts,
                        self._redact(f"{type(exc).__name__}: {exc}"),
                    )
                    return None
                await asyncio.sleep(_BACKOFF_S * 2**attempt)
                continue

            if status == 200:
                data = _loads_object(body)
                if data is None:
                    self._warnings.warn(
                        "malformed", "TMDB %s sent malformed JSON (or not an object)", path
                    )
                return data
            if status == 401:
                self._reject()
                return None
            if status == 404:
                log.debug("TMDB %s: not found", path)
                return _MISS
            if status == 429:
                delay = _retry_after_s(retry_after)
                if last or delay > _MAX_RETRY_AFTER_S:
                    self._warnings.warn(
                        "rate_limited", "TMDB rate-limited %s; giving up for now", path
                    )
                    return None
                await asyncio.sleep(delay)
                continue
            if status >= 500:
                if last:
                    self._warnings.warn("server_error", "TMDB %s failed with HTTP %d", path, status)
                    return None
                await asyncio.sleep(_BACKOFF_S * 2**attempt)
                continue
            self._warnings.warn("status", "TMDB %s answered unexpected HTTP %d", path, status)
            return None
        return None

    def _reject(self) -> None:
        """401: the credential is bad, so stop calling TMDB for the rest of this client's life."""
        if not self._rejected:
            self._rejected = True
            log.warning(REJECTED_KEY_WARNING)

    def _redact(self, text: str) -> str:
        if self.config.api_key:
            text = text.replace(self.config.api_key, "[redacted]")
        return _API_KEY_PARAM.sub(r"\1[redacted]", text)


# ---------------------------------------------------------------------- parsing


def _cache_key(path: str, params: Mapping[str, str]) -> str:
    return path + "?" + urlencode(sorted((k, v) for k, v in params.items() if k != "api_key"))


def _loads_object(body: str | bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _retry_after_s(header: str | None) -> float:
    """Retry-After in seconds; 1 s when absent or an HTTP date (TMDB sends seconds)."""
    try:
        return max(0.0, float(header)) if header is not None else 1.0
    except ValueError:
        return 1.0


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _dicts(value: object) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _year(release_date: object) -> int | None:
    match = _YEAR.match(release_date) if isinstance(release_date, str) else None
    return int(match.group(1)) if match else None


def _poster_base(config: dict[str, Any]) -> str | None:
    images = config.get("images")
    if not isinstance(images, dict) or not (base := _str(images.get("secure_base_url"))):
        return None
    sizes = images.get("poster_sizes")
    size = _POSTER_SIZE if isinstance(sizes, list) and _POSTER_SIZE in sizes else None
    return base.rstrip("/") + "/" + (size or _FALLBACK_POSTER_SIZE)


def _poster_url(base: str | None, poster_path: object) -> str | None:
    path = _str(poster_path)
    if base is None or path is None:
        return None
    return base + (path if path.startswith("/") else "/" + path)


def _trailer_url(videos: object) -> str | None:
    results = _dicts(videos.get("results")) if isinstance(videos, dict) else []
    trailers = [v for v in results if v.get("site") == "YouTube" and v.get("type") == "Trailer"]
    trailers.sort(key=lambda v: v.get("official") is not True)  # stable: official first
    for video in trailers:
        if key := _str(video.get("key")):
            return YOUTUBE_URL.format(key)
    return None


def _display_priority(provider: dict[str, Any]) -> tuple[bool, int]:
    priority = _int(provider.get("display_priority"))
    return priority is None, priority or 0


def _providers(watch: object, region: str) -> tuple[tuple[str, ...], str | None]:
    results = watch.get("results") if isinstance(watch, dict) else None
    entry = results.get(region) if isinstance(results, dict) else None
    if not isinstance(entry, dict):
        return (), None
    flatrate = _dicts(entry.get("flatrate"))
    flatrate.sort(key=_display_priority)
    names: list[str] = []
    for provider in flatrate:
        name = _str(provider.get("provider_name"))
        if name and name not in names:
            names.append(name)
    return tuple(names), _str(entry.get("link"))


def _movie_page(data: dict[str, Any], poster_base: str | None, region: str) -> MoviePage | None:
    tmdb_id = _int(data.get("id"))
    title = _str(data.get("title")) or _str(data.get("original_title"))
    if tmdb_id is None or title is None:
        return None
    runtime = _int(data.get("runtime"))
    providers, link = _providers(data.get("watch/providers"), region)
    return MoviePage(
        tmdb_id=tmdb_id,
        title=title,
        year=_year(data.get("release_date")),
        overview=_str(data.get("overview")),
        poster_url=_poster_url(poster_base, data.get("poster_path")),
        runtime_min=runtime if runtime and runtime > 0 else None,  # TMDB sends 0 when unknown
        genres=tuple(name for g in _dicts(data.get("genres")) if (name := _str(g.get("name")))),
        trailer_url=_trailer_url(data.get("videos")),
        providers=providers,
        providers_link=link,
        page_url=PAGE_URL.format(tmdb_id),
    )


def _search_hit(row: dict[str, Any], poster_base: str | None) -> SearchHit | None:
    tmdb_id = _int(row.get("id"))
    title = _str(row.get("title")) or _str(row.get("original_title"))
    if tmdb_id is None or title is None:
        return None
    genre_ids = row.get("genre_ids")
    return SearchHit(
        tmdb_id=tmdb_id,
        title=title,
        year=_year(row.get("release_date")),
        genre_ids=tuple(g for g in genre_ids if _int(g) is not None)
        if isinstance(genre_ids, list)
        else (),
        poster_url=_poster_url(poster_base, row.get("poster_path")),
    )
