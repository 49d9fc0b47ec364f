"""TmdbClient against the local fake TMDB: page building, credentials, caching and failures."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.tmdb import MoviePage, SearchHit, TmdbClient, TmdbConfig
from tests.bot.tmdb.fake_tmdb import API_KEY, TOKEN, FakeTmdb

OpenClient = Callable[..., Awaitable[TmdbClient]]
REJECTED = "TMDB rejected the API key; movie pages will have no posters"


@pytest.fixture
async def fake() -> AsyncIterator[FakeTmdb]:
    server = FakeTmdb()
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def open_client(fake: FakeTmdb, tmp_path: Path) -> AsyncIterator[OpenClient]:
    """Opens clients against the fake (cache in tmp_path unless told) and closes them after."""
    clients: list[TmdbClient] = []

    async def _open(
        cache_path: Path | None = tmp_path / "tmdb-cache.db",
        clock: Callable[[], float] = time.time,
        **overrides: Any,
    ) -> TmdbClient:
        settings: dict[str, Any] = {"api_key": API_KEY, "base_url": fake.base_url}
        client = TmdbClient(TmdbConfig(**(settings | overrides)), cache_path, clock=clock)
        clients.append(client)
        return await client.open()

    yield _open
    for client in clients:
        await client.close()


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


async def test_page_has_poster_overview_runtime_trailer_and_us_providers(open_client, fake):
    client = await open_client()

    page = await client.page(550)

    assert page == MoviePage(
        tmdb_id=550,
        title="Fight Club",
        year=1999,
        overview="An office worker and a soap salesman start an underground club.",
        poster_url="https://image.tmdb.org/t/p/w342/pB8BM7pdSp6B6Ih7QZ4DrQ3PmJK.jpg",
        runtime_min=139,
        genres=("Drama", "Thriller"),
        trailer_url="https://www.youtube.com/watch?v=BdJKm16Co6M",
        providers=("Netflix", "Hulu"),
        providers_link="https://www.themoviedb.org/movie/550-fight-club/watch?locale=US",
        page_url="https://www.themoviedb.org/movie/550",
    )
    assert fake.count("/movie/550") == 1


async def test_de_region_gets_de_providers(open_client):
    client = await open_client(region="DE")

    page = await client.page(550)

    assert page is not None
    assert page.providers == ("Amazon Prime Video", "WOW")
    assert page.providers_link == "https://www.themoviedb.org/movie/550-fight-club/watch?locale=DE"


async def test_region_without_offers_has_no_providers(open_client):
    page = await (await open_client(region="FR")).page(550)

    assert page is not None
    assert (page.providers, page.providers_link) == ((), None)


async def test_config_detects_v4_token_by_shape():
    assert TmdbConfig(api_key=TOKEN).uses_bearer
    assert not TmdbConfig(api_key=API_KEY).uses_bearer
    assert not TmdbConfig(api_key="eyJnot-a-jwt").uses_bearer


async def test_v4_token_goes_in_the_authorization_header(open_client, fake):
    client = await open_client(api_key=TOKEN)

    assert await client.page(550) is not None

    assert fake.seen
    assert {(s.api_key, s.authorization) for s in fake.seen} == {(None, f"Bearer {TOKEN}")}


async def test_v3_key_goes_in_the_api_key_query_param(open_client, fake):
    client = await open_client()

    assert await client.page(550) is not None

    assert fake.seen
    assert {(s.api_key, s.authorization) for s in fake.seen} == {(API_KEY, None)}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("credential", [API_KEY, TOKEN])
async def test_credential_never_logged_nor_in_exception_text(open_client, fake, caplog, credential):
    caplog.set_level(logging.DEBUG)
    client = await open_client(api_key=credential, timeout_s=0.3, max_retries=1)
    fake.retry_after = "0"

    await client.page(550)
    await client.search("Fight Club")
    for mode in ("malformed", "unavailable", "rate_limited", "hang", "shape"):
        fake.fail(mode)
        await client.page(603)
    fake.heal()
    await client.page(424242)
    refused = await open_client(
        None, api_key=credential, base_url=f"http://127.0.0.1:{closed_port()}/3", max_retries=0
    )
    assert await refused.page(550) is None
    fake.fail("unauthorized")
    await client.page(680)
    with pytest.raises(RuntimeError) as unopened:
        await TmdbClient(TmdbConfig(api_key=credential)).page(550)

    assert any("unreachable" in m for m in warnings_of(caplog))
    assert REJECTED in warnings_of(caplog)
    assert credential not in caplog.text
    assert all(credential not in str(r.args) for r in caplog.records)
    assert credential not in str(unopened.value)
    assert credential not in repr(client.config)


async def test_second_call_is_served_from_cache(open_client, fake):
    client = await open_client()

    first = await client.page(550)
    second = await client.page(550)

    assert first == second is not None
    assert fake.count("/movie/550") == 1
    assert fake.count("/configuration") == 1


async def test_cache_survives_a_restart(open_client, fake, tmp_path):
    cache = tmp_path / "data" / "nested" / "tmdb-cache.db"
    first = await open_client(cache)
    page = await first.page(550)
    await first.close()

    again = await (await open_client(cache)).page(550)

    assert cache.exists()
    assert again == page is not None
    assert fake.total == 2  # the movie and /configuration, once each


async def test_expired_entry_is_refetched(open_client, fake):
    now = [1_000_000.0]
    client = await open_client(clock=lambda: now[0], cache_ttl_s=5.0)

    await client.page(550)
    now[0] += 4.0
    await client.page(550)
    assert fake.count("/movie/550") == 1
    now[0] += 2.0
    page = await client.page(550)

    assert page is not None
    assert fake.count("/movie/550") == 2


async def test_expired_entry_is_served_when_tmdb_is_down(open_client, fake):
    now = [1_000_000.0]
    client = await open_client(clock=lambda: now[0], cache_ttl_s=5.0, max_retries=0)
    page = await client.page(550)
    now[0] += 6.0
    fake.fail("unavailable")

    assert await client.page(550) == page is not None
    assert fake.count("/movie/550") == 2


async def test_404_is_none_and_cached(open_client, fake):
    client = await open_client()

    assert await client.page(424242) is None
    assert await client.page(424242) is None

    assert fake.count("/movie/424242") == 1


async def test_404_miss_is_asked_again_after_the_ttl(open_client, fake):
    now = [1_000_000.0]
    client = await open_client(clock=lambda: now[0], cache_ttl_s=5.0)
    fake.fail("not_found", times=1)

    assert await client.page(550) is None
    assert await client.page(550) is None
    now[0] += 6.0
    assert await client.page(550) is not None

    assert fake.count("/movie/550") == 2


async def test_401_warns_once_and_stops_calling(open_client, fake, caplog):
    client = await open_client(api_key="wrong-key")

    assert await client.page(550) is None
    assert await client.page(603) is None
    assert await client.search("Matrix") == []
    assert await client.find_imdb("tt0133093") is None

    assert fake.total == 1
    assert warnings_of(caplog) == [REJECTED]


async def test_429_waits_for_retry_after_then_succeeds(open_client, fake):
    client = await open_client()
    fake.fail("rate_limited", times=1)

    page = await client.page(550)

    assert page is not None and page.title == "Fight Club"
    first, second = fake.arrivals["/movie/550"]
    assert second - first >= 0.9  # Retry-After: 1 was honoured


async def test_429_gives_up_after_max_retries(open_client, fake, caplog):
    client = await open_client(max_retries=1)
    fake.retry_after = "0"
    fake.fail("rate_limited")

    assert await client.page(550) is None

    assert fake.count("/movie/550") == 2
    assert len(warnings_of(caplog)) == 1


async def test_503_once_then_ok_is_retried(open_client, fake):
    client = await open_client()
    fake.fail("unavailable", times=1)

    page = await client.page(550)

    assert page is not None
    assert fake.count("/movie/550") == 2


async def test_5xx_gives_up_after_max_retries_and_is_not_cached(open_client, fake):
    client = await open_client(max_retries=1)
    fake.fail("unavailable")

    assert await client.page(550) is None
    assert fake.count("/movie/550") == 2
    fake.heal()
    assert await client.page(550) is not None


async def test_timeout_returns_none_within_the_budget(open_client, fake):
    client = await open_client(timeout_s=0.3, max_retries=1)
    fake.fail("hang")

    page = await asyncio.wait_for(client.page(550), timeout=fake.hang_s / 2)

    assert page is None
    assert fake.count("/movie/550") == 2


async def test_malformed_json_is_none_and_not_cached(open_client, fake):
    client = await open_client()
    fake.fail("malformed", times=1)

    assert await client.page(550) is None
    assert await client.page(550) is not None
    assert fake.count("/movie/550") == 2


async def test_unexpected_shape_is_none(open_client, fake):
    client = await open_client()
    fake.fail("shape")

    assert await client.page(550) is None
    assert await client.search("Fight Club") == []
    assert await client.find_imdb("tt0137523") is None


async def test_each_kind_of_failure_is_logged_at_most_once_a_minute(open_client, fake, caplog):
    client = await open_client()
    fake.fail("malformed")

    for tmdb_id in (550, 603, 680):
        assert await client.page(tmdb_id) is None

    assert fake.total == 3
    assert len(warnings_of(caplog)) == 1


async def test_corrupt_cache_file_is_tolerated(open_client, fake, tmp_path, caplog):
    cache = tmp_path / "tmdb-cache.db"
    cache.write_bytes(b"this is not an SQLite database\n" * 200)
    client = await open_client(cache)

    first = await client.page(550)
    second = await client.page(550)

    assert first is not None and first.poster_url is not None
    assert second == first
    assert fake.count("/movie/550") == 2  # no cache, so asked twice
    assert any("cache" in m for m in warnings_of(caplog))


async def test_cache_path_that_is_a_directory_is_tolerated(open_client, tmp_path):
    client = await open_client(tmp_path)

    assert await client.page(550) is not None


async def test_search_returns_hits_with_years(open_client, fake):
    client = await open_client()

    hits = await client.search("fight club")
    in_1999 = await client.search("Fight Club", year=1999)

    assert hits == [
        SearchHit(
            tmdb_id=550,
            title="Fight Club",
            year=1999,
            genre_ids=(18, 53),
            poster_url="https://image.tmdb.org/t/p/w342/pB8BM7pdSp6B6Ih7QZ4DrQ3PmJK.jpg",
        ),
        SearchHit(
            tmdb_id=990001, title="Fight Club Reunion", year=None, genre_ids=(), poster_url=None
        ),
    ]
    assert [h.tmdb_id for h in in_1999] == [550]
    assert await client.search("no such movie") == []
    assert await client.search("   ") == []
    assert fake.count("/search/movie") == 3


async def test_find_imdb_maps_a_tt_id(open_client, fake):
    client = await open_client()

    assert await client.find_imdb("tt0137523") == 550
    assert await client.find_imdb(" tt0133093 ") == 603
    assert await client.find_imdb("tt9999999") is None
    assert await client.find_imdb("../movie/550") is None

    assert fake.count("/find/tt9999999") == 1
    assert fake.total == 3


async def test_concurrent_requests_are_capped(open_client, fake):
    client = await open_client()
    fake.delay_s = 0.05

    results = await asyncio.gather(*(client.search(f"query {k}") for k in range(24)))

    assert results == [[]] * 24
    assert fake.count("/search/movie") == 24
    assert 1 < fake.max_in_flight <= 8


async def test_invalid_ids_make_no_request(open_client, fake):
    client = await open_client()

    assert await client.page(0) is None
    assert await client.page(-5) is None

    assert fake.total == 0
