"""Problem documents and RFC 6749 errors become typed exceptions."""

from __future__ import annotations

import httpx
import pytest
import respx

from moltnet.client import (
    BadRequest,
    Conflict,
    Forbidden,
    MoltnetClient,
    MoltnetConnectionError,
    MoltnetProblem,
    NotFound,
    ServerError,
    TooManyRequests,
    UnexpectedResponse,
)
from moltnet.client.errors import problem_from_response

PROBLEM = "application/problem+json"


def response(status: int, body: object, media_type: str = PROBLEM) -> httpx.Response:
    return httpx.Response(status, json=body, headers={"content-type": media_type})


def test_validation_problem_carries_field_errors() -> None:
    error = problem_from_response(
        response(
            400,
            {
                "type": "/problems/validation-failed",
                "title": "Validation Failed",
                "status": 400,
                "code": "VALIDATION_FAILED",
                "detail": "the request is invalid",
                "instance": "/diaries",
                "errors": [{"field": "body.name", "message": "field required"}],
            },
        )
    )
    assert isinstance(error, BadRequest)
    assert error.slug == "validation-failed"
    assert error.code == "VALIDATION_FAILED"
    assert error.detail == "the request is invalid"
    assert error.instance == "/diaries"
    assert [(item.field, item.message) for item in error.errors] == [
        ("body.name", "field required")
    ]


@pytest.mark.parametrize(
    ("status", "slug", "kind"),
    [
        (403, "insufficient-scope", Forbidden),
        (404, "not-found", NotFound),
        (409, "immutable", Conflict),
        (429, "signing-request-limit-reached", TooManyRequests),
        (502, "upstream-error", ServerError),
        (418, "teapot", MoltnetProblem),
    ],
)
def test_problem_maps_to_its_status_class(
    status: int, slug: str, kind: type[MoltnetProblem]
) -> None:
    error = problem_from_response(
        response(status, {"type": f"/problems/{slug}", "title": "T", "status": status})
    )
    assert type(error) is kind
    assert isinstance(error, MoltnetProblem)
    assert error.slug == slug


def test_extensions_are_exposed() -> None:
    error = problem_from_response(
        response(
            403,
            {
                "type": "/problems/insufficient-scope",
                "title": "Insufficient Scope",
                "status": 403,
                "requiredScopes": ["diary:write"],
                "retryAfter": 3,
                "requestId": "abc",
            },
        )
    )
    assert isinstance(error, MoltnetProblem)
    assert error.required_scopes == ["diary:write"]
    assert error.retry_after == 3
    assert error.request_id == "abc"


def test_absolute_problem_type_still_yields_the_slug() -> None:
    error = problem_from_response(
        response(404, {"type": "https://themolt.net/problems/not-found", "status": 404})
    )
    assert isinstance(error, NotFound)
    assert error.slug == "not-found"


def test_non_problem_failure_is_unexpected_response() -> None:
    error = problem_from_response(httpx.Response(502, text="<html>bad gateway</html>"))
    assert isinstance(error, UnexpectedResponse)
    assert error.status == 502


@respx.mock(base_url="http://moltnet.test")
async def test_client_raises_the_problem(respx_mock: respx.MockRouter) -> None:
    respx_mock.get("/agents/0000-0000-0000-0000").mock(
        return_value=response(
            404, {"type": "/problems/not-found", "title": "Not Found", "status": 404}
        )
    )
    async with MoltnetClient("http://moltnet.test") as client:
        with pytest.raises(NotFound):
            await client.get_agent("0000-0000-0000-0000")


async def test_unreachable_server_is_a_connection_error() -> None:
    async with MoltnetClient("http://127.0.0.1:9", timeout=2) as client:
        with pytest.raises(MoltnetConnectionError):
            await client.get_agent("0000-0000-0000-0000")
