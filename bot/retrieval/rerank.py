"""Rerank the fused candidates by late interaction (ColBERT-style MaxSim) with the same model.

A chunk vector is the mean of its tokens: "Count to fifteen" under "how long to hold the floor
stretch?" is blurred by the rest of its chunk. Late interaction (Khattab & Zaharia, 2020)
keeps the tokens apart: each question token finds its best-matching token in the passage,
and the passage scores the mean of those best matches. MiniLM was not trained for this, but
on both labelled sets it ranks the hybrid's top candidates better than the fusion does
(docs/retrieval.md has the figures and the variants tried).

Token vectors are too big to keep in the index (about 40 kB a chunk: gigabytes for MedQuAD),
so they are computed on demand for the few candidates reranked, and kept in an explicit,
bounded cache that belongs to one `Chatbot`.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from ..index.embedding import recent_passes


def _normalised(v) -> np.ndarray:
    v = v.detach().cpu().numpy().astype(np.float32)
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def _inner(tokens: np.ndarray) -> np.ndarray:
    # [CLS] and [SEP] carry the whole text, not a word of it.
    return tokens[1:-1] if len(tokens) > 2 else tokens


def token_vectors(model, texts: list[str]) -> list[np.ndarray]:
    """Each text's normalised token vectors (sentence-transformers trims the padding)."""
    if not texts:
        return []
    out = model.encode(texts, output_value="token_embeddings", batch_size=32, convert_to_numpy=False)
    return [_inner(_normalised(t)) for t in out]


def encode_query(model, text: str) -> tuple[np.ndarray, np.ndarray]:
    """The question's pooled, normalised vector (what `embedding.encode` gives) and its token
    vectors, from one forward pass: a second pass would double the reply's main cost. The pass
    is the one triage already made of the same text, when it made one (`recent_passes`)."""
    done = recent_passes(model, [text])
    return _normalised(done.pooled[0]), _inner(_normalised(done.tokens[0]))


def maxsim(query: np.ndarray, passage: np.ndarray) -> float:
    """Mean over the question's tokens of the best cosine with any of the passage's tokens."""
    if not len(query) or not len(passage):
        return 0.0
    return float((query @ passage.T.astype(np.float32)).max(axis=1).mean())


class TokenVectorCache:
    """The explicit cache of chunks' token vectors, keyed by index version and chunk, least
    recently used first out. Replies run two at a time, so the bookkeeping takes a lock;
    encoding does not (two threads may encode one chunk at once; both get the same vectors)."""

    def __init__(self, model, capacity: int):
        self.model = model
        self.capacity = capacity
        self._items: OrderedDict[tuple[str, int], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def chunks(self, version: str, ids: list[int], texts: list[str]) -> list[np.ndarray]:
        """Token vectors for chunks `ids` (whose texts are `texts`) of index `version`."""
        found: dict[int, np.ndarray] = {}
        with self._lock:
            for i in ids:
                v = self._items.get((version, i))
                if v is not None:
                    self._items.move_to_end((version, i))
                    found[i] = v
        missing = [(i, t) for i, t in zip(ids, texts) if i not in found]
        if missing:
            # float16 halves the memory; cosines change in the fourth decimal.
            fresh = [v.astype(np.float16) for v in token_vectors(self.model, [t for _, t in missing])]
            with self._lock:
                for (i, _), v in zip(missing, fresh):
                    found[i] = v
                    self._items[(version, i)] = v
                    self._items.move_to_end((version, i))
                while len(self._items) > self.capacity:
                    self._items.popitem(last=False)
        return [found[i] for i in ids]


def late_interaction_scores(cache: TokenVectorCache, version: str, query_tokens: np.ndarray, ids: list[int],
                            texts: list[str]) -> dict[int, float]:
    """MaxSim of the question's token vectors against each candidate chunk's."""
    return {i: maxsim(query_tokens, v) for i, v in zip(ids, cache.chunks(version, ids, texts))}
