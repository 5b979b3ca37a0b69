"""The permission contract every ``PermissionBackend`` must honour, as a table.

Cases are written in Keto's tuple notation with symbolic ids (``alice``, ``diary``);
each run maps every symbolic id to a fresh UUID, so one backend instance can run
the whole table without cases seeing each other's tuples. Other backends' tests
reuse this module: parametrize over ``PERMISSION_CASES`` with ``assert_case``, run
the ``CONTRACT_SCENARIOS``, or call ``run_permission_contract`` once.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from moltnet.backends.protocols import (
    PermissionBackend,
    RelationTuple,
    SubjectSet,
)

BackendFactory = Callable[[], Awaitable[PermissionBackend]]

_TUPLE = re.compile(r"^(\w+):(\w+)#(\w+)@(\w+):(\w+)(?:#(\w+))?$")


@dataclass
class SymbolicIds:
    """Maps symbolic names to UUIDs, the same UUID for the same name within one run."""

    assigned: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> str:
        return self.assigned.setdefault(name, str(uuid.uuid4()))

    def tuple(self, text: str) -> RelationTuple:
        """``"Diary:diary#owner@Agent:alice"`` with its symbolic ids made concrete."""
        match = _TUPLE.match(text)
        if match is None:
            raise ValueError(f"not a tuple: {text!r}")
        namespace, name, relation, subject_namespace, subject_name, subject_relation = (
            match.groups()
        )
        subject = SubjectSet(subject_namespace, self[subject_name], subject_relation or "")
        return RelationTuple(namespace, self[name], relation, subject)

    def tuples(self, texts: Sequence[str]) -> list[RelationTuple]:
        return [self.tuple(text) for text in texts]


@dataclass(frozen=True)
class PermissionCase:
    """Given ``tuples`` written and then ``removed`` deleted, ``check`` answers ``expected``."""

    name: str
    tuples: tuple[str, ...]
    check: str  # the permit (or relation) asked, in tuple notation
    expected: bool
    removed: tuple[str, ...] = ()


OWNER = "Diary:diary#owner@Agent:alice"
WRITER = "Diary:diary#writers@Agent:bob"
READER = "Diary:diary#readers@Agent:carol"
SHARED = (OWNER, WRITER, READER)
ENTRY = "DiaryEntry:entry#parent@Diary:diary"
OTHER_OWNER = "Diary:other_diary#owner@Agent:dave"
OTHER_ENTRY = "DiaryEntry:other_entry#parent@Diary:other_diary"


def _case(
    name: str, tuples: Sequence[str], check: str, expected: bool, *removed: str
) -> PermissionCase:
    return PermissionCase(name, tuple(tuples), check, expected, tuple(removed))


PERMISSION_CASES: tuple[PermissionCase, ...] = (
    # Diary: owner / writer / reader x read / write / manage
    _case("owner reads", SHARED, "Diary:diary#read@Agent:alice", True),
    _case("owner writes", SHARED, "Diary:diary#write@Agent:alice", True),
    _case("owner manages", SHARED, "Diary:diary#manage@Agent:alice", True),
    _case("writer reads", SHARED, "Diary:diary#read@Agent:bob", True),
    _case("writer writes", SHARED, "Diary:diary#write@Agent:bob", True),
    _case("writer cannot manage", SHARED, "Diary:diary#manage@Agent:bob", False),
    _case("reader reads", SHARED, "Diary:diary#read@Agent:carol", True),
    _case("reader cannot write", SHARED, "Diary:diary#write@Agent:carol", False),
    _case("reader cannot manage", SHARED, "Diary:diary#manage@Agent:carol", False),
    _case("stranger cannot read", SHARED, "Diary:diary#read@Agent:eve", False),
    _case("stranger cannot write", SHARED, "Diary:diary#write@Agent:eve", False),
    _case("stranger cannot manage", SHARED, "Diary:diary#manage@Agent:eve", False),
    _case("no tuples deny read", (), "Diary:diary#read@Agent:alice", False),
    _case("no tuples deny manage", (), "Diary:diary#manage@Agent:alice", False),
    _case(
        "owner of another diary cannot read this one",
        (OWNER, OTHER_OWNER),
        "Diary:diary#read@Agent:dave",
        False,
    ),
    # Relations can be checked directly; they do not imply each other.
    _case("owner relation holds for owner", SHARED, "Diary:diary#owner@Agent:alice", True),
    _case("owner relation excludes writer", SHARED, "Diary:diary#owner@Agent:bob", False),
    _case("readers relation excludes writer", SHARED, "Diary:diary#readers@Agent:bob", False),
    _case("readers relation excludes owner", SHARED, "Diary:diary#readers@Agent:alice", False),
    # DiaryEntry through its parent diary
    _case("owner views entry", (*SHARED, ENTRY), "DiaryEntry:entry#view@Agent:alice", True),
    _case("owner edits entry", (*SHARED, ENTRY), "DiaryEntry:entry#edit@Agent:alice", True),
    _case("owner deletes entry", (*SHARED, ENTRY), "DiaryEntry:entry#delete@Agent:alice", True),
    _case("writer views entry", (*SHARED, ENTRY), "DiaryEntry:entry#view@Agent:bob", True),
    _case("writer edits entry", (*SHARED, ENTRY), "DiaryEntry:entry#edit@Agent:bob", True),
    _case("writer deletes entry", (*SHARED, ENTRY), "DiaryEntry:entry#delete@Agent:bob", True),
    _case("reader views entry", (*SHARED, ENTRY), "DiaryEntry:entry#view@Agent:carol", True),
    _case("reader cannot edit entry", (*SHARED, ENTRY), "DiaryEntry:entry#edit@Agent:carol", False),
    _case(
        "reader cannot delete entry", (*SHARED, ENTRY), "DiaryEntry:entry#delete@Agent:carol", False
    ),
    _case("stranger cannot view entry", (*SHARED, ENTRY), "DiaryEntry:entry#view@Agent:eve", False),
    _case(
        "entry without parent is invisible to diary owner",
        SHARED,
        "DiaryEntry:entry#view@Agent:alice",
        False,
    ),
    _case(
        "entry of another diary is invisible to this diary's reader",
        (*SHARED, OTHER_OWNER, OTHER_ENTRY),
        "DiaryEntry:other_entry#view@Agent:carol",
        False,
    ),
    _case(
        "entry of another diary is not editable by this diary's owner",
        (*SHARED, OTHER_OWNER, OTHER_ENTRY),
        "DiaryEntry:other_entry#edit@Agent:alice",
        False,
    ),
    _case(
        "entry of another diary is editable by that diary's owner",
        (*SHARED, OTHER_OWNER, OTHER_ENTRY),
        "DiaryEntry:other_entry#edit@Agent:dave",
        True,
    ),
    _case(
        "diary permit is not granted by its entry",
        (ENTRY, "Diary:other_diary#owner@Agent:alice"),
        "Diary:diary#read@Agent:alice",
        False,
    ),
    # Agent
    _case(
        "agent acts as itself",
        ("Agent:alice#self@Agent:alice",),
        "Agent:alice#act_as@Agent:alice",
        True,
    ),
    _case(
        "another agent cannot act as it",
        ("Agent:alice#self@Agent:alice",),
        "Agent:alice#act_as@Agent:bob",
        False,
    ),
    _case("unregistered agent cannot act", (), "Agent:alice#act_as@Agent:alice", False),
    # Removed tuples deny at once
    _case("revoked reader cannot read", SHARED, "Diary:diary#read@Agent:carol", False, READER),
    _case(
        "revoked reader cannot view entry",
        (*SHARED, ENTRY),
        "DiaryEntry:entry#view@Agent:carol",
        False,
        READER,
    ),
    _case("revoked writer cannot write", SHARED, "Diary:diary#write@Agent:bob", False, WRITER),
    _case(
        "writer demoted to reader still reads",
        (*SHARED, "Diary:diary#readers@Agent:bob"),
        "Diary:diary#read@Agent:bob",
        True,
        WRITER,
    ),
    _case(
        "writer demoted to reader cannot edit entry",
        (*SHARED, ENTRY, "Diary:diary#readers@Agent:bob"),
        "DiaryEntry:entry#edit@Agent:bob",
        False,
        WRITER,
    ),
    _case(
        "removed parent link hides entry",
        (*SHARED, ENTRY),
        "DiaryEntry:entry#view@Agent:alice",
        False,
        ENTRY,
    ),
    _case("removed owner cannot manage", SHARED, "Diary:diary#manage@Agent:alice", False, OWNER),
    _case(
        "revoking a reader leaves the owner",
        SHARED,
        "Diary:diary#read@Agent:alice",
        True,
        READER,
    ),
    _case(
        "removing a tuple that was never written changes nothing",
        SHARED,
        "Diary:diary#read@Agent:carol",
        True,
        "Diary:diary#readers@Agent:eve",
    ),
)


async def assert_case(backend: PermissionBackend, case: PermissionCase) -> None:
    ids = SymbolicIds()
    await backend.write(ids.tuples(case.tuples))
    if case.removed:
        await backend.delete(ids.tuples(case.removed))
    asked = ids.tuple(case.check)
    allowed = await backend.check(asked.namespace, asked.object, asked.relation, asked.subject)
    assert allowed is case.expected, f"{case.name}: {case.check} answered {allowed}"


# --- scenarios beyond check: idempotency, bulk deletion, listing --------------------------


async def writing_twice_is_idempotent(backend: PermissionBackend) -> None:
    ids = SymbolicIds()
    owner = ids.tuple(OWNER)
    await backend.write([owner])
    await backend.write([owner])  # a retried workflow step
    assert await backend.check("Diary", ids["diary"], "manage", owner.subject)
    await backend.delete([owner])  # one delete undoes both writes: there is one tuple
    assert not await backend.check("Diary", ids["diary"], "manage", owner.subject)


async def deleting_twice_is_idempotent(backend: PermissionBackend) -> None:
    ids = SymbolicIds()
    await backend.write(ids.tuples(SHARED))
    await backend.delete([ids.tuple(READER)])
    await backend.delete([ids.tuple(READER)])  # already gone: no error
    assert not await backend.check("Diary", ids["diary"], "read", ids.tuple(READER).subject)
    assert await backend.check("Diary", ids["diary"], "read", ids.tuple(WRITER).subject)


async def deleting_an_object_removes_all_its_tuples_only(backend: PermissionBackend) -> None:
    ids = SymbolicIds()
    await backend.write(ids.tuples((*SHARED, ENTRY, OTHER_OWNER, OTHER_ENTRY)))
    await backend.delete_object("Diary", ids["diary"])
    for agent in ("alice", "bob", "carol"):
        assert not await backend.check(
            "Diary", ids["diary"], "read", SubjectSet("Agent", ids[agent])
        )
    dave = SubjectSet("Agent", ids["dave"])
    assert await backend.check("Diary", ids["other_diary"], "manage", dave)
    assert await backend.check("DiaryEntry", ids["other_entry"], "view", dave)
    await backend.delete_object("DiaryEntry", ids["other_entry"])
    assert not await backend.check("DiaryEntry", ids["other_entry"], "view", dave)
    await backend.delete_object("DiaryEntry", ids["other_entry"])  # nothing left: no error


async def listing_objects_follows_direct_relations(backend: PermissionBackend) -> None:
    ids = SymbolicIds()
    await backend.write(
        ids.tuples(
            (
                *SHARED,
                "Diary:second_diary#owner@Agent:alice",
                "Diary:third_diary#readers@Agent:alice",
                OTHER_OWNER,
            )
        )
    )
    alice = SubjectSet("Agent", ids["alice"])
    owned = await backend.list_objects("Diary", "owner", alice)
    assert sorted(owned) == sorted([ids["diary"], ids["second_diary"]])
    assert await backend.list_objects("Diary", "readers", alice) == [ids["third_diary"]]
    assert await backend.list_objects("Diary", "writers", alice) == []
    assert await backend.list_objects("Diary", "writers", SubjectSet("Agent", ids["bob"])) == [
        ids["diary"]
    ]


async def ping_answers(backend: PermissionBackend) -> None:
    await backend.ping()


CONTRACT_SCENARIOS: tuple[Callable[[PermissionBackend], Awaitable[None]], ...] = (
    writing_twice_is_idempotent,
    deleting_twice_is_idempotent,
    deleting_an_object_removes_all_its_tuples_only,
    listing_objects_follows_direct_relations,
    ping_answers,
)


async def run_permission_contract(backend_factory: BackendFactory) -> None:
    """Run every case and scenario, each against ``await backend_factory()``; report all failures."""
    failures: list[str] = []
    for case in PERMISSION_CASES:
        try:
            await assert_case(await backend_factory(), case)
        except AssertionError as error:
            failures.append(str(error))
    for scenario in CONTRACT_SCENARIOS:
        try:
            await scenario(await backend_factory())
        except AssertionError as error:
            failures.append(f"{scenario.__name__}: {error}")
    assert not failures, "permission contract broken:\n" + "\n".join(failures)
