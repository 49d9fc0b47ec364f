"""Both stores (SQLite and PostgreSQL) implement the backend protocols exactly, method by method."""

from __future__ import annotations

import inspect

import pytest

from bot.store import Store
from bot.store.backend import (
    ClubMovieStore,
    Database,
    FitLogStore,
    HistoryStore,
    MemberListStore,
    MemberSettingsStore,
    NightStore,
    PollStore,
    RatingStore,
    ServerListStore,
    SessionStore,
    SkipStore,
    StoreBackend,
)
from bot.store.database import SQLiteConnection, SQLiteDatabase
from bot.store.postgres import PostgresConnection, PostgresDatabase
from bot.store.writer import SqlConnection

REPOSITORIES = {
    "ratings": RatingStore,
    "skips": SkipStore,
    "sessions": SessionStore,
    "polls": PollStore,
    "nights": NightStore,
    "fits": FitLogStore,
    "club_movies": ClubMovieStore,
    "lists": MemberListStore,
    "server_lists": ServerListStore,
    "member_settings": MemberSettingsStore,
    "history": HistoryStore,
}


def protocol_methods(protocol: type) -> list[str]:
    """The methods a protocol declares (not the ones every class has)."""
    return [
        name
        for name, value in vars(protocol).items()
        if inspect.isfunction(value) and not name.startswith("_")
    ]


@pytest.mark.parametrize("attribute", sorted(REPOSITORIES))
async def test_each_repository_has_every_method_with_the_same_signature(store: Store, attribute):
    protocol = REPOSITORIES[attribute]
    repository = getattr(store, attribute)
    assert protocol_methods(protocol), "a protocol without methods checks nothing"
    for name in protocol_methods(protocol):
        implementation = getattr(type(repository), name)
        assert inspect.iscoroutinefunction(implementation), f"{attribute}.{name} must be async"
        expected = inspect.signature(getattr(protocol, name))
        assert inspect.signature(implementation) == expected, f"{attribute}.{name} differs"


async def test_the_store_itself_spans_the_repositories(store: Store):
    for name in protocol_methods(StoreBackend):
        implementation = getattr(Store, name)
        assert inspect.signature(implementation) == inspect.signature(
            getattr(StoreBackend, name)
        ), name
    assert set(REPOSITORIES) <= set(StoreBackend.__annotations__)


async def test_each_engine_runs_under_the_store_it_was_asked_for(
    store: Store, request: pytest.FixtureRequest
):
    engine = request.node.callspec.params["store"]
    expected = {"sqlite": SQLiteDatabase, "postgresql": PostgresDatabase}[engine]
    assert isinstance(store.db, expected)
    assert store.db.dialect == engine
    await store.ratings.rate(1, 1, 4.0)
    assert await store.ratings.get_rating(1, 1) == 4.0


def parameters(function: object) -> list[tuple[str, object, object]]:
    """A signature's parameters (name, kind, default), leaving out engine-specific types."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


@pytest.mark.parametrize(
    ("implementation", "protocol"),
    [
        (SQLiteDatabase, Database),
        (PostgresDatabase, Database),
        (SQLiteConnection, SqlConnection),
        (PostgresConnection, SqlConnection),
    ],
)
def test_both_engines_offer_what_the_repositories_call(implementation: type, protocol: type):
    assert protocol_methods(protocol)
    for name in protocol_methods(protocol):
        method = getattr(implementation, name)
        assert inspect.iscoroutinefunction(method), f"{implementation.__name__}.{name}"
        assert parameters(method) == parameters(getattr(protocol, name)), name
    assert implementation.dialect in ("sqlite", "postgresql")
    assert isinstance(vars(implementation).get("in_transaction", property()), property)
