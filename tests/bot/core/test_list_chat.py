"""Chat list requests: what is understood, and what is left to the rest of chat."""

from __future__ import annotations

import pytest

from bot.core.list_chat import ListRequest, parse_list_request


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("add alien to my watchlist", ListRequest("add", "watchlist", "alien")),
        (
            "<@1> please put The Matrix on my watch list!",
            ListRequest("add", "watchlist", "the matrix"),
        ),
        (
            "can you add the movie heat to my watchlist please",
            ListRequest("add", "watchlist", "heat"),
        ),
        ("save “se7en” to watchlist", ListRequest("add", "watchlist", "se7en")),
        ("take alien off my watchlist", ListRequest("remove", "watchlist", "alien")),
        ("remove heat from my watch-list", ListRequest("remove", "watchlist", "heat")),
        ("what's on my watchlist?", ListRequest("show")),
        ("show me my watchlist", ListRequest("show")),
        ("my watchlist", ListRequest("show")),
        ("not interested in cats", ListRequest("add", "not_interested", "cats")),
        ("I’m not interested in The Room", ListRequest("add", "not_interested", "the room")),
        ("never recommend twilight again", ListRequest("add", "not_interested", "twilight")),
    ],
)
def test_list_requests_are_understood(text: str, expected: ListRequest):
    assert parse_list_request(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "recommend me something",
        "se7en 4.5",
        "watchmen 4",
        "I watched alien yesterday",
        "unrate alien",
        "something like the watch",
        "remove alien from my ratings",
    ],
)
def test_everything_else_is_left_to_chat(text: str):
    assert parse_list_request(text) is None
