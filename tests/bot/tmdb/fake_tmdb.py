"""A fake TMDB v3 API on 127.0.0.1: real response shapes, a credential check, switchable failures.

Bodies follow the shapes in TMDB's v3 reference (configuration, search/movie, movie details with
appended videos and watch/providers, find); the titles, texts and ids are illustrative only.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web

Failure = Literal[
    "unauthorized", "not_found", "rate_limited", "unavailable", "hang", "malformed", "shape"
]

API_KEY = "0123456789abcdef0123456789abcdef"  # shaped like a v3 key
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJhdWQiOiJmYWtlLWFwcCIsInNjb3BlcyI6WyJhcGlfcmVhZCJdfQ.c2ln"

INVALID_KEY = {
    "status_code": 7,
    "status_message": "Invalid API key: You must be granted a valid key.",
    "success": False,
}
NOT_FOUND = {
    "status_code": 34,
    "status_message": "The resource you requested could not be found.",
    "success": False,
}
RATE_LIMITED = {
    "status_code": 25,
    "status_message": "Your request count (#) is over the allowed limit of (40).",
    "success": False,
}
OFFLINE = {
    "status_code": 9,
    "status_message": "Service offline: This service is temporarily offline, try again later.",
    "success": False,
}
INVALID_PARAMS = {
    "status_code": 5,
    "status_message": "Invalid parameters: Your request parameters are incorrect.",
    "success": False,
}

CONFIGURATION: dict[str, Any] = {
    "images": {
        "base_url": "http://image.tmdb.org/t/p/",
        "secure_base_url": "https://image.tmdb.org/t/p/",
        "backdrop_sizes": ["w300", "w780", "w1280", "original"],
        "logo_sizes": ["w45", "w92", "w154", "w185", "w300", "w500", "original"],
        "poster_sizes": ["w92", "w154", "w185", "w342", "w500", "w780", "original"],
        "profile_sizes": ["w45", "w185", "h632", "original"],
        "still_sizes": ["w92", "w185", "w300", "original"],
    },
    "change_keys": ["adult", "genres", "images", "overview", "poster_path", "videos"],
}


def _movie(
    tmdb_id: int,
    title: str,
    release_date: str,
    *,
    imdb_id: str | None,
    poster_path: str | None,
    runtime: int,
    genres: list[tuple[int, str]],
    overview: str,
) -> dict[str, Any]:
    return {
        "adult": False,
        "backdrop_path": None,
        "belongs_to_collection": None,
        "budget": 0,
        "genres": [{"id": gid, "name": name} for gid, name in genres],
        "homepage": "",
        "id": tmdb_id,
        "imdb_id": imdb_id,
        "origin_country": ["US"],
        "original_language": "en",
        "original_title": title,
        "overview": overview,
        "popularity": 61.4,
        "poster_path": poster_path,
        "production_companies": [],
        "production_countries": [{"iso_3166_1": "US", "name": "United States of America"}],
        "release_date": release_date,
        "revenue": 0,
        "runtime": runtime,
        "spoken_languages": [{"english_name": "English", "iso_639_1": "en", "name": "English"}],
        "status": "Released",
        "tagline": "",
        "title": title,
        "video": False,
        "vote_average": 8.4,
        "vote_count": 30000,
    }


MOVIES: dict[int, dict[str, Any]] = {
    550: _movie(
        550,
        "Fight Club",
        "1999-10-15",
        imdb_id="tt0137523",
        poster_path="/pB8BM7pdSp6B6Ih7QZ4DrQ3PmJK.jpg",
        runtime=139,
        genres=[(18, "Drama"), (53, "Thriller")],
        overview="An office worker and a soap salesman start an underground club.",
    ),
    603: _movie(
        603,
        "The Matrix",
        "1999-03-31",
        imdb_id="tt0133093",
        poster_path="/f89U3ADr1oiB1s9GkdPOEpXUk5H.jpg",
        runtime=136,
        genres=[(28, "Action"), (878, "Science Fiction")],
        overview="A hacker learns what the world around him really is.",
    ),
    990001: _movie(
        990001,
        "Fight Club Reunion",
        "",
        imdb_id=None,
        poster_path=None,
        runtime=0,
        genres=[],
        overview="",
    ),
}


def _video(key: str, name: str, kind: str, *, official: bool, site: str = "YouTube") -> dict:
    return {
        "iso_639_1": "en",
        "iso_3166_1": "US",
        "name": name,
        "key": key,
        "site": site,
        "size": 1080,
        "type": kind,
        "official": official,
        "published_at": "2015-02-26T03:19:25.000Z",
        "id": f"5e38{key}",
    }


# Order matters: the first trailers are unofficial or not on YouTube, so picking the first
# "Trailer" blindly gives the wrong answer.
VIDEOS: dict[int, list[dict[str, Any]]] = {
    550: [
        _video("tEaSeR00001", "Teaser", "Teaser", official=True),
        _video("6JnN1DmbqoU", "Theatrical Trailer Remastered", "Trailer", official=False),
        _video("123456789", "Trailer on Vimeo", "Trailer", official=True, site="Vimeo"),
        _video("BdJKm16Co6M", "Official Trailer", "Trailer", official=True),
    ],
    603: [_video("vKQi3bBA1y8", "Trailer", "Trailer", official=False)],
}


def _provider(pid: int, name: str, priority: int) -> dict[str, Any]:
    return {
        "logo_path": f"/logo{pid}.jpg",
        "provider_id": pid,
        "provider_name": name,
        "display_priority": priority,
    }


# flatrate lists are deliberately out of display_priority order.
WATCH_PROVIDERS: dict[int, dict[str, Any]] = {
    550: {
        "US": {
            "link": "https://www.themoviedb.org/movie/550-fight-club/watch?locale=US",
            "flatrate": [_provider(15, "Hulu", 7), _provider(8, "Netflix", 0)],
            "rent": [_provider(2, "Apple TV", 4)],
            "buy": [_provider(10, "Amazon Video", 12)],
        },
        "DE": {
            "link": "https://www.themoviedb.org/movie/550-fight-club/watch?locale=DE",
            "flatrate": [_provider(30, "WOW", 9), _provider(9, "Amazon Prime Video", 2)],
            "buy": [_provider(2, "Apple TV", 6)],
        },
    },
}

IMDB_IDS: dict[str, int] = {"tt0137523": 550, "tt0133093": 603}


def _summary(movie: dict[str, Any]) -> dict[str, Any]:
    """A movie as search and find list it."""
    keys = (
        "adult",
        "backdrop_path",
        "id",
        "original_language",
        "original_title",
        "overview",
        "popularity",
        "poster_path",
        "release_date",
        "title",
        "video",
        "vote_average",
        "vote_count",
    )
    row = {k: movie[k] for k in keys}
    row["genre_ids"] = [g["id"] for g in movie["genres"]]
    return row


@dataclass(frozen=True)
class Seen:
    """The credential one request carried."""

    path: str
    api_key: str | None
    authorization: str | None


class FakeTmdb:
    """Start with `await start()` (returns the base URL ending in /3); `fail()` to misbehave."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()  # path under /3 -> requests received
        self.arrivals: defaultdict[str, list[float]] = defaultdict(list)  # monotonic times
        self.seen: list[Seen] = []
        self.retry_after = "1"
        self.hang_s = 30.0
        self.delay_s = 0.0
        self.in_flight = 0
        self.max_in_flight = 0
        self.base_url = ""
        self._failure: Failure | None = None
        self._times: int | None = None
        self._only: str | None = None
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None

    def fail(self, mode: Failure, *, times: int | None = None, path: str | None = None) -> None:
        """Misbehave on the next `times` requests (all when None), optionally for one path."""
        self._failure, self._times, self._only = mode, times, path

    def heal(self) -> None:
        self._failure = None

    def count(self, path: str) -> int:
        return self.requests[path]

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    async def start(self) -> str:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/3/configuration", self._configuration)
        app.router.add_get("/3/search/movie", self._search)
        app.router.add_get("/3/movie/{movie_id}", self._movie)
        app.router.add_get("/3/find/{external_id}", self._find)
        # No access log: it would print query strings, credentials included.
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}/3"
        return self.base_url

    async def close(self) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    # ------------------------------------------------------------------ plumbing

    def _take_failure(self, path: str) -> Failure | None:
        if self._failure is None or (self._only is not None and self._only != path):
            return None
        mode = self._failure
        if self._times is not None:
            self._times -= 1
            if self._times <= 0:
                self._failure = None
        return mode

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        path = request.path.removeprefix("/3")
        self.requests[path] += 1
        self.arrivals[path].append(time.monotonic())
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            return await self._respond(request, handler, path)
        finally:
            self.in_flight -= 1

    async def _respond(self, request: web.Request, handler: Any, path: str) -> web.StreamResponse:
        api_key = request.query.get("api_key")
        authorization = request.headers.get("Authorization")
        self.seen.append(Seen(path, api_key, authorization))
        if api_key != API_KEY and authorization != f"Bearer {TOKEN}":
            return web.json_response(INVALID_KEY, status=401)
        mode = self._take_failure(path)
        if mode == "unauthorized":
            return web.json_response(INVALID_KEY, status=401)
        if mode == "not_found":
            return web.json_response(NOT_FOUND, status=404)
        if mode == "rate_limited":
            headers = {"Retry-After": self.retry_after}
            return web.json_response(RATE_LIMITED, status=429, headers=headers)
        if mode == "unavailable":
            return web.json_response(OFFLINE, status=503)
        if mode == "malformed":
            return web.Response(
                text='{"id": 550, "title": "Fight Cl', content_type="application/json"
            )
        if mode == "shape":
            return web.json_response(["not", "an", "object"])
        if mode == "hang":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._release.wait(), self.hang_s)
        return await handler(request)

    # ------------------------------------------------------------------ endpoints

    async def _configuration(self, request: web.Request) -> web.Response:
        return web.json_response(CONFIGURATION)

    async def _movie(self, request: web.Request) -> web.Response:
        try:
            movie = MOVIES[int(request.match_info["movie_id"])]
        except (KeyError, ValueError):
            return web.json_response(NOT_FOUND, status=404)
        body = copy.deepcopy(movie)
        appended = request.query.get("append_to_response", "").split(",")
        if "videos" in appended:
            body["videos"] = {"results": copy.deepcopy(VIDEOS.get(movie["id"], []))}
        if "watch/providers" in appended:
            results = copy.deepcopy(WATCH_PROVIDERS.get(movie["id"], {}))
            body["watch/providers"] = {"results": results}
        return web.json_response(body)

    async def _search(self, request: web.Request) -> web.Response:
        query = request.query.get("query", "").casefold()
        year = request.query.get("year")
        adult_ok = request.query.get("include_adult", "false") == "true"
        results = [
            _summary(m)
            for m in MOVIES.values()
            if query
            and query in m["title"].casefold()
            and (year is None or m["release_date"].startswith(f"{year}-"))
            and (adult_ok or not m["adult"])
        ]
        return web.json_response(
            {"page": 1, "results": results, "total_pages": 1, "total_results": len(results)}
        )

    async def _find(self, request: web.Request) -> web.Response:
        # Stricter than TMDB may be: the client must name the source of the external id.
        if request.query.get("external_source") != "imdb_id":
            return web.json_response(INVALID_PARAMS, status=422)
        tmdb_id = IMDB_IDS.get(request.match_info["external_id"])
        movies = [dict(_summary(MOVIES[tmdb_id]), media_type="movie")] if tmdb_id else []
        return web.json_response(
            {
                "movie_results": movies,
                "person_results": [],
                "tv_results": [],
                "tv_episode_results": [],
                "tv_season_results": [],
            }
        )
