from __future__ import annotations

from typing import Literal

from moltnet.schemas.base import ResponseModel, Timestamp


class Health(ResponseModel):
    status: Literal["ok"] = "ok"
    timestamp: Timestamp
    version: str


class ComponentHealth(ResponseModel):
    status: Literal["ok", "error"]
    latency_ms: float
    backend: str | None = None
    error: str | None = None


class Readiness(ResponseModel):
    status: Literal["ok", "error"]
    timestamp: Timestamp
    components: dict[str, ComponentHealth]
