"""Build a new index version from the corpus: read, clean, chunk, embed (incrementally),
index, write, verify, publish. The layout and loading are in `index`.

A build writes a new folder beside the live one, verifies it by loading it, and only then
swaps CURRENT (an atomic rename), so a failed or killed build leaves the old index serving.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import fcntl
import hashlib
import json
import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from nltk.tokenize.punkt import PunktSentenceTokenizer

from ..corpus.chunking import Chunk, chunk_corpus, sentence_units
from ..corpus.cleaning import CleanArticle, clean_corpus, normalise
from .embed_cache import EmbeddingCache, cache_dir, text_key
from .store import (FILES, FORMAT_VERSION, UnusableIndexError, current_version_dir, file_sha256, publish, punkt_from_json,
                    punkt_to_json, read_index, read_jsonl)
from ..corpus.ingest import Article, CorpusError, Skipped, corpus_fingerprint, formats, read_corpus
from .bm25 import TOKENIZER, bm25_to_json, build_bm25
from ..settings import Settings
from ..text import train_sentence_splitter
from ..progress import Progress, track
from .vector_index import make_vector_index, planned
from ..errors import BuildError




@dataclass(frozen=True)
class Changes:
    """Articles (doc ids) compared with the live index."""
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)


@dataclass(frozen=True)
class BuildSummary:
    articles: int
    chunks: int
    skipped: tuple[Skipped, ...]
    seconds: float
    version: str
    dropped_sentences: int
    changes: Changes = Changes()
    encoded: int = 0  # chunks embedded by this build
    reused: int = 0  # chunks whose vectors came from the embedding cache
    sentences_encoded: int = 0  # sentences embedded by this build (the rest came from the cache)
    full: bool = False
    faiss: dict = dataclasses.field(default_factory=dict)
    up_to_date: bool = False  # nothing had changed: no new version was published


@dataclass(frozen=True)
class Prepared:
    """Everything a build computes before the model: the corpus read, cleaned and chunked."""
    cleaned: list[CleanArticle]
    chunks: list[Chunk]
    skipped: list[Skipped]
    splitter: PunktSentenceTokenizer
    fingerprint: str
    hashes: dict[str, str]  # doc_id -> content hash
    files: dict[str, str]  # doc_id -> sha256 of its file
    changes: Changes
    splitter_reused: bool


@contextmanager
def build_lock(index_dir: Path):
    """One build at a time per index folder; a second one is refused, not queued."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".build.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BuildError(f"Another build is already running on {index_dir}; wait for it to finish.") from None
        yield


def _write_jsonl(path: Path, rows) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def article_hash(a: Article) -> str:
    """What an article contributes to the index: its text and the metadata citations show."""
    return hashlib.sha256("\0".join((a.title, a.source, a.url, a.text)).encode("utf-8")).hexdigest()


def previous_build(settings: Settings) -> dict | None:
    """The live index: its manifest, articles (doc_id -> hash), Punkt parameters, and whether
    it was built with these settings (only then can a build be incremental). None when
    there is no readable index."""
    try:
        path = current_version_dir(settings)
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        articles = {row["doc_id"]: row.get("hash", "") for row in read_jsonl(path / "articles.jsonl")}
        punkt = json.loads((path / "punkt.json").read_text(encoding="utf-8"))
    except (UnusableIndexError, OSError, ValueError, KeyError, TypeError):
        return None
    compatible = (manifest.get("format_version") == FORMAT_VERSION and manifest.get("model") == settings.model
                  and manifest.get("chunking") == settings.chunking())
    return {"manifest": manifest, "articles": articles, "punkt": punkt, "compatible": compatible}


def compare(previous: dict[str, str], current: dict[str, str]) -> Changes:
    return Changes(
        added=tuple(sorted(d for d in current if d not in previous)),
        changed=tuple(sorted(d for d in current if d in previous and previous[d] != current[d])),
        removed=tuple(sorted(d for d in previous if d not in current)),
    )


def prepare(settings: Settings, full: bool = False, live: dict | None = None, progress: bool = False) -> Prepared:
    """Read, clean and chunk the corpus: everything a build does before the model.

    An incremental build keeps the live index's sentence splitter (`live`, from
    `previous_build`), so unchanged articles split (and chunk) exactly as before and their
    vectors come from the cache; `full` retrains it on the corpus. `progress` shows reading
    and cleaning as they go (see bot/progress.py)."""
    articles, skipped = read_corpus(settings.corpus_dir, progress=progress)
    if not articles:
        raise CorpusError(f"No readable articles ({', '.join(formats())}) in {settings.corpus_dir}.")
    reuse = live is not None and live["compatible"] and not full
    if reuse:
        splitter = punkt_from_json(live["punkt"])
    else:
        splitter = train_sentence_splitter([normalise(a.text) for a in articles])
    cleaned = clean_corpus(track(articles, "cleaning", "articles", progress), splitter)
    chunks = chunk_corpus(cleaned, settings.chunk_sentences, settings.chunk_overlap)
    for c in cleaned:
        if not c.sentences:
            skipped.append(Skipped(c.path, f"({c.doc_id}) has no usable sentences after cleaning"))
    hashes = {a.doc_id: article_hash(a) for a in articles}
    return Prepared(
        cleaned=cleaned, chunks=chunks, skipped=skipped, splitter=splitter,
        fingerprint=corpus_fingerprint(articles), hashes=hashes,
        files={a.doc_id: a.sha256 for a in articles}, changes=compare(live["articles"] if live else {}, hashes),
        splitter_reused=reuse,
    )


