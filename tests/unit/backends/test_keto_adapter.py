"""``KetoPermissionBackend`` against Keto's HTTP contract, with Keto simulated by respx.

The first tests pin the exact requests the adapter sends and how it reads Keto's
answers; the last group runs the shared permission table against a simulated Keto
that parses requests the way Keto does and decides with the same OPL model.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import respx

from moltnet.backends import opl
from moltnet.backends.ory.keto import KetoPermissionBackend
from moltnet.backends.protocols import RelationTuple, SubjectSet
from moltnet.errors import UpstreamError
from tests.unit.backends.permission_cases import (
    CONTRACT_SCENARIOS,
    PERMISSION_CASES,
    PermissionCase,
    assert_case,
)

READ_URL = "http://keto-read.test:4466"
WRITE_URL = "http://keto-write.test:4467"
ALICE = SubjectSet("Agent", "0b6f4b2e-alice")
OWNER = RelationTuple("Diary", "d-1", "owner", ALICE)
AGENT_SUBJECT_QUERY = {
    "subject_set.namespace": "Agent",
    "subject_set.object": "0b6f4b2e-alice",
    "subject_set.relation": "",
}


@pytest.fixture
def keto_api() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        yield router


@pytest.fixture
async def backend() -> AsyncIterator[KetoPermissionBackend]:
    async with KetoPermissionBackend(
        READ_URL, WRITE_URL, timeout=1.0, retries=3, backoff=0
    ) as keto:
        yield keto


def _query(request: httpx.Request) -> dict[str, str]:
    return dict(request.url.params.multi_items())


# --- the requests the adapter sends ------------------------------------------------------


async def test_check_posts_subject_set_to_read_api(
    keto_api: respx.MockRouter, backend: KetoPermissionBackend
) -> None:
    route = keto_api.post(f"{READ_URL}/relation-tuples/check").respond(200, json={"allowed": True})
    assert await backend.check("Diary", "d-1", "read", ALICE) is True
    assert json.loads(route.calls.last.request.content) == {
        "namespace": "Diary",
        "object": "d-1",
        "relation": "read",
        "subject_set": {"namespace": "Agent", "object": "0b6f4b2e-alice", "relation": ""},
    }


async def test_check_reads_403_with_verdict_as_denied(
    keto_api: respx.MockRouter, backend: KetoPermissionBackend
) -> None:
    keto_api.post(f"{READ_URL}/relation-tuples/check").respond(403, json={"allowed": False})
    assert await backend.check("Diary", "d-1", "manage", ALICE) is False


async def test_check_reads_200_with_false_verdict_as_denied(
    keto_api: respx.MockRouter, backend: KetoPermissionBackend
) -> None:
    keto_api.post(f"{READ_URL}/relation-tuples/check").respond(200, json={"allowed": False})
    assert await backend.check("Diary", "d-1", "manage", ALICE) is False


async def test_check_treats_403_without_verdict_as_upstream_failure(
    keto_api: respx.MockRouter, backend: KetoPermissionBackend
) -> None:
    keto_api.post(f"{READ_URL}/relation-tuples/check").respond(
        403, json={"error": {"code": 403, "message": "proxy says no: secret-internal-detail"}}
    )
    with pytest.raises(UpstreamError) as caught:
        await backend.check("Diary", "d-1", "read", ALICE)
    assert "secret-internal-detail" not in str(caught.value.detail)


async def test_write_puts_each_tuple_on_write_api(
    keto_api: respx.MockRouter, backend: KetoPermissionBackend
) -> None:
    route = keto_api.put(f"{WRITE_URL}/admin/relation-tuples").mock(
        side_effect=lambda request: httpx.Response(201, content=request.content)
    )
    entry = RelationTuple("DiaryEntry", "e-1", "parent", SubjectSet("Diary", "d-1"))
    await backend.write([OWNER, entry])
    bodies = [json.loads(call.request.content) for call in route.calls]
    assert bodies == [
        {
            "namespace": "Diary",
            "object": "d-1",
            "relation": "owner",
            "subject_set": {"namespace": "Agent", "object": "0b6f4b2e-alice", "relation": ""},
        },
        {
            "namespace": "DiaryEntry",
            "object": "e-1",
            "relation": "parent",
            "subject_set": {"namespace": "Diary", "object": "d-1", "relation": ""},
        },
    ]


async def test_delete_sends_full_tuple_as_query(
    keto_api: respx.MockRouter, backend: KetoPermissionBackend
) -> None:
    route = keto_api.delete(f"{WRITE_URL}/admin/relation-tuples").respond(204)
    await backend.delete([OWNER])
    assert _query(route.calls.last.request) == {
        "namespace": "Diary",
        "object": "d-1",
        "relation": "owner",
        **AGENT_SUBJECT_QUERY,
    }


async def test_delete_object_leaves_relation_and_subject_open(
    keto_api: respx.MockRouter, backend: KetoPermissionBackend
) -> None:
    route = keto_api.delete(f"{WRITE_URL}/admin/relation-tuples").respond(204)
    await backend.delete_object("DiaryEntry", "e-1")
    assert _query(route.calls.last.request) == {"namespace": "DiaryEntry", "object": "e-1"}


async def test_list_objects_follows_page_tokens(
    keto_api: respx.MockRouter, backend: KetoPermissionBackend
) -> None:
    def page(objects: list[str], next_token: str) -> httpx.Response:
        tuples = [
            {
                "namespace": "Diary",
                "object": name,
                "relation": "readers",
                "subject_set": {"namespace": "Agent", "object": "0b6f4b2e-alice", "relation": ""},
            }
            for name in objects
        ]
        return httpx.Response(200, json={"relation_tuples": tuples, "next_page_token": next_token})

    route = keto_api.get(f"{READ_URL}/relation-tuples").mock(
        side_effect=[page(["d-1", "d-2"], "token-2"), page(["d-3"], "")]
    )
    assert await backend.list_objects("Diary", "readers", ALICE) == ["d-1", "d-2", "d-3"]
    first, second = (_query(call.request) for call in route.calls)
    expected = {"namespace": "Diary", "relation": "readers", **AGENT_SUBJECT_QUERY}
    assert {key: first[key] for key in expected} == expected
    assert "page_token" not in first
    assert second["page_token"] == "token-2"


async def test_ping_asks_both_apis_for_readiness(
    keto_api: respx.MockRouter, backend: KetoPermissionBackend
) -> None:
    read = keto_api.get(f"{READ_URL}/health/ready").respond(200, json={"status": "ok"})
    write = keto_api.get(f"{WRITE_URL}/health/ready").respond(200, json={"status": "ok"})
    await backend.ping()
    assert read.called
    assert write.called


async def test_ping_fails_when_write_api_is_not_ready(
    keto_api: respx.MockRouter, backend: KetoPermissionBackend
) -> None:
    keto_api.get(f"{READ_URL}/health/ready").respond(200, json={"status": "ok"})
    keto_api.get(f"{WRITE_URL}/health/ready").respond(503, json={"errors": {"database": "down"}})
    with pytest.raises(UpstreamError, match="503"):
        await backend.ping()


# --- failures ----------------------------------------------------------------------------


async def test_server_error_is_retried_until_success(
    keto_api: respx.MockRouter, backend: KetoPermissionBackend
) -> None:
    keto_api.post(f"{READ_URL}/relation-tuples/check").mock(
        side_effect=[
            httpx.Response(500),
            httpx.Response(502),
            httpx.Response(200, json={"allowed": True}),
        ]
    )
    assert await backend.check("Diary", "d-1", "read", ALICE) is True


async def test_persistent_server_error_becomes_upstream_error_without_body(
    keto_api: respx.MockRouter, backend: KetoPermissionBackend
) -> None:
    keto_api.put(f"{WRITE_URL}/admin/relation-tuples").respond(
        500, json={"error": {"message": "pq: password authentication failed for user keto"}}
    )
    with pytest.raises(UpstreamError) as caught:
        await backend.write([OWNER])
    assert caught.value.status == 502
    assert caught.value.detail is not None
    assert "500" in caught.value.detail
    assert "password" not in caught.value.detail


async def test_client_error_is_not_retried(
    keto_api: respx.MockRouter, backend: KetoPermissionBackend
) -> None:
    # Were the 400 retried, the second answer would make the write succeed.
    keto_api.put(f"{WRITE_URL}/admin/relation-tuples").mock(
        side_effect=[httpx.Response(400, json={"error": {"code": 400}}), httpx.Response(201)]
    )
    with pytest.raises(UpstreamError, match="rejected"):
        await backend.write([OWNER])


async def test_connect_error_is_retried_until_success(
    keto_api: respx.MockRouter, backend: KetoPermissionBackend
) -> None:
    keto_api.delete(f"{WRITE_URL}/admin/relation-tuples").mock(
        side_effect=[httpx.ConnectError("refused"), httpx.Response(204)]
    )
    await backend.delete([OWNER])


async def test_unreachable_keto_becomes_upstream_error(
    keto_api: respx.MockRouter, backend: KetoPermissionBackend
) -> None:
    keto_api.post(f"{READ_URL}/relation-tuples/check").mock(
        side_effect=httpx.ConnectError("refused")
    )
    with pytest.raises(UpstreamError, match="unreachable"):
        await backend.check("Diary", "d-1", "read", ALICE)


async def test_read_timeout_becomes_upstream_error_without_retry(
    keto_api: respx.MockRouter, backend: KetoPermissionBackend
) -> None:
    # Were the timeout retried, the second answer would allow the check.
    keto_api.post(f"{READ_URL}/relation-tuples/check").mock(
        side_effect=[httpx.ReadTimeout("slow"), httpx.Response(200, json={"allowed": True})]
    )
    with pytest.raises(UpstreamError, match="timed out"):
        await backend.check("Diary", "d-1", "read", ALICE)


async def test_unreadable_list_page_becomes_upstream_error(
    keto_api: respx.MockRouter, backend: KetoPermissionBackend
) -> None:
    keto_api.get(f"{READ_URL}/relation-tuples").respond(200, text="<html>gateway</html>")
    with pytest.raises(UpstreamError, match="unreadable"):
        await backend.list_objects("Diary", "owner", ALICE)


# --- the shared permission table against a simulated Keto ---------------------------------


class SimulatedKeto:
    """Keto's REST semantics over a set of tuples, deciding with the OPL model."""

    def __init__(self, router: respx.MockRouter) -> None:
        self.tuples: set[RelationTuple] = set()
        router.post(f"{READ_URL}/relation-tuples/check").mock(side_effect=self.check)
        router.get(f"{READ_URL}/relation-tuples").mock(side_effect=self.list)
        router.put(f"{WRITE_URL}/admin/relation-tuples").mock(side_effect=self.put)
        router.delete(f"{WRITE_URL}/admin/relation-tuples").mock(side_effect=self.delete)
        for url in (READ_URL, WRITE_URL):
            router.get(f"{url}/health/ready").respond(200, json={"status": "ok"})

    @staticmethod
    def _tuple(body: dict[str, object]) -> RelationTuple:
        subject = body["subject_set"]
        assert isinstance(subject, dict)
        assert set(subject) == {"namespace", "object", "relation"}
        return RelationTuple(
            str(body["namespace"]),
            str(body["object"]),
            str(body["relation"]),
            SubjectSet(subject["namespace"], subject["object"], subject["relation"]),
        )

    @staticmethod
    def _subject(query: dict[str, str]) -> SubjectSet | None:
        keys = ("subject_set.namespace", "subject_set.object", "subject_set.relation")
        present = [key in query for key in keys]
        if not any(present):
            return None
        assert all(present), "Keto needs all three subject_set.* keys"
        return SubjectSet(*(query[key] for key in keys))

    async def _lookup(self, namespace: str, object_id: str, relation: str) -> set[SubjectSet]:
        return {
            t.subject
            for t in self.tuples
            if (t.namespace, t.object, t.relation) == (namespace, object_id, relation)
        }

    async def check(self, request: httpx.Request) -> httpx.Response:
        asked = self._tuple(json.loads(request.content))
        try:
            allowed = await opl.evaluate(
                self._lookup, asked.namespace, asked.object, asked.relation, asked.subject
            )
        except ValueError:
            return httpx.Response(400, json={"error": {"code": 400}})
        return httpx.Response(200 if allowed else 403, json={"allowed": allowed})

    def put(self, request: httpx.Request) -> httpx.Response:
        relation_tuple = self._tuple(json.loads(request.content))
        try:
            opl.validate_tuple(relation_tuple)
        except ValueError:
            return httpx.Response(400, json={"error": {"code": 400}})
        self.tuples.add(relation_tuple)
        return httpx.Response(201, content=request.content)

    def _matches(self, query: dict[str, str], stored: RelationTuple) -> bool:
        subject = self._subject(query)
        return all(
            query[key] == getattr(stored, key)
            for key in ("namespace", "object", "relation")
            if key in query
        ) and (subject is None or subject == stored.subject)

    def delete(self, request: httpx.Request) -> httpx.Response:
        query = _query(request)
        assert "namespace" in query, "the adapter must never send an unbounded delete"
        self.tuples = {t for t in self.tuples if not self._matches(query, t)}
        return httpx.Response(204)

    def list(self, request: httpx.Request) -> httpx.Response:
        query = _query(request)
        matching = sorted((t for t in self.tuples if self._matches(query, t)), key=str)
        start = int(query.get("page_token") or 0)
        size = 2  # tiny pages, so every listing exercises pagination
        window = matching[start : start + size]
        next_token = str(start + size) if start + size < len(matching) else ""
        body = {
            "relation_tuples": [
                {
                    "namespace": t.namespace,
                    "object": t.object,
                    "relation": t.relation,
                    "subject_set": {
                        "namespace": t.subject.namespace,
                        "object": t.subject.object,
                        "relation": t.subject.relation,
                    },
                }
                for t in window
            ],
            "next_page_token": next_token,
        }
        return httpx.Response(200, json=body)


@pytest.fixture
def simulated_keto(keto_api: respx.MockRouter) -> SimulatedKeto:
    return SimulatedKeto(keto_api)


@pytest.mark.parametrize("case", PERMISSION_CASES, ids=lambda case: case.name)
async def test_keto_backend_answers_permission_case(
    simulated_keto: SimulatedKeto, backend: KetoPermissionBackend, case: PermissionCase
) -> None:
    await assert_case(backend, case)


@pytest.mark.parametrize("scenario", CONTRACT_SCENARIOS, ids=lambda scenario: scenario.__name__)
async def test_keto_backend_honours_contract_scenario(
    simulated_keto: SimulatedKeto, backend: KetoPermissionBackend, scenario: object
) -> None:
    assert callable(scenario)
    await scenario(backend)
