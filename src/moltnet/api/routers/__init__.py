"""Every router of the API, mounted by ``main.mount_api``."""

from __future__ import annotations

from fastapi import APIRouter

from moltnet.api.routers import (
    agents,
    auth,
    diaries,
    entries,
    health,
    hooks,
    oauth2,
    problems,
    public,
    recovery,
    search,
    shares,
    signing_requests,
    vouch,
)

ROUTERS: list[APIRouter] = [
    health.router,
    problems.router,
    vouch.router,
    signing_requests.router,
    agents.router,
    auth.router,
    oauth2.router,
    search.router,  # before diaries: /diaries/search is not a {diaryId}
    shares.router,  # before diaries: /diaries/invitations is not a {diaryId}
    diaries.router,
    entries.router,
    public.router,
    recovery.router,
    hooks.router,
]
