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

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..corpus.chunking import Chunk
from ..index.store import LoadedIndex
from ..index.bm25 import bm25_scores, coverage, terms
from .lexical import expand_query
from .rerank import TokenVectorCache, encode_query, late_interaction_scores
from ..settings import Settings
from ..timing import stage


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


@dataclass(frozen=True)
class Query:
    """The question as each ranking reads it: lay words mapped, as a vector and as terms."""
    text: str
    vector: np.ndarray | None = None
    terms: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Ranking:
    """One ranking a method fuses: how it scores chunks, what of the query it reads, and the
    setting that weighs it."""
    rank: Callable[[LoadedIndex, Query, Settings, int], dict[int, float]]
    reads: str  # "vector" (the question embedded) or "terms" (its BM25 terms)
    weight: str  # the Settings field holding its weight in the fusion (0 leaves it out)

    @property
    def stage(self) -> str:  # its name in the benchmarks' timing table
        return "dense search" if self.reads == "vector" else "bm25"


@dataclass(frozen=True)
class Method:
    """A retrieval method: its rankings, how a hit's relevance is read (comparable across
    questions, for abstention), and the setting holding its calibrated threshold."""
    rankings: tuple[Ranking, ...]
    relevance: Callable[[float, float], float]  # (cosine, keyword coverage) -> relevance
    threshold: str  # the Settings field with its abstention threshold
    rerank: bool = False  # late-interaction rerank of the fused top candidates

    @property
    def dense(self) -> bool:
        return any(r.reads == "vector" for r in self.rankings)

    @property
    def lexical(self) -> bool:
        return any(r.reads == "terms" for r in self.rankings)


def dense_ranking_of(index: LoadedIndex, q: Query, settings: Settings, n: int) -> dict[int, float]:
    return dense_ranking(index, q.vector, n)


def sentence_ranking_of(index: LoadedIndex, q: Query, settings: Settings, n: int) -> dict[int, float]:
    return sentence_ranking(index, q.vector, n)


def bm25_ranking_of(index: LoadedIndex, q: Query, settings: Settings, n: int) -> dict[int, float]:
    return bm25_ranking(index, q.terms, n, settings.bm25_k1, settings.bm25_b)


#: Every retrieval method, by name. A new method is one entry here (and its threshold setting).
DENSE = Ranking(dense_ranking_of, "vector", "dense_weight")
BEST_SENTENCE = Ranking(sentence_ranking_of, "vector", "sentence_weight")
BM25 = Ranking(bm25_ranking_of, "terms", "bm25_weight")

#: Every retrieval method, by name. A new method is one entry here (and its threshold setting).
METHODS: dict[str, Method] = {
    "dense": Method((DENSE,), lambda cos, cov: cos, "min_relevance_dense"),
    "bm25": Method((BM25,), lambda cos, cov: cov, "min_relevance_bm25"),
    # On the labelled questions the mean separates in-scope from out-of-scope better than
    # either signal alone or their maximum (docs/retrieval.md).
    "hybrid": Method((DENSE, BEST_SENTENCE, BM25), lambda cos, cov: (cos + cov) / 2, "min_relevance", rerank=True),
}


def threshold(settings: Settings, method: str | None = None) -> float:
    """The calibrated relevance threshold of a method (default: the settings' method)."""
    return getattr(settings, METHODS[method or settings.retrieval].threshold)


def search(index: LoadedIndex, query: str, settings: Settings, embed: Callable[[str], np.ndarray] | None,
           k: int | None = None, method: str | None = None, timings: dict | None = None,
           tokens: TokenVectorCache | None = None) -> list[Hit]:
    """The top-k passages for `query` by `method` (default: the settings' method). With
    `timings`, adds the seconds spent per stage (embedding, dense search, bm25, fusion,
    rerank). A method that reranks does so when given the token-vector cache `tokens`."""
    m = METHODS[method or settings.retrieval]
    k = settings.top_k if k is None else k
    if k <= 0 or not index.chunks or not query.strip():
        return []
    text = expand_query(query) if settings.expand_lay_terms else query
    n = max(settings.candidates, k)
    rerank = (m.rerank and tokens is not None and settings.rerank_candidates > 0
              and len(index.chunks) <= settings.rerank_max_chunks)
    qv = q_tokens = None
    if m.dense:
        with stage(timings, "embedding"):
            if rerank:
                qv, q_tokens = encode_query(tokens.model, text)
            else:
                qv = np.asarray(embed(text), dtype=np.float32)
    q_terms = []
    if m.lexical:
        with stage(timings, "bm25"):
            q_terms = terms(text)
    q = Query(text, qv, q_terms)
    rankings, weights = [], []
    for r in m.rankings:
        weight = getattr(settings, r.weight)
        if weight <= 0 and len(m.rankings) > 1:  # a weight of 0 leaves a ranking out
            continue
        with stage(timings, r.stage):
            rankings.append(r.rank(index, q, settings, n))
        weights.append(weight)
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
        return _diversify(index, fused, candidates, m, settings, k, q)


def _fused(rankings, weights, settings) -> dict[int, float]:
    if len(rankings) == 1:
        return rankings[0]
    if settings.fusion == "weighted":
        return weighted(rankings, weights)
    return rrf(rankings, weights, settings.rrf_k)


def _diversify(index, fused, candidates, method: Method, settings, k, q: Query) -> list[Hit]:
    """MMR over the candidates (ranked by `fused`), then each hit's relevance."""

    # Per candidate, once: its vector (cosine for chunks BM25 found, MMR similarity) and its
    # terms (keyword coverage; MMR similarity when there are no vectors).
    vectors = {i: index.vectors.reconstruct(i) for i in candidates} if q.vector is not None else {}
    term_sets = {i: set(terms(index.chunks[i].text)) for i in candidates} if method.lexical else {}
    if vectors:
        similarity = lambda i, j: float(vectors[i] @ vectors[j])  # noqa: E731
    else:
        similarity = lambda i, j: len(term_sets[i] & term_sets[j]) / max(1, len(term_sets[i] | term_sets[j]))  # noqa: E731
    order = mmr(candidates, fused, similarity, k, settings.mmr_lambda)

    hits = []
    for i in order:
        c = index.chunks[i]
        dense = float(vectors[i] @ q.vector) if vectors else 0.0
        lexical = coverage(index.bm25, q.terms, term_sets[i]) if term_sets else 0.0
        hits.append(Hit(c.doc_id, c.chunk_id, c.title, c.text, fused[i], c, dense, lexical, method.relevance(dense, lexical)))
    return hits


def in_scope(hits: list[Hit], threshold: float) -> bool:
    return bool(hits) and max(h.relevance for h in hits) >= threshold
