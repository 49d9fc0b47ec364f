"""A throwaway PostgreSQL server for tests: initdb + pg_ctl in a temp folder, 127.0.0.1 only.

Started from the installed binaries (PATH, then Debian's /usr/lib/postgresql/<ver>/bin).
PostgreSQL refuses to run as root, so as root the cluster belongs to an unprivileged user.
"""

from __future__ import annotations

import glob
import logging
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

_TOOLS = ("initdb", "pg_ctl", "postgres")
_TEMPLATE = "store_template"
SKIP_REASON = (
    "PostgreSQL is not installed (initdb, pg_ctl and postgres are neither on PATH nor in "
    "/usr/lib/postgresql/<version>/bin): the PostgreSQL store tests need a real server"
)


def find_bin_dir(
    search_path: str | None = None, debian_root: str = "/usr/lib/postgresql"
) -> Path | None:
    """The folder holding initdb, pg_ctl and postgres, or None if PostgreSQL is not installed.

    Looks on PATH (or `search_path`) first, then in Debian's <root>/<version>/bin, newest first.
    """
    found = shutil.which("initdb", path=search_path)
    candidates = [Path(found).parent] if found else []
    candidates += [
        Path(p) for p in sorted(glob.glob(f"{debian_root}/*/bin"), key=_version_key, reverse=True)
    ]
    for folder in candidates:
        if all((folder / tool).is_file() for tool in _TOOLS):
            return folder
    return None


def _version_key(path: str) -> int:
    """The major version in a /usr/lib/postgresql/<ver>/bin path (0 if not a number)."""
    part = Path(path).parent.name
    return int(part) if part.isdigit() else 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """One cluster in a temp folder; `url(db)` points at a database on it (trust auth)."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="moviebot-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.user = "moviebot"
        self._count = 0
        self._template_ready = False
        self._run_as: list[str] = []
        if os.geteuid() == 0:
            account = "nobody"
            info = pwd.getpwnam(account)
            os.chown(self.root, info.pw_uid, info.pw_gid)
            self._run_as = ["runuser", "-u", account, "--"]

    def _run(self, *args: str) -> None:
        """Run a PostgreSQL tool (as the unprivileged account when we are root)."""
        cmd = [*self._run_as, str(self.bin_dir / args[0]), *args[1:]]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=self.root, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stderr.strip()}")

    def start(self) -> None:
        """initdb, then start the server on 127.0.0.1 with its socket in the temp folder."""
        self._run(
            "initdb", "-D", str(self.data), "-U", self.user, "--auth=trust", "-E", "UTF8",
            "--no-locale", "--no-sync",
        )  # fmt: skip
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.root} -c fsync=off "
            "-c synchronous_commit=on -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"),
            "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self) -> None:
        """Stop the server and delete its folder."""
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except RuntimeError as exc:
            log.warning("stopping the test PostgreSQL server: %s", exc)
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        """A connection URL for one database on this server."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    async def create_database(self, *, migrated: bool = True) -> str:
        """A fresh database, migrated to the current schema (cloned from a template) or empty."""
        from bot.store import Store

        self._count += 1
        name = f"test_{self._count}"
        if not migrated:
            await self._admin(f"CREATE DATABASE {name}")
            return name
        if not self._template_ready:
            await self._admin(f"CREATE DATABASE {_TEMPLATE}")
            async with Store(self.url(_TEMPLATE)):
                pass
            self._template_ready = True
        await self._admin(f"CREATE DATABASE {name} TEMPLATE {_TEMPLATE}")
        return name

    async def drop_database(self, name: str) -> None:
        """Drop a test database, closing any connection a test left behind."""
        await self._admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    async def _admin(self, sql: str) -> None:
        """Run one statement on the maintenance database; none may hang a test."""
        import asyncpg

        admin = await asyncpg.connect(self.url(), timeout=30, command_timeout=30)
        try:
            await admin.execute(sql)
        finally:
            await admin.close(timeout=10)
