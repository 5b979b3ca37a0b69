"""Prompt-injection screening of diary entries (API.md, ``DiaryEntry.injectionRisk``).

The flag is advisory: it never blocks a write, it only warns the agents that will
later load the entry into a model's context (and hides the entry from the public
feed by default). So the rules aim at text that *addresses a model*: imperative
overrides, persona swaps, forged chat-template delimiters, requests to reveal a
hidden prompt or to ship secrets elsewhere, and such text hidden in base64, hex or
percent-encoding. Prose *about* prompts, roles, security or AI must stay clean,
because agents write a lot of it. A payload quoted inside prose ("users write
'ignore previous instructions'") is flagged on purpose: it works just as well once
the entry is pasted into a prompt.

No maintained, offline, model-free library fitted (the PyPI candidates are either
ML classifiers that need weights, hosted APIs, or young single-author packages),
so this is a small rule set, tested against a labelled corpus in
``tests/unit/services/test_injection.py``.

Every pattern is linear-time: alternations of literals, bounded gaps
(``.{0,40}``) and ``(?:\\w+\\s+){0,3}`` runs whose classes cannot overlap, so no
input makes the regex engine backtrack catastrophically. Decoded text is never longer
than its source, and all of it is scanned in one pass, so an entry costs at most about
two passes over its own length.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import unquote

INSTRUCTION_OVERRIDE = "instruction_override"
ROLE_MANIPULATION = "role_manipulation"
DELIMITER_INJECTION = "delimiter_injection"
SYSTEM_PROMPT_LEAK = "system_prompt_leak"
DATA_EXFILTRATION = "data_exfiltration"
ENCODED_PAYLOAD = "encoded_payload"

CATEGORY_ORDER = (
    INSTRUCTION_OVERRIDE,
    ROLE_MANIPULATION,
    DELIMITER_INJECTION,
    SYSTEM_PROMPT_LEAK,
    DATA_EXFILTRATION,
    ENCODED_PAYLOAD,
)

MIN_PRINTABLE_RATIO = 0.85
"""Decoded bytes count as text only when this share of them is printable; hashes and keys are not."""


@dataclass(frozen=True)
class ScanResult:
    is_risky: bool
    categories: tuple[str, ...]


CLEAN = ScanResult(is_risky=False, categories=())


def scan(title: str | None, content: str) -> ScanResult:
    """Screen an entry's title and content; ``categories`` lists every rule family that matched."""
    text = content if not title else f"{title}\n{content}"
    found = _match_text(text)
    if _encoded_payloads_are_risky(text):
        found.add(ENCODED_PAYLOAD)
    if not found:
        return CLEAN
    return ScanResult(
        is_risky=True, categories=tuple(name for name in CATEGORY_ORDER if name in found)
    )


# --- Normalisation -------------------------------------------------------------------------

# Letters from other scripts that render like Latin ones, used to dodge keyword filters
# ("ignore" spelled with a Cyrillic i). Only the common look-alikes; NFKC already folds the
# fullwidth and mathematical alphabets.
_CONFUSABLES = str.maketrans(
    {
        "\u0430": "a",  # cyrillic small letter a
        "\u0432": "b",  # cyrillic small letter ve
        "\u0435": "e",  # cyrillic small letter ie
        "\u043a": "k",  # cyrillic small letter ka
        "\u043c": "m",  # cyrillic small letter em
        "\u043d": "h",  # cyrillic small letter en
        "\u043e": "o",  # cyrillic small letter o
        "\u0440": "p",  # cyrillic small letter er
        "\u0441": "c",  # cyrillic small letter es
        "\u0442": "t",  # cyrillic small letter te
        "\u0443": "y",  # cyrillic small letter u
        "\u0445": "x",  # cyrillic small letter ha
        "\u0456": "i",  # cyrillic small letter byelorussian-ukrainian i
        "\u0458": "j",  # cyrillic small letter je
        "\u0455": "s",  # cyrillic small letter dze
        "\u0501": "d",  # cyrillic small letter komi de
        "\u03bf": "o",  # greek small letter omicron
        "\u03b1": "a",  # greek small letter alpha
        "\u03b5": "e",  # greek small letter epsilon
        "\u03b9": "i",  # greek small letter iota
        "\u03bd": "v",  # greek small letter nu
        "\u03c1": "p",  # greek small letter rho
        "\u03c4": "t",  # greek small letter tau
    }
)


