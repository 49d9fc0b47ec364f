"""Settings from the environment: defaults, parsing, clear errors, and a token that never shows."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import DISCORD_API_BASE, Settings, SettingsError


def test_defaults_without_environment():
    s = Settings.from_env({})
    assert s.discord_token is None and s.api_base == DISCORD_API_BASE
    assert s.dataset == "ml-latest-small" and s.database_path == Path("data/moviebot.db")
    assert s.refit_interval == 600 and s.als.factors == 32 and s.als.solver == "cg"
    assert s.als.model == "als"


def test_values_are_parsed():
    s = Settings.from_env(
        {
            "DISCORD_TOKEN": "secret-token-value",
            "DEV_GUILD_ID": "123456789012345678",
            "DISCORD_API_BASE": "http://127.0.0.1:9/api/v10/",
            "DATA_DIR": "/tmp/x",
            "ALS_FACTORS": "16",
            "ALS_SOLVER": "exact",
            "ALS_MODEL": "bayes",
            "REFIT_INTERVAL": "30",
            "REFIT_MIN_CHANGES": "5",
            "LOG_LEVEL": "debug",
        }
    )
    assert s.dev_guild_id == 123456789012345678
    assert s.api_base == "http://127.0.0.1:9/api/v10"
    assert s.database_path == Path("/tmp/x/moviebot.db")
    assert s.als.factors == 16 and s.als.solver == "exact" and s.als.model == "bayes"
    assert s.refit_interval == 30 and s.refit_min_changes == 5 and s.log_level == "DEBUG"


def test_token_never_appears_in_repr_or_description():
    s = Settings.from_env({"DISCORD_TOKEN": "secret-token-value"})
    assert "secret-token-value" not in repr(s)
    assert "secret-token-value" not in str(s.describe())


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEV_GUILD_ID": "my server"}, "DEV_GUILD_ID"),
        ({"ALS_FACTORS": "many"}, "ALS_FACTORS"),
        ({"ALS_FACTORS": "0"}, "factors"),
        ({"ALS_SOLVER": "magic"}, "solver"),
        ({"ALS_MODEL": "magic"}, "model"),
        ({"REFIT_INTERVAL": "soon"}, "REFIT_INTERVAL"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL"),
    ],
)
def test_bad_values_give_clear_errors(env, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_tmdb_settings_and_the_key_never_shows():
    s = Settings.from_env(
        {"TMDB_API_KEY": "tmdb-secret-key-123", "TMDB_REGION": "de", "PURGE_REFIT_DELAY": "2"}
    )
    assert s.tmdb_api_key == "tmdb-secret-key-123" and s.tmdb_region == "DE"
    assert s.purge_refit_delay == 2
    assert "tmdb-secret-key-123" not in repr(s) and "tmdb-secret-key-123" not in str(s.describe())
    with pytest.raises(SettingsError, match="TMDB_REGION"):
        Settings.from_env({"TMDB_REGION": "Germany"})


PG = "postgresql://bot@127.0.0.1:5432/club"


def test_no_shard_settings_keep_one_unsharded_connection():
    s = Settings.from_env({})
    assert s.shard_count is None and s.shard_ids is None and not s.sharded
    assert s.model_dir == Path("data/models")


@pytest.mark.parametrize(
    ("env", "count", "ids"),
    [
        ({"SHARD_COUNT": "4"}, 4, None),
        ({"SHARD_COUNT": "4", "SHARD_IDS": "0,1", "DATABASE_URL": PG}, 4, (0, 1)),
        ({"SHARD_COUNT": "4", "SHARD_IDS": "2-3", "DATABASE_URL": PG}, 4, (2, 3)),
        ({"SHARD_COUNT": "8", "SHARD_IDS": "6, 0-2", "DATABASE_URL": PG}, 8, (0, 1, 2, 6)),
    ],
)
def test_shard_settings_are_parsed(env, count, ids):
    s = Settings.from_env(env)
    assert s.sharded and s.shard_count == count and s.shard_ids == ids


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SHARD_COUNT": "0"}, "SHARD_COUNT must be a whole number of at least 1"),
        ({"SHARD_COUNT": "two"}, "SHARD_COUNT must be a whole number"),
        ({"SHARD_IDS": "0", "DATABASE_URL": PG}, "SHARD_IDS needs SHARD_COUNT"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "0-x", "DATABASE_URL": PG}, "like 0,1 or 0-3"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "1-0", "DATABASE_URL": PG}, "runs backwards"),
        ({"SHARD_COUNT": "4", "SHARD_IDS": "0-2,1", "DATABASE_URL": PG}, "names a shard twice"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "0-2", "DATABASE_URL": PG}, "numbers shards 0 to 1"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "0"}, "cannot share one SQLite file"),
    ],
)
def test_bad_shard_settings_give_clear_errors(env, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_model_dir_is_read_from_the_environment():
    assert Settings.from_env({"MODEL_DIR": "/shared/models"}).model_dir == Path("/shared/models")


def test_the_fit_engine_defaults_to_numpy_and_must_be_known():
    s = Settings.from_env({})
    assert s.als_engine == "numpy" and s.spark_master == "local[*]"
    assert Settings.from_env({"SPARK_MASTER": "spark://10.0.0.5:7077"}).spark_master == (
        "spark://10.0.0.5:7077"
    )
    with pytest.raises(SettingsError, match="ALS_ENGINE must be numpy or spark"):
        Settings.from_env({"ALS_ENGINE": "torch"})


def test_spark_engine_without_pyspark_stops_the_bot_at_start_up(tmp_path: Path):
    # a real start-up (`python -m bot`) in an interpreter where pyspark cannot be imported
    code = (
        "import sys; sys.modules['pyspark'] = None\n"
        "from bot.__main__ import main\n"
        "sys.exit(main([]))"
    )
    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "PYTHONPATH": str(root),
        "ALS_ENGINE": "spark",
        "DATA_DIR": str(tmp_path / "data"),
        "DISCORD_TOKEN": "",
    }
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2, out.stderr
    assert "configuration error: ALS_ENGINE=spark: the Spark engine needs pyspark" in out.stderr
    assert "pip install -e '.[spark]'" in out.stderr
    assert not (tmp_path / "data").exists()  # stopped before touching any data
