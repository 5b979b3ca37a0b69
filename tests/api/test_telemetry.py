"""OpenTelemetry: spans and metrics for a request, through in-memory exporters."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import APIRouter
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from opentelemetry.util._once import Once
from sqlalchemy import text

from moltnet.api.deps import SessionDep
from moltnet.config import OtelSettings, Settings
from moltnet.embedding.onnx import OnnxEmbedder
from moltnet.main import create_app
from moltnet.telemetry import QUEUE_LAG_METRIC, TelemetryProviders
from moltnet.workflows.enqueue import Queue
from tests.fixtures.app import http_client

router = APIRouter(prefix="/probe-otel")


@router.get("/db")
async def database_probe(session: SessionDep) -> dict[str, int]:
    value = (await session.execute(text("SELECT 41 + 1"))).scalar_one()
    return {"value": int(value)}


class Observed:
    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.metrics = InMemoryMetricReader()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.providers = TelemetryProviders(
            tracer_provider, MeterProvider(metric_readers=[self.metrics])
        )

    def metric_names(self) -> dict[str, object]:
        data = self.metrics.get_metrics_data()
        assert data is not None
        return {
            metric.name: metric.data
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
        }


@pytest.fixture(scope="module")
async def observed(settings: Settings) -> AsyncIterator[tuple[Observed, httpx.AsyncClient]]:
    observed = Observed()
    app = create_app(settings, launch_workflows=False, telemetry_providers=observed.providers)
    app.include_router(router)
    async with LifespanManager(app) as manager, http_client(manager.app) as client:
        yield observed, client


async def test_a_request_produces_server_and_database_spans(
    observed: tuple[Observed, httpx.AsyncClient],
) -> None:
    telemetry, client = observed
    telemetry.spans.clear()
    response = await client.get("/probe-otel/db")
    assert response.status_code == 200
    assert response.json() == {"value": 42}

    spans = telemetry.spans.get_finished_spans()
    [server] = [span for span in spans if span.kind is SpanKind.SERVER]
    assert server.name == "GET /probe-otel/db"
    assert server.attributes is not None
    assert server.attributes["http.route"] == "/probe-otel/db"

    def statement_of(span: ReadableSpan) -> object:
        attributes = span.attributes or {}
        return attributes.get("db.statement") or attributes.get("db.query.text")

    # Background work (pool pings, the queue-lag gauge) also queries the database in its
    # own traces; the request's statement is the one this route ran.
    database = [
        span
        for span in spans
        if span.kind is SpanKind.CLIENT and statement_of(span) == "SELECT 41 + 1"
    ]
    assert len(database) == 1, [(span.name, statement_of(span)) for span in spans]
    # the statement is a child of the request, in the same trace
    assert database[0].context.trace_id == server.context.trace_id
    assert database[0].parent is not None


async def test_request_latency_and_queue_lag_are_recorded(
    observed: tuple[Observed, httpx.AsyncClient],
) -> None:
    telemetry, client = observed
    await client.get("/probe-otel/db")
    names = telemetry.metric_names()
    assert {"http.server.duration", "http.server.request.duration"} & set(names)
    lag = names[QUEUE_LAG_METRIC]
    queues = {point.attributes["queue"] for point in lag.data_points}  # type: ignore[attr-defined]
    assert queues == {queue.value for queue in Queue}


async def test_health_checks_are_not_traced(observed: tuple[Observed, httpx.AsyncClient]) -> None:
    telemetry, client = observed
    telemetry.spans.clear()
    assert (await client.get("/health")).status_code == 200
    assert [
        span for span in telemetry.spans.get_finished_spans() if span.kind is SpanKind.SERVER
    ] == []


def test_telemetry_is_off_without_an_otlp_endpoint() -> None:
    assert not OtelSettings().enabled
    assert OtelSettings(exporter_otlp_endpoint="http://collector:4318").enabled
    assert not OtelSettings(exporter_otlp_endpoint="http://c:4318", sdk_disabled=True).enabled


@pytest.fixture
def global_spans() -> Iterator[InMemorySpanExporter]:
    """The embedder traces through the global provider, as DBOS does: install one briefly."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    previous = trace._TRACER_PROVIDER
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace.set_tracer_provider(provider)
    yield exporter
    provider.shutdown()  # anything traced later through a cached tracer is dropped
    trace._TRACER_PROVIDER = previous
    trace._TRACER_PROVIDER_SET_ONCE = Once()


async def test_embedding_batches_are_traced(global_spans: InMemorySpanExporter) -> None:
    embedder = OnnxEmbedder.from_default()
    await embedder.embed_passages(["one", "two", "three"])
    [span] = [s for s in global_spans.get_finished_spans() if s.name == "embedding.encode"]
    assert span.attributes is not None
    assert span.attributes["embedding.batch_size"] == 3
    assert span.attributes["embedding.model"] == embedder.model_id
