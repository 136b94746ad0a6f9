"""The index on disk, in one place: its layout, writing a version, publishing it, reading
and validating it, and reading the live one back for an incremental build.

Layout: `index/CURRENT` names the live version folder `index/v<time>/`, which holds
`manifest.json`, `vectors.faiss` (one vector per chunk), `sentences.faiss` and `sentences.json`
(one vector per distinct sentence, and the chunks holding it), `bm25.json`, `chunks.jsonl`,
`articles.jsonl` and `punkt.json`. A new file is one entry in `FILES`, one write in
`write_version` and one read in `read_index`. Building is `build.py`; it publishes a version
only once it has loaded back.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

from ..corpus.chunking import Chunk
from .bm25 import BM25Stats, bm25_from_json
from ..settings import Settings
from .vector_index import configure_loaded
from ..errors import UnusableIndexError

log = logging.getLogger(__name__)

FORMAT_VERSION = 3  # 2: adds the BM25 statistics; 3: adds the sentence vectors
FILES = ("vectors.faiss", "sentences.faiss", "sentences.json", "bm25.json", "chunks.jsonl", "articles.jsonl",
         "punkt.json")




@dataclass
class LoadedIndex:
    path: Path
    manifest: dict
    vectors: object  # a faiss index
    chunks: list[Chunk]
    articles: list[dict]  # doc_id, title, source, url, path, text (cleaned)
    splitter: PunktSentenceTokenizer
    bm25: BM25Stats
    sentence_vectors: object  # a faiss index, one vector per distinct sentence
    sentence_owners: tuple[tuple[int, ...], ...]  # per sentence vector: the chunks holding it

    def __post_init__(self):
        self._position = {c.chunk_id: i for i, c in enumerate(self.chunks)}

    def following(self, chunk: Chunk) -> Chunk | None:
        """The next chunk of the same article, if any (an answer may go on into it)."""
        i = self._position.get(chunk.chunk_id)
        if i is None or i + 1 >= len(self.chunks):
            return None
        nxt = self.chunks[i + 1]
        return nxt if nxt.doc_id == chunk.doc_id and nxt.position == chunk.position + 1 else None


def build_command(settings: Settings) -> str:
    """The command a user should run for this index folder, for error messages."""
    cmd = "backbot build"
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


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def publish(index_dir: Path, version: str) -> None:
    """Point CURRENT at `version` with an atomic rename."""
    tmp = index_dir / f".CURRENT.{os.getpid()}"
    tmp.write_text(version + "\n", encoding="utf-8")
    os.replace(tmp, index_dir / "CURRENT")


# ---------------------------------------------------------------- load


def current_version_dir(settings: Settings) -> Path:
    fix = build_command(settings)
    pointer = settings.index_dir / "CURRENT"
    if not pointer.is_file():
        raise UnusableIndexError(f"No index has been built in {settings.index_dir} yet; build it with: {fix}")
    name = pointer.read_text(encoding="utf-8").strip()
    path = settings.index_dir / name
    if not name or "/" in name or not path.is_dir():
        raise UnusableIndexError(f"The index in {settings.index_dir} points to a missing version '{name}'; rebuild it with: {fix}")
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
        raise UnusableIndexError(f"The index in {path} has no manifest.json; rebuild it with: {fix}") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise UnusableIndexError(f"The index manifest in {path} is corrupt; rebuild it with: {fix}") from None
    if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
        raise UnusableIndexError(f"The index in {path} has an unknown format; rebuild it with: {fix}")
    if manifest.get("model") != settings.model:
        raise UnusableIndexError(
            f"The index in {path} was built with the model '{manifest.get('model')}' but the settings use "
            f"'{settings.model}'; rebuild it with: {fix}"
        )
    if manifest.get("chunking") != settings.chunking():
        raise UnusableIndexError(
            f"The index in {path} was built with other chunking settings ({manifest.get('chunking')}); rebuild it with: {fix}"
        )
    for name in FILES:
        file = path / name
        if not file.is_file():
            raise UnusableIndexError(f"The index file {file} is missing; rebuild it with: {fix}")
        if file_sha256(file) != manifest.get("files", {}).get(name):
            raise UnusableIndexError(f"The index file {file} is corrupt (checksum mismatch); rebuild it with: {fix}")
    try:
        vectors = faiss.read_index(str(path / "vectors.faiss"))
        configure_loaded(vectors, manifest)
        chunks = [Chunk(**{**row, "sentences": tuple(tuple(s) for s in row["sentences"])})
                  for row in read_jsonl(path / "chunks.jsonl")]
        articles = list(read_jsonl(path / "articles.jsonl"))
        splitter = punkt_from_json(json.loads((path / "punkt.json").read_text(encoding="utf-8")))
        bm25_data = json.loads((path / "bm25.json").read_text(encoding="utf-8"))
        sentence_vectors = faiss.read_index(str(path / "sentences.faiss"))
        configure_loaded(sentence_vectors, {"faiss": manifest.get("sentence_faiss")})
        owners = tuple(tuple(int(i) for i in o) for o in json.loads((path / "sentences.json").read_text(encoding="utf-8"))["owners"])
    except Exception as e:
        log.exception("index load failed")
        raise UnusableIndexError(f"The index in {path} could not be read ({type(e).__name__}); rebuild it with: {fix}") from None
    try:
        bm25 = bm25_from_json(bm25_data)
    except (ValueError, KeyError, TypeError) as e:
        raise UnusableIndexError(f"The keyword index in {path} is inconsistent ({e}); rebuild it with: {fix}") from None
    if (vectors.d != manifest.get("dimension") or vectors.ntotal != len(chunks) or bm25.n_docs != len(chunks)
            or sentence_vectors.d != vectors.d or sentence_vectors.ntotal != len(owners)
            or not all(o and all(0 <= i < len(chunks) for i in o) for o in owners)):
        raise UnusableIndexError(f"The index in {path} is inconsistent (vectors, keywords and chunks disagree); rebuild it with: {fix}")
    return LoadedIndex(path, manifest, vectors, chunks, articles, splitter, bm25, sentence_vectors, owners)


@dataclass(frozen=True)
class Contents:
    """Everything a version holds, as the build made it (the manifest is written from it)."""
    chunks: list  # Chunk
    articles: list[dict]  # doc_id, title, source, url, path, sha256, hash, text
    splitter: PunktSentenceTokenizer
    bm25: BM25Stats
    vectors: object  # faiss index of chunk vectors
    sentence_vectors: object  # faiss index of sentence vectors
    sentence_owners: list  # per sentence vector, the chunks holding it


def write_version(folder: Path, contents: Contents, manifest: dict) -> dict:
    """Write every file of a version into `folder`, then the manifest (with each file's
    checksum), and sync them to disk; returns the manifest written. Written by Python, not
    faiss: a full disk then raises OSError (a clear message), where faiss.write_index raises a
    RuntimeError from C++."""
    import faiss

    from .bm25 import bm25_to_json

    (folder / "vectors.faiss").write_bytes(faiss.serialize_index(contents.vectors).tobytes())
    (folder / "sentences.faiss").write_bytes(faiss.serialize_index(contents.sentence_vectors).tobytes())
    (folder / "sentences.json").write_text(json.dumps({"owners": contents.sentence_owners}), encoding="utf-8")
    (folder / "bm25.json").write_text(json.dumps(bm25_to_json(contents.bm25)), encoding="utf-8")
    write_jsonl(folder / "chunks.jsonl", (dataclasses.asdict(c) for c in contents.chunks))
    write_jsonl(folder / "articles.jsonl", contents.articles)
    (folder / "punkt.json").write_text(json.dumps(punkt_to_json(contents.splitter)), encoding="utf-8")
    manifest = {"format_version": FORMAT_VERSION, **manifest, "files": {name: file_sha256(folder / name) for name in FILES}}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    fsync_dir(folder)
    return manifest


def read_live(settings: Settings) -> dict | None:
    """The live index as an incremental build needs it: its manifest, articles (doc_id ->
    hash), Punkt parameters, and whether it was built with these settings (only then can a
    build be incremental). None when there is no readable index."""
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


def write_jsonl(path: Path, rows) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def fsync_dir(path: Path) -> None:
    """Files and folder on disk before the version is published."""
    for p in [*path.iterdir(), path]:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def read_jsonl(path: Path):
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)
