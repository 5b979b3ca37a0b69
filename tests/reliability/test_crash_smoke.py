"""Crash-at-any-point smoke run (≥ 10 SIGKILLs; ``make reliability`` does ≥ 200): every write
path under random kills, then the SQL invariants of reliability/crash.py."""

from __future__ import annotations

from reliability.crash import CRASH_ENV, run_crash

from tests.fixtures.server import ServerProcess

KILLS = 10


def test_the_database_is_consistent_after_random_sigkills(server_factory: object) -> None:
    server: ServerProcess = server_factory(**CRASH_ENV)  # type: ignore[operator]
    outcome = run_crash(server, kills=KILLS, seed=11, vouchers=40)
    requests = outcome["requests"]
    assert not outcome["violations"], "\n".join(outcome["violations"][:50])
    assert not outcome["server_errors"], outcome["server_errors"]
    # the workload really wrote through every path
    for name in ("create diary 201", "create entry 201", "share 201", "create signing 201"):
        assert requests.get(name, 0) > 0, (name, requests)
