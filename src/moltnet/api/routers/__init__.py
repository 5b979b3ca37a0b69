"""Every router of the API, mounted by ``main.mount_api``."""

from __future__ import annotations

from fastapi import APIRouter

from moltnet.api.routers import health, problems

ROUTERS: list[APIRouter] = [
    health.router,
    problems.router,
]