def embed_texts(settings: Settings, cache: EmbeddingCache, texts: list[str], progress: bool, on_stage,
                what: str = "chunks") -> tuple[np.ndarray, int, list[bytes]]:
    """Vectors for `texts` in order, encoding only texts the cache hasn't seen with this
    model. Returns (vectors, number encoded now, the texts' cache keys)."""
    from .embedding import encode, load_model

    keys = [text_key(t) for t in texts]
    found, missing = cache.lookup(keys)
    on_stage(f"embedding {len(missing)} of {len(texts)} {what} ({len(found)} from the cache)")
    if missing:
        model = load_model(settings.model)
        step = settings.embed_batch_size * ENCODE_STEP_BATCHES
        with Progress(len(missing), f"embedding {what}", what, progress) as bar:
            for a in range(0, len(missing), ENCODE_FLUSH):
                batch = missing[a : a + ENCODE_FLUSH]
                parts = []
                for b in range(0, len(batch), step):
                    parts.append(encode(model, [texts[i] for i in batch[b : b + step]], settings.embed_batch_size))
                    bar.update(len(parts[-1]))
                vectors = np.concatenate(parts)
                cache.add([keys[i] for i in batch], vectors)  # persisted now: a killed build keeps it
                found.update(zip(batch, vectors))
    vectors = np.ascontiguousarray(np.stack([found[i] for i in range(len(texts))]), dtype=np.float32)
    return vectors, len(missing), keys


#: Encoded vectors are written to the cache every this many texts (~1 minute of encoding).
ENCODE_FLUSH = 8192
#: Progress moves on every this many batches of texts encoded.
ENCODE_STEP_BATCHES = 8


def _no_stage(message: str) -> None:
    pass


def build_index(settings: Settings, progress: bool = False, full: bool = False, on_stage=None) -> BuildSummary:
    """Build (incrementally unless `full`), verify and publish a new index version.

    `on_stage(message)` is told each stage as it starts (the CLI prints them). A disk that
    fills up or a folder that can't be written becomes a BuildError naming the file; the live
    index is untouched, since it is replaced only by the final rename."""
    try:
        return _build_index(settings, progress, full, on_stage)
    except OSError as e:
        where = e.filename or settings.index_dir
        raise BuildError(
            f"The build could not write {where}: {e.strerror or e}. The live index is unchanged; free some disk space "
            f"or make {settings.index_dir} writable, then build again."
        ) from None


