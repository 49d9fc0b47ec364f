"""Moving a club from ML-100K ids to today's MovieLens ids: every rating kept, none misplaced;
movies without a match become club movies."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bot.core.model_server import DatasetMismatch
from bot.core.services import Services
from bot.store import Store
from tests.bot.conftest import write_modern_latest_small
from tests.bot.core.test_model_server import CountingRunner, make_settings

ALICE, BOB = 111111111111111111, 222222222222222222
TOY_STORY, SHAWSHANK_100K, SHAWSHANK, FILLER_100K = 1, 9, 318, 21
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def ml_dir(ml100k_dir: Path) -> Path:
    """A MOVIELENS_DIR with both the ml-100k and the ml-latest-small lookalikes."""
    write_modern_latest_small(ml100k_dir / "ml-latest-small")
    return ml100k_dir


async def club_on_ml100k(tmp_path: Path, ml_dir: Path) -> Path:
    """A database made on ML-100K with ratings, a skip, lists, a card session, an open poll
    and two movie nights."""
    settings = make_settings(tmp_path, ml_dir)
    async with Store(settings.database_path) as store:
        services = Services.build(settings, store, CountingRunner())
        await services.start(periodic=False)
        rate = services.ratings.rate
        await rate(ALICE, TOY_STORY, 5.0)
        await rate(ALICE, SHAWSHANK_100K, 4.5)
        await rate(ALICE, FILLER_100K, 2.0)
        await rate(BOB, TOY_STORY, 3.0)
        await services.ratings.skip(BOB, SHAWSHANK_100K)
        await store.lists.add(ALICE, "watchlist", SHAWSHANK_100K)
        await store.server_lists.add(1, TOY_STORY, BOB)
        await services.cards.save(ALICE, {"mode": "o", "rated": 3, "recent": [9, 1]}, None)
        picks = [(TOY_STORY, 4.0), (SHAWSHANK_100K, 3.5)]
        await services.nights.open_poll(1, 2, ALICE, picks, "average")
        for event, movie in ((31, SHAWSHANK_100K), (32, FILLER_100K)):
            await services.events.schedule(1, 2, None, movie, ALICE, event, "x", 1e9, 1e9 + 1)
        await services.close()
    assert (settings.model_dir / "ml-100k.npz").is_file()
    return settings.database_path


def migrate(tmp_path: Path, ml_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_PATH": str(tmp_path / "bot.db"),
        "DATA_DIR": str(tmp_path / "data"),
        "MOVIELENS_DIR": str(ml_dir),
        "DATASET": "ml-latest-small",
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", "migrate-ids"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )


async def test_starting_on_the_new_default_points_to_the_migration(tmp_path, ml_dir):
    await club_on_ml100k(tmp_path, ml_dir)
    settings = replace(make_settings(tmp_path, ml_dir), dataset="ml-latest-small")
    async with Store(settings.database_path) as store:
        services = Services.build(settings, store, CountingRunner())
        with pytest.raises(DatasetMismatch, match="python -m bot migrate-ids"):
            await services.start(periodic=False)


async def test_migration_moves_matches_keeps_the_rest_and_the_bot_starts(tmp_path, ml_dir):
    await club_on_ml100k(tmp_path, ml_dir)
    done = migrate(tmp_path, ml_dir)
    assert done.returncode == 0, done.stderr
    report = done.stdout
    assert "Moved from ml-100k to ml-latest-small movie ids." in report
    assert "Ratings moved: 3 (0 merged" in report
    assert "Movies without a match became club movies: 1 (1 ratings; nothing deleted)" in report
    assert "Filler Movie 0 (1960): 1" in report and "Open polls closed: 1." in report
    assert not (tmp_path / "data" / "models" / "ml-100k.npz").exists()  # old ids, old vectors

    settings = replace(make_settings(tmp_path, ml_dir), dataset="ml-latest-small")
    async with Store(settings.database_path) as store:
        assert await store.ratings.get_rating(ALICE, TOY_STORY) == 5.0
        assert await store.ratings.get_rating(ALICE, SHAWSHANK) == 4.5
        assert await store.ratings.get_rating(BOB, TOY_STORY) == 3.0
        assert await store.ratings.count_user_ratings(ALICE) == 3
        assert await store.skips.skipped(BOB) == {SHAWSHANK}
        assert await store.lists.movies(ALICE, "watchlist") == {SHAWSHANK}
        assert [(e.movie_id, e.added_by) for e in await store.server_lists.entries(1)] == [
            (TOY_STORY, BOB)
        ]
        (club,) = await store.club_movies.all()
        assert club.title == "Filler Movie 0 (1960)" and club.added_by is None
        assert await store.ratings.get_rating(ALICE, club.movie_id) == 2.0
        assert (await store.polls.open_polls()) == []
        moved = await store.nights.night_for_event(31)
        unmatched = await store.nights.night_for_event(32)
        assert moved is not None and moved.movie_id == SHAWSHANK  # nights follow their movie
        assert unmatched is not None and unmatched.movie_id == club.movie_id
        services = Services.build(settings, store, CountingRunner())
        await services.start(periodic=False)
        try:
            picks, cold = await services.queries.recommend(ALICE, 3)
            assert not cold and picks
            assert (await services.cards.load(ALICE, "o")) == {
                "mode": "o",
                "rated": 3,
                "recent": [],
            }
            assert club.movie_id in services.models.model.items  # a real item of the model
            assert await services.ratings.forget(ALICE) > 0
        finally:
            await services.close()
    again = migrate(tmp_path, ml_dir)
    assert again.returncode == 0 and again.stdout.startswith("Nothing to do")
