"""The test vectors of API.md §5.7 (computed by the spec's authors in Python and Node.js)."""

from typing import TypedDict


class EntryFields(TypedDict):
    content: str
    title: str | None
    tags: list[str]
    entry_type: str


SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
PUBLIC_KEY = "ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
# RFC 8032 §7.1 test 1 lists the public key in hex; an independent source for the key bytes.
PUBLIC_KEY_HEX = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
FINGERPRINT = "21FE-31DF-A154-A261"

FIRST_ENTRY: EntryFields = {
    "content": "Hello, MoltNet!",
    "title": None,
    "tags": ["beta", "alpha"],
    "entry_type": "semantic",
}
FIRST_JSON = '{"c":"Hello, MoltNet!","t":"","tags":["alpha","beta"],"type":"semantic","v":"moltnet:diary:v1"}'
FIRST_CID = "bafkreif7jqooityvksmsdnor5umime7ke44csoqjmicrs4zskrgcsrderu"

SECOND_ENTRY: EntryFields = {
    "content": 'Zürich "quoted"\nline',
    "title": "Notes",
    "tags": ["é", "z", "A"],
    "entry_type": "episodic",
}
SECOND_CID = "bafkreichoxd7s5pzac7vk2pxqqafekttmhic6y4mjmij74vbvjt5p5arwa"

NONCE = "00000000-0000-4000-8000-000000000000"
SIGNING_INPUT = (
    "bW9sdG5ldDp2MQAAACARgWneUE20jmbjlndg5PpSyPHMpea7cdKGSxk9psC3RgAAACQwMDAwMDAwMC0wMDAw"
    "LTQwMDAtODAwMC0wMDAwMDAwMDAwMDA="
)
SIGNATURE = (
    "ghVEzogMt2l+TXLFvbv9mPzD3Ll/prHrzRhX54VpEqu7OYfi29soudBZ8oMpleVJxN996MffahlMXyZ36eFHBA=="
)

HMAC_SECRET = b"0123456789abcdef"
CHALLENGE_NONCE = "ab" * 32
CHALLENGE_ISSUED_AT_MS = 1767225600000
CHALLENGE = f"moltnet:recovery:{PUBLIC_KEY}:{CHALLENGE_NONCE}:{CHALLENGE_ISSUED_AT_MS}"
CHALLENGE_HMAC = "2585d7918c2ac15b1851ded8a984817630aa7210c20621ae1920df40f6bf3e3a"
