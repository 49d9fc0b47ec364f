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
        ("jaws 4/5 stars", "jaws", 4.0),
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
    ("text", "talk"),
    [
        # greetings
        ("hi", "greeting"),
        ("hello", "greeting"),
        ("hey!", "greeting"),
        ("heyyy", "greeting"),
        ("yo", "greeting"),
        ("good morning", "greeting"),  # a film too (1971), but without stars it is a greeting
        ("Good morning everyone!", "greeting"),
        ("gm", "greeting"),
        ("hey there", "greeting"),
        ("hello bot", "greeting"),
        ("good evening all", "greeting"),
        ("hi 👋", "greeting"),
        ("<@100000000000000001> hey", "greeting"),
        # thanks
        ("thanks", "thanks"),
        ("thanks!", "thanks"),
        ("thank you so much", "thanks"),
        ("thx", "thanks"),
        ("ty bot", "thanks"),
        ("thanks a lot!", "thanks"),
        ("thanks for the help", "thanks"),
        ("hi, thanks!", "thanks"),
        ("ok cool thanks", "thanks"),
        ("thanks 🙏", "thanks"),
        ("cheers", "thanks"),
        # goodbyes
        ("bye", "bye"),
        ("good night everyone", "bye"),
        ("gn", "bye"),
        ("see you later", "bye"),
        ("ok bye", "bye"),
        # questions to the bot
        ("how are you?", "how"),
        ("how are you doing today?", "how"),
        ("hey how's it going", "how"),
        ("what’s up?", "how"),
        ("who are you?", "who"),
        ("are you a bot?", "who"),
        ("what's your name?", "who"),
        ("you there?", "ping"),
        ("anyone there?", "ping"),
        ("hey can you hear me", "ping"),
        ("test", "ping"),
        # laughter, reactions, praise, scolding, apologies
        ("lol", "laugh"),  # LOL (2012) is a film; still a laugh
        ("LMAOOO", "laugh"),
        ("hahaha", "laugh"),
        ("xD", "laugh"),
        ("haha nice", "laugh"),
        ("ok", "ack"),
        ("cool", "ack"),  # not Cool Hand Luke
        ("nice", "ack"),
        ("yes!!!", "ack"),
        ("nope", "ack"),
        ("omg yes", "ack"),
        ("bruh", "ack"),
        ("sounds good", "ack"),
        ("no problem", "ack"),
        ("good bot", "praise"),
        ("you're the best", "praise"),
        ("great picks!", "praise"),
        ("bad bot", "scold"),
        ("that's wrong", "scold"),
        ("sorry", "sorry"),
        ("oops wrong channel", "sorry"),
        ("nvm", "sorry"),
        ("forget it", "sorry"),
        # emoji only, a bare mention
        ("🍿", "emoji"),
        ("🍿🎬", "emoji"),
        ("😂😂😂", "emoji"),
        ("👍🏽", "emoji"),
        ("❤️", "emoji"),
        ("<:pepehands:123456789012345678>", "emoji"),
        ("", "greeting"),
        ("   ", "greeting"),
        ("<@100000000000000001>", "greeting"),
        ("<@100000000000000001> <@!200000000000000002> <@&300000000000000003>", "greeting"),
        ("<#400000000000000004>", "greeting"),
        # long chatter in a movie server
        ("hello there how are you doing today my good friend bot", "how"),
        ("the quick brown fox jumps over the lazy dog again and again", "chatter"),
        ("I think we should watch something scary at the next movie night guys", "chatter"),
        ("asd" * 100, "chatter"),
    ],
)
def test_small_talk(text: str, talk: str):
    assert parse(text) == ChatRequest("smalltalk", talk=talk)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "talk"),
    [
        ("who's coming to movie night?", None),
        ("that movie was so good", None),
        ("did anyone see dune", None),
        ("is movie night still on friday?", None),
        ("which one was your favorite", None),
        ("I fell asleep halfway", None),
        ("the ending was wild", None),
        ("popcorn's ready", None),
        ("thanks bro, that was a great pick", "thanks"),
        ("lol that's so true", "laugh"),
        ("cool runnings", "ack"),  # a film after all: the bot decides by the titles it knows
    ],
)
def test_short_chatter_is_only_a_guess_at_a_title(text: str, talk: str | None):
    """Short phrases may be titles; they are never sure ratings, and carry the small talk they
    open with, so the bot can answer it when no title clearly matches."""
    request = parse(text)
    assert request.intent == "rate" and request.stars is None
    assert not request.sure
    assert request.talk == talk


