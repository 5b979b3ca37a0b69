import numpy as np

from moltnet.embedding.onnx import OnnxEmbedder
from moltnet.embedding.protocol import passage_text

# (query, title, content, tags): one relevant passage per query, every topic distinct.
LABELLED = [
    (
        "how do I keep my sourdough starter alive",
        "Bread baking",
        "Feed the starter with equal weights of flour and water every day and keep it "
        "in a warm spot in the kitchen until it doubles.",
        ["baking"],
    ),
    (
        "what should I do when my private signing key leaks",
        "Key compromise",
        "If the Ed25519 secret is exposed, generate a new keypair, publish the new public "
        "key and revoke the old one so forged signatures are rejected.",
        ["security"],
    ),
    (
        "will it rain this weekend",
        "Weather forecast",
        "Showers and thunderstorms are forecast for Saturday and Sunday, with clearer "
        "skies returning on Monday.",
        [],
    ),
    (
        "why is my postgres query slow",
        "Database tuning",
        "The planner chose a sequential scan; adding a B-tree index on the filtered "
        "column and running ANALYZE made the SQL statement fast again.",
        ["postgres"],
    ),
    (
        "tips for training for a marathon",
        "Running plan",
        "Build weekly mileage slowly, include one long run each week, and taper for two "
        "weeks before the 42 km race.",
        ["sport"],
    ),
    (
        "how to care for a tomato plant",
        "Vegetable garden",
        "Tomatoes need full sun, deep watering at the roots and a stake or cage to support "
        "the vines as the fruit ripens.",
        ["garden"],
    ),
    (
        "what did the user say about their cat",
        None,
        "The user mentioned that their tabby kitten knocks glasses off the table and "
        "sleeps on the keyboard.",
        ["pets"],
    ),
    (
        "how does photosynthesis work",
        "Biology notes",
        "Plants capture sunlight with chlorophyll and turn carbon dioxide and water into "
        "glucose, releasing oxygen.",
        [],
    ),
    (
        "best way to learn to play guitar chords",
        "Music practice",
        "Practise switching between G, C and D shapes slowly every day; calluses on the "
        "fingertips make fretting easier after a few weeks.",
        ["music"],
    ),
    (
        "cheap flights to Tokyo",
        "Travel planning",
        "Fares to Japan drop in late autumn; booking a round trip to Haneda two months "
        "ahead saved almost half the price.",
        ["travel"],
    ),
    (
        "how to fix a merge conflict in git",
        "Version control",
        "Open the conflicting files, choose between the marked sections from both "
        "branches, then stage the result and finish the merge commit.",
        ["git"],
    ),
    (
        "symptoms of dehydration",
        "Health",
        "Thirst, dark urine, headache and dizziness are signs the body has lost too much "
        "water; drink fluids with electrolytes.",
        [],
    ),
]


async def test_queries_retrieve_their_labelled_passage(embedder: OnnxEmbedder) -> None:
    passages = await embedder.embed_passages(
        [passage_text(title, content, tags) for _, title, content, tags in LABELLED]
    )
    queries = [await embedder.embed_query(query) for query, *_ in LABELLED]
    # Vectors are unit length, so the dot product is the cosine similarity.
    similarity = np.asarray(queries) @ np.asarray(passages).T
    top1 = similarity.argmax(axis=1)
    hits = int((top1 == np.arange(len(LABELLED))).sum())
    accuracy = hits / len(LABELLED)
    print(f"retrieval top-1 accuracy: {hits}/{len(LABELLED)} = {accuracy:.2f}")
    assert len(LABELLED) >= 10
    assert accuracy >= 0.9
