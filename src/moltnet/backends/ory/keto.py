"""``PermissionBackend`` over Ory Keto's REST API (read API 4466, write API 4467).

The request and response models below mirror Keto's OpenAPI (``Relationship``,
``SubjectSet``, ``CheckPermissionResult``, ``Relationships``). The HTTP plumbing is
``moltnet.backends.ory.http``.

Failures surface as ``UpstreamError`` with a short detail; Keto's response bodies
never reach the caller or the logs. Transient failures (no connection, 5xx) are
retried with exponential backoff; every call here is idempotent, so a retry that
repeats a request the server already applied is harmless.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, ValidationError

from moltnet.backends.ory.http import ErrorWording, OryAdapter, OryHttp, RetryPolicy, ory_client
from moltnet.backends.protocols import RelationTuple, SubjectSet
from moltnet.errors import UpstreamError

_PAGE_SIZE = 500
_WORDING = ErrorWording.named("permission backend")


class KetoSubjectSet(BaseModel):
    model_config = ConfigDict(frozen=True)
    namespace: str
    object: str
    relation: str  # Keto requires the key; "" names the object itself


class KetoRelationship(BaseModel):
    """Keto's ``Relationship``; we only ever write subject sets, never ``subject_id``."""

    model_config = ConfigDict(frozen=True)
    namespace: str
    object: str
    relation: str
    subject_id: str | None = None
    subject_set: KetoSubjectSet | None = None


class KetoCheckResult(BaseModel):
    allowed: bool


class KetoRelationshipPage(BaseModel):
    relation_tuples: list[KetoRelationship] = []
    next_page_token: str = ""  # "" on the last page


def _subject_set(subject: SubjectSet) -> KetoSubjectSet:
    return KetoSubjectSet(
        namespace=subject.namespace, object=subject.object, relation=subject.relation
    )


def _subject_query(subject: SubjectSet) -> dict[str, str]:
    # Keto parses a subject set from the query only when all three keys are present,
    # so the relation is sent even when empty.
    return {
        "subject_set.namespace": subject.namespace,
        "subject_set.object": subject.object,
        "subject_set.relation": subject.relation,
    }


def _relationship(relation_tuple: RelationTuple) -> KetoRelationship:
    return KetoRelationship(
        namespace=relation_tuple.namespace,
        object=relation_tuple.object,
        relation=relation_tuple.relation,
        subject_set=_subject_set(relation_tuple.subject),
    )


class KetoPermissionBackend(OryAdapter):
    """Keto as the permission backend; open it in the lifespan and ``aclose()`` it there.

    ``timeout`` bounds each HTTP request (seconds); ``retries`` is the total number of
    attempts for a transient failure; ``backoff`` is the first wait, doubled per retry.
    """

    def __init__(
        self,
        read_url: str,
        write_url: str,
        *,
        timeout: float = 5.0,
        retries: int = 3,
        backoff: float = 0.1,
    ) -> None:
        read, write = ory_client(read_url, timeout=timeout), ory_client(write_url, timeout=timeout)
        super().__init__(read, write)
        # Every call here is idempotent, so a retry that repeats an applied request is harmless.
        retry = RetryPolicy(attempts=max(1, retries), backoff=backoff)
        self._read = OryHttp(read, _WORDING, retry)
        self._write = OryHttp(write, _WORDING, retry)

    async def check(
        self,
        namespace: str,
        object: str,  # noqa: A002 - Keto's own name for the field
        permission: str,
        subject: SubjectSet,
    ) -> bool:
        # Keto's check body has the shape of a relationship whose relation is the permit.
        asked = RelationTuple(namespace, object, permission, subject)
        body = _relationship(asked).model_dump(exclude_none=True)
        # Keto answers a denied check on /relation-tuples/check with 403 {"allowed": false}.
        response = await self._read.request(
            "POST", "/relation-tuples/check", json=body, expected={200, 403}
        )
        try:
            result = KetoCheckResult.model_validate_json(response.content)
        except ValidationError:
            # A 403 without a check result comes from something other than Keto's verdict
            # (a proxy, an auth layer): that is a failure, not a denial.
            raise UpstreamError(
                f"permission backend sent an unreadable check result ({response.status_code})"
            ) from None
        return result.allowed

    async def write(self, tuples: Sequence[RelationTuple]) -> None:
        # PUT creates the tuple or leaves an identical one in place: idempotent by design.
        for relation_tuple in tuples:
            body = _relationship(relation_tuple).model_dump(exclude_none=True)
            await self._write.request(
                "PUT", "/admin/relation-tuples", json=body, expected={200, 201}
            )

    async def delete(self, tuples: Sequence[RelationTuple]) -> None:
        # Keto answers 204 whether or not the tuple existed.
        for relation_tuple in tuples:
            params = {
                "namespace": relation_tuple.namespace,
                "object": relation_tuple.object,
                "relation": relation_tuple.relation,
                **_subject_query(relation_tuple.subject),
            }
            await self._write.request(
                "DELETE", "/admin/relation-tuples", params=params, expected={204}
            )

    async def delete_object(
        self,
        namespace: str,
        object: str,  # noqa: A002 - Keto's own name for the field
    ) -> None:
        # A delete query that leaves relation and subject open removes every match.
        params = {"namespace": namespace, "object": object}
        await self._write.request("DELETE", "/admin/relation-tuples", params=params, expected={204})

    async def list_objects(self, namespace: str, relation: str, subject: SubjectSet) -> list[str]:
        params = {
            "namespace": namespace,
            "relation": relation,
            **_subject_query(subject),
            "page_size": str(_PAGE_SIZE),
        }
        objects: dict[str, None] = {}  # ordered and without duplicates
        page_token = ""
        while True:
            query = {**params, "page_token": page_token} if page_token else params
            response = await self._read.request(
                "GET", "/relation-tuples", params=query, expected={200}
            )
            try:
                page = KetoRelationshipPage.model_validate_json(response.content)
            except ValidationError:
                raise UpstreamError("permission backend sent an unreadable page") from None
            objects.update(dict.fromkeys(item.object for item in page.relation_tuples))
            if not page.next_page_token:
                return list(objects)
            page_token = page.next_page_token

    async def ping(self) -> None:
        await self._read.request("GET", "/health/ready", expected={200})
        await self._write.request("GET", "/health/ready", expected={200})
