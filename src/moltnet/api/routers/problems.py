from __future__ import annotations

from fastapi import APIRouter

from moltnet.api.problems import problem_uri
from moltnet.errors import PROBLEM_TYPES, NotFound, ProblemType
from moltnet.schemas.problems import ProblemTypeRead

router = APIRouter(prefix="/problems", tags=["problems"])


def _read(problem: ProblemType) -> ProblemTypeRead:
    return ProblemTypeRead(
        type=problem_uri(problem.slug),
        title=problem.title,
        status=problem.status,
        code=problem.code,
        description=problem.description,
        common_causes=list(problem.common_causes),
    )


@router.get("", summary="List every problem type the API answers with")
async def list_problems() -> list[ProblemTypeRead]:
    return [_read(problem) for problem in PROBLEM_TYPES.values()]


@router.get("/{slug}", summary="Describe one problem type")
async def get_problem(slug: str) -> ProblemTypeRead:
    problem = PROBLEM_TYPES.get(slug)
    if problem is None:
        raise NotFound(f"no problem type named {slug[:64]!r}")
    return _read(problem)
