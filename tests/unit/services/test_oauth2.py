"""The token endpoint's form parsing and failure answer (``services/oauth2.py``)."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from moltnet.backends.protocols import TokenEndpointResponse
from moltnet.services.oauth2 import TokenRequestRejected, parse_token_form, request_token
from tests.fakes.oauth2 import FakeOAuth2Backend

FORM = "application/x-www-form-urlencoded"


def test_form_is_parsed_with_percent_and_plus_decoding() -> None:
    form = parse_token_form(
        FORM, b"grant_type=client_credentials&scope=diary%3Aread+agent%3Aprofile"
    )
    assert form == {"grant_type": "client_credentials", "scope": "diary:read agent:profile"}


def test_blank_values_are_kept() -> None:
    assert parse_token_form(f"{FORM}; charset=utf-8", b"scope=") == {"scope": ""}


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b"{}"),
        (None, b"a=1"),
        (FORM, b"a=1&a=2"),
        (FORM, b"a=%00"),
        (FORM, b"%00=1"),
        (FORM, b"a=%C3"),
        (FORM, "a=\u00e9".encode()),
        (FORM, b"&".join(b"k%d=v" % i for i in range(40))),
    ],
)
def test_bad_forms_are_invalid_request(content_type: str | None, body: bytes) -> None:
    with pytest.raises(TokenRequestRejected) as caught:
        parse_token_form(content_type, body)
    assert caught.value.response.status == 400
    assert caught.value.response.body["error"] == "invalid_request"


class ExplodingBackend(FakeOAuth2Backend):
    async def token(
        self, form: Mapping[str, str], authorization: str | None
    ) -> TokenEndpointResponse:
        raise RuntimeError("database password in this message must not leak")


async def test_backend_failure_is_an_rfc6749_server_error() -> None:
    answer = await request_token(
        ExplodingBackend(),
        content_type=FORM,
        body=b"grant_type=client_credentials",
        authorization=None,
    )
    assert answer.status == 500
    assert answer.body == {
        "error": "server_error",
        "error_description": "the token could not be issued",
    }
    assert answer.headers["Cache-Control"] == "no-store"
