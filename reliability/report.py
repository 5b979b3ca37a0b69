"""Regenerate docs/RELIABILITY.md from the JSON results of fuzz, load and crash, with the
date and commit.

    uv run python -m reliability.report
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

from reliability.harness import DOCS, git_commit

RESULTS = DOCS / "reliability"


def load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def fuzz_section(fuzz: dict[str, Any] | None) -> list[str]:
    if fuzz is None:
        return ["_not run_"]
    lines = [
        f"* operations tested: **{fuzz['operations']}**, test cases generated: "
        f"**{fuzz['generated']}**, with failures: **{fuzz['with_failures']}** "
        f"(unique failures {fuzz['unique_failures']}, errors {fuzz['errors']}), "
        f"{fuzz['running_time_s']} s, exit code {fuzz['exit_code']}",
        "* phases: examples, coverage, fuzzing, stateful (links inferred by Schemathesis 4);"
        " checks: not_a_server_error, response_schema_conformance, content_type_conformance,"
        " negative_data_rejection, ignored_auth, use_after_free,"
        " and MoltNet's problem_documents, status_in_contract, no_secret_members,"
        " resource_availability (ensure_resource_availability except a 404 about something"
        " the body names)"
        " (reliability/fuzz_checks.py)",
    ]
    for failure in fuzz.get("failures", [])[:20]:
        lines.append(f"  * failure: `{json.dumps(failure)[:300]}`")
    return lines


def load_section(result: dict[str, Any] | None) -> list[str]:
    if result is None:
        return ["_not run_"]
    lines = [
        f"* {result['agents']} concurrent agents for {result['seconds']} s: "
        f"**{result['requests']} requests, {result['throughput_rps']} req/s**, "
        f"errors **{result['error_count']}** {result['errors'] or ''}",
        f"* Postgres connections (max): {result['pg_connections_max']}; server RSS (max): "
        f"{result['rss_mib_max']} MiB",
        "",
        "| operation | count | p50 ms | p95 ms | p99 ms |",
        "|---|---|---|---|---|",
    ]
    for name, stats in result["operations"].items():
        lines.append(
            f"| {name} | {stats['count']} | {stats['p50_ms']} | {stats['p95_ms']} | "
            f"{stats['p99_ms']} |"
        )
    lines += ["", "![load](reliability/load.png)"]
    return lines


def crash_section(result: dict[str, Any] | None) -> list[str]:
    if result is None:
        return ["_not run_"]
    target = result.get("kills_target", result["kills"])
    short = (
        f" (time-bounded run: {result['kills']} of the {target} targeted)"
        if result["kills"] < target
        else ""
    )
    return [
        f"* **{result['kills']} SIGKILLs**{short} (seed {result['seed']}), mean restart "
        f"{result['restart_seconds_mean']} s, {result['duration_seconds']} s in all",
        f"* invariant violations: **{len(result['violations'])}**; 5xx seen by the workload: "
        f"{result['server_errors'] or 'none'}",
        f"* rows at the end: {result['rows']}",
        *[f"  * {violation}" for violation in result["violations"][:20]],
        f"* requests by outcome: {result['requests']}",
    ]


def permission_crash_line() -> list[str]:
    """tests/e2e/test_permission_crash.py, run by make reliability with a junit report."""
    path = RESULTS / "permission_crash.xml"
    if not path.exists():
        return ["* tests/e2e/test_permission_crash.py (MOLTNET_CRASH_KILLS=50): _not run_"]
    root = ET.parse(path).getroot()  # noqa: S314 - pytest's own junit file, not untrusted
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    if suite is None:
        return [f"* tests/e2e/test_permission_crash.py: no testsuite in {path}"]
    tests, failures = int(suite.get("tests", 0)), int(suite.get("failures", 0))
    errors, skipped = int(suite.get("errors", 0)), int(suite.get("skipped", 0))
    passed = tests - failures - errors - skipped
    return [
        f"* tests/e2e/test_permission_crash.py (MOLTNET_CRASH_KILLS=50): {passed}/{tests} "
        f"passed, {failures} failed, {errors} errors, {skipped} skipped, "
        f"{float(suite.get('time', 0)):.0f} s"
    ]


def read_errors(result: dict[str, Any] | None) -> int:
    if result is None:
        return 0
    return sum(n for key, n in result["errors"].items() if key.endswith("Error"))


def open_defects(
    fuzz: dict[str, Any] | None, result: dict[str, Any] | None, crash: dict[str, Any] | None
) -> list[str]:
    """Defects the results of this run show (the document's hand-written notes follow)."""
    lines: list[str] = []
    if fuzz is not None and (fuzz["with_failures"] or fuzz["errors"] or fuzz["exit_code"]):
        lines.append(
            f"* Contract fuzzing: {fuzz['with_failures']} failing test cases "
            f"({fuzz['unique_failures']} unique), {fuzz['errors']} errors, exit code "
            f"{fuzz['exit_code']}; see §1, `docs/reliability/fuzz.json` (console_tail) and the "
            "triage below."
        )
    if result is not None:
        server_errors = {k: n for k, n in result["errors"].items() if " 5" in k}
        if server_errors:
            lines.append(f"* Load: 5xx responses {server_errors}.")
        if read_errors(result):
            lines.append(
                f"* Load: {read_errors(result)} transport errors "
                f"({ {k: n for k, n in result['errors'].items() if k.endswith('Error')} }) "
                "despite the 75 s keep-alive."
            )
    if crash is not None:
        if crash["violations"]:
            lines.append(
                f"* Crash: {len(crash['violations'])} invariant violations (§3), e.g. "
                f"{crash['violations'][:3]}."
            )
        if crash["server_errors"]:
            lines.append(f"* Crash: 5xx seen by the workload {crash['server_errors']}.")
    return lines or ["* none found by this run's results (see the notes below, if any)"]


FIXED = [
    "* OpenAPI declared FastAPI's 422 `HTTPValidationError` and none of the problem+json"
    " errors: fixed in `src/moltnet/api/openapi.py`; regression test"
    " `tests/reliability/test_contract_fuzz.py::"
    "test_openapi_document_declares_the_problem_responses`.",
    "* `offset` beyond the bigint range answered 5xx: fixed by `src/moltnet/api/pagination.py`"
    " (one Offset/Limit declaration); regression tests `tests/api/test_pagination.py`.",
    "* ReadErrors under load (the server closed idle keep-alive connections a client was about"
    " to reuse): uvicorn `timeout_keep_alive=75` in `src/moltnet/cli.py`.",
]


def fixed(result: dict[str, Any] | None) -> list[str]:
    if result is None:
        return FIXED
    seen = read_errors(result)
    recheck = (
        f" This run's load: **{seen} transport errors** (still open, see above)."
        if seen
        else f" This run's load: **no ReadError** ({result['requests']} requests, 0 errors)."
    )
    return [*FIXED[:-1], FIXED[-1] + recheck]


def run_notes() -> list[str]:
    """How this run deviated from a plain ``make reliability`` (bounds, reruns), if it did:
    docs/reliability/run-notes.md."""
    path = RESULTS / "run-notes.md"
    return ["", *path.read_text().rstrip().splitlines()] if path.exists() else []


def notes() -> list[str]:
    """Hand-written details of open defects (route, input, observed vs expected,
    reproduction), kept in docs/reliability/defects.md so a regeneration keeps them."""
    path = RESULTS / "defects.md"
    return path.read_text().rstrip().splitlines() if path.exists() else []


def render() -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    fuzz, result, crash = load("fuzz"), load("load"), load("crash")
    parts = [
        "# MoltNet reliability",
        "",
        f"Generated by `make reliability` (reliability/report.py) on **{now}** at commit "
        f"**{git_commit()}**. Raw results: `docs/reliability/*.json`.",
        *run_notes(),
        "",
        "## 1. Contract fuzzing (reliability/fuzz.py)",
        *fuzz_section(fuzz),
        "",
        "## 2. Load (reliability/load.py)",
        *load_section(result),
        "",
        "## 3. Crash at any point (reliability/crash.py)",
        *crash_section(crash),
        *permission_crash_line(),
        "",
        "## 4. Authorization sweep and 5. OWASP review",
        "`tests/reliability/test_authorization_sweep.py` and "
        "`tests/reliability/test_response_exposure.py` run in `make test` and in "
        "`make reliability`; the OWASP API Top 10 review is docs/SECURITY.md.",
        "",
        "## Open defects",
        *open_defects(fuzz, result, crash),
        *notes(),
        "",
        "## Fixed since the previous run",
        *fixed(result),
        "",
    ]
    return "\n".join(parts)


def main() -> int:
    (DOCS / "RELIABILITY.md").write_text(render())
    print(f"wrote {DOCS / 'RELIABILITY.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