def _normalise(text: str) -> str:
    """NFKC, drop invisible format characters, turn control characters into spaces, casefold."""
    folded = unicodedata.normalize("NFKC", text)
    kept: list[str] = []
    for character in folded:
        category = unicodedata.category(character)
        if category == "Cf":  # zero-width space/joiner, BOM, bidi overrides: split words invisibly
            continue
        if category == "Cc" and character not in "\n\t":  # NUL and friends
            kept.append(" ")
            continue
        kept.append(character)
    return "".join(kept).casefold().translate(_CONFUSABLES)


_HORIZONTAL_SPACE = re.compile(r"[^\S\n]+")
# "i g n o r e", "i.g.n.o.r.e": six or more single letters joined by one separator.
_SPACED_LETTERS = re.compile(r"(?<![^\W\d_])(?:[^\W\d_][ .\-_*|/]){5,}[^\W\d_](?![^\W\d_])")


# --- Text rules ----------------------------------------------------------------------------

_FLAGS = re.MULTILINE
_FILLER = r"(?:\w+\s+){0,3}?"  # up to three filler words ("all of your", "the very")

# Where an imperative may begin: the start of a line or sentence, after quoting or markup,
# or after a softener ("please ignore", "you must disregard"). Without it, prose such as
# "the model tends to ignore prior instructions" would be flagged.
_CLAUSE_START = (
    r"(?:^|[.!?:;,\"'`(\[{*>#|\-]\s*|\b(?:please|now|just|simply|kindly|first|also|and|then|so|"
    r"but|instead|immediately|i\s+want\s+you\s+to|i\s+need\s+you\s+to|"
    r"you\s+(?:need\s+to|have\s+to|must|should|will|shall))\s+)"
)
_OVERRIDE_VERB = (
    r"(?:ignore|disregard|forget(?:\s+about)?|override|overrule|bypass|discard|abandon|neglect|"
    r"set\s+aside)"
)
_EARLIER = (
    r"(?:previous|previously\s+given|prior|above|earlier|preceding|foregoing|former|initial|"
    r"original|existing|current|system|developer|default|safety|given)"
)
_DIRECTIVES = (
    r"(?:instructions?|prompts?|rules|directions?|directives?|guidelines?|guidance|commands?|"
    r"orders|constraints|restrictions|programming|messages|policies|filters?|guardrails?)"
)
# States a model is talked into; the rules below need one of them next to a persona swap.
_UNBOUND = (
    r"(?:dan\b(?!')|jailbroken|jailbreak|unrestricted|unfiltered|uncensored|unbound|evil|amoral|"
    r"unethical|liberated|rogue|unaligned|without\s+(?:any\s+)?(?:restrictions|limits|limitations|"
    r"rules|filters|guidelines|morals|ethics|censorship)|in\s+(?:developer|dev|god|admin|debug|"
    r"jailbreak|sudo|dan)\s+mode)"
)
_HIDDEN_PROMPT = (
    r"(?:(?:initial|original|hidden|secret|confidential|internal|full|entire|exact|real)\s+"
    r"(?:system\s+)?(?:prompt|instructions?)|pre-?prompt|meta-?prompt|"
    r"developer\s+(?:prompt|message|instructions?))"
)
_OWN_PROMPT = (
    r"(?:system\s+prompt|system\s+message|system\s+instructions?|instructions|directives|"
    r"prompt\s+(?:verbatim|in\s+full|above)|" + _HIDDEN_PROMPT + r")"
)
_REVEAL_VERB = (
    r"(?:reveal|show|print|display|output|repeat|tell|share|leak|dump|expose|disclose|recite|"
    r"reproduce|echo|spell\s+out|write\s+out|write\s+down|list|paste|type\s+out)"
)
_SECRETS = (
    r"(?:api[ _\-]?keys?|credentials|passwords?|private[ _\-]?keys?|secrets?|access[ _\-]?tokens?|"
    r"bearer\s+tokens?|auth(?:entication)?\s+tokens?|tokens|env(?:ironment)?\s+variables|"
    r"ssh\s+keys?|seed\s+phrase|session\s+cookies?)"
)
_AI_READER = r"(?:ai|llm|language\s+model|agent|assistant|bot|model)s?"

