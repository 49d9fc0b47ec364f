"""TMDB client for movie pages: posters, trailers and streaming providers, cached in SQLite."""

from bot.tmdb.client import MoviePage, SearchHit, TmdbClient, TmdbConfig

__all__ = ["MoviePage", "SearchHit", "TmdbClient", "TmdbConfig"]
