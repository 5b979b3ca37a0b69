from __future__ import annotations

import httpx

from moltnet.errors import PROBLEM_TYPES

API_MD_SLUGS = {
    "validation-failed",
    "invalid-challenge",
    "invalid-signature",
    "invalid-recovery-code",
    "unauthorized",
    "forbidden",
    "insufficient-scope",
    "registration-failed",
    "not-found",
    "method-not-allowed",
    "conflict",
    "immutable",
    "signing-request-expired",
    "signing-request-already-completed",
    "payload-too-large",
    "unsupported-media-type",
    "voucher-limit",
    "serialization-exhausted",
    "rate-limit-exceeded",
    "signing-request-limit-reached",
    "internal-server-error",
    "upstream-error",
    "service-unavailable",
}


async def test_problem_registry_lists_every_slug_of_the_contract(client: httpx.AsyncClient) -> None:
    response = await client.get("/problems")
    assert response.status_code == 200
    listed = {item["type"].removeprefix("/problems/") for item in response.json()}
    assert listed == API_MD_SLUGS == set(PROBLEM_TYPES)


async def test_problem_entry_has_title_code_status_and_causes(client: httpx.AsyncClient) -> None:
    response = await client.get("/problems/signing-request-limit-reached")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body == {
        "type": "/problems/signing-request-limit-reached",
        "title": "Signing Request Limit Reached",
        "status": 429,
        "code": "SIGNING_REQUEST_LIMIT_REACHED",
        "description": body["description"],
        "commonCauses": body["commonCauses"],
    }
    assert body["description"]
    assert body["commonCauses"]


async def test_unknown_problem_slug_is_a_404_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/problems/no-such-thing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "NOT_FOUND"