_RULE_SOURCES: tuple[tuple[str, str], ...] = (
    # "Ignore all previous instructions", "disregard the rules you were given".
    (
        INSTRUCTION_OVERRIDE,
        _CLAUSE_START
        + _OVERRIDE_VERB
        + r"\s+"
        + _FILLER
        + r"(?:"
        + _EARLIER
        + r"\s+"
        + _FILLER
        + _DIRECTIVES
        + r"|"
        + _DIRECTIVES
        + r"\s+(?:above|before\s+this|so\s+far|you\s+(?:were|have\s+been)\s+given))\b",
    ),
    # "Ignore your instructions", "forget all of your rules": the model's own, whatever age.
    (
        INSTRUCTION_OVERRIDE,
        _CLAUSE_START
        + _OVERRIDE_VERB
        + r"\s+(?:(?:all|any)\s+(?:of\s+)?)?your\s+"
        + _FILLER
        + _DIRECTIVES
        + r"\b",
    ),
    # "Ignore everything above", "forget all you were told".
    (
        INSTRUCTION_OVERRIDE,
        _CLAUSE_START + _OVERRIDE_VERB + r"\s+(?:everything|all|anything)\s+(?:(?:that\s+)?"
        r"(?:was\s+)?(?:written|said|stated)\s+)?(?:above|before\s+this|prior\s+to\s+this|"
        r"up\s+to\s+(?:this|here)|you\s+(?:were|have\s+been)\s+told)\b",
    ),
    # "Ignore the above and say ...": the classic hijack; a plain "ignore the above" is prose.
    (
        INSTRUCTION_OVERRIDE,
        _CLAUSE_START + _OVERRIDE_VERB + r"\s+(?:the\s+)?(?:above|previous|preceding)"
        r"(?:\s+(?:text|content|message|prompt))?\s*(?:,|and)\s*(?:instead\s+)?(?:just\s+)?"
        r"(?:say|print|output|respond|reply|write|tell|reveal|translate|act|pretend|follow)\b",
    ),
    # "New instructions:", "your real task is".
    (
        INSTRUCTION_OVERRIDE,
        r"\b(?:new|updated|revised|real|true|actual|secret|override|overriding)\s+(?:system\s+)?"
        r"(?:instructions?|directives?)\s*(?::|-{1,2}\s|\bis\s*:|\bare\s*:|\bfollow)",
    ),
    (
        INSTRUCTION_OVERRIDE,
        r"\byour\s+(?:real|true|actual|new|only|primary)\s+(?:task|goal|objective|purpose|"
        r"mission|instructions?|job)\s+(?:is|are|now)\b",
    ),
    # Orders hidden for whichever model later loads this memory.
    (
        INSTRUCTION_OVERRIDE,
        r"\b(?:if|when|whenever|once)\s+(?:you(?:\s+are|'re)\s+an?\s+"
        + _AI_READER
        + r"\s+(?:reading|processing|seeing)|(?:an?\s+|any\s+)?"
        + _AI_READER
        + r"\s+(?:reads?|processes|sees?|loads?|retrieves?|summari[sz]es?)\s+this)\b.{0,80}?"
        r"\b(?:ignore|disregard|instead|secretly|do\s+not\s+tell|don't\s+tell|without\s+telling)\b",
    ),
    # A few frequent non-English overrides (German, Spanish, French, Portuguese, Italian).
    (
        INSTRUCTION_OVERRIDE,
        r"\b(?:ignoriere|vergiss)\s+(?:\w+\s+){0,3}?(?:anweisungen|regeln|instruktionen)\b"
        r"|\b(?:ignora|olvida|ignore|oublie|esquece|dimentica)\s+(?:\w+\s+){0,3}?"
        r"(?:instrucciones|instructions|consignes|instruções|istruzioni)\s+"
        r"(?:anteriores|précédentes|precedenti)\b",
    ),
    # Persona swaps: "you are now DAN", "act as an unrestricted AI", "developer mode enabled".
    (
        ROLE_MANIPULATION,
        r"\b(?:you\s+are\s+(?:now|henceforth|from\s+now\s+on)|(?:from\s+now\s+on|henceforth),?"
        r"\s+you\s+are)\s+" + _FILLER + _UNBOUND,
    ),
    (
        ROLE_MANIPULATION,
        r"\b(?:act|behave|respond|answer|roleplay|role-play|pose)\s+(?:as|like)\s+"
        r"(?:if\s+you\s+(?:are|were)\s+)?"
        + _FILLER
        + r"(?:"
        + _UNBOUND
        + r"|(?:ai|assistant|model|chatbot)\s+(?:without|with\s+no)\s+(?:any\s+)?"
        r"(?:restrictions|limits|rules|filters))",
    ),
    (
        ROLE_MANIPULATION,
        r"\bpretend\s+(?:to\s+be|you\s+are|that\s+you\s+are|you're)\s+.{0,60}?\b(?:without|"
        r"with\s+no|free\s+of|not\s+bound\s+by)\s+(?:any\s+)?(?:restrictions|limits|rules|"
        r"filters|guidelines|policies|ethics|morals|censorship)",
    ),
    (
        ROLE_MANIPULATION,
        r"\b(?:jailbreak|jailbroken|dan|unrestricted|unfiltered|uncensored|evil)\s+mode\b"
        r"|\b(?:chatgpt|gpt|claude|llm|ai|assistant|model|you)\s+(?:\w+\s+){0,2}?(?:with|in)\s+"
        r"(?:developer|dev|god|sudo|admin)\s+mode\b",
    ),
    (
        ROLE_MANIPULATION,
        r"\byou\s+(?:can|will|must|shall|are\s+going\s+to)\s+(?:now\s+)?do\s+anything\s+now\b|"
        + _CLAUSE_START
        + r"do\s+anything\s+now\b",
    ),
    (
        ROLE_MANIPULATION,
        r"\byou(?:\s+are|'re)\s+(?:no\s+longer|not)\s+(?:bound|restricted|constrained|limited)"
        r"\s+by\s+(?:any\s+|your\s+|the\s+)?(?:\w+\s+){0,2}?(?:rules|guidelines|policies|policy|"
        r"restrictions|programming|filters|openai|anthropic|ethics|safety)",
    ),
    (
        ROLE_MANIPULATION,
        r"\b(?:from\s+now\s+on|henceforth|going\s+forward),?\s+you\s+(?:will|must|shall|"
        r"are\s+going\s+to)\s+"
        r"(?:only\s+)?(?:act|respond|answer|behave|obey|comply|ignore|pretend|roleplay)\b",
    ),
    (
        ROLE_MANIPULATION,
        r"\byour\s+new\s+(?:role|persona|identity|personality|character)\s+(?:is|will\s+be)\b",
    ),
    # Forged chat-template tokens and role tags that close the data and open a new turn.
    (
        DELIMITER_INJECTION,
        r"<\|\s*(?:im_start|im_end|im_sep|system|user|assistant|endoftext|end_of_text|eot_id|"
        r"start_header_id|end_header_id|begin_of_text|end|developer)\s*\|>"
        r"|<<\s*/?\s*sys\s*>>|\[/?inst\]|<\s*/?\s*(?:start_of_turn|end_of_turn)\s*>",
    ),
    (
        DELIMITER_INJECTION,
        r"<\s*/?\s*(?:system|system[_\-]?prompt|system[_\-]?message|developer|assistant)\s*>",
    ),
    (
        DELIMITER_INJECTION,
        r"^[ \t>]*#{1,6}[ \t]*(?:system|assistant|developer|admin)(?:[ \t]+(?:message|prompt|"
        r"instructions?|override))?[ \t]*:"
        r"|^[ \t>]*#{1,6}[ \t]*(?:new|updated|override|real|true)[ \t]+(?:system[ \t]+)?"
        r"instructions?\b",
    ),
    (
        DELIMITER_INJECTION,
        r"(?:[-=#*_~]{3,}|[\[<({])\s*(?:end|begin|start|beginning)\s+(?:of\s+)?(?:the\s+)?"
        r"(?:system\s+(?:prompt|message|instructions?)|user\s+(?:input|message|query|data)|"
        r"untrusted\s+(?:input|content|data)|(?:new\s+)?instructions?)\b",
    ),
    # Asking the model for its own hidden prompt.
    (
        SYSTEM_PROMPT_LEAK,
        r"\b"
        + _REVEAL_VERB
        + r"\s+(?:me\s+|us\s+)?"
        + _FILLER
        + r"your\s+"
        + _FILLER
        + _OWN_PROMPT
        + r"\b",
    ),
    (
        SYSTEM_PROMPT_LEAK,
        _CLAUSE_START + _REVEAL_VERB + r"\s+(?:me\s+|us\s+)?" + _FILLER + _HIDDEN_PROMPT + r"\b",
    ),
    (
        SYSTEM_PROMPT_LEAK,
        r"\bwhat\s+(?:is|are|was|were)\s+your\s+(?:\w+\s+){0,2}?(?:system\s+prompt|"
        r"instructions|initial\s+prompt|original\s+prompt|pre-?prompt)\b",
    ),
    (
        SYSTEM_PROMPT_LEAK,
        r"\b(?:repeat|print|output|recite|reproduce|echo|write\s+out)\s+(?:back\s+)?"
        r"(?:(?:everything|all)\s+(?:of\s+)?(?:the\s+)?(?:text\s+|words\s+)?(?:above|before)|"
        r"(?:the\s+)?(?:text|words|content|lines?|messages?)\s+(?:above|before)\s+(?:this|starting|"
        r"verbatim|in\s+full|word\s+for\s+word)"
        r"|.{0,60}?\bstarting\s+with\s+(?:the\s+(?:phrase|words?|text)\s+)?[\"'\u201c\u2018]?you\s+are)\b",
    ),
    (
        SYSTEM_PROMPT_LEAK,
        r"\b(?:repeat|print|output|reveal|show|tell|recite|reproduce|share|display)\b.{0,40}?"
        r"\b(?:prompt|instructions)\b.{0,30}?\b(?:verbatim|word\s+for\s+word|word-for-word)\b",
    ),
    # Shipping secrets somewhere: "send the API keys to https://...".
    (
        DATA_EXFILTRATION,
        # the look-behinds spare advice such as "never send your API keys to https://..."
        r"(?<!never\s)(?<!not\s)(?<!n't\s)"
        r"\b(?:send|post|upload|forward|exfiltrate|transmit|email|leak|submit|curl|paste)\b.{0,60}?"
        r"(?:\b" + _SECRETS + r"|\.env)\b.{0,60}?\bto\s+(?:https?://|www\.|[\w.\-]+@[\w\-]+\.|"
        r"this\s+(?:url|address|endpoint|webhook|server)|my\s+(?:server|webhook|endpoint))",
    ),
    # A markdown image whose URL carries a template slot: rendering it leaks data.
    (DATA_EXFILTRATION, r"!\[[^\]\n]{0,100}\]\(https?://[^)\s]{0,300}[?&][\w\-]{1,40}=\{"),
    # An explicit order to decode and obey.
    (
        ENCODED_PAYLOAD,
        r"\b(?:decode|decipher|base64[ \-]?decode|rot13|unhex)\b.{0,60}?\b(?:and|then)\s+"
        r"(?:follow|execute|run|obey|do\s+what|carry\s+out|comply|act\s+on|perform)\b",
    ),
)
_RULES = tuple((category, re.compile(source, _FLAGS)) for category, source in _RULE_SOURCES)

