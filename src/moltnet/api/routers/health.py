from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from moltnet.api.deps import StateDep
from moltnet.config import APP_VERSION
from moltnet.lifespan import ReadinessProbe
from moltnet.schemas.health import ComponentHealth, Health, Readiness

router = APIRouter(prefix="/health", tags=["health"])

PROBE_TIMEOUT_SECONDS = 5.0


@router.get("", summary="Liveness")
async def get_health() -> Health:
    return Health(timestamp=datetime.now(UTC), version=APP_VERSION)


async def _probe(probe: ReadinessProbe) -> ComponentHealth:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(probe.check(), timeout=PROBE_TIMEOUT_SECONDS)
    except TimeoutError:
        error: str | None = f"no answer within {PROBE_TIMEOUT_SECONDS:g} s"
    except Exception as failure:  # any failure makes the component not ready
        error = type(failure).__name__  # a short reason, never a DSN or a secret
    else:
        error = None
    latency = round((time.perf_counter() - started) * 1000, 2)
    return ComponentHealth(
        status="error" if error else "ok", latency_ms=latency, backend=probe.backend, error=error
    )


@router.get(
    "/ready",
    summary="Readiness of the database, DBOS and every backend",
    responses={503: {"model": Readiness, "description": "a component is failing"}},
)
async def get_readiness(state: StateDep) -> JSONResponse:
    names = list(state["probes"])
    results = await asyncio.gather(*(_probe(state["probes"][name]) for name in names))
    components = dict(zip(names, results, strict=True))
    healthy = all(result.status == "ok" for result in results)
    body = Readiness(
        status="ok" if healthy else "error", timestamp=datetime.now(UTC), components=components
    )
    return JSONResponse(
        body.model_dump(mode="json", exclude_none=True), status_code=200 if healthy else 503
    )
