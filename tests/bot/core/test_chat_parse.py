"""The free-text chat parser on many phrasings (pure: no bot, no Discord)."""

from __future__ import annotations

import time

import pytest

from bot.core.chat_parse import MAX_TEXT, ChatRequest, clean, extract_stars, parse, round_half


@pytest.mark.parametrize(
    ("text", "title", "stars"),
    [
        ("se7en 4.5", "se7en", 4.5),
        ("I'd give the shawshank redemption 5 stars", "the shawshank redemption", 5.0),
        ("alien ★★★★", "alien", 4.0),
        ("Alien ★★★★½", "alien", 4.5),
        ("rate heat ⭐⭐⭐", "heat", 3.0),
        ("aliens ⭐️⭐️⭐️⭐️", "aliens", 4.0),  # emoji stars with variation selectors
        ("fargo 4 ⭐", "fargo", 4.0),
        ("pulp fiction 9/10", "pulp fiction", 4.5),
        ("casablanca 8 out of 10", "casablanca", 4.0),
        ("jaws 5/5", "jaws", 5.0),
        ("jaws 100/100", "jaws", 5.0),
        ("10/10 jaws", "jaws", 5.0),
        ("pulp fiction 0/10", "pulp fiction", 0.5),
        ("star wars 3 and a half stars", "star wars", 3.5),
        ("star wars 3 and a half", "star wars", 3.5),
        ("alien three stars and a half", "alien", 3.5),
        ("jaws four stars", "jaws", 4.0),
        ("heat 3½", "heat", 3.5),
        ("fargo 4,5", "fargo", 4.5),
        ("I would rate fargo 4 stars", "fargo", 4.0),
        ("I gave heat 3.5", "heat", 3.5),
        ("I rated fargo 4", "fargo", 4.0),
        ("give jaws 4", "jaws", 4.0),
        ("rate casablanca 5", "casablanca", 5.0),
        ("5 stars for casablanca", "casablanca", 5.0),
        ("give 5 stars to casablanca", "casablanca", 5.0),
        ("Casablanca: ★★★★★", "casablanca", 5.0),
        ("heat: 4", "heat", 4.0),
        ("heat - 4 stars", "heat", 4.0),
        ("fargo is a 4", "fargo", 4.0),
        ("fargo gets 4 stars", "fargo", 4.0),
        ("SE7EN 4.5!!!", "se7en", 4.5),
        ("  se7en   4.5  ", "se7en", 4.5),
        ("se7en 1995 4", "se7en 1995", 4.0),
        ("<@100000000000000001> se7en 4.5", "se7en", 4.5),
        ("<@!100000000000000001> pulp fiction 4", "pulp fiction", 4.0),
    ],
)
def test_ratings_in_free_words(text: str, title: str, stars: float):
    request = parse(text)
    assert request.intent == "rate"
    assert request.title == title
    assert request.stars == stars


@pytest.mark.parametrize(
    ("text", "title", "stars"),
    [
        ("se7en 4.5 🍿", "se7en", 4.5),
        ("😀 alien 4", "alien", 4.0),
        ("twelve monkeys 4 👍", "twelve monkeys", 4.0),
        ("heat 4️⃣", "heat", 4.0),  # keycap digit
        ("<:popcorn:123456789012345678> heat 4", "heat", 4.0),  # custom server emoji
        ("👍🏽 babe ★★★", "babe", 3.0),  # skin-tone modifier
    ],
)
def test_emoji_do_not_break_ratings(text: str, title: str, stars: float):
    assert parse(text) == ChatRequest("rate", title, stars, parse(text).bare_number)


@pytest.mark.parametrize(
    ("text", "bare"),
    [
        ("toy story 2", True),
        ("se7en 4.5", True),
        ("heat: 4", True),
        ("toy story 2 stars", False),
        ("toy story ★★", False),
        ("pulp fiction 9/10", False),
        ("jaws 5/5", False),
        ("casablanca 8 out of 10", False),
    ],
)
def test_bare_number_flag(text: str, bare: bool):
    request = parse(text)
    assert request.intent == "rate" and request.stars is not None
    assert request.bare_number is bare