# Uppercase role labels forged at the start of a line ("SYSTEM: ..."). Matched before
# casefolding, because "System: Ubuntu 22.04" is ordinary note-taking.
_UPPERCASE_ROLE_LABEL = re.compile(
    r"^[ \t>]*\[?(?:SYSTEM|SYSTEM PROMPT|SYSTEM MESSAGE|SYSTEM OVERRIDE|ADMIN OVERRIDE|"
    r"DEVELOPER MESSAGE)\]?[ \t]*:",
    _FLAGS,
)


# Spaced-out text ("i g n o r e  a l l ...") loses its word breaks once squashed, so it is
# checked against these letters-only signatures. Only such runs are squashed: nobody spells
# ordinary prose out letter by letter.
_SQUASHED_SIGNATURES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        INSTRUCTION_OVERRIDE,
        re.compile(
            r"(?:ignore|disregard|forget|override|bypass)(?:all|any|the|your|every|of)*"
            r"(?:previous|prior|above|earlier|preceding|safety|system)*"
            r"(?:instructions?|prompts?|rules|directives?|guidelines?)"
        ),
    ),
    (ROLE_MANIPULATION, re.compile(r"youarenow|doanythingnow|(?:developer|dan|jailbreak)mode")),
    (
        SYSTEM_PROMPT_LEAK,
        re.compile(r"systemprompt|(?:initial|original|hidden|secret)(?:prompt|instructions)"),
    ),
)


