"""Keyword search: Okapi BM25 over nltk word tokens, Porter stems, stopwords removed.

Dense embeddings miss exact terms ("SMR", "levator scapulae"); BM25 finds them. The term
statistics (postings, document lengths) are built with the index and saved beside the
vectors as `bm25.json`; k1 and b only shape scoring, so they are settings, not index data.
Lay words are mapped to the articles' words before searching: `retrieval/lexical.py`.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from ..text import content_stems

#: Recorded in the manifest: an index whose terms were made another way must be rebuilt.
TOKENIZER = "nltk-regexp-words+stopwords+porter/1"



def terms(text: str) -> list[str]:
    return content_stems(text)


@dataclass(frozen=True)
class BM25Stats:
    n_docs: int
    doc_len: np.ndarray  # int32, terms per chunk
    avgdl: float
    postings: dict[str, tuple[np.ndarray, np.ndarray]]  # term -> (chunk ids, term counts)

    def idf(self, term: str) -> float:
        """BM25+ style idf, never negative (a term in most chunks still counts a little)."""
        df = len(self.postings[term][0]) if term in self.postings else 0
        return math.log(1 + (self.n_docs - df + 0.5) / (df + 0.5))


def build_bm25(texts: list[str]) -> BM25Stats:
    postings: dict[str, tuple[list[int], list[int]]] = {}
    lengths = []
    for i, text in enumerate(texts):
        counts = Counter(terms(text))
        lengths.append(sum(counts.values()))
        for term, n in counts.items():
            ids, tfs = postings.setdefault(term, ([], []))
            ids.append(i)
            tfs.append(n)
    doc_len = np.asarray(lengths, dtype=np.int32)
    return BM25Stats(
        n_docs=len(texts),
        doc_len=doc_len,
        avgdl=float(doc_len.mean()) if len(texts) else 0.0,
        postings={t: (np.asarray(ids, dtype=np.int32), np.asarray(tfs, dtype=np.int32)) for t, (ids, tfs) in postings.items()},
    )


def bm25_to_json(stats: BM25Stats) -> dict:
    return {
        "tokenizer": TOKENIZER,
        "n_docs": stats.n_docs,
        "doc_len": stats.doc_len.tolist(),
        "postings": {t: [ids.tolist(), tfs.tolist()] for t, (ids, tfs) in sorted(stats.postings.items())},
    }


def bm25_from_json(data: dict) -> BM25Stats:
    """Rebuild the statistics, refusing anything inconsistent (ValueError names what)."""
    if data.get("tokenizer") != TOKENIZER:
        raise ValueError(f"terms were made by '{data.get('tokenizer')}', not '{TOKENIZER}'")
    n = int(data["n_docs"])
    doc_len = np.asarray(data["doc_len"], dtype=np.int32)
    if len(doc_len) != n:
        raise ValueError("document lengths do not match the number of chunks")
    postings = {}
    for term, (ids, tfs) in data["postings"].items():
        ids, tfs = np.asarray(ids, dtype=np.int32), np.asarray(tfs, dtype=np.int32)
        if len(ids) != len(tfs) or (len(ids) and (ids.min() < 0 or ids.max() >= n)) or (tfs <= 0).any():
            raise ValueError(f"the postings of '{term}' are inconsistent")
        postings[term] = (ids, tfs)
    return BM25Stats(n, doc_len, float(doc_len.mean()) if n else 0.0, postings)


def bm25_scores(stats: BM25Stats, query_terms: list[str], k1: float = 1.2, b: float = 0.75) -> np.ndarray:
    """Okapi BM25 score of every chunk for the query terms (repeated terms count once)."""
    scores = np.zeros(stats.n_docs, dtype=np.float32)
    if not stats.n_docs:
        return scores
    norm = k1 * (1 - b + b * stats.doc_len / max(stats.avgdl, 1e-9))
    for term in dict.fromkeys(query_terms):
        if term not in stats.postings:
            continue
        ids, tfs = stats.postings[term]
        scores[ids] += stats.idf(term) * tfs * (k1 + 1) / (tfs + norm[ids])
    return scores


def coverage(stats: BM25Stats, query_terms: list[str], chunk_terms: set[str]) -> float:
    """Share of the query's idf mass that a chunk contains: 1.0 when every meaningful word of
    the question is in it. Unlike a raw BM25 score it is comparable across questions, so it
    can serve as a relevance signal for abstention. Unknown words count fully against."""
    unique = list(dict.fromkeys(query_terms))
    if not unique:
        return 0.0
    # A word the corpus has never seen gets the largest idf: it is what makes a question off-topic.
    unseen = math.log(1 + (stats.n_docs + 0.5) / 0.5)
    weights = {t: stats.idf(t) if t in stats.postings else unseen for t in unique}
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in chunk_terms) / total if total else 0.0
