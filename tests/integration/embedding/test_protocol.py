import pytest

from moltnet.embedding.protocol import (
    EmbeddingModelMismatch,
    ensure_same_model,
    passage_text,
)


def test_passage_text_joins_title_content_and_tag_lines() -> None:
    text = passage_text("Deploy notes", "Rolled back the migration.", ["ops", "postgres"])
    assert text == "Deploy notes\nRolled back the migration.\ntag:ops\ntag:postgres"


def test_passage_text_omits_missing_title_and_tags() -> None:
    assert passage_text(None, "Only content.", []) == "Only content."
    assert passage_text("", "Only content.", ["", "x"]) == "Only content.\ntag:x"


def test_passage_text_never_adds_the_passage_prefix() -> None:
    # The embedder adds "passage: " itself; a caller-side prefix would be doubled.
    assert not passage_text("t", "c", []).startswith("passage: ")


def test_same_model_is_accepted() -> None:
    ensure_same_model("all-MiniLM-L6-v2-int8", "all-MiniLM-L6-v2-int8")


def test_index_built_by_another_model_is_refused_with_both_ids() -> None:
    with pytest.raises(EmbeddingModelMismatch) as caught:
        ensure_same_model("e5-small-v2", "all-MiniLM-L6-v2-int8")
    assert caught.value.stored_model_id == "e5-small-v2"
    assert caught.value.current_model_id == "all-MiniLM-L6-v2-int8"
    message = str(caught.value)
    assert "'e5-small-v2'" in message
    assert "'all-MiniLM-L6-v2-int8'" in message
    assert "re-embed" in message
