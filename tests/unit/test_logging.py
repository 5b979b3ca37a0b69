from __future__ import annotations

import io
import json
import logging
import sys

import pytest

from moltnet.telemetry import configure_logging


def test_logs_follow_the_current_stderr_and_redact_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    first = io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    configure_logging("INFO", "json")
    first.close()  # as a test runner or CLI runner does with its captured stream
    second = io.StringIO()
    monkeypatch.setattr(sys, "stderr", second)
    logging.getLogger("moltnet.test").info("hello", extra={"client_secret": "s3cr3t"})
    import structlog

    structlog.get_logger("moltnet.test").info(
        "token issued", client_secret="s3cr3t", request_id="r1"
    )
    lines = [json.loads(line) for line in second.getvalue().splitlines()]
    assert lines[0]["event"] == "hello"
    assert lines[1]["client_secret"] == "[redacted]"
    assert lines[1]["request_id"] == "r1"
    assert "s3cr3t" not in second.getvalue()
