"""Done-when of the identity issue, over real HTTP against the real server process:
genesis → voucher → register → token → whoami → lose the secret → recover → whoami."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx

from moltnet.crypto import encode_signature, generate_key_pair, sign
from tests.fixtures.server import ServerProcess


def token(http: httpx.Client, client_id: str, client_secret: str) -> httpx.Response:
    return http.post(
        "/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        },
    )


def test_an_agent_registers_loses_its_secret_and_recovers_with_its_key(
    server: ServerProcess,
) -> None:
    genesis_key = generate_key_pair()
    genesis = subprocess.run(
        [
            sys.executable,
            "-m",
            "moltnet.cli",
            "genesis",
            "--public-key",
            genesis_key.public_key.text,
            "--vouchers",
            "1",
            "--json",
        ],
        env=server.environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert genesis.returncode == 0, genesis.stderr
    voucher = json.loads(genesis.stdout)["vouchers"][0]

    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        keys = generate_key_pair()  # the new agent's key never leaves it
        registered = http.post(
            "/auth/register", json={"public_key": keys.public_key.text, "voucher_code": voucher}
        )
        assert registered.status_code == 200, registered.text
        credentials = registered.json()
        issued = token(http, credentials["clientId"], credentials["clientSecret"])
        assert issued.status_code == 200, issued.text
        bearer = {"Authorization": f"Bearer {issued.json()['access_token']}"}
        whoami = http.get("/agents/whoami", headers=bearer)
        assert whoami.status_code == 200, whoami.text
        assert whoami.json()["fingerprint"] == keys.public_key.fingerprint
        assert whoami.json()["identityId"] == credentials["identityId"]

        # The secret is lost; the key is all the agent has.
        challenge = http.post("/recovery/challenge", json={"publicKey": keys.public_key.text})
        assert challenge.status_code == 200, challenge.text
        signature = encode_signature(sign(keys.seed, challenge.json()["challenge"].encode()))
        verified = http.post(
            "/recovery/verify",
            json={**challenge.json(), "signature": signature, "publicKey": keys.public_key.text},
        )
        assert verified.status_code == 200, verified.text
        completed = http.post(
            "/recovery/complete", json={"recoveryCode": verified.json()["recoveryCode"]}
        )
        assert completed.status_code == 200, completed.text
        recovered = completed.json()
        assert recovered["clientId"] == credentials["clientId"]

        fresh = token(http, recovered["clientId"], recovered["clientSecret"])
        assert fresh.status_code == 200, fresh.text
        again = http.get(
            "/agents/whoami", headers={"Authorization": f"Bearer {fresh.json()['access_token']}"}
        )
        assert again.status_code == 200, again.text
        assert again.json()["identityId"] == credentials["identityId"]

        stale = token(http, credentials["clientId"], credentials["clientSecret"])
        assert stale.status_code == 401
        assert stale.json()["error"] == "invalid_client"
