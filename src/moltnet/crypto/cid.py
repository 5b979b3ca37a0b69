"""Entry content hash: a CIDv1 over canonical JSON (API.md §5.4)."""

import base64
import hashlib
import json
import re
from collections.abc import Iterable
from typing import Final

ENTRY_FORMAT_VERSION: Final = "moltnet:diary:v1"
CID_PATTERN: Final = r"^bafkrei[a-z2-7]{52}$"
# fullmatch, not the anchors: Python's `$` also matches before a trailing newline.
CID_REGEX: Final = re.compile(r"bafkrei[a-z2-7]{52}")

# CIDv1, multicodec raw (0x55), multihash sha2-256 (0x12) with a 32-byte digest.
_CID_PREFIX: Final = bytes((0x01, 0x55, 0x12, 0x20))
_MULTIBASE_BASE32: Final = "b"
_LONE_SURROGATE: Final = re.compile("[\ud800-\udfff]")


def _utf16_sort_key(text: str) -> bytes:
    # JavaScript sorts strings by UTF-16 code units; big-endian bytes compare the same way.
    # surrogatepass: a lone surrogate is a valid JavaScript string and must sort, not crash.
    return text.encode("utf-16-be", "surrogatepass")


def _as_javascript_string(text: str) -> str:
    # A Python str may hold surrogates where JavaScript would have a UTF-16 pair; round-trip
    # through UTF-16 joins such pairs into one code point, leaving only lone surrogates.
    return text.encode("utf-16-be", "surrogatepass").decode("utf-16-be", "surrogatepass")


def _escape_lone_surrogate(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"  # what well-formed JSON.stringify (ES2019) writes


def canonical_entry_json(
    *, content: str, title: str | None, tags: Iterable[str] | None, entry_type: str
) -> str:
    """The exact JSON text whose hash is the CID; equal to JavaScript's JSON.stringify.

    Pass `entry_type` as its plain string value (a StrEnum member serialises the same way).
    """
    document = {
        "c": _as_javascript_string(content),
        "t": _as_javascript_string(title or ""),
        "tags": sorted((_as_javascript_string(tag) for tag in tags or ()), key=_utf16_sort_key),
        "type": _as_javascript_string(entry_type),
        "v": ENTRY_FORMAT_VERSION,
    }
    # ensure_ascii=False writes non-ASCII, '/' and U+2028 literally and escapes only '"', '\\'
    # and U+0000-U+001F (short forms for \b \t \n \f \r, else \u00xx lowercase), like JavaScript.
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    return _LONE_SURROGATE.sub(_escape_lone_surrogate, text)


def cid_of_bytes(data: bytes) -> str:
    """CIDv1 (raw, sha2-256) of `data` as `b` + lowercase unpadded base32: 59 characters."""
    cid = _CID_PREFIX + hashlib.sha256(data).digest()
    encoded = base64.b32encode(cid).decode("ascii").rstrip("=").lower()
    return _MULTIBASE_BASE32 + encoded


def entry_cid(
    *, content: str, title: str | None, tags: Iterable[str] | None, entry_type: str
) -> str:
    """The content hash of a diary entry."""
    canonical = canonical_entry_json(content=content, title=title, tags=tags, entry_type=entry_type)
    return cid_of_bytes(canonical.encode("utf-8"))


def is_cid(text: str) -> bool:
    """Whether `text` has the shape of a content CID (`^bafkrei[a-z2-7]{52}$`)."""
    return CID_REGEX.fullmatch(text) is not None
