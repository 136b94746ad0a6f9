"""Find the passages that answer a question: dense, BM25 or both fused, then diversified.

1. The question's lay words are mapped to the articles' words (`lexical.expand_query`).
2. Dense search (FAISS inner product on normalised MiniLM vectors) and BM25 each rank
   `candidates` chunks; hybrid adds a third ranking, chunks by their best-matching
   sentence's vector, and fuses the rankings with Reciprocal Rank Fusion
   (score = sum of weight / (k + rank)) or with weighted min-max scaled scores.
3. Hybrid then reranks its top `rerank_candidates` by late interaction: each question token's
   best match among the passage's tokens (`rerank.py`).
4. Maximal Marginal Relevance picks the top k from the candidates, so they are not
   near-copies of one sentence (overlapping chunks of the same paragraph are).
5. Each hit carries a *relevance* in [0, 1] that is comparable across questions (RRF
   scores are not): the cosine for dense, the share of the question's idf mass the chunk
   contains for BM25, their mean for hybrid (on the labelled questions the mean separates
   in-scope from out-of-scope better than either alone or their maximum). A question whose
   best relevance is under the calibrated threshold is out of the articles' scope.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .chunking import Chunk
from .index import LoadedIndex
from .lexical import bm25_scores, coverage, expand_query, terms
from .rerank import TokenVectorCache, encode_query, late_interaction_scores
from .settings import Settings
from .timing import stage


@dataclass(frozen=True)
class Hit:
    doc_id: str
    chunk_id: str
    title: str
    text: str
    score: float  # the method's ranking score (cosine, BM25, fused, or late interaction)
    chunk: Chunk
    dense: float = 0.0  # cosine similarity to the question (0 when not computed)
    lexical: float = 0.0  # share of the question's idf mass in the chunk
    relevance: float = 0.0  # what abstention compares with the threshold


def _top(scores: dict[int, float], n: int) -> list[int]:
    return sorted(scores, key=lambda i: (-scores[i], i))[:n]


def dense_ranking(index: LoadedIndex, query_vector: np.ndarray, n: int) -> dict[int, float]:
    n = min(n, len(index.chunks))
    if n <= 0:
        return {}
    scores, ids = index.vectors.search(np.asarray(query_vector, dtype=np.float32).reshape(1, -1), n)
    return {int(i): float(s) for s, i in zip(scores[0], ids[0]) if i >= 0}


def sentence_ranking(index: LoadedIndex, query_vector: np.ndarray, n: int) -> dict[int, float]:
    """Chunks scored by their best sentence's cosine, from the top sentences. A three-sentence
    chunk vector is an average; "Do this three times" under "how many times should I do the
    thoracic stretch?" is found by its own sentence, not by the chunk's blur."""
    # Each sentence sits in one or two chunks: a few times n sentences reach n chunks.
    m = min(4 * n, len(index.sentence_owners))
    if m <= 0:
        return {}
    scores, ids = index.sentence_vectors.search(np.asarray(query_vector, dtype=np.float32).reshape(1, -1), m)
    best: dict[int, float] = {}
    for s, j in zip(scores[0], ids[0]):
        if j < 0:
            continue
        for i in index.sentence_owners[j]:
            if i not in best:  # results come best first
                best[i] = float(s)
    return {i: best[i] for i in _top(best, n)}


def bm25_ranking(index: LoadedIndex, query_terms: list[str], n: int, k1: float, b: float) -> dict[int, float]:
    scores = bm25_scores(index.bm25, query_terms, k1, b)
    nonzero = np.flatnonzero(scores > 0)
    if len(nonzero) > n:
        nonzero = nonzero[np.argpartition(-scores[nonzero], n - 1)[:n]]
    return {int(i): float(scores[i]) for i in nonzero}


def rrf(rankings: list[dict[int, float]], weights: list[float], k: int) -> dict[int, float]:
    """Reciprocal Rank Fusion (Cormack et al., 2009): robust to incomparable score scales."""
    fused: dict[int, float] = {}
    for scores, w in zip(rankings, weights):
        for rank, i in enumerate(_top(scores, len(scores)), 1):
            fused[i] = fused.get(i, 0.0) + w / (k + rank)
    return fused


def weighted(rankings: list[dict[int, float]], weights: list[float]) -> dict[int, float]:
    """Weighted sum of min-max scaled scores; a chunk missing from a ranking scores 0 there."""
    fused: dict[int, float] = {}
    for scores, w in zip(rankings, weights):
        if not scores:
            continue
        lo, hi = min(scores.values()), max(scores.values())
        for i, s in scores.items():
            fused[i] = fused.get(i, 0.0) + w * ((s - lo) / (hi - lo) if hi > lo else 1.0)
    return fused


