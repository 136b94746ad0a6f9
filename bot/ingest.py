"""Read a folder of articles into `Article`s: one reader per format, no cleaning here.

Formats: `.txt` (title from the first line when it looks like one, else the file name) and
`.md` with optional front matter (`id`, `title`, `source`, `url`). A file that can't be read
is skipped with a warning naming it; the rest of the corpus still builds.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

FORMATS = (".txt", ".md")
MAX_ARTICLE_BYTES = 5_000_000  # a larger file is almost surely not an article


@dataclass(frozen=True)
class Article:
    doc_id: str
    title: str
    source: str
    url: str
    text: str  # raw body, as written
    path: str  # relative to the corpus folder
    sha256: str  # of the file's bytes: the corpus fingerprint is built from these


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


def doc_id_for(relpath: str) -> str:
    """A stable id from the path, so citations survive rebuilds."""
    stem = re.sub(r"\.[^.]+$", "", relpath)
    return re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-") or "article"


_FRONT = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*\n", re.S)


def parse_front_matter(text: str) -> tuple[dict[str, str], str]:
    """Simple `key: value` front matter between --- lines (no YAML dependency needed)."""
    m = _FRONT.match(text)
    if not m:
        return {}, text
    meta = {}
    for line in m.group(1).splitlines():
        if ":" in line and not line.lstrip().startswith("#"):
            key, value = line.split(":", 1)
            meta[key.strip().lower()] = value.strip().strip("'\"")
    return meta, text[m.end() :]


def _title_from_name(path: Path) -> str:
    return re.sub(r"[-_]+", " ", path.stem).strip().capitalize() or path.name


def read_article(path: Path, root: Path) -> Article:
    """Read one file; raises ArticleError with a reason a maintainer can act on."""
    rel = path.relative_to(root).as_posix()
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ArticleError(rel, f"cannot be read ({e.strerror or e})") from None
    if len(data) > MAX_ARTICLE_BYTES:
        raise ArticleError(rel, f"is {len(data) // 1_000_000} MB, over the {MAX_ARTICLE_BYTES // 1_000_000} MB limit")
    if b"\x00" in data:
        raise ArticleError(rel, "looks binary (contains NUL bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ArticleError(rel, f"is not valid UTF-8 (byte {e.start})") from None
    meta, body = parse_front_matter(text) if path.suffix == ".md" else ({}, text)
    if not body.strip():
        raise ArticleError(rel, "is empty")
    return Article(
        doc_id=meta.get("id") or doc_id_for(rel),
        title=meta.get("title") or _title_from_name(path),
        source=meta.get("source") or rel,
        url=meta.get("url", ""),
        text=body,
        path=rel,
        sha256=hashlib.sha256(data).hexdigest(),
    )


class ArticleError(Exception):
    def __init__(self, path: str, reason: str):
        super().__init__(f"{path} {reason}")
        self.path, self.reason = path, reason


def read_corpus(root: Path) -> tuple[list[Article], list[Skipped]]:
    """All readable articles under `root`, sorted by path; unreadable ones as `Skipped`."""
    if not root.is_dir():
        raise CorpusError(f"The corpus folder {root} does not exist.")
    articles, skipped = [], []
    ids: dict[str, str] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.suffix.lower() not in FORMATS or any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        try:
            article = read_article(path, root)
        except ArticleError as e:
            skipped.append(Skipped(e.path, e.reason))
            continue
        if article.doc_id in ids:
            skipped.append(Skipped(article.path, f"has the same id '{article.doc_id}' as {ids[article.doc_id]}"))
            continue
        ids[article.doc_id] = article.path
        articles.append(article)
    return articles, skipped


class CorpusError(Exception):
    """The corpus as a whole can't be used (missing folder, no articles)."""


def corpus_fingerprint(articles: list[Article]) -> str:
    h = hashlib.sha256()
    for a in sorted(articles, key=lambda a: a.path):
        h.update(f"{a.path}\0{a.sha256}\n".encode())
    return h.hexdigest()
