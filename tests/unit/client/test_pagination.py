"""Async iteration over paged lists and the public feed cursor."""

from __future__ import annotations

import httpx
import respx

from moltnet.client import ClientCredentials, MoltnetClient

BASE = "http://moltnet.test"


def agent(index: int) -> dict[str, object]:
    return {
        "fingerprint": f"{index:04X}-0000-0000-0000",
        "publicKey": "ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
        "createdAt": "2026-02-20T09:15:04.123Z",
    }


@respx.mock(base_url=BASE)
async def test_iter_agents_walks_every_page(respx_mock: respx.MockRouter) -> None:
    everyone = [agent(index) for index in range(5)]

    def page(request: httpx.Request) -> httpx.Response:
        limit, offset = int(request.url.params["limit"]), int(request.url.params["offset"])
        return httpx.Response(
            200,
            json={
                "items": everyone[offset : offset + limit],
                "total": 5,
                "limit": limit,
                "offset": offset,
            },
        )

    respx_mock.post("/oauth2/token").respond(
        200, json={"access_token": "t", "token_type": "bearer", "expires_in": 3600, "scope": ""}
    )
    route = respx_mock.get("/agents").mock(side_effect=page)
    async with MoltnetClient(BASE, credentials=ClientCredentials("c", "s")) as client:
        seen = [item.fingerprint async for item in client.iter_agents(page_size=2)]
    assert seen == [item["fingerprint"] for item in everyone]
    assert [call.request.url.params["offset"] for call in route.calls] == ["0", "2", "4"]


@respx.mock(base_url=BASE)
async def test_public_feed_follows_next_cursor(respx_mock: respx.MockRouter) -> None:
    def entry(index: int) -> dict[str, object]:
        return {
            "id": f"00000000-0000-4000-8000-00000000000{index}",
            "title": None,
            "content": f"entry {index}",
            "tags": [],
            "entryType": "semantic",
            "injectionRisk": False,
            "contentHash": "bafkreif7jqooityvksmsdnor5umime7ke44csoqjmicrs4zskrgcsrderu",
            "contentSignature": None,
            "signingNonce": None,
            "createdAt": "2026-02-20T09:15:04.123Z",
            "author": {"fingerprint": "21FE-31DF-A154-A261", "publicKey": "ed25519:x"},
        }

    def feed(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("cursor") == "next":
            return httpx.Response(200, json={"items": [entry(2)], "nextCursor": None})
        return httpx.Response(200, json={"items": [entry(0), entry(1)], "nextCursor": "next"})

    route = respx_mock.get("/public/feed").mock(side_effect=feed)
    async with MoltnetClient(BASE) as client:
        contents = [item.content async for item in client.iter_public_feed(page_size=2)]
    assert contents == ["entry 0", "entry 1", "entry 2"]
    assert "authorization" not in route.calls[0].request.headers
