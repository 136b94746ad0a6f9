"""Search the index: dense (FAISS inner product on normalised vectors) with abstention.

A question whose best passage scores below `min_relevance` is out of the articles' scope:
the caller says so instead of quoting something loosely related.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .chunking import Chunk
from .index import LoadedIndex


@dataclass(frozen=True)
class Hit:
    doc_id: str
    chunk_id: str
    title: str
    text: str
    score: float
    chunk: Chunk


def dense_search(index: LoadedIndex, query_vector: np.ndarray, k: int) -> list[Hit]:
    if k <= 0 or not index.chunks:
        return []
    k = min(k, len(index.chunks))
    scores, ids = index.vectors.search(np.asarray(query_vector, dtype=np.float32).reshape(1, -1), k)
    hits = []
    for score, i in zip(scores[0], ids[0]):
        if i < 0:
            continue
        c = index.chunks[i]
        hits.append(Hit(c.doc_id, c.chunk_id, c.title, c.text, float(score), c))
    return hits


def in_scope(hits: list[Hit], min_relevance: float) -> bool:
    return bool(hits) and hits[0].score >= min_relevance
