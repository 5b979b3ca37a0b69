# ruff: noqa: S101 - scripts: asserts are checks, seeded RNGs, fixed commands
"""Schemathesis checks for the MoltNet contract (loaded with SCHEMATHESIS_HOOKS).

* ``problem_documents``: every error is an RFC 9457 problem (API.md §1.6), except the token
  endpoint's RFC 6749 bodies; 5xx carry ``requestId`` and no stack trace or SQL (a marker
  the request itself contained, echoed in a validation message, is not a leak).
* ``status_in_contract``: the status is one the operation documents, or one API.md §3 lets
  every route answer (400, 401/403, 404 for ids, 405, 409, 413, 415, 429, 503) — never
  FastAPI's 422.
* ``no_secret_members``: no JSON member named like a vector, secret, hash or password,
  except the documented ones.
* ``resource_availability``: Schemathesis's ``ensure_resource_availability`` (a resource
  just created must not be a 404), except on operations whose 404 can be about something
  the body names, which that check (reading path parameters only) takes for the resource
  just created: ``POST /diaries/{diaryId}/share`` answers 404 for an unknown invitee
  (API.md §3.6), ``POST /diaries/{diaryId}/entries`` for an unknown ``signingRequestId``
  (§3.7). The stateful phase ignores per-operation check settings, so the exception
  lives here.
"""

from __future__ import annotations

import json
import re
from typing import Any

import schemathesis
from schemathesis.specs.openapi.checks import ensure_resource_availability

SLUG = re.compile(r"^/problems/[a-z]+(-[a-z]+)*$")
GENERIC_STATUSES = {400, 401, 403, 404, 405, 409, 413, 415, 429, 503}
RFC6749_PATHS = ("/oauth2/token",)
FORBIDDEN = re.compile(
    r"(?i)(embedding|secret|password|passwd|private_?key|salt|search_?vector|workflow)"
)
ALLOWED_MEMBERS = {"clientSecret", "embeddingModel"}
BODY_NAMES_A_RESOURCE = {"POST /diaries/{diaryId}/share", "POST /diaries/{diaryId}/entries"}
LEAK_MARKERS = ("Traceback (most recent call last)", "sqlalchemy.", "asyncpg.", "psycopg.")


def header(response: Any, name: str) -> str:
    for key, values in response.headers.items():
        if key.lower() == name:
            return str(values[0]) if isinstance(values, list) else str(values)
    return ""


def body_of(response: Any) -> Any:
    try:
        return json.loads(response.content or b"null")
    except ValueError:
        return None


@schemathesis.check
def problem_documents(ctx: Any, response: Any, case: Any) -> None:
    if response.status_code < 400 or case.operation.path.startswith(RFC6749_PATHS):
        return
    media = header(response, "content-type").split(";")[0].strip()
    assert media == "application/problem+json", f"error with media type {media!r}"
    body = body_of(response)
    assert isinstance(body, dict), "problem body is not a JSON object"
    for member in ("type", "title", "status", "code"):
        assert member in body, f"problem without {member!r}"
    assert body["status"] == response.status_code, "problem status differs from the HTTP status"
    assert SLUG.match(str(body["type"])), f"problem type {body['type']!r} is not /problems/<slug>"
    slug = str(body["type"]).rsplit("/", 1)[1]
    assert body["code"] == slug.replace("-", "_").upper(), "code is not the slug in UPPER_SNAKE"
    if response.status_code >= 500:
        assert "requestId" in body, "5xx problem without requestId"
    text = response.content.decode(errors="replace")
    sent = sent_text(case)
    for marker in LEAK_MARKERS:
        # a marker the request itself carried (a field name or value echoed back in a
        # validation message) is not a leak of server internals
        assert marker not in text or marker in sent, f"error body leaks {marker!r}"


def sent_text(case: Any) -> str:
    """Everything the client sent, as text, to tell an echo from a leak."""
    parts = [case.path_parameters, case.query, case.headers, case.cookies, case.body]
    return " ".join(repr(part) for part in parts if part is not None)


@schemathesis.check
def status_in_contract(ctx: Any, response: Any, case: Any) -> None:
    status = response.status_code
    assert status != 422, "FastAPI's default 422 leaked (API.md §1.6: never)"
    documented = {int(code) for code in case.operation.responses.status_codes if code.isdigit()}
    assert status in documented | GENERIC_STATUSES or status < 300, (
        f"status {status} is neither documented nor a generic API.md §3 status"
    )


def members(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [key for name, value in node.items() for key in (name, *members(value))]
    if isinstance(node, list):
        return [key for item in node for key in members(item)]
    return []


@schemathesis.check
def no_secret_members(ctx: Any, response: Any, case: Any) -> None:
    leaked = sorted(
        {
            name
            for name in members(body_of(response))
            if FORBIDDEN.search(name) and name not in ALLOWED_MEMBERS
        }
    )
    assert not leaked, f"response exposes {leaked}"


@schemathesis.check
def resource_availability(ctx: Any, response: Any, case: Any) -> bool | None:
    if case.operation.label in BODY_NAMES_A_RESOURCE:
        return None
    return ensure_resource_availability(ctx, response, case)
