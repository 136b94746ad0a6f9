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
from .store import Contents, publish, punkt_from_json, read_index, read_live, write_version
from ..corpus.ingest import Article, CorpusError, Skipped, corpus_fingerprint, formats, read_corpus
from .bm25 import TOKENIZER, build_bm25
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


def article_hash(a: Article) -> str:
    """What an article contributes to the index: its text and the metadata citations show."""
    return hashlib.sha256("\0".join((a.title, a.source, a.url, a.text)).encode("utf-8")).hexdigest()


def previous_build(settings: Settings) -> dict | None:
    """The live index as an incremental build needs it (`store.read_live`)."""
    return read_live(settings)


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
    """The build's steps: read and clean, stop if nothing changed, embed what is new, index the
    vectors, write a staging version, verify it and publish it."""
    on_stage = on_stage or _no_stage
    started = time.perf_counter()
    with build_lock(settings.index_dir):
        remove_leftovers(settings.index_dir)
        read_at = time.time()  # a file edited after this may not be in the build
        on_stage("reading and cleaning the articles")
        live = previous_build(settings)
        prep = prepare(settings, full=full, live=live, progress=progress)
        units = sentence_units(prep.chunks)
        plan = _vector_plan(settings, len(prep.chunks), len(units.texts))
        if _up_to_date(live, prep, plan):
            # Nothing to do; publishing an identical version would only make running pages reload.
            on_stage("the index is up to date")
            return _summary(prep, started, live["manifest"]["version"], live["manifest"].get("faiss", {}),
                            reused=len(prep.chunks), up_to_date=True)
        if not prep.chunks:
            raise BuildError("The corpus produced no chunks to index (no article has a quotable sentence).")
        folder = cache_dir(settings.index_dir, settings.model)
        cache = EmbeddingCache(folder) if full else EmbeddingCache.open(folder)
        vectors, encoded, keys = embed_texts(settings, cache, [c.text for c in prep.chunks], progress, on_stage)
        sentence_vectors, sentences_encoded, sentence_keys = embed_texts(
            settings, cache, units.texts, progress, on_stage, what="sentences")
        on_stage(f"indexing {len(vectors)} chunk and {len(sentence_vectors)} sentence vectors")
        vector_settings = _vector_settings(settings)
        index, faiss_info = make_vector_index(vectors, *vector_settings)
        sentence_index, sentence_faiss_info = make_vector_index(sentence_vectors, *vector_settings)
        contents = Contents(
            chunks=prep.chunks, articles=_article_rows(prep), splitter=prep.splitter,
            bm25=build_bm25([c.text for c in prep.chunks]), vectors=index, sentence_vectors=sentence_index,
            sentence_owners=units.owners)
        built_at = dt.datetime.now(dt.timezone.utc)
        version = "v" + built_at.strftime("%Y%m%dT%H%M%S%fZ")
        manifest = {
            "model": settings.model, "dimension": int(vectors.shape[1]), "chunking": settings.chunking(),
            "corpus_fingerprint": prep.fingerprint, "built_at": built_at.isoformat(timespec="seconds"),
            "version": version, "faiss_type": faiss_info.kind, "faiss": faiss_info.to_json(),
            "sentence_faiss": sentence_faiss_info.to_json(), "lexical": {"method": "bm25", "tokenizer": TOKENIZER},
            "counts": {"articles": len(prep.cleaned), "chunks": len(prep.chunks), "sentences": len(units.texts)},
            "skipped": _skipped(prep), "corpus_read_at": read_at,
            "build": {"full": full or not prep.splitter_reused, "encoded": encoded,
                      "reused": len(prep.chunks) - encoded, "sentences_encoded": sentences_encoded},
        }
        _write_verify_publish(settings, version, contents, manifest, on_stage)
        prune_old_versions(settings.index_dir, keep={version})
        cache.compact(keys + sentence_keys)
    return _summary(prep, started, version, faiss_info.to_json(), reused=len(prep.chunks) - encoded,
                    encoded=encoded, sentences_encoded=sentences_encoded, full=full or not prep.splitter_reused)


def _vector_settings(settings: Settings) -> tuple:
    return settings.hnsw_threshold, settings.hnsw_m, settings.hnsw_ef_construction, settings.hnsw_ef_search


def _vector_plan(settings: Settings, chunks: int, sentences: int) -> dict:
    """The vector indexes this build would make (exact or HNSW, and their parameters)."""
    return {"faiss": planned(chunks, *_vector_settings(settings)), "sentence_faiss": planned(sentences, *_vector_settings(settings))}


def _skipped(prep: Prepared) -> list[list[str]]:
    return [[sk.path, sk.reason] for sk in prep.skipped]


def _up_to_date(live: dict | None, prep: Prepared, plan: dict) -> bool:
    """The live index already is what this build would publish: same articles, splitter,
    vector plan and skipped files."""
    if not live:
        return False
    live_plan = {key: {k: v for k, v in (live["manifest"].get(key) or {}).items() if k != "recall_at_10"} for key in plan}
    return (prep.splitter_reused and not prep.changes and live["manifest"].get("corpus_fingerprint") == prep.fingerprint
            and live_plan == plan and live["manifest"].get("skipped") == _skipped(prep))


def _article_rows(prep: Prepared) -> list[dict]:
    return [{"doc_id": a.doc_id, "title": a.title, "source": a.source, "url": a.url, "path": a.path,
             "sha256": prep.files[a.doc_id], "hash": prep.hashes[a.doc_id], "text": a.text} for a in prep.cleaned]


def _write_verify_publish(settings: Settings, version: str, contents: Contents, manifest: dict, on_stage) -> None:
    """Write the version beside the live one, load it back, and only then switch CURRENT to it;
    a failure at any point removes the staging folder and leaves the live index serving."""
    staging = settings.index_dir / f".staging-{version}-{os.getpid()}"
    staging.mkdir(parents=True)
    try:
        on_stage("writing the new version")
        write_version(staging, contents, manifest)
        on_stage("verifying the new version")
        read_index(staging, settings)
        os.rename(staging, settings.index_dir / version)
        on_stage(f"publishing {version}")
        publish(settings.index_dir, version)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _summary(prep: Prepared, started: float, version: str, faiss: dict, **counts) -> BuildSummary:
    return BuildSummary(
        articles=len(prep.cleaned), chunks=len(prep.chunks), skipped=tuple(prep.skipped),
        seconds=time.perf_counter() - started, version=version,
        dropped_sentences=sum(len(a.dropped) for a in prep.cleaned), changes=prep.changes, faiss=faiss, **counts)


def remove_leftovers(index_dir: Path) -> None:
    """What a killed build left behind. Only called under the build lock, so nothing here
    belongs to a running build."""
    for p in index_dir.glob(".staging-*"):
        shutil.rmtree(p, ignore_errors=True)
    for p in index_dir.glob(".CURRENT.*"):
        p.unlink(missing_ok=True)


def prune_old_versions(index_dir: Path, keep: set[str]) -> None:
    """Keep the live version and the one before it (a reader may still be loading it)."""
    versions = sorted(p for p in index_dir.glob("v*") if p.is_dir())
    for old in versions[:-2]:
        if old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)
