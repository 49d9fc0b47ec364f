"""Configuration from the environment (and an optional .env file); documented in .env.example."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import load_dotenv

from bot.clock import Clock
from bot.store.postgres import is_postgres_url, safe_url
from recommender.config import ALSConfig
from recommender.spark_engine import DEFAULT_MASTER, SparkUnavailable, require_spark

DISCORD_API_BASE = "https://discord.com/api/v10"


class SettingsError(ValueError):
    """An environment variable has a value we cannot use."""


def _get(env: dict[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip()
    return value if value else default


def _number(env: dict[str, str], name: str, default: float, kind: type = float) -> float:
    raw = _get(env, name, str(default))
    try:
        return kind(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a {kind.__name__}, got {raw!r}") from None


def _shards(
    env: dict[str, str], database_url: str | None
) -> tuple[int | None, tuple[int, ...] | None]:
    """SHARD_COUNT and SHARD_IDS ("0,1", "0-3", "0-3,8"), checked against each other."""
    raw_count, raw_ids = _get(env, "SHARD_COUNT", ""), _get(env, "SHARD_IDS", "")
    if not raw_count:
        if raw_ids:
            raise SettingsError(
                "SHARD_IDS needs SHARD_COUNT, the total number of shards across all processes"
            )
        return None, None
    if not raw_count.isdigit() or int(raw_count) < 1:
        raise SettingsError(f"SHARD_COUNT must be a whole number of at least 1, got {raw_count!r}")
    count = int(raw_count)
    if not raw_ids:
        return count, None
    ids: list[int] = []
    for part in raw_ids.split(","):
        low, dash, high = part.strip().partition("-")
        if not low.isdigit() or (dash and not high.isdigit()):
            raise SettingsError(
                f"SHARD_IDS must list shard numbers and ranges like 0,1 or 0-3, got {raw_ids!r}"
            )
        first, last = int(low), int(high) if dash else int(low)
        if last < first:
            raise SettingsError(f"SHARD_IDS range {part.strip()!r} runs backwards")
        ids.extend(range(first, last + 1))
    if len(set(ids)) != len(ids):
        raise SettingsError(f"SHARD_IDS names a shard twice: {raw_ids!r}")
    if max(ids) >= count:
        raise SettingsError(
            f"SHARD_IDS {raw_ids!r} names shard {max(ids)}, but SHARD_COUNT={count} numbers "
            f"shards 0 to {count - 1}"
        )
    if database_url is None:
        raise SettingsError(
            "SHARD_IDS runs this process as one of several, which cannot share one SQLite "
            "file: set DATABASE_URL to a PostgreSQL database they all use"
        )
    return count, tuple(sorted(ids))


def _fit_engine(env: dict[str, str], als: ALSConfig) -> str:
    """ALS_ENGINE, checked at start-up: "spark" needs pyspark and Java installed."""
    engine = _get(env, "ALS_ENGINE", "numpy").lower()
    if engine not in ("numpy", "spark"):
        raise SettingsError(f"ALS_ENGINE must be numpy or spark, got {engine!r}")
    if engine == "spark":
        if als.model != "als":
            raise SettingsError("ALS_ENGINE=spark fits ALS_MODEL=als only")
        try:
            require_spark()
        except SparkUnavailable as exc:
            raise SettingsError(f"ALS_ENGINE=spark: {exc}") from None
    return engine


@dataclass(frozen=True)
class Settings:
    """Everything the bot reads from its environment. The token never appears in repr."""

    discord_token: str | None = field(default=None, repr=False)
    api_base: str = DISCORD_API_BASE
    gateway_url: str | None = None
    dev_guild_id: int | None = None
    database_path: Path = Path("data/moviebot.db")
    database_url: str | None = field(default=None, repr=False)  # may carry a password
    data_dir: Path = Path("data")
    dataset: str = "ml-latest-small"
    movielens_dir: Path | None = None
    als: ALSConfig = field(default_factory=ALSConfig)
    als_engine: str = "numpy"  # where refits run: "numpy" (in the worker) or "spark"
    spark_master: str = DEFAULT_MASTER
    refit_interval: float = 600.0
    refit_min_changes: int = 1
    refit_memory_limit_mb: int = 0
    purge_refit_delay: float = 10.0
    tmdb_api_key: str | None = field(default=None, repr=False)
    tmdb_region: str = "US"
    tmdb_api_base: str = "https://api.themoviedb.org/3"
    log_level: str = "INFO"
    models_path: Path | None = None
    poll_duration: float = 3600.0
    night_reminder_lead: float = 900.0
    night_runtime: float = 7200.0
    night_timezone: str = "UTC"
    shard_count: int | None = None  # None: one unsharded gateway connection (the default)
    shard_ids: tuple[int, ...] | None = None  # the shards this process owns (a cluster)
    clock: Clock = field(default_factory=Clock, repr=False, compare=False)

    @property
    def store_target(self) -> str | Path:
        """What the store opens: DATABASE_URL (PostgreSQL) if set, else the SQLite file."""
        return self.database_url or self.database_path

    @property
    def store_location(self) -> str:
        """Where the data lives, safe to log (never the URL's password)."""
        return safe_url(self.database_url) if self.database_url else str(self.database_path)

    @property
    def sharded(self) -> bool:
        """Whether the bot runs as discord.py's AutoShardedBot (SHARD_COUNT or SHARD_IDS set)."""
        return self.shard_count is not None

    @property
    def model_dir(self) -> Path:
        """Where model snapshots live (data_dir/models unless set)."""
        return self.models_path or self.data_dir / "models"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, dotenv: bool = True) -> Settings:
        """Read settings from `env` (default os.environ, after loading .env if present)."""
        if env is None:
            if dotenv:
                load_dotenv(override=False)
            env = dict(os.environ)
        guild = _get(env, "DEV_GUILD_ID", "")
        if guild and not guild.isdigit():
            raise SettingsError(f"DEV_GUILD_ID must be a Discord server id, got {guild!r}")
        data_dir = Path(_get(env, "DATA_DIR", "data"))
        ml_dir = _get(env, "MOVIELENS_DIR", "")
        defaults = ALSConfig()
        try:
            als = ALSConfig(
                factors=int(_number(env, "ALS_FACTORS", defaults.factors, int)),
                iterations=int(_number(env, "ALS_ITERATIONS", defaults.iterations, int)),
                reg=_number(env, "ALS_REG", defaults.reg),
                reg_bias=_number(env, "ALS_REG_BIAS", defaults.reg_bias),
                reg_exponent=_number(env, "ALS_REG_EXPONENT", defaults.reg_exponent),
                implicit_factors=int(
                    _number(env, "ALS_IMPLICIT_FACTORS", defaults.implicit_factors, int)
                ),
                solver=_get(env, "ALS_SOLVER", defaults.solver),
                model=_get(env, "ALS_MODEL", defaults.model),
            )
        except ValueError as exc:
            raise SettingsError(f"ALS settings: {exc}") from None
        engine = _fit_engine(env, als)
        region = _get(env, "TMDB_REGION", "US").upper()
        if not (len(region) == 2 and region.isalpha()):
            raise SettingsError(f"TMDB_REGION must be a two-letter country code, got {region!r}")
        zone = _get(env, "NIGHT_TIMEZONE", "UTC")
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(
                f"NIGHT_TIMEZONE must be a time zone name like UTC or Europe/Paris, got {zone!r}"
            ) from None
        durations = {
            name: _number(env, name, default)
            for name, default in (
                ("POLL_DURATION", 3600.0),
                ("NIGHT_REMINDER_LEAD", 900.0),
                ("NIGHT_RUNTIME", 7200.0),
            )
        }
        for name, value in durations.items():
            if not value > 0:
                raise SettingsError(f"{name} must be a positive number of seconds, got {value}")
        level = _get(env, "LOG_LEVEL", "INFO").upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise SettingsError(f"LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {level!r}")
        database_url = _get(env, "DATABASE_URL", "") or None
        if database_url is not None and not is_postgres_url(database_url):
            raise SettingsError(
                "DATABASE_URL must start with postgresql:// (or postgres://), got "
                f"{safe_url(database_url)!r}; leave it empty to keep the SQLite file"
            )
        shard_count, shard_ids = _shards(env, database_url)
        model_dir = _get(env, "MODEL_DIR", "")
        return cls(
            discord_token=_get(env, "DISCORD_TOKEN", "") or None,
            api_base=_get(env, "DISCORD_API_BASE", DISCORD_API_BASE).rstrip("/"),
            gateway_url=_get(env, "DISCORD_GATEWAY_URL", "") or None,
            dev_guild_id=int(guild) if guild else None,
            database_path=Path(_get(env, "DATABASE_PATH", str(data_dir / "moviebot.db"))),
            database_url=database_url,
            data_dir=data_dir,
            dataset=_get(env, "DATASET", "ml-latest-small"),
            movielens_dir=Path(ml_dir) if ml_dir else None,
            als=als,
            als_engine=engine,
            spark_master=_get(env, "SPARK_MASTER", DEFAULT_MASTER),
            refit_interval=_number(env, "REFIT_INTERVAL", 600.0),
            refit_min_changes=int(_number(env, "REFIT_MIN_CHANGES", 1, int)),
            refit_memory_limit_mb=int(_number(env, "REFIT_MEMORY_LIMIT_MB", 0, int)),
            purge_refit_delay=_number(env, "PURGE_REFIT_DELAY", 10.0),
            tmdb_api_key=_get(env, "TMDB_API_KEY", "") or None,
            tmdb_region=region,
            tmdb_api_base=_get(env, "TMDB_API_BASE", "https://api.themoviedb.org/3").rstrip("/"),
            log_level=level,
            poll_duration=durations["POLL_DURATION"],
            night_reminder_lead=durations["NIGHT_REMINDER_LEAD"],
            night_runtime=durations["NIGHT_RUNTIME"],
            night_timezone=zone,
            shard_count=shard_count,
            shard_ids=shard_ids,
            models_path=Path(model_dir) if model_dir else None,
        )

    def describe(self) -> dict[str, object]:
        """Settings safe to log: every configured value but the secrets."""
        left_out = {"discord_token", "tmdb_api_key", "clock", "database_url"}
        described = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in left_out}
        if self.database_url:
            described["database_url"] = safe_url(self.database_url)
        return described
