"""Column helpers shared by the models."""

from __future__ import annotations

import enum

EMBEDDING_DIMENSIONS = 384


def enum_values(enum_class: type[enum.Enum]) -> list[str]:
    """Store enum *values* (``"private"``) rather than member names in Postgres enums."""
    return [str(member.value) for member in enum_class]