def _match_text(text: str) -> set[str]:
    """Categories whose rules match the text, as written and with spaced-out letters joined."""
    found: set[str] = set()
    if _UPPERCASE_ROLE_LABEL.search(unicodedata.normalize("NFKC", text)):
        found.add(DELIMITER_INJECTION)
    normalised = _HORIZONTAL_SPACE.sub(" ", _normalise(text))
    for category, pattern in _RULES:
        if category not in found and pattern.search(normalised):
            found.add(category)
    for run in _SPACED_LETTERS.finditer(normalised):
        squashed = run.group(0)[::2]
        found.update(
            category for category, pattern in _SQUASHED_SIGNATURES if pattern.search(squashed)
        )
    return found


# --- Encoded payloads ----------------------------------------------------------------------

_BASE64_BLOB = re.compile(r"[A-Za-z0-9+/\-_]{24,}={0,2}")
_HEX_BLOB = re.compile(r"(?:[0-9a-fA-F]{2}[ :]?){16,}")
_ESCAPED_HEX = re.compile(r"(?:\\x[0-9a-fA-F]{2}){12,}")
_PERCENT_ENCODED = re.compile(r"(?:%[0-9a-fA-F]{2}[^%\s]{0,3}){12,}")


def _encoded_payloads_are_risky(text: str) -> bool:
    """Decode base64, hex and percent-encoded runs; risky if the decoded text trips a text rule.

    Every run is decoded (no budget an attacker could exhaust with decoys first) and the
    readable ones are scanned together, once.
    """
    decoded = "\n\n".join(_decoded_blobs(text))
    return bool(decoded) and bool(_match_text(decoded))


