"""``FakePermissionBackend``: relationships in a set, checks by the real OPL evaluator."""

from __future__ import annotations

from collections.abc import Sequence

from moltnet.backends import opl
from moltnet.backends.protocols import RelationTuple, SubjectSet


class FakePermissionBackend:
    """Behaves like Keto for our model: idempotent writes, delete-if-present, OPL checks."""

    def __init__(self, tuples: Sequence[RelationTuple] = ()) -> None:
        self.tuples: set[RelationTuple] = set()
        for relation_tuple in tuples:
            opl.validate_tuple(relation_tuple)
            self.tuples.add(relation_tuple)

    async def _lookup(self, namespace: str, object_id: str, relation: str) -> set[SubjectSet]:
        return {
            stored.subject
            for stored in self.tuples
            if (stored.namespace, stored.object, stored.relation)
            == (namespace, object_id, relation)
        }

    async def check(
        self,
        namespace: str,
        object: str,  # noqa: A002 - Keto's own name for the field
        permission: str,
        subject: SubjectSet,
    ) -> bool:
        return await opl.evaluate(self._lookup, namespace, object, permission, subject)

    async def write(self, tuples: Sequence[RelationTuple]) -> None:
        for relation_tuple in tuples:
            opl.validate_tuple(relation_tuple)  # Keto rejects tuples its OPL does not declare
        self.tuples.update(tuples)

    async def delete(self, tuples: Sequence[RelationTuple]) -> None:
        self.tuples.difference_update(tuples)

    async def delete_object(
        self,
        namespace: str,
        object: str,  # noqa: A002 - Keto's own name for the field
    ) -> None:
        self.tuples = {
            stored
            for stored in self.tuples
            if (stored.namespace, stored.object) != (namespace, object)
        }

    async def list_objects(self, namespace: str, relation: str, subject: SubjectSet) -> list[str]:
        opl.validate_relation(namespace, relation)
        return sorted(
            {
                stored.object
                for stored in self.tuples
                if (stored.namespace, stored.relation, stored.subject)
                == (namespace, relation, subject)
            }
        )

    async def ping(self) -> None:
        return None
