"""The roles MoltNet needs from the outside world, one ``Protocol`` each.

Every role has an embedded implementation on our own tables (the default) and an
Ory implementation (``backends/ory``). Services depend on these protocols only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

# --- permissions (Keto role; model in keto/namespaces.ts, API.md §6) -------------------


@dataclass(frozen=True, slots=True)
class SubjectSet:
    """``namespace:object#relation``; an empty relation names the object itself (``Agent:<id>``)."""

    namespace: str
    object: str
    relation: str = ""

    def __str__(self) -> str:
        base = f"{self.namespace}:{self.object}"
        return f"{base}#{self.relation}" if self.relation else base


@dataclass(frozen=True, slots=True)
class RelationTuple:
    """One Keto relationship, e.g. ``Diary:<id>#owner@Agent:<id>``."""

    namespace: str
    object: str
    relation: str
    subject: SubjectSet

    def __str__(self) -> str:
        return f"{self.namespace}:{self.object}#{self.relation}@{self.subject}"


class PermissionBackend(Protocol):
    """Relationship storage and checks; only ``services/authz.py`` may call it."""

    async def check(
        self,
        namespace: str,
        object: str,  # noqa: A002 - Keto's own name for the field; callers pass it by keyword
        permission: str,
        subject: SubjectSet,
    ) -> bool:
        """Whether ``subject`` holds ``permission`` (a permit or a relation) on the object."""
        ...

    async def write(self, tuples: Sequence[RelationTuple]) -> None:
        """Store the tuples; writing a tuple that already exists is not an error."""
        ...

    async def delete(self, tuples: Sequence[RelationTuple]) -> None:
        """Remove the tuples that exist; missing ones are ignored."""
        ...

    async def delete_object(
        self,
        namespace: str,
        object: str,  # noqa: A002 - Keto's own name for the field; callers pass it by keyword
    ) -> None:
        """Remove every tuple whose object is ``namespace:object``."""
        ...

    async def list_objects(self, namespace: str, relation: str, subject: SubjectSet) -> list[str]:
        """Objects of ``namespace`` where ``subject`` is directly in ``relation`` (no rewrites)."""
        ...

    async def ping(self) -> None:
        """Return if the backend answers; raise ``UpstreamError`` otherwise."""
        ...
