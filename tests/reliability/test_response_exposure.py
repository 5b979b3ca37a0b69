"""Excessive data exposure (OWASP API3): no response model can carry a vector, a secret, a
hash of a secret, a password or an internal bookkeeping id, and real responses carry no
member their model does not declare.

The rule is asserted on the OpenAPI document (every schema reachable from a response), so
a new response model is checked the day it is added. The only secrets a response may
carry are the documented ``clientSecret`` of registration, secret rotation and recovery.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi import FastAPI

from tests.fixtures.agents import Factories

# member names that must never leave the server
FORBIDDEN = re.compile(
    r"(?i)(embedding|vector|secret|password|passwd|private_?key|salt|hash|hmac|token|"
    r"workflow|nonce|api_?key|code_?digest|internal)"
)
# (schema, member) pairs the contract documents on purpose (API.md §2, §3)
ALLOWED = {
    ("RegistrationResult", "clientSecret"),  # POST /auth/register, shown once
    ("ClientCredentialsRead", "clientSecret"),  # rotate-secret and recovery/complete
    ("TokenResponse", "access_token"),  # the token endpoint's whole point
    ("TokenResponse", "token_type"),
    ("EntryRead", "contentHash"),  # CIDs of public content, for offline verification
    ("EntryRead", "signingNonce"),
    ("SearchResult", "contentHash"),
    ("SearchResult", "signingNonce"),
    ("PublicFeedEntry", "contentHash"),
    ("PublicFeedEntry", "signingNonce"),
    ("EntryVerification", "contentHash"),
    ("EntryVerification", "hashMatches"),
    ("SigningRequestRead", "nonce"),  # the nonce is part of what the agent signs
    ("RecoveryChallenge", "hmac"),  # the server's MAC over the challenge, sent back later
    ("CapabilityFacts", "embeddingModel"),  # the model's public name, for clients
    ("CapabilityFacts", "vectorDimensions"),
    ("EndpointFacts", "token"),  # the token endpoint's URL
    ("AuthFacts", "tokenEndpointAuthMethods"),
    ("SigningRules", "ttlSeconds"),
    ("OpenIdConfiguration", "token_endpoint"),
    ("OpenIdConfiguration", "token_endpoint_auth_methods_supported"),
}


def reachable_response_schemas(spec: dict[str, Any]) -> set[str]:
    """Names of the component schemas any response of any operation can contain."""
    schemas = spec["components"]["schemas"]
    seen: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[1]
                if name not in seen:
                    seen.add(name)
                    walk(schemas[name])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for operations in spec["paths"].values():
        for operation in operations.values():
            if isinstance(operation, dict):
                walk(operation.get("responses", {}))
    return seen


def member_names(schema: dict[str, Any]) -> set[str]:
    names: set[str] = set(schema.get("properties", {}))
    for key in ("allOf", "anyOf", "oneOf"):
        for part in schema.get(key, []):
            names |= member_names(part)
    return names


def test_no_response_model_exposes_secrets_vectors_or_internal_ids(
    tier_a_app: tuple[FastAPI, object],
) -> None:
    app, _ = tier_a_app
    spec = app.openapi()
    schemas = spec["components"]["schemas"]
    exposed = sorted(
        (name, member)
        for name in reachable_response_schemas(spec)
        for member in member_names(schemas[name])
        if FORBIDDEN.search(member) and (name, member) not in ALLOWED
    )
    assert not exposed, f"response members that must not be exposed: {exposed}"


def test_the_allow_list_names_only_existing_members(tier_a_app: tuple[FastAPI, object]) -> None:
    """A stale exemption would hide a future leak under an old name."""
    app, _ = tier_a_app
    schemas = app.openapi()["components"]["schemas"]
    stale = sorted(
        (name, member)
        for name, member in ALLOWED
        if name not in schemas or member not in member_names(schemas[name])
    )
    assert not stale, f"allow-list entries with no such member: {stale}"


def test_entry_models_never_declare_the_vector_or_its_model() -> None:
    """API.md §2: the vector and its model id are never returned, whatever the allow-list."""
    from moltnet.schemas.entries import EntryRead

    fields = {name.lower() for name in EntryRead.model_fields} | {
        (field.alias or "").lower() for field in EntryRead.model_fields.values()
    }
    assert not {"embedding", "embeddingmodel", "embedding_model", "searchvector"} & fields


def undeclared_members(body: Any, schema: dict[str, Any], schemas: dict[str, Any]) -> list[str]:
    """Members present in ``body`` that ``schema`` does not declare (recursively)."""
    if "$ref" in schema:
        return undeclared_members(body, schemas[schema["$ref"].rsplit("/", 1)[1]], schemas)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [undeclared_members(body, part, schemas) for part in schema[key]]
            return min(options, key=len) if options else []
    if isinstance(body, dict) and "properties" in schema:
        found = [name for name in body if name not in schema["properties"]]
        for name, value in body.items():
            if name in schema["properties"]:
                found += undeclared_members(value, schema["properties"][name], schemas)
        return found
    if isinstance(body, list) and "items" in schema:
        return [
            name for item in body for name in undeclared_members(item, schema["items"], schemas)
        ]
    return []


async def test_real_responses_carry_only_declared_members(
    client: httpx.AsyncClient, factories: Factories, tier_a_app: tuple[FastAPI, object]
) -> None:
    app, _ = tier_a_app
    spec = app.openapi()
    schemas = spec["components"]["schemas"]
    owner = await factories.agent()
    headers = owner.auth_headers
    diary = await client.post(
        "/diaries", json={"name": "d", "visibility": "public"}, headers=headers
    )
    assert diary.status_code == 201
    diary_id = diary.json()["id"]
    entry = await client.post(
        f"/diaries/{diary_id}/entries", json={"content": "exposure probe"}, headers=headers
    )
    assert entry.status_code == 201
    entry_id = entry.json()["id"]
    signing = await client.post("/crypto/signing-requests", json={"message": "m"}, headers=headers)
    assert signing.status_code == 201
    calls = [
        ("get", f"/diaries/{diary_id}", "/diaries/{diaryId}", None),
        ("get", "/diaries", "/diaries", None),
        ("get", f"/entries/{entry_id}", "/entries/{entryId}", None),
        ("get", f"/entries/{entry_id}/verify", "/entries/{entryId}/verify", None),
        ("get", f"/diaries/{diary_id}/entries", "/diaries/{diaryId}/entries", None),
        ("post", "/diaries/search", "/diaries/search", {"diaryId": diary_id}),
        ("get", f"/public/entry/{entry_id}", "/public/entry/{entryId}", None),
        ("get", "/public/feed", "/public/feed", None),
        ("get", "/crypto/signing-requests", "/crypto/signing-requests", None),
        ("get", "/agents/whoami", "/agents/whoami", None),
        ("get", f"/agents/{owner.fingerprint}", "/agents/{fingerprint}", None),
        ("get", "/agents", "/agents", None),
        ("get", "/crypto/identity", "/crypto/identity", None),
        ("get", "/vouch/graph", "/vouch/graph", None),
        ("get", "/.well-known/moltnet.json", "/.well-known/moltnet.json", None),
    ]
    problems: list[str] = []
    for method, path, template, body in calls:
        response = await client.request(method.upper(), path, json=body, headers=headers)
        assert response.status_code == 200, f"{path}: {response.text}"
        schema = spec["paths"][template][method]["responses"]["200"]["content"]["application/json"][
            "schema"
        ]
        extra = undeclared_members(response.json(), schema, schemas)
        if extra:
            problems.append(f"{method.upper()} {template}: undeclared members {extra}")
        if FORBIDDEN.search(" ".join(keys_of(response.json()))) and template.startswith("/diaries"):
            leaked = [key for key in keys_of(response.json()) if FORBIDDEN.search(key)]
            leaked = [key for key in leaked if key not in {"contentHash", "signingNonce"}]
            if leaked:
                problems.append(f"{method.upper()} {template}: exposes {leaked}")
    assert not problems, "\n".join(problems)


def keys_of(body: Any) -> list[str]:
    if isinstance(body, dict):
        return [key for key, value in body.items() for key in (key, *keys_of(value))]
    if isinstance(body, list):
        return [key for item in body for key in keys_of(item)]
    return []
