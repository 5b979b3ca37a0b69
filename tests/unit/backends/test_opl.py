"""The OPL evaluator and the fake built on it, against the shared permission table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from moltnet.backends import opl
from moltnet.backends.protocols import RelationTuple, SubjectSet
from tests.fakes.permissions import FakePermissionBackend
from tests.unit.backends.permission_cases import (
    CONTRACT_SCENARIOS,
    PERMISSION_CASES,
    PermissionCase,
    assert_case,
    run_permission_contract,
)

ALICE = SubjectSet("Agent", "alice")
NAMESPACES_TS = Path(__file__).parents[3] / "keto" / "namespaces.ts"


@pytest.mark.parametrize("case", PERMISSION_CASES, ids=lambda case: case.name)
async def test_fake_backend_answers_permission_case(case: PermissionCase) -> None:
    await assert_case(FakePermissionBackend(), case)


@pytest.mark.parametrize("scenario", CONTRACT_SCENARIOS, ids=lambda scenario: scenario.__name__)
async def test_fake_backend_honours_contract_scenario(scenario: object) -> None:
    assert callable(scenario)
    await scenario(FakePermissionBackend())


async def test_contract_runner_passes_for_one_shared_backend() -> None:
    shared = FakePermissionBackend()

    async def same_backend() -> FakePermissionBackend:
        return shared

    await run_permission_contract(same_backend)


async def test_contract_runner_reports_a_backend_that_allows_everything() -> None:
    class Permissive(FakePermissionBackend):
        async def check(self, *args: object, **kwargs: object) -> bool:
            return True

    async def permissive() -> Permissive:
        return Permissive()

    with pytest.raises(AssertionError, match="reader cannot write"):
        await run_permission_contract(permissive)


def _lookup_over(*tuples: RelationTuple) -> opl.Lookup:
    async def lookup(namespace: str, object_id: str, relation: str) -> set[SubjectSet]:
        return {
            t.subject
            for t in tuples
            if (t.namespace, t.object, t.relation) == (namespace, object_id, relation)
        }

    return lookup


ENTRY_IN_DIARY = (
    RelationTuple("Diary", "d1", "owner", ALICE),
    RelationTuple("DiaryEntry", "e1", "parent", SubjectSet("Diary", "d1")),
)


async def test_evaluate_denies_entry_view_beyond_max_depth() -> None:
    lookup = _lookup_over(*ENTRY_IN_DIARY)
    assert await opl.evaluate(lookup, "DiaryEntry", "e1", "view", ALICE, max_depth=2)
    assert not await opl.evaluate(lookup, "DiaryEntry", "e1", "view", ALICE, max_depth=1)


async def test_evaluate_ignores_parent_that_is_not_a_diary() -> None:
    # DiaryEntry.parent is typed Diary[]; a stray Agent subject must not be traversed.
    lookup = _lookup_over(
        RelationTuple("Diary", "d1", "owner", ALICE),
        RelationTuple("DiaryEntry", "e1", "parent", SubjectSet("Agent", "alice")),
    )
    assert not await opl.evaluate(lookup, "DiaryEntry", "e1", "view", ALICE)


async def test_evaluate_does_not_match_subject_with_another_relation() -> None:
    lookup = _lookup_over(*ENTRY_IN_DIARY)
    assert not await opl.evaluate(
        lookup, "Diary", "d1", "read", SubjectSet("Agent", "alice", "self")
    )


async def test_evaluate_rejects_unknown_namespace() -> None:
    with pytest.raises(ValueError, match="unknown namespace"):
        await opl.evaluate(_lookup_over(), "Folder", "f1", "read", ALICE)


async def test_evaluate_rejects_unknown_permission() -> None:
    with pytest.raises(ValueError, match="no permit or relation 'view'"):
        await opl.evaluate(_lookup_over(), "Diary", "d1", "view", ALICE)


@pytest.mark.parametrize(
    "relation_tuple",
    [
        RelationTuple("Diary", "d1", "read", ALICE),  # a permit, not a relation
        RelationTuple("Diary", "d1", "owner", SubjectSet("Diary", "d2")),  # wrong subject type
        RelationTuple(
            "Diary", "d1", "owner", SubjectSet("Agent", "a", "self")
        ),  # not a plain Agent
        RelationTuple("DiaryEntry", "e1", "parent", ALICE),
        RelationTuple("Folder", "f1", "owner", ALICE),
    ],
    ids=str,
)
async def test_fake_backend_rejects_tuples_the_opl_does_not_declare(
    relation_tuple: RelationTuple,
) -> None:
    backend = FakePermissionBackend()
    with pytest.raises(ValueError, match=r"no relation|OPL type|unknown namespace"):
        await backend.write([relation_tuple])
    assert backend.tuples == set()


def test_relation_tuple_renders_in_keto_notation() -> None:
    owner = RelationTuple("Diary", "d1", "owner", SubjectSet("Agent", "a1"))
    assert str(owner) == "Diary:d1#owner@Agent:a1"
    assert str(SubjectSet("Diary", "d1", "readers")) == "Diary:d1#readers"
    assert len({owner, RelationTuple("Diary", "d1", "owner", SubjectSet("Agent", "a1"))}) == 1


def _declared_in_ts() -> dict[str, tuple[set[str], set[str]]]:
    """Relations and permits per class in keto/namespaces.ts (a light parse of our own file)."""
    text = NAMESPACES_TS.read_text()
    declared: dict[str, tuple[set[str], set[str]]] = {}
    for match in re.finditer(r"class (\w+) implements Namespace \{(.*?)\n\}", text, re.DOTALL):
        body = match.group(2)
        related = re.search(r"related: \{(.*?)\}", body, re.DOTALL)
        permits = re.search(r"permits = \{(.*)\}", body, re.DOTALL)
        assert related is not None
        relations = set(re.findall(r"(\w+): \w+\[\]", related.group(1)))
        names = set(re.findall(r"(\w+): \(ctx: Context\)", permits.group(1))) if permits else set()
        declared[match.group(1)] = (relations, names)
    return declared


def test_model_declares_what_namespaces_ts_declares() -> None:
    declared = {
        name: (set(model.relations), set(model.permits)) for name, model in opl.NAMESPACES.items()
    }
    assert declared == _declared_in_ts()
