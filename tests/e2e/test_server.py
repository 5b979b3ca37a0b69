"""The real server over real HTTP: start, serve, survive SIGKILL, restart."""

from __future__ import annotations

import httpx

from tests.fixtures.server import ServerProcess


def test_server_serves_health_docs_and_openapi(server: ServerProcess) -> None:
    health = httpx.get(f"{server.base_url}/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert httpx.get(f"{server.base_url}/docs").status_code == 200
    assert httpx.get(f"{server.base_url}/openapi.json").json()["info"]["title"] == "MoltNet"
    ready = httpx.get(f"{server.base_url}/health/ready")
    assert ready.status_code == 200, ready.text


def test_server_comes_back_after_sigkill(server: ServerProcess) -> None:
    server.kill()
    server.start()
    assert httpx.get(f"{server.base_url}/health/ready").status_code == 200
    assert server.starts == 2


def test_ctrl_c_shuts_down_cleanly(server: ServerProcess) -> None:
    assert server.stop() == 0
