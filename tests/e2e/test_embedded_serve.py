"""`moltnet serve` with no DATABASE_URL: the embedded Postgres lifecycle of `make run`."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import psutil

from tests.fixtures.server import ServerProcess


def postmaster_pid(pgdata: Path) -> int | None:
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return None
    return int(pid_file.read_text().splitlines()[0])


def running(pid: int | None) -> bool:
    return (
        pid is not None
        and psutil.pid_exists(pid)
        and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    )


def short_home(tmp_path: Path, name: str) -> Path:
    # The unix socket lives in the data directory; keep the path short.
    home = Path("/tmp") / f"mnh-{os.getpid()}-{name}"
    home.mkdir(parents=True, exist_ok=True)
    return home


def test_serve_starts_embedded_postgres_reuses_data_and_stops_it_on_ctrl_c(tmp_path: Path) -> None:
    home = short_home(tmp_path, "a")
    server = ServerProcess(None, home)
    started = time.monotonic()
    server.start()
    cold = time.monotonic() - started
    pgdata = home / "pgdata"
    assert (pgdata / "PG_VERSION").exists()
    first_pid = postmaster_pid(pgdata)
    assert running(first_pid)
    assert httpx.get(f"{server.base_url}/health/ready").status_code == 200
    assert (home / "secrets.json").stat().st_mode & 0o777 == 0o600

    assert server.stop() == 0
    assert not running(first_pid), "Ctrl-C must stop the embedded Postgres"

    started = time.monotonic()
    server.start()  # warm: the data directory exists
    warm = time.monotonic() - started
    assert httpx.get(f"{server.base_url}/health/ready").status_code == 200
    print(f"cold start {cold:.2f} s, warm start {warm:.2f} s")
    assert server.stop() == 0


def test_serve_attaches_to_the_postgres_left_by_a_crash(tmp_path: Path) -> None:
    home = short_home(tmp_path, "b")
    server = ServerProcess(None, home)
    server.start()
    pgdata = home / "pgdata"
    pid = postmaster_pid(pgdata)
    server.kill()  # SIGKILL: no shutdown hook ran; Postgres is still up
    assert running(pid)
    server.start()
    assert postmaster_pid(pgdata) == pid  # reused, not a confusing "already running" error
    assert httpx.get(f"{server.base_url}/health/ready").status_code == 200
    assert server.stop() == 0
    assert not running(pid)


def test_serve_recovers_from_a_stale_postmaster_pid_file(tmp_path: Path) -> None:
    home = short_home(tmp_path, "c")
    server = ServerProcess(None, home)
    server.start()
    assert server.stop() == 0
    pgdata = home / "pgdata"
    # A pid file naming a dead process, as a hard reboot leaves it.
    stale = "999999\n" + str(pgdata) + "\n1700000000\n5432\n/tmp\n\n  0  0\nready\n"
    (pgdata / "postmaster.pid").write_text(stale)
    server.start()
    assert httpx.get(f"{server.base_url}/health").status_code == 200
    assert server.stop() == 0


def test_two_servers_with_their_own_home_run_side_by_side(tmp_path: Path) -> None:
    first = ServerProcess(None, short_home(tmp_path, "d1"))
    second = ServerProcess(None, short_home(tmp_path, "d2"))
    first.start()
    second.start()
    try:
        assert httpx.get(f"{first.base_url}/health/ready").status_code == 200
        assert httpx.get(f"{second.base_url}/health/ready").status_code == 200
        assert first.port != second.port
    finally:
        first.stop()
        second.stop()
