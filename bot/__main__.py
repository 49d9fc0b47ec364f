"""`python -m bot [command]`: run the bot (offline without a token), and its tools."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path

from bot.app import run_online, setup_logging, sync_only
from bot.core.model_server import DatasetMismatch, InitialFitFailed
from bot.settings import Settings, SettingsError
from bot.store import maintenance
from bot.store.copy import TargetNotEmpty
from bot.store.database import StoreUnusable
from bot.store.schema import SchemaTooNewError
from recommender.bench import SYNTHETIC
from recommender.download import DatasetError
from recommender.movielens import DatasetFormatError

log = logging.getLogger("bot")


def build_parser() -> argparse.ArgumentParser:
    """Arguments of `python -m bot`."""
    p = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = p.add_subparsers(dest="command")
    sub.add_parser("run", help="connect to Discord, or offline mode without DISCORD_TOKEN")
    sub.add_parser("offline", help="the local emulator and a console, even with a token")
    sub.add_parser("sync", help="register slash commands globally now, then exit")
    sub.add_parser("check-db", help="full integrity check of DATABASE_PATH")
    sub.add_parser("migrate-ids", help="move DATABASE_PATH to DATASET's movie ids (bot stopped)")
    bk = sub.add_parser("backup", help="consistent copy of DATABASE_PATH, even while running")
    bk.add_argument("--to", type=Path, help="target file (default data/backups/<name>-<time>.db)")
    rs = sub.add_parser("restore", help="replace DATABASE_PATH with a backup (stop the bot first)")
    rs.add_argument("backup", type=Path, help="a file made by `python -m bot backup`")
    ms = sub.add_parser(
        "migrate-store", help="copy a club's database into an empty one (e.g. to PostgreSQL)"
    )
    ms.add_argument("--from", dest="source", required=True, help="sqlite:///data/moviebot.db")
    ms.add_argument("--to", dest="target", required=True, help="postgresql://user@host/db")
    b = sub.add_parser("bench", help="loop stalls during refits, store and query latency")
    b.add_argument("--json", action="store_true", help="one JSON document on stdout")
    b.add_argument("--sizes", default="ml-100k,1M")
    b.add_argument(
        "--scale",
        choices=sorted(SYNTHETIC),
        help="instead: load, fit, refit and memory of one process at SIZE synthetic ratings "
        "(e.g. 32M, ml-32m's shape)",
    )
    lt = sub.add_parser("loadtest", help="simulated users through the emulator during a refit")
    lt.add_argument("--json", action="store_true", help="one JSON document on stdout")
    lt.add_argument("--users", type=int, default=50)
    lt.add_argument("--interactions", type=int, default=1000)
    lt.add_argument(
        "--ramp",
        help="comma-separated member counts, e.g. 25,50,100,200,400,800: raise the load "
        "step by step until first-response p99 passes --p99-limit",
    )
    lt.add_argument("--per-member", type=int, default=10, help="interactions per member per step")
    lt.add_argument("--p99-limit", type=float, default=500.0, help="milliseconds (with --ramp)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point for `python -m bot` and the `moviebot` script."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        sys.stderr.write(f"configuration error: {exc}\n")
        return 2
    setup_logging(settings)
    command = args.command or "run"
    if settings.database_url and command in ("check-db", "backup", "restore"):
        sys.stderr.write(
            f"{command} works on the SQLite file; DATABASE_URL selects PostgreSQL, whose own "
            "tools (pg_dump, pg_restore, amcheck) check and back it up\n"
        )
        return 2
    try:
        if command == "run" and settings.discord_token:
            asyncio.run(run_online(settings))
        elif command in ("run", "offline"):
            from bot.offline import run_offline

            if command == "run":
                log.info("DISCORD_TOKEN is not set: starting offline mode")
            asyncio.run(run_offline(settings))
        elif command == "check-db":
            verdict = maintenance.check(settings.database_path)
            sys.stdout.write(verdict + "\n")
            return 0 if verdict.endswith(": ok") else 1
        elif command == "migrate-ids":
            from bot.core.dataset_switch import describe, switch_dataset

            sys.stdout.write(describe(asyncio.run(switch_dataset(settings))) + "\n")
        elif command == "backup":
            target = maintenance.backup(settings.database_path, args.to)
            sys.stdout.write(f"{target}\n")
        elif command == "restore":
            maintenance.restore(args.backup, settings.database_path)
            sys.stdout.write(f"restored {settings.database_path} from {args.backup}\n")
        elif command == "migrate-store":
            from bot.store.copy import copy_store, store_target

            copied = asyncio.run(copy_store(store_target(args.source), store_target(args.target)))
            for table, rows in copied.items():
                sys.stdout.write(f"{table:<20} {rows:>8} rows copied, count verified\n")
        elif command == "sync":
            asyncio.run(sync_only(settings))
        elif command == "bench":
            from bot.bench import run_bench, scale_footprint

            if args.scale:
                result = asyncio.run(scale_footprint(settings, args.scale))
            else:
                result = asyncio.run(run_bench(settings, tuple(args.sizes.split(","))))
            _emit(result, args.json)
        elif command == "loadtest":
            from bot.loadtest import run_loadtest, run_ramp

            if args.ramp:
                steps = _counts(args.ramp)
                result = asyncio.run(run_ramp(settings, steps, args.per_member, args.p99_limit))
            else:
                result = asyncio.run(run_loadtest(settings, args.users, args.interactions))
            _emit(result, args.json)
    except KeyboardInterrupt:
        return 130
    except (
        DatasetMismatch,
        StoreUnusable,
        SchemaTooNewError,
        InitialFitFailed,
        TargetNotEmpty,
    ) as exc:
        log.error("%s", exc)
        return 1
    except (DatasetError, DatasetFormatError) as exc:
        log.error(
            "could not load MovieLens: %s. Set MOVIELENS_DIR to a folder that contains %s/, "
            "or check the network connection to files.grouplens.org.",
            exc,
            settings.dataset,
        )
        return 1
    return 0


def _counts(text: str) -> tuple[int, ...]:
    """Parse `25,50,100` into member counts, refusing anything but positive integers."""
    try:
        counts = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise SystemExit(f"--ramp takes comma-separated member counts, got {text!r}") from None
    if not counts or min(counts) < 1:
        raise SystemExit(f"--ramp takes positive member counts, got {text!r}")
    return counts


def _emit(result: dict[str, object], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")
    else:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