def mmr(candidates: list[int], relevance: dict[int, float], similarity: Callable[[int, int], float],
        k: int, lam: float) -> list[int]:
    """Maximal Marginal Relevance (Carbonell & Goldstein, 1998) over `candidates`, best first."""
    if lam >= 1.0 or not candidates:
        return candidates[:k]
    # Min-max scaling: RRF scores are close together (1/61 vs 1/80), and divided by the maximum
    # alone they would all look alike, letting the diversity term decide the order.
    lo, hi = min(relevance[i] for i in candidates), max(relevance[i] for i in candidates)
    rel = {i: (relevance[i] - lo) / (hi - lo) if hi > lo else 1.0 for i in candidates}
    chosen: list[int] = []
    rest = list(candidates)
    while rest and len(chosen) < k:
        best = max(rest, key=lambda i: lam * rel[i] - (1 - lam) * max((similarity(i, j) for j in chosen), default=0.0))
        chosen.append(best)
        rest.remove(best)
    return chosen


def search(index: LoadedIndex, query: str, settings: Settings, embed: Callable[[str], np.ndarray] | None,
           k: int | None = None, method: str | None = None, timings: dict | None = None,
           tokens: TokenVectorCache | None = None) -> list[Hit]:
    """The top-k passages for `query` by `method` (default: the settings' method). With
    `timings`, adds the seconds spent per stage (embedding, dense search, bm25, fusion,
    rerank). Hybrid reranks its top candidates when given the token-vector cache `tokens`."""
    method = method or settings.retrieval
    k = settings.top_k if k is None else k
    if k <= 0 or not index.chunks or not query.strip():
        return []
    q = expand_query(query) if settings.expand_lay_terms else query
    n = max(settings.candidates, k)
    rankings, weights = [], []
    qv = q_tokens = None
    rerank = (method == "hybrid" and tokens is not None and settings.rerank_candidates > 0
              and len(index.chunks) <= settings.rerank_max_chunks)
    if method in ("dense", "hybrid"):
        with stage(timings, "embedding"):
            if rerank:
                qv, q_tokens = encode_query(tokens.model, q)
            else:
                qv = np.asarray(embed(q), dtype=np.float32)
        with stage(timings, "dense search"):
            rankings.append(dense_ranking(index, qv, n))
            weights.append(settings.dense_weight)
            if method == "hybrid" and settings.sentence_weight > 0:
                rankings.append(sentence_ranking(index, qv, n))
                weights.append(settings.sentence_weight)
    if method in ("bm25", "hybrid"):
        with stage(timings, "bm25"):
            q_words = terms(q)
            rankings.append(bm25_ranking(index, q_words, n, settings.bm25_k1, settings.bm25_b))
        weights.append(settings.bm25_weight)
    with stage(timings, "fusion"):
        fused = _fused(rankings, weights, settings)
        candidates = _top(fused, n)
    if rerank:
        with stage(timings, "rerank"):
            # Only the window is reranked, and MMR then chooses from it: a passage the fusion
            # put 15th is not brought back by diversity.
            window = candidates[: max(settings.rerank_candidates, k)]
            fused = late_interaction_scores(tokens, index.path.name, q_tokens, window,
                                            [index.chunks[i].text for i in window])
            candidates = _top(fused, len(window))
    with stage(timings, "diversity"):
        return _diversify(index, fused, candidates, method, settings, k, qv, q_words if method != "dense" else [])


def _fused(rankings, weights, settings) -> dict[int, float]:
    if len(rankings) == 1:
        return rankings[0]
    if settings.fusion == "weighted":
        return weighted(rankings, weights)
    return rrf(rankings, weights, settings.rrf_k)


def _diversify(index, fused, candidates, method, settings, k, qv, q_terms) -> list[Hit]:
    """MMR over the candidates (ranked by `fused`), then each hit's relevance."""

    # Per candidate, once: its vector (cosine for chunks BM25 found, MMR similarity) and its
    # terms (keyword coverage; MMR similarity when there are no vectors).
    vectors = {i: index.vectors.reconstruct(i) for i in candidates} if qv is not None else {}
    term_sets = {i: set(terms(index.chunks[i].text)) for i in candidates} if method != "dense" else {}
    if vectors:
        similarity = lambda i, j: float(vectors[i] @ vectors[j])  # noqa: E731
    else:
        similarity = lambda i, j: len(term_sets[i] & term_sets[j]) / max(1, len(term_sets[i] | term_sets[j]))  # noqa: E731
    order = mmr(candidates, fused, similarity, k, settings.mmr_lambda)

    hits = []
    for i in order:
        c = index.chunks[i]
        dense = float(vectors[i] @ qv) if vectors else 0.0
        lexical = coverage(index.bm25, q_terms, term_sets[i]) if term_sets else 0.0
        relevance = {"dense": dense, "bm25": lexical, "hybrid": (dense + lexical) / 2}[method]
        hits.append(Hit(c.doc_id, c.chunk_id, c.title, c.text, fused[i], c, dense, lexical, relevance))
    return hits


def in_scope(hits: list[Hit], threshold: float) -> bool:
    return bool(hits) and max(h.relevance for h in hits) >= threshold
