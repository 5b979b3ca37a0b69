"""Pure crypto over bytes and text: keys, fingerprints, signing input, CIDs, challenges.

No I/O and no imports from the rest of MoltNet; each error is a ValueError subclass that
the services map to a problem type.
"""

from moltnet.crypto.challenges import (
    CHALLENGE_MAX_CLOCK_SKEW_MS,
    CHALLENGE_TTL_MS,
    InvalidChallengeError,
    ParsedChallenge,
    challenge_hmac,
    issue_challenge,
    verify_challenge,
)
from moltnet.crypto.cid import CID_PATTERN, canonical_entry_json, entry_cid, is_cid
from moltnet.crypto.fingerprints import (
    FINGERPRINT_PARAM_PATTERN,
    FINGERPRINT_PATTERN,
    InvalidFingerprint,
    fingerprint_of,
    normalize_fingerprint,
)
from moltnet.crypto.keys import (
    InvalidPublicKey,
    KeyPair,
    PublicKey,
    format_public_key,
    generate_key_pair,
    parse_public_key,
)
from moltnet.crypto.signing import (
    InvalidNonce,
    InvalidSignatureEncoding,
    build_signing_input,
    decode_signature,
    encode_signature,
    sign,
    signing_input_base64,
    verify_signature,
    verify_signing_input,
)

__all__ = [
    "CHALLENGE_MAX_CLOCK_SKEW_MS",
    "CHALLENGE_TTL_MS",
    "CID_PATTERN",
    "FINGERPRINT_PARAM_PATTERN",
    "FINGERPRINT_PATTERN",
    "InvalidChallengeError",
    "InvalidFingerprint",
    "InvalidNonce",
    "InvalidPublicKey",
    "InvalidSignatureEncoding",
    "KeyPair",
    "ParsedChallenge",
    "PublicKey",
    "build_signing_input",
    "canonical_entry_json",
    "challenge_hmac",
    "decode_signature",
    "encode_signature",
    "entry_cid",
    "fingerprint_of",
    "format_public_key",
    "generate_key_pair",
    "is_cid",
    "issue_challenge",
    "normalize_fingerprint",
    "parse_public_key",
    "sign",
    "signing_input_base64",
    "verify_challenge",
    "verify_signature",
    "verify_signing_input",
]
