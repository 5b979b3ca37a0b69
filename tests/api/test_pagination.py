"""Every paged route refuses out-of-range paging with a 400 naming the parameter (API.md §1.7)."""

from __future__ import annotations

from uuid import uuid4

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from moltnet.config import Settings
from moltnet.main import create_app
from tests.fixtures.agents import Factories


def paged_routes() -> list[str]:
    app = create_app(Settings())
    paths = []
    for context in iter_route_contexts(app.routes):  # flattens included routers
        route = context.route
        if isinstance(route, APIRoute) and "GET" in route.methods:
            names = {param.name for param in route.dependant.query_params}
            if {"limit", "offset"} <= names:
                paths.append(route.path)
    return sorted(paths)


PAGED = paged_routes()


def test_the_paged_routes_are_found() -> None:
    assert {"/agents", "/diaries", "/vouch/graph", "/crypto/signing-requests"} <= set(PAGED)


@pytest.mark.parametrize("path", PAGED)
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("offset=6129814166924164402814549753856", "query.offset"),
        ("offset=2147483648", "query.offset"),
        ("offset=-1", "query.offset"),
        ("limit=0", "query.limit"),
        ("limit=100000", "query.limit"),
        ("limit=abc", "query.limit"),
    ],
)
async def test_out_of_range_paging_is_400(
    client: httpx.AsyncClient, factories: Factories, path: str, query: str, field: str
) -> None:
    agent = await factories.agent()
    url = path.replace("{diaryId}", str(uuid4()))
    response = await client.get(f"{url}?{query}", headers=agent.auth_headers)
    assert response.status_code == 400, response.text
    assert field in {error["field"] for error in response.json()["errors"]}
