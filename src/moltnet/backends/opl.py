"""The permission model of ``keto/namespaces.ts`` as data, and an evaluator for it.

Keto evaluates the OPL file; the embedded backend and the test fake evaluate
``NAMESPACES`` with ``evaluate``. Both must agree, so the model is transcribed
literally: a permit is a union of rules, each rule either a direct relation
(``this.related.owner.includes(ctx.subject)``) or a tuple-to-subject-set step
(``this.related.parent.traverse(p => p.permits.read(ctx))``).

No relation is typed ``SubjectSet<…>`` in the OPL, so every stored subject is a
plain object (``Agent:<id>``, ``Diary:<id>``) and ``includes`` is a membership test.
``validate_tuple`` rejects anything else before it reaches storage.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TypeAlias

from moltnet.backends.protocols import RelationTuple, SubjectSet

# Keto's default ``limit.max_read_depth``; keto/keto.yml sets the same value.
DEFAULT_MAX_DEPTH = 5

Lookup: TypeAlias = Callable[[str, str, str], Awaitable[Collection[SubjectSet]]]
"""``lookup(namespace, object, relation)`` returns the subjects stored in that relation."""


@dataclass(frozen=True, slots=True)
class Direct:
    """``this.related.<relation>.includes(ctx.subject)``."""

    relation: str


@dataclass(frozen=True, slots=True)
class Traverse:
    """``this.related.<relation>.traverse((p) => p.permits.<permission>(ctx))``."""

    relation: str
    permission: str


Rule: TypeAlias = Direct | Traverse


@dataclass(frozen=True, slots=True)
class NamespaceModel:
    relations: Mapping[str, frozenset[str]]  # relation -> namespaces its subjects belong to
    permits: Mapping[str, tuple[Rule, ...]]  # permit -> rules, any of which grants it


NAMESPACES: Mapping[str, NamespaceModel] = MappingProxyType(
    {
        "Agent": NamespaceModel(
            relations={"self": frozenset({"Agent"})},
            permits={"act_as": (Direct("self"),)},
        ),
        "Diary": NamespaceModel(
            relations={
                "owner": frozenset({"Agent"}),
                "writers": frozenset({"Agent"}),
                "readers": frozenset({"Agent"}),
            },
            permits={
                "read": (Direct("owner"), Direct("writers"), Direct("readers")),
                "write": (Direct("owner"), Direct("writers")),
                "manage": (Direct("owner"),),
            },
        ),
        "DiaryEntry": NamespaceModel(
            relations={"parent": frozenset({"Diary"})},
            permits={
                "view": (Traverse("parent", "read"),),
                "edit": (Traverse("parent", "write"),),
                "delete": (Traverse("parent", "write"),),
            },
        ),
    }
)


def _namespace(name: str) -> NamespaceModel:
    model = NAMESPACES.get(name)
    if model is None:
        raise ValueError(f"unknown namespace {name!r}")
    return model


def rules_for(namespace: str, permission: str) -> tuple[Rule, ...]:
    """The rules of a permit; a relation name checks the relation itself, as Keto does."""
    model = _namespace(namespace)
    if permission in model.permits:
        return model.permits[permission]
    if permission in model.relations:
        return (Direct(permission),)
    raise ValueError(f"{namespace!r} has no permit or relation {permission!r}")


def validate_relation(namespace: str, relation: str) -> None:
    """Raise ``ValueError`` unless ``relation`` is declared on ``namespace``."""
    if relation not in _namespace(namespace).relations:
        raise ValueError(f"{namespace!r} has no relation {relation!r}")


def validate_tuple(relation_tuple: RelationTuple) -> None:
    """Raise ``ValueError`` unless the OPL types allow this tuple to be stored."""
    validate_relation(relation_tuple.namespace, relation_tuple.relation)
    allowed = _namespace(relation_tuple.namespace).relations[relation_tuple.relation]
    subject = relation_tuple.subject
    if subject.namespace not in allowed or subject.relation:
        raise ValueError(f"{relation_tuple} does not match the OPL type of its relation")


async def evaluate(
    lookup: Lookup,
    namespace: str,
    object: str,  # noqa: A002 - Keto's own name for the field
    permission: str,
    subject: SubjectSet,
    *,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> bool:
    """Whether ``subject`` has ``permission`` on ``namespace:object``.

    Unknown namespaces or permissions raise ``ValueError``: they are programming
    errors, not denials. A check deeper than ``max_depth`` is denied, as in Keto.
    """
    return await _satisfies(
        lookup, namespace, object, rules_for(namespace, permission), subject, max_depth
    )


async def _satisfies(
    lookup: Lookup,
    namespace: str,
    object_id: str,
    rules: tuple[Rule, ...],
    subject: SubjectSet,
    depth: int,
) -> bool:
    if depth <= 0:
        return False
    for rule in rules:
        members = await lookup(namespace, object_id, rule.relation)
        if isinstance(rule, Direct):
            if subject in members:
                return True
            continue
        for target in members:
            if (
                target.relation
                or target.namespace not in _namespace(namespace).relations[rule.relation]
            ):
                continue  # not something the OPL type lets this relation point at
            target_rules = rules_for(target.namespace, rule.permission)
            if await _satisfies(
                lookup, target.namespace, target.object, target_rules, subject, depth - 1
            ):
                return True
    return False