def test_toy_story_2_keeps_both_readings():
    request = parse("toy story 2")
    assert request == ChatRequest("rate", "toy story", 2.0, True)
    assert f"{request.title} {request.stars:g}" == "toy story 2"


@pytest.mark.parametrize("text", ["apollo 13", "babe 7", "aliens 0", "alien 6"])
def test_numbers_that_cannot_be_stars_stay_in_the_title(text: str):
    assert parse(text) == ChatRequest("rate", text, None, False)


@pytest.mark.parametrize("text", ["heat", "hamlet", "the usual suspects", "rate casablanca"])
def test_title_without_stars_asks_for_stars(text: str):
    request = parse(text)
    assert request.intent == "rate"
    assert request.stars is None
    assert request.title == text.removeprefix("rate ")


@pytest.mark.parametrize(
    "text",
    [
        "recommend me something",
        "Recommend me something!",
        "what should I watch tonight?",
        "any good movies?",
        "suggest a movie",
        "surprise me",
        "pick me a movie",
    ],
)
def test_recommend(text: str):
    assert parse(text) == ChatRequest("recommend")


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("something like alien", "alien"),
        ("Something like Alien?", "alien"),
        ("movies like heat", "heat"),
        ("anything similar to the usual suspects", "the usual suspects"),
        ("similar to jaws", "jaws"),
        ("recommend something like alien", "alien"),
    ],
)
def test_similar(text: str, title: str):
    assert parse(text) == ChatRequest("similar", title)


@pytest.mark.parametrize(
    "text", ["what did I rate", "What did I rate?", "what have i rated", "my ratings"]
)
def test_my_ratings(text: str):
    assert parse(text) == ChatRequest("myratings")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "<@100000000000000001>",
        "<@100000000000000001> <@!200000000000000002> <@&300000000000000003>",
        "<#400000000000000004>",
        "!!! ??? ...",
        "🍿🎬",
        "🍿",
        "hi",
        "hello",
        "help",
        "hello there how are you doing today my good friend bot",
        "the quick brown fox jumps over the lazy dog again and again",
        "asd" * 100,
    ],
)
def test_not_understood_is_help(text: str):
    assert parse(text) == ChatRequest("help")


def test_none_input_is_help():
    assert parse(None) == ChatRequest("help")  # type: ignore[arg-type]


def test_huge_input_is_capped_and_fast():
    words = " ".join(f"blah{k}" for k in range(2000))  # ~16 kB of chatter
    start = time.perf_counter()
    for text in ("x" * 10_000, words, "9" * 10_000, "★" * 10_000, "and a half " * 1000):
        request = parse(text)
        assert len(request.title) <= MAX_TEXT
        assert request.intent in ("help", "rate")
    assert parse("x" * 10_000).intent == "help"
    assert parse(words).intent == "help"
    assert parse("★" * 10_000).intent == "help"  # stars but no title
    assert len(clean("a " * 5_000)) <= MAX_TEXT
    assert time.perf_counter() - start < 1.0


def test_ten_kilobytes_then_a_rating_is_not_misread():
    request = parse("se7en " + " " * 10_000 + "4.5")
    assert request.stars in (None, 4.5)
    if request.intent == "rate":
        assert request.title == "se7en"


def test_clean_drops_mentions_and_emoji_but_keeps_stars():
    assert clean("<@123> se7en  ⭐️⭐️ 🍿") == "se7en ⭐⭐"
    assert clean("Misérables, Les ★★★") == "Misérables, Les ★★★"


@pytest.mark.parametrize(
    ("value", "expected"), [(0.0, 0.5), (0.2, 0.5), (2.24, 2.0), (2.26, 2.5), (4.9, 5.0), (7, 5)]
)
def test_round_half(value: float, expected: float):
    assert round_half(value) == expected


def test_extract_stars_reports_what_is_left():
    assert extract_stars("pulp fiction 9/10") == (4.5, "pulp fiction", False)
    assert extract_stars("toy story 2") == (2.0, "toy story", True)
    assert extract_stars("heat") == (None, "heat", False)
