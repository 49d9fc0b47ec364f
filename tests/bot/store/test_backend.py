"""The SQLite store implements the backend protocols exactly, method by method."""

from __future__ import annotations

import inspect

import pytest

from bot.store import Store
from bot.store.backend import (
    ClubMovieStore,
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
