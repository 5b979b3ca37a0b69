"""Query parameters of paged routes (API.md §1.7), declared once."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

# Postgres takes OFFSET as a bigint and fails (a 500) on larger values; no table here
# comes near 2**31 rows, so a larger offset can only be a mistake or a probe: 400.
MAX_OFFSET = 2**31 - 1

Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="rows to skip")]
Limit = Annotated[int, Query(ge=1, le=100, description="page size (1-100)")]