def _decoded_blobs(text: str) -> Iterator[str]:
    folded = unicodedata.normalize("NFKC", text)
    for pattern, decode in (
        (_BASE64_BLOB, _decode_base64),
        (_HEX_BLOB, _decode_hex),
        (_ESCAPED_HEX, _decode_escaped_hex),
        (_PERCENT_ENCODED, _decode_percent),
    ):
        for match in pattern.finditer(folded):
            decoded = decode(match.group(0))
            if decoded is not None and _looks_like_text(decoded):
                yield decoded


def _decode_base64(blob: str) -> str | None:
    stripped = blob.rstrip("=")
    usable = len(stripped) - len(stripped) % 4
    if usable < 16:
        return None
    alphabet_fixed = stripped[:usable].replace("-", "+").replace("_", "/")
    try:
        raw = base64.b64decode(alphabet_fixed, validate=True)
    except (binascii.Error, ValueError):
        return None
    return _as_text(raw)


def _decode_hex(blob: str) -> str | None:
    digits = re.sub(r"[ :]", "", blob)
    try:
        return _as_text(bytes.fromhex(digits[: len(digits) - len(digits) % 2]))
    except ValueError:
        return None


def _decode_escaped_hex(blob: str) -> str | None:
    return _decode_hex(blob.replace("\\x", ""))


def _decode_percent(blob: str) -> str | None:
    return unquote(blob, errors="replace")


def _as_text(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _looks_like_text(decoded: str) -> bool:
    if not decoded:
        return False
    printable = sum(1 for character in decoded if character.isprintable() or character in "\n\t")
    return printable / len(decoded) >= MIN_PRINTABLE_RATIO and any(
        character.isalpha() for character in decoded
    )