def _build_index(settings: Settings, progress: bool, full: bool, on_stage) -> BuildSummary:
    import faiss

    on_stage = on_stage or _no_stage
    started = time.perf_counter()
    with build_lock(settings.index_dir):
        remove_leftovers(settings.index_dir)
        read_at = time.time()  # a file edited after this may not be in the build
        on_stage("reading and cleaning the articles")
        live = previous_build(settings)
        prep = prepare(settings, full=full, live=live, progress=progress)
        units = sentence_units(prep.chunks)
        vector_settings = (settings.hnsw_threshold, settings.hnsw_m, settings.hnsw_ef_construction, settings.hnsw_ef_search)
        plan = {"faiss": planned(len(prep.chunks), *vector_settings), "sentence_faiss": planned(len(units.texts), *vector_settings)}
        live_plan = {key: {k: v for k, v in (live["manifest"].get(key) or {}).items() if k != "recall_at_10"}
                     for key in plan} if live else {}
        skipped = [[sk.path, sk.reason] for sk in prep.skipped]
        if (live and prep.splitter_reused and not prep.changes
                and live["manifest"].get("corpus_fingerprint") == prep.fingerprint and live_plan == plan
                and live["manifest"].get("skipped") == skipped):
            # Nothing to do; publishing an identical version would only make running pages reload.
            on_stage("the index is up to date")
            return BuildSummary(
                articles=len(prep.cleaned), chunks=len(prep.chunks), skipped=tuple(prep.skipped),
                seconds=time.perf_counter() - started, version=live["manifest"]["version"],
                dropped_sentences=sum(len(a.dropped) for a in prep.cleaned), reused=len(prep.chunks),
                faiss=live["manifest"].get("faiss", {}), up_to_date=True,
            )
        if not prep.chunks:
            raise BuildError("The corpus produced no chunks to index (no article has a quotable sentence).")
        folder = cache_dir(settings.index_dir, settings.model)
        cache = EmbeddingCache(folder) if full else EmbeddingCache.open(folder)
        vectors, encoded, keys = embed_texts(settings, cache, [c.text for c in prep.chunks], progress, on_stage)
        sentence_vectors, sentences_encoded, sentence_keys = embed_texts(
            settings, cache, units.texts, progress, on_stage, what="sentences")
        on_stage(f"indexing {len(vectors)} chunk and {len(sentence_vectors)} sentence vectors")
        index, faiss_info = make_vector_index(vectors, *vector_settings)
        sentence_index, sentence_faiss_info = make_vector_index(sentence_vectors, *vector_settings)

        built_at = dt.datetime.now(dt.timezone.utc)
        version = "v" + built_at.strftime("%Y%m%dT%H%M%S%fZ")
        staging = settings.index_dir / f".staging-{version}-{os.getpid()}"
        staging.mkdir(parents=True)
        try:
            on_stage("writing the new version")
            # Written by Python, not faiss: a full disk then raises OSError (a clear message),
            # where faiss.write_index raises a RuntimeError from C++.
            (staging / "vectors.faiss").write_bytes(faiss.serialize_index(index).tobytes())
            (staging / "sentences.faiss").write_bytes(faiss.serialize_index(sentence_index).tobytes())
            (staging / "sentences.json").write_text(json.dumps({"owners": units.owners}), encoding="utf-8")
            (staging / "bm25.json").write_text(
                json.dumps(bm25_to_json(build_bm25([c.text for c in prep.chunks]))), encoding="utf-8")
            _write_jsonl(staging / "chunks.jsonl", (dataclasses.asdict(c) for c in prep.chunks))
            _write_jsonl(
                staging / "articles.jsonl",
                (
                    {"doc_id": a.doc_id, "title": a.title, "source": a.source, "url": a.url, "path": a.path,
                     "sha256": prep.files[a.doc_id], "hash": prep.hashes[a.doc_id], "text": a.text}
                    for a in prep.cleaned
                ),
            )
            (staging / "punkt.json").write_text(json.dumps(punkt_to_json(prep.splitter)), encoding="utf-8")
            manifest = {
                "format_version": FORMAT_VERSION,
                "model": settings.model,
                "dimension": int(vectors.shape[1]),
                "chunking": settings.chunking(),
                "corpus_fingerprint": prep.fingerprint,
                "built_at": built_at.isoformat(timespec="seconds"),
                "version": version,
                "faiss_type": faiss_info.kind,
                "faiss": faiss_info.to_json(),
                "sentence_faiss": sentence_faiss_info.to_json(),
                "lexical": {"method": "bm25", "tokenizer": TOKENIZER},
                "counts": {"articles": len(prep.cleaned), "chunks": len(prep.chunks), "sentences": len(units.texts)},
                "skipped": skipped,
                "corpus_read_at": read_at,
                "build": {"full": full or not prep.splitter_reused, "encoded": encoded,
                          "reused": len(prep.chunks) - encoded, "sentences_encoded": sentences_encoded},
                "files": {name: file_sha256(staging / name) for name in FILES},
            }
            (staging / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
            _fsync_dir(staging)
            on_stage("verifying the new version")
            read_index(staging, settings)  # verify before publishing
            final = settings.index_dir / version
            os.rename(staging, final)
            on_stage(f"publishing {version}")
            publish(settings.index_dir, version)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        prune_old_versions(settings.index_dir, keep={version})
        cache.compact(keys + sentence_keys)
    return BuildSummary(
        articles=len(prep.cleaned),
        chunks=len(prep.chunks),
        skipped=tuple(prep.skipped),
        seconds=time.perf_counter() - started,
        version=version,
        dropped_sentences=sum(len(a.dropped) for a in prep.cleaned),
        changes=prep.changes,
        encoded=encoded,
        reused=len(prep.chunks) - encoded,
        sentences_encoded=sentences_encoded,
        full=full or not prep.splitter_reused,
        faiss=faiss_info.to_json(),
    )


def remove_leftovers(index_dir: Path) -> None:
    """What a killed build left behind. Only called under the build lock, so nothing here
    belongs to a running build."""
    for p in index_dir.glob(".staging-*"):
        shutil.rmtree(p, ignore_errors=True)
    for p in index_dir.glob(".CURRENT.*"):
        p.unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    for p in [*path.iterdir(), path]:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def prune_old_versions(index_dir: Path, keep: set[str]) -> None:
    """Keep the live version and the one before it (a reader may still be loading it)."""
    versions = sorted(p for p in index_dir.glob("v*") if p.is_dir())
    for old in versions[:-2]:
        if old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)
