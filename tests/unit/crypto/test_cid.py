import base64
import hashlib
import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from moltnet.crypto import CID_PATTERN, canonical_entry_json, entry_cid, is_cid
from tests.unit.crypto import vectors


def _independent_cid(canonical_json: str) -> str:
    multihash = bytes([0x12, 32]) + hashlib.sha256(canonical_json.encode("utf-8")).digest()
    cid = bytes([0x01, 0x55]) + multihash
    return "b" + base64.b32encode(cid).decode().lower().replace("=", "")


def _cid(content: str, title: str | None = None, tags: list[str] | None = None) -> str:
    return entry_cid(content=content, title=title, tags=tags, entry_type="semantic")


def test_vector_cids_match_an_independent_encoding() -> None:
    assert _independent_cid(vectors.FIRST_JSON) == vectors.FIRST_CID
    second_json = (
        '{"c":"Zürich \\"quoted\\"\\nline","t":"Notes","tags":["A","z","é"],'
        '"type":"episodic","v":"moltnet:diary:v1"}'
    )
    assert canonical_entry_json(**vectors.SECOND_ENTRY) == second_json
    assert _independent_cid(second_json) == vectors.SECOND_CID


def test_escapes_match_javascript_json_stringify() -> None:
    content = 'a\x01b\x1fc\u2028d/eé中😀\b\t\n\f\r\x00\x7f"\\'
    # Output of node: JSON.stringify({c: <same string>}) for the "c" member.
    expected_c = '"a\\u0001b\\u001fc\u2028d/eé中😀\\b\\t\\n\\f\\r\\u0000\x7f\\"\\\\"'
    canonical = canonical_entry_json(content=content, title=None, tags=None, entry_type="semantic")
    assert (
        canonical
        == '{"c":' + expected_c + ',"t":"","tags":[],"type":"semantic","v":"moltnet:diary:v1"}'
    )
    assert json.loads(canonical)["c"] == content


def test_lone_surrogates_are_escaped_like_well_formed_json_stringify() -> None:
    canonical = canonical_entry_json(
        content="\ud800x\udc00", title=None, tags=None, entry_type="semantic"
    )
    # node: JSON.stringify("\ud800x\udc00") === '"\\ud800x\\udc00"'
    assert canonical.startswith('{"c":"\\ud800x\\udc00",')
    assert _cid("\ud800x\udc00") == _independent_cid(canonical)


def test_a_surrogate_pair_hashes_like_the_character_it_encodes() -> None:
    # JavaScript strings are UTF-16: "\ud83d\ude00" and "😀" are the same string there.
    assert _cid("\ud83d\ude00") == _cid("😀")


def test_tags_sort_by_utf16_code_units_like_javascript() -> None:
    # node: ["é","z","A","😀","｡","a"].sort() gives ["A","a","z","é","😀","｡"]; code-point
    # order would put U+FF61 before U+1F600, UTF-16 order puts the surrogate 0xD83D first.
    tags = ["é", "z", "A", "😀", "｡", "a"]
    canonical = canonical_entry_json(content="", title=None, tags=tags, entry_type="semantic")
    assert json.loads(canonical)["tags"] == ["A", "a", "z", "é", "😀", "｡"]
    assert tags == ["é", "z", "A", "😀", "｡", "a"]  # the caller's list is left alone


def test_missing_title_and_tags_hash_like_empty_ones() -> None:
    assert _cid("x", None, None) == _cid("x", "", [])
    from_tuple = entry_cid(content="x", title=None, tags=("a", "b"), entry_type="semantic")
    assert _cid("x", None, ["b", "a"]) == from_tuple  # any iterable of tags


def test_every_member_changes_the_cid() -> None:
    cids = {
        entry_cid(content="c", title="t", tags=["a"], entry_type="semantic"),
        entry_cid(content="c ", title="t", tags=["a"], entry_type="semantic"),
        entry_cid(content="c", title="T", tags=["a"], entry_type="semantic"),
        entry_cid(content="c", title="t", tags=["a", "b"], entry_type="semantic"),
        entry_cid(content="c", title="t", tags=[], entry_type="semantic"),
        entry_cid(content="c", title="t", tags=["a"], entry_type="episodic"),
    }
    assert len(cids) == 6


@given(
    content=st.text(),
    title=st.none() | st.text(),
    tags=st.lists(st.text(min_size=1)),
    entry_type=st.sampled_from(["episodic", "semantic", "procedural"]),
)
def test_cid_matches_an_independent_canonicalisation(
    content: str, title: str | None, tags: list[str], entry_type: str
) -> None:
    # Strategy text excludes surrogates, so UTF-8 and the JSON round trip are well defined.
    sorted_tags = sorted(tags, key=lambda tag: tag.encode("utf-16-be"))
    document = {"c": content, "t": title or "", "tags": sorted_tags, "type": entry_type}
    independent = json.dumps(
        document | {"v": "moltnet:diary:v1"}, ensure_ascii=False, separators=(",", ":")
    )
    canonical = canonical_entry_json(content=content, title=title, tags=tags, entry_type=entry_type)
    assert canonical == independent
    assert list(json.loads(canonical)) == ["c", "t", "tags", "type", "v"]
    cid = entry_cid(content=content, title=title, tags=tags, entry_type=entry_type)
    assert cid == _independent_cid(independent)
    assert len(cid) == 59
    assert re.match(CID_PATTERN, cid)
    assert is_cid(cid)


@pytest.mark.parametrize(
    "text",
    [
        "",
        vectors.FIRST_CID[:-1],
        vectors.FIRST_CID + "a",
        vectors.FIRST_CID.upper(),
        vectors.FIRST_CID + "\n",
        "bafybei" + vectors.FIRST_CID[7:],  # dag-pb codec, not raw
        vectors.FIRST_CID[:-1] + "1",  # '1' is not in the base32 alphabet
    ],
)
def test_is_cid_refuses_other_shapes(text: str) -> None:
    assert not is_cid(text)
