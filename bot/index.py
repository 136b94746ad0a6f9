"""Build, publish, load and validate the persisted index.

Layout: `index/CURRENT` names the live version folder `index/v<time>/`, which holds
`manifest.json`, `vectors.faiss`, `bm25.json`, `chunks.jsonl`, `articles.jsonl` and `punkt.json`.
A build writes a new folder beside the live one, verifies it by loading it, and only then
swaps CURRENT (an atomic rename), so a failed or killed build leaves the old index serving.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

from .chunking import Chunk, chunk_corpus
from .cleaning import CleanArticle, clean_corpus, normalise
from .ingest import CorpusError, Skipped, corpus_fingerprint, read_corpus
from .lexical import TOKENIZER, BM25Stats, bm25_from_json, bm25_to_json, build_bm25
from .settings import Settings
from .text import train_sentence_splitter

log = logging.getLogger(__name__)

FORMAT_VERSION = 2  # 2: adds the BM25 statistics
FILES = ("vectors.faiss", "bm25.json", "chunks.jsonl", "articles.jsonl", "punkt.json")


class IndexError_(RuntimeError):
    """The index can't be used; the message is one sentence that names the fix."""


class BuildError(RuntimeError):
    """The build can't go on; the live index is untouched."""


@dataclass(frozen=True)
class BuildSummary:
    articles: int
    chunks: int
    skipped: tuple[Skipped, ...]
    seconds: float
    version: str
    dropped_sentences: int


@dataclass
class LoadedIndex:
    path: Path
    manifest: dict
    vectors: object  # a faiss index
    chunks: list[Chunk]
    articles: list[dict]  # doc_id, title, source, url, path, text (cleaned)
    splitter: PunktSentenceTokenizer
    bm25: BM25Stats


def build_command(settings: Settings) -> str:
    """The command a user should run for this index folder, for error messages."""
    cmd = "python -m bot build"
    if settings.index_dir.resolve() != Settings().index_dir.resolve():
        cmd += f" --index {settings.index_dir}"
    if settings.corpus_dir.resolve() != Settings().corpus_dir.resolve():
        cmd += f" --corpus {settings.corpus_dir}"
    return cmd


# ---------------------------------------------------------------- Punkt parameters (JSON, not pickle)


def punkt_to_json(splitter: PunktSentenceTokenizer) -> dict:
    p = splitter._params
    return {
        "abbrev_types": sorted(p.abbrev_types),
        "collocations": sorted(list(c) for c in p.collocations),
        "sent_starters": sorted(p.sent_starters),
        "ortho_context": dict(p.ortho_context),
    }


def punkt_from_json(data: dict) -> PunktSentenceTokenizer:
    p = PunktParameters()
    p.abbrev_types = set(data["abbrev_types"])
    p.collocations = {tuple(c) for c in data["collocations"]}
    p.sent_starters = set(data["sent_starters"])
    for k, v in data["ortho_context"].items():
        p.ortho_context[k] = v
    return PunktSentenceTokenizer(p)


# ---------------------------------------------------------------- build


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


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_jsonl(path: Path, rows) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def prepare(settings: Settings) -> tuple[list[CleanArticle], list[Chunk], list[Skipped], PunktSentenceTokenizer, str]:
    """Read, clean and chunk the corpus: everything a build does before the model."""
    articles, skipped = read_corpus(settings.corpus_dir)
    if not articles:
        raise CorpusError(f"No readable articles (.txt, .md) in {settings.corpus_dir}.")
    splitter = train_sentence_splitter([normalise(a.text) for a in articles])
    cleaned = clean_corpus(articles, splitter)
    chunks = chunk_corpus(cleaned, settings.chunk_sentences, settings.chunk_overlap)
    for c in cleaned:
        if not c.sentences:
            skipped.append(Skipped(c.path, "has no usable sentences after cleaning"))
    return cleaned, chunks, skipped, splitter, corpus_fingerprint(articles)


