"""``PermissionBackend`` on our own table ``embedded.relation_tuples``.

Checks run ``opl.evaluate`` (the transcription of ``keto/namespaces.ts``) with a lookup
that reads the table, one short transaction per call. Writes are idempotent
(``INSERT ... ON CONFLICT DO NOTHING``) and deletes remove what exists, so DBOS steps
that run more than once are harmless.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, delete, or_, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from moltnet.backends import opl
from moltnet.backends.protocols import RelationTuple, SubjectSet
from moltnet.db.models import RelationTupleRow


def _traversed_relations(namespace: str) -> list[str]:
    """Relations whose members a rule of ``namespace`` walks to (``DiaryEntry#parent``)."""
    model = opl.NAMESPACES.get(namespace)
    if model is None:
        return []
    return sorted(
        {
            rule.relation
            for rules in model.permits.values()
            for rule in rules
            if isinstance(rule, opl.Traverse)
        }
    )


def _values(relation_tuple: RelationTuple) -> dict[str, str]:
    return {
        "namespace": relation_tuple.namespace,
        "object": relation_tuple.object,
        "relation": relation_tuple.relation,
        "subject_namespace": relation_tuple.subject.namespace,
        "subject_object": relation_tuple.subject.object,
        "subject_relation": relation_tuple.subject.relation,
    }


class EmbeddedPermissionBackend:
    kind = "embedded"

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def check(
        self,
        namespace: str,
        object: str,  # noqa: A002 - Keto's own name for the field
        permission: str,
        subject: SubjectSet,
    ) -> bool:
        async with self._sessionmaker() as session:
            # One query per object visited: a permit asks several relations of one object
            # (read = owner | writers | readers). Only rows that can matter are loaded: the
            # asked subject itself, and the targets of relations a rule traverses, so a
            # diary with thousands of readers costs one indexed probe, not a scan.
            loaded: dict[tuple[str, str], dict[str, set[SubjectSet]]] = {}

            async def lookup(namespace: str, object_id: str, relation: str) -> set[SubjectSet]:
                key = (namespace, object_id)
                if key not in loaded:
                    statement = select(
                        RelationTupleRow.relation,
                        RelationTupleRow.subject_namespace,
                        RelationTupleRow.subject_object,
                        RelationTupleRow.subject_relation,
                    ).where(
                        RelationTupleRow.namespace == namespace,
                        RelationTupleRow.object == object_id,
                        or_(
                            and_(
                                RelationTupleRow.subject_namespace == subject.namespace,
                                RelationTupleRow.subject_object == subject.object,
                                RelationTupleRow.subject_relation == subject.relation,
                            ),
                            RelationTupleRow.relation.in_(_traversed_relations(namespace)),
                        ),
                    )
                    by_relation: dict[str, set[SubjectSet]] = {}
                    for row in await session.execute(statement):
                        by_relation.setdefault(row[0], set()).add(
                            SubjectSet(row[1], row[2], row[3])
                        )
                    loaded[key] = by_relation
                return loaded[key].get(relation, set())

            return await opl.evaluate(lookup, namespace, object, permission, subject)

    async def write(self, tuples: Sequence[RelationTuple]) -> None:
        if not tuples:
            return
        for relation_tuple in tuples:
            opl.validate_tuple(relation_tuple)  # as Keto refuses tuples its OPL does not type
        statement = (
            insert(RelationTupleRow)
            # sorted, so concurrent writers of overlapping sets lock rows in one order
            .values(sorted((_values(item) for item in tuples), key=lambda row: tuple(row.values())))
            .on_conflict_do_nothing(constraint="uq_relation_tuples_tuple")
        )
        async with self._sessionmaker.begin() as session:
            await session.execute(statement)

    async def delete(self, tuples: Sequence[RelationTuple]) -> None:
        if not tuples:
            return
        columns = (
            RelationTupleRow.namespace,
            RelationTupleRow.object,
            RelationTupleRow.relation,
            RelationTupleRow.subject_namespace,
            RelationTupleRow.subject_object,
            RelationTupleRow.subject_relation,
        )
        keys = [tuple(_values(relation_tuple).values()) for relation_tuple in tuples]
        statement = delete(RelationTupleRow).where(tuple_(*columns).in_(keys))
        async with self._sessionmaker.begin() as session:
            await session.execute(statement)

    async def delete_object(
        self,
        namespace: str,
        object: str,  # noqa: A002 - Keto's own name for the field
    ) -> None:
        statement = delete(RelationTupleRow).where(
            and_(RelationTupleRow.namespace == namespace, RelationTupleRow.object == object)
        )
        async with self._sessionmaker.begin() as session:
            await session.execute(statement)

    async def list_objects(self, namespace: str, relation: str, subject: SubjectSet) -> list[str]:
        opl.validate_relation(namespace, relation)
        statement = (
            select(RelationTupleRow.object)
            .where(
                RelationTupleRow.namespace == namespace,
                RelationTupleRow.relation == relation,
                RelationTupleRow.subject_namespace == subject.namespace,
                RelationTupleRow.subject_object == subject.object,
                RelationTupleRow.subject_relation == subject.relation,
            )
            .distinct()
            .order_by(RelationTupleRow.object)
        )
        async with self._sessionmaker() as session:
            return list((await session.scalars(statement)).all())

    async def ping(self) -> None:
        async with self._sessionmaker() as session:
            await session.execute(text("SELECT 1 FROM embedded.relation_tuples LIMIT 1"))
