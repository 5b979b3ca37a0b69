"""The error contract (API.md §1.1, §1.5, §1.6) on hostile input.

A probe router with a typical body model is mounted on a real app (same middleware
and handlers as production), so the machinery is pinned before any domain route.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated
from uuid import UUID

import httpx
import pytest
from fastapi import APIRouter, Depends, Header, Query
from pydantic import Field

from moltnet.api.deps import NoBody
from moltnet.config import Settings
from moltnet.errors import Unauthorized
from moltnet.main import create_app
from moltnet.schemas.base import RequestModel, StrictBool, StrictInt, StrictStr
from tests.fixtures.app import http_client


class ProbeBody(RequestModel):
    name: StrictStr = Field(min_length=1, max_length=20)
    count: StrictInt = Field(default=1, ge=1, le=10)
    enabled: StrictBool = False
    tags: list[Annotated[StrictStr, Field(min_length=1, max_length=5)]] = Field(
        default_factory=list, max_length=3
    )


async def require_token(authorization: Annotated[str | None, Header()] = None) -> None:
    if authorization != "Bearer good":
        raise Unauthorized("missing or invalid token")


router = APIRouter(prefix="/probe")


@router.post("/items/{item_id}", status_code=201)
async def create_probe(
    item_id: UUID, body: ProbeBody, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> dict[str, object]:
    return {"id": str(item_id), "name": body.name, "limit": limit}


@router.post("/protected", dependencies=[Depends(require_token)])
async def protected_probe(body: ProbeBody) -> dict[str, str]:
    return {"name": body.name}


@router.post("/no-body", dependencies=[NoBody])
async def no_body_probe() -> dict[str, bool]:
    return {"success": True}


@router.get("/crash")
async def crash_probe() -> None:
    raise RuntimeError("secret internals: password=hunter2")


@pytest.fixture(scope="module")
async def probe(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, launch_workflows=False)
    app.include_router(router)
    async with http_client(app) as client:
        yield client


ITEM = "/probe/items/0b6e1a5e-4a0b-4c8e-9f0e-2f1c5d2b7a10"


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    assert body["type"] == f"/problems/{slug}"
    assert body["status"] == status
    assert body["code"] == slug.upper().replace("-", "_")
    assert body["title"] == " ".join(word.capitalize() for word in slug.split("-"))
    return body


def fields(body: dict[str, object]) -> set[str]:
    errors = body["errors"]
    assert isinstance(errors, list)
    return {error["field"] for error in errors}


async def test_valid_body_is_accepted(probe: httpx.AsyncClient) -> None:
    response = await probe.post(ITEM, json={"name": "ok", "tags": ["a"]})
    assert response.status_code == 201
    assert response.json()["name"] == "ok"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "ok", "surprise": 1}, "body.surprise"),
        ({"name": 5}, "body.name"),
        ({"name": "ok", "count": "5"}, "body.count"),
        ({"name": "ok", "count": 5.0}, "body.count"),
        ({"name": "ok", "count": True}, "body.count"),
        ({"name": "ok", "enabled": "true"}, "body.enabled"),
        ({"name": "ok", "enabled": 1}, "body.enabled"),
        ({}, "body.name"),
        ({"name": ""}, "body.name"),
        ({"name": "x" * 21}, "body.name"),
        ({"name": "ok", "tags": ["a", "b", "c", "d"]}, "body.tags"),
        ({"name": "ok", "tags": ["ok", "toolong"]}, "body.tags.1"),
        ({"name": "ok", "count": 11}, "body.count"),
    ],
)
async def test_invalid_bodies_are_400_naming_the_field(
    probe: httpx.AsyncClient, payload: dict[str, object], field: str
) -> None:
    body = assert_problem(await probe.post(ITEM, json=payload), 400, "validation-failed")
    assert field in fields(body)


async def test_unknown_field_message_says_unknown_field(probe: httpx.AsyncClient) -> None:
    body = assert_problem(
        await probe.post(ITEM, json={"name": "a", "zzz": 1}), 400, "validation-failed"
    )
    assert {"field": "body.zzz", "message": "unknown field"} in body["errors"]  # type: ignore[operator]


@pytest.mark.parametrize(
    "raw",
    [
        b"{",
        b"{'name': 'single quotes'}",
        b"nul\x00l",
        b"\xff\xfe\xfd",
        b"[" * 100_000,
        b'{"name": "ok",}',
    ],
)
async def test_malformed_json_is_400_on_field_body(probe: httpx.AsyncClient, raw: bytes) -> None:
    response = await probe.post(ITEM, content=raw, headers={"content-type": "application/json"})
    body = assert_problem(response, 400, "validation-failed")
    assert fields(body) == {"body"}


@pytest.mark.parametrize("payload", ["[1, 2]", '"just a string"', "42", "null"])
async def test_non_object_json_is_400(probe: httpx.AsyncClient, payload: str) -> None:
    response = await probe.post(ITEM, content=payload, headers={"content-type": "application/json"})
    assert_problem(response, 400, "validation-failed")


async def test_nul_character_inside_a_string_is_rejected(probe: httpx.AsyncClient) -> None:
    response = await probe.post(
        ITEM, content=b'{"name": "a\\u0000b"}', headers={"content-type": "application/json"}
    )
    body = assert_problem(response, 400, "validation-failed")
    assert fields(body) == {"body.name"}


async def test_lone_surrogate_is_rejected(probe: httpx.AsyncClient) -> None:
    response = await probe.post(
        ITEM, content=b'{"name": "\\ud800"}', headers={"content-type": "application/json"}
    )
    body = assert_problem(response, 400, "validation-failed")
    assert fields(body) == {"body.name"}


async def test_unicode_text_is_accepted_and_counted_in_code_points(
    probe: httpx.AsyncClient,
) -> None:
    name = "🦀" * 20  # 20 code points, 80 UTF-8 bytes
    response = await probe.post(ITEM, json={"name": name})
    assert response.status_code == 201
    assert response.json()["name"] == name


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml", None]
)
async def test_wrong_content_type_is_415(
    probe: httpx.AsyncClient, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = await probe.post(ITEM, content=json.dumps({"name": "ok"}), headers=headers)
    assert_problem(response, 415, "unsupported-media-type")


async def test_json_with_charset_is_accepted(probe: httpx.AsyncClient) -> None:
    response = await probe.post(
        ITEM,
        content=json.dumps({"name": "ok"}),
        headers={"content-type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 201


async def test_body_over_one_mebibyte_is_413(probe: httpx.AsyncClient) -> None:
    response = await probe.post(ITEM, json={"name": "a" * 1_048_600})
    assert_problem(response, 413, "payload-too-large")


async def test_streamed_body_over_the_limit_is_413(probe: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"x" * 65_536

    response = await probe.post(
        ITEM, content=chunks(), headers={"content-type": "application/json"}
    )
    assert_problem(response, 413, "payload-too-large")


async def test_bad_uuid_path_parameter_is_400_on_path_field(probe: httpx.AsyncClient) -> None:
    response = await probe.post("/probe/items/not-a-uuid", json={"name": "ok"})
    body = assert_problem(response, 400, "validation-failed")
    assert fields(body) == {"path.item_id"}


@pytest.mark.parametrize("limit", ["0", "101", "abc", "1.5"])
async def test_out_of_range_query_parameter_is_400_on_query_field(
    probe: httpx.AsyncClient, limit: str
) -> None:
    response = await probe.post(f"{ITEM}?limit={limit}", json={"name": "ok"})
    body = assert_problem(response, 400, "validation-failed")
    assert fields(body) == {"query.limit"}


async def test_unknown_query_parameters_are_ignored(probe: httpx.AsyncClient) -> None:
    response = await probe.post(f"{ITEM}?whatever=1", json={"name": "ok"})
    assert response.status_code == 201


async def test_anonymous_request_with_bad_body_on_protected_route_is_401(
    probe: httpx.AsyncClient,
) -> None:
    response = await probe.post(
        "/probe/protected", content=b"{broken", headers={"content-type": "application/json"}
    )
    body = assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert "errors" not in body


async def test_anonymous_request_with_wrong_media_type_on_protected_route_is_401(
    probe: httpx.AsyncClient,
) -> None:
    response = await probe.post(
        "/probe/protected", content=b"name=x", headers={"content-type": "text/plain"}
    )
    assert_problem(response, 401, "unauthorized")


async def test_authenticated_request_with_wrong_media_type_is_415(probe: httpx.AsyncClient) -> None:
    response = await probe.post(
        "/probe/protected",
        content=b"name=x",
        headers={"content-type": "text/plain", "authorization": "Bearer good"},
    )
    assert_problem(response, 415, "unsupported-media-type")


@pytest.mark.parametrize(
    ("content", "status"), [(b"", 200), (b"{}", 200), (b'{"a": 1}', 400), (b"[]", 400)]
)
async def test_no_body_routes_accept_only_nothing_or_an_empty_object(
    probe: httpx.AsyncClient, content: bytes, status: int
) -> None:
    response = await probe.post(
        "/probe/no-body", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == status


async def test_unknown_route_is_a_404_problem(probe: httpx.AsyncClient) -> None:
    body = assert_problem(await probe.get("/definitely/not/here"), 404, "not-found")
    assert body["instance"] == "/definitely/not/here"


async def test_wrong_method_is_405_with_allow_header(probe: httpx.AsyncClient) -> None:
    response = await probe.delete("/probe/protected")
    assert_problem(response, 405, "method-not-allowed")
    assert "POST" in response.headers["allow"]


async def test_unexpected_exception_is_500_without_internals(probe: httpx.AsyncClient) -> None:
    response = await probe.get("/probe/crash", headers={"X-Request-Id": "crash-1"})
    body = assert_problem(response, 500, "internal-server-error")
    assert body["requestId"] == "crash-1"
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text
    assert "Traceback" not in response.text


async def test_fastapi_default_422_never_appears(probe: httpx.AsyncClient) -> None:
    for response in [
        await probe.post(ITEM, json={"bad": True}),
        await probe.post("/probe/items/x", json={}),
        await probe.post(f"{ITEM}?limit=-1", json={"name": "ok"}),
    ]:
        assert response.status_code == 400