@pytest.mark.parametrize(
    "text",
    [
        "help",
        "Help!",
        "help me",
        "what's new?",
        "whats new",
        "what can you do?",
        "commands",
        "how does this work",
        "how do I rate a movie?",
        "hi, what can you do?",
        "?",
        "!!! ??? ...",
    ],
)
def test_help(text: str):
    assert parse(text) == ChatRequest("help")


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("unrate 8 1/2", "8 1/2"),  # the fraction is the title here, not stars
        ("unrate alien", "alien"),
        ("Unrate Alien!", "alien"),
        ("remove my rating of alien", "alien"),
        ("delete my rating for the usual suspects", "the usual suspects"),
        ("undo my rating of heat please", "heat"),
        ("forget my rating of heat", "heat"),
        ("remove hamlet from my ratings", "hamlet"),
        ("<@100000000000000001> un-rate jaws", "jaws"),
        ("take back my rating of se7en", "se7en"),
        ("unrate", ""),  # the bot asks which
        ("remove my rating", ""),
    ],
)
def test_unrate(text: str, title: str):
    assert parse(text) == ChatRequest("unrate", title)


@pytest.mark.parametrize(
    "text",
    [
        "forget me",
        "Forget me!",
        "please forget about me",
        "forget everything about me",
        "delete my data",
        "delete all my ratings",
        "erase everything you know about me",
        "wipe my data please",
        "delete my account",
    ],
)
def test_forget_me(text: str):
    assert parse(text) == ChatRequest("forget")


@pytest.mark.parametrize("text", ["forget it", "forget about it", "my ratings"])
def test_forget_needs_me_or_my_data(text: str):
    assert parse(text).intent != "forget"


@pytest.mark.parametrize(
    ("text", "title", "given"),
    [
        ("se7en 6 stars", "se7en", 6.0),
        ("alien 10 stars", "alien", 10.0),
        ("jaws 0 stars", "jaws", 0.0),
        ("heat 7 ★", "heat", 7.0),
        ("fargo ten stars", "fargo", 10.0),
        ("★★★★★★ jaws", "jaws", 6.0),
        ("I'd give casablanca 11 stars", "casablanca", 11.0),
        ("babe -1 stars", "babe", -1.0),
    ],
)
def test_stars_out_of_range_are_reported(text: str, title: str, given: float):
    request = parse(text)
    assert request.intent == "rate" and request.title == title
    assert request.stars is None and request.out_of_range == given
    assert request.sure


def test_stars_out_of_range_without_a_title_is_help():
    assert parse("6 stars") == ChatRequest("help", out_of_range=6.0)
    assert parse("0 stars").out_of_range == 0.0


@pytest.mark.parametrize(
    ("text", "title", "stars"),
    [
        ("good morning 4", "good morning", 4.0),
        ("lol ★★★", "lol", 3.0),
        ("rate good morning", "good morning", None),
        ("hey, se7en 4.5", "se7en", 4.5),
        ("hi! alien ★★★★", "alien", 4.0),
        ("ok, heat 3", "heat", 3.0),
    ],
)
def test_small_talk_words_with_stars_or_a_verb_are_ratings(
    text: str, title: str, stars: float | None
):
    request = parse(text)
    assert (request.intent, request.title, request.stars) == ("rate", title, stars)
    assert request.sure and request.talk is None


def test_none_input_is_a_hello():
    assert parse(None) == ChatRequest("smalltalk", talk="greeting")  # type: ignore[arg-type]


def test_huge_input_is_capped_and_fast():
    words = " ".join(f"blah{k}" for k in range(2000))  # ~16 kB of chatter
    start = time.perf_counter()
    for text in ("x" * 10_000, words, "9" * 10_000, "★" * 10_000, "and a half " * 1000):
        request = parse(text)
        assert len(request.title) <= MAX_TEXT
        assert request.intent in ("help", "rate", "smalltalk")
    assert parse("x" * 10_000) == ChatRequest("smalltalk", talk="chatter")
    assert parse(words) == ChatRequest("smalltalk", talk="chatter")
    assert parse("★" * 10_000).intent == "help"  # stars but no title
    assert parse("ok " * 5_000).talk == "ack"
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
