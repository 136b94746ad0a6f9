"""The FAISS part of the index: exact search for small corpora, HNSW above a measured size.

Exact (flat) inner-product search costs time linear in the number of chunks: on this
2-core machine about 7 ms at 51,590 chunks (the MedQuAD-size index) and 200 ms at a
million. HNSW over the same 51,590 real vectors builds in 7 s and answers in 0.4 ms with
recall@10 of 0.998, so it takes over from 20,000 chunks (exact search ~3 ms there); see
docs/benchmarks.md. The build measures the loss (recall@10 of HNSW against exact search on
a sample of the chunks' own vectors, slightly perturbed) and records it in the manifest.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RECALL_SAMPLE = 200
RECALL_K = 10


@dataclass(frozen=True)
class VectorIndexInfo:
    kind: str  # "flat-ip" or "hnsw-ip"
    params: dict
    recall_at_10: float | None  # of the approximate index against exact search; None for exact

    def to_json(self) -> dict:
        return {"type": self.kind, **self.params, "recall_at_10": self.recall_at_10}


def planned(n: int, hnsw_threshold: int, hnsw_m: int, ef_construction: int, ef_search: int) -> dict:
    """The manifest's "faiss" entry (without the measured recall) that these settings produce."""
    if n < hnsw_threshold:
        return {"type": "flat-ip"}
    return {"type": "hnsw-ip", "M": hnsw_m, "ef_construction": ef_construction, "ef_search": ef_search}


def make_vector_index(vectors: np.ndarray, hnsw_threshold: int, hnsw_m: int, ef_construction: int, ef_search: int):
    """(faiss index, info) for these normalised vectors."""
    import faiss

    n, d = vectors.shape
    if n < hnsw_threshold:
        index = faiss.IndexFlatIP(d)
        index.add(vectors)
        return index, VectorIndexInfo("flat-ip", {}, None)
    index = faiss.IndexHNSWFlat(d, hnsw_m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = ef_construction
    index.add(vectors)
    index.hnsw.efSearch = ef_search
    params = {"M": hnsw_m, "ef_construction": ef_construction, "ef_search": ef_search}
    return index, VectorIndexInfo("hnsw-ip", params, approximate_recall(index, vectors))


def approximate_recall(index, vectors: np.ndarray, sample: int = RECALL_SAMPLE, k: int = RECALL_K) -> float:
    """recall@k of `index` against exact search, for queries near the indexed vectors
    (a chunk's own vector plus noise: real queries land near real chunks)."""
    import faiss

    rng = np.random.default_rng(0)  # fixed: the same build reports the same figure
    n, d = vectors.shape
    picks = rng.choice(n, size=min(sample, n), replace=False)
    queries = vectors[picks] + rng.normal(0, 0.02, size=(len(picks), d)).astype(np.float32)
    faiss.normalize_L2(queries)
    exact = faiss.IndexFlatIP(d)
    exact.add(vectors)
    k = min(k, n)
    _, truth = exact.search(queries, k)
    _, got = index.search(queries, k)
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(truth, got)]))


def configure_loaded(index, manifest: dict) -> None:
    """Search-time parameters are not all persisted by FAISS: set them from the manifest."""
    info = manifest.get("faiss") or {}
    if info.get("type") == "hnsw-ip" and hasattr(index, "hnsw"):
        index.hnsw.efSearch = int(info.get("ef_search", 64))