def build_index(settings: Settings, progress: bool = False) -> BuildSummary:
    import faiss

    from .embedding import encode, load_model

    started = time.perf_counter()
    with build_lock(settings.index_dir):
        cleaned, chunks, skipped, splitter, fingerprint = prepare(settings)
        model = load_model(settings.model)
        vectors = encode(model, [c.text for c in chunks], settings.embed_batch_size, progress=progress)
        index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)

        built_at = dt.datetime.now(dt.timezone.utc)
        version = "v" + built_at.strftime("%Y%m%dT%H%M%S%fZ")
        staging = settings.index_dir / f".staging-{version}-{os.getpid()}"
        staging.mkdir(parents=True)
        try:
            faiss.write_index(index, str(staging / "vectors.faiss"))
            (staging / "bm25.json").write_text(json.dumps(bm25_to_json(build_bm25([c.text for c in chunks]))),
                                               encoding="utf-8")
            _write_jsonl(staging / "chunks.jsonl", (dataclasses.asdict(c) for c in chunks))
            _write_jsonl(
                staging / "articles.jsonl",
                (
                    {"doc_id": a.doc_id, "title": a.title, "source": a.source, "url": a.url,
                     "path": a.path, "text": a.text}
                    for a in cleaned
                ),
            )
            (staging / "punkt.json").write_text(json.dumps(punkt_to_json(splitter)), encoding="utf-8")
            manifest = {
                "format_version": FORMAT_VERSION,
                "model": settings.model,
                "dimension": int(vectors.shape[1]),
                "chunking": settings.chunking(),
                "corpus_fingerprint": fingerprint,
                "built_at": built_at.isoformat(timespec="seconds"),
                "version": version,
                "faiss_type": "flat-ip",
                "lexical": {"method": "bm25", "tokenizer": TOKENIZER},
                "counts": {"articles": len(cleaned), "chunks": len(chunks)},
                "files": {name: _sha256(staging / name) for name in FILES},
            }
            (staging / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
            _fsync_dir(staging)
            read_index(staging, settings)  # verify before publishing
            final = settings.index_dir / version
            os.rename(staging, final)
            publish(settings.index_dir, version)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        prune_old_versions(settings.index_dir, keep={version})
    return BuildSummary(
        articles=len(cleaned),
        chunks=len(chunks),
        skipped=tuple(skipped),
        seconds=time.perf_counter() - started,
        version=version,
        dropped_sentences=sum(len(a.dropped) for a in cleaned),
    )


def _fsync_dir(path: Path) -> None:
    for p in [*path.iterdir(), path]:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def publish(index_dir: Path, version: str) -> None:
    """Point CURRENT at `version` with an atomic rename."""
    tmp = index_dir / f".CURRENT.{os.getpid()}"
    tmp.write_text(version + "\n", encoding="utf-8")
    os.replace(tmp, index_dir / "CURRENT")


def prune_old_versions(index_dir: Path, keep: set[str]) -> None:
    """Keep the live version and the one before it (a reader may still be using it)."""
    versions = sorted(p for p in index_dir.glob("v*") if p.is_dir())
    for old in versions[:-2]:
        if old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)


# ---------------------------------------------------------------- load


def current_version_dir(settings: Settings) -> Path:
    fix = build_command(settings)
    pointer = settings.index_dir / "CURRENT"
    if not pointer.is_file():
        raise IndexError_(f"No index has been built in {settings.index_dir} yet; build it with: {fix}")
    name = pointer.read_text(encoding="utf-8").strip()
    path = settings.index_dir / name
    if not name or "/" in name or not path.is_dir():
        raise IndexError_(f"The index in {settings.index_dir} points to a missing version '{name}'; rebuild it with: {fix}")
    return path


def load_index(settings: Settings) -> LoadedIndex:
    return read_index(current_version_dir(settings), settings)


def read_index(path: Path, settings: Settings) -> LoadedIndex:
    """Load one version folder and check everything a mismatch would otherwise break later."""
    import faiss

    fix = build_command(settings)
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexError_(f"The index in {path} has no manifest.json; rebuild it with: {fix}") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise IndexError_(f"The index manifest in {path} is corrupt; rebuild it with: {fix}") from None
    if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
        raise IndexError_(f"The index in {path} has an unknown format; rebuild it with: {fix}")
    if manifest.get("model") != settings.model:
        raise IndexError_(
            f"The index in {path} was built with the model '{manifest.get('model')}' but the settings use "
            f"'{settings.model}'; rebuild it with: {fix}"
        )
    if manifest.get("chunking") != settings.chunking():
        raise IndexError_(
            f"The index in {path} was built with other chunking settings ({manifest.get('chunking')}); rebuild it with: {fix}"
        )
    for name in FILES:
        file = path / name
        if not file.is_file():
            raise IndexError_(f"The index file {file} is missing; rebuild it with: {fix}")
        if _sha256(file) != manifest.get("files", {}).get(name):
            raise IndexError_(f"The index file {file} is corrupt (checksum mismatch); rebuild it with: {fix}")
    try:
        vectors = faiss.read_index(str(path / "vectors.faiss"))
        chunks = [Chunk(**{**row, "sentences": tuple(tuple(s) for s in row["sentences"])})
                  for row in _read_jsonl(path / "chunks.jsonl")]
        articles = list(_read_jsonl(path / "articles.jsonl"))
        splitter = punkt_from_json(json.loads((path / "punkt.json").read_text(encoding="utf-8")))
        bm25_data = json.loads((path / "bm25.json").read_text(encoding="utf-8"))
    except Exception as e:
        log.exception("index load failed")
        raise IndexError_(f"The index in {path} could not be read ({type(e).__name__}); rebuild it with: {fix}") from None
    try:
        bm25 = bm25_from_json(bm25_data)
    except (ValueError, KeyError, TypeError) as e:
        raise IndexError_(f"The keyword index in {path} is inconsistent ({e}); rebuild it with: {fix}") from None
    if vectors.d != manifest.get("dimension") or vectors.ntotal != len(chunks) or bm25.n_docs != len(chunks):
        raise IndexError_(f"The index in {path} is inconsistent (vectors, keywords and chunks disagree); rebuild it with: {fix}")
    return LoadedIndex(path, manifest, vectors, chunks, articles, splitter, bm25)


def _read_jsonl(path: Path):
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)
