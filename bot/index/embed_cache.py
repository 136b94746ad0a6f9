"""Embedding cache: chunk vectors keyed by (model, sha1 of the chunk text), kept on disk.

Encoding is nearly all of a build's cost, so an incremental build only encodes chunk texts
it has never seen with this model. The cache lives in `index/cache/<model>/` as shard
files (`.npz`: keys and vectors). Shards are written whole with an atomic rename while a
build encodes, so a build that is killed keeps what it had already encoded; after a
successful build the cache is compacted to the chunks of the live index.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


def text_key(text: str) -> bytes:
    return hashlib.sha1(text.encode("utf-8")).hexdigest().encode("ascii")


def cache_dir(index_dir: Path, model: str) -> Path:
    # Model names and paths become one folder name; the hash keeps two paths that slug alike apart.
    slug = re.sub(r"[^A-Za-z0-9.]+", "-", model).strip("-")[-60:] or "model"
    return index_dir / "cache" / f"{slug}-{hashlib.sha1(model.encode()).hexdigest()[:8]}"


class EmbeddingCache:
    def __init__(self, folder: Path, dimension: int | None = None):
        self.folder = folder
        self.dimension = dimension
        self.rows: dict[bytes, np.ndarray] = {}

    @classmethod
    def open(cls, folder: Path) -> "EmbeddingCache":
        """Read every readable shard; a damaged shard is ignored (its chunks are re-encoded)."""
        cache = cls(folder)
        # Half-written shards of a killed build (only ever opened under the build lock).
        for tmp in folder.glob(".*.tmp") if folder.is_dir() else []:
            tmp.unlink(missing_ok=True)
        for shard in sorted(folder.glob("*.npz")) if folder.is_dir() else []:
            try:
                with np.load(shard, allow_pickle=False) as data:
                    keys, vectors = data["keys"], data["vectors"]
                if vectors.ndim != 2 or len(keys) != len(vectors):
                    raise ValueError("keys and vectors disagree")
            except Exception as e:
                log.warning("ignoring the damaged embedding cache shard %s (%s)", shard, e)
                continue
            if cache.dimension is None:
                cache.dimension = vectors.shape[1]
            if vectors.shape[1] != cache.dimension:
                log.warning("ignoring the embedding cache shard %s (dimension %d)", shard, vectors.shape[1])
                continue
            for k, v in zip(keys.tolist(), vectors):
                cache.rows[k] = v
        return cache

    def lookup(self, keys: list[bytes]) -> tuple[dict[int, np.ndarray], list[int]]:
        """(position -> cached vector, positions still to encode)."""
        found, missing = {}, []
        for i, k in enumerate(keys):
            v = self.rows.get(k)
            if v is None:
                missing.append(i)
            else:
                found[i] = v
        return found, missing

    def add(self, keys: list[bytes], vectors: np.ndarray) -> None:
        """Remember and persist new vectors (one new shard, written atomically)."""
        if not keys:
            return
        for k, v in zip(keys, vectors):
            self.rows[k] = v
        self._write(f"shard-{time.time_ns()}-{os.getpid()}.npz", keys, vectors)

    def compact(self, keep: list[bytes]) -> None:
        """Keep only `keep` (the live index's chunks), in one shard; drop the rest."""
        keep = [k for k in dict.fromkeys(keep) if k in self.rows]
        old = list(self.folder.glob("*.npz")) if self.folder.is_dir() else []
        if keep:
            self._write(f"shard-{time.time_ns()}-{os.getpid()}.npz", keep, np.stack([self.rows[k] for k in keep]))
        new_rows = {k: self.rows[k] for k in keep}
        # Deleting after the new shard is in place: a crash in between leaves duplicates, never a gap.
        for shard in old:
            shard.unlink(missing_ok=True)
        self.rows = new_rows

    def _write(self, name: str, keys: list[bytes], vectors: np.ndarray) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".{name}.tmp"
        with open(tmp, "wb") as fh:
            np.savez(fh, keys=np.array(keys, dtype="S40"), vectors=np.asarray(vectors, dtype=np.float32))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.folder / name)
