"""Read a folder of articles into `Article`s: one reader per format, no cleaning here.

Formats: `.txt` (title from the file name), `.md` with optional front matter (`id`, `title`,
`source`, `url`), and `.xml` in the MedQuAD format (one NIH topic per file: its answers become
the paragraphs). A file that can't be read is skipped with a warning naming it; the rest of
the corpus still builds.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

FORMATS = (".txt", ".md", ".xml")
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


def parse_medquad(text: str, rel: str) -> tuple[dict[str, str], str]:
    """A MedQuAD document: `<Document url source><Focus/><QAPairs><QAPair><Answer/>...`.
    Each answer becomes a paragraph; the questions are left out because they are not
    statements an answer could quote."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(text.encode("utf-8"))
    except ET.ParseError as e:
        raise ArticleError(rel, f"is not well-formed XML ({e})") from None
    if root.tag != "Document":
        raise ArticleError(rel, f"is XML but not a MedQuAD <Document> (root is <{root.tag}>)")
    # Inside an answer, a run of spaces is where the web page had a paragraph break.
    paras = [" ".join(p.split()) for a in root.iter("Answer") for p in re.split(r"\s{3,}|\n\s*\n", a.text or "")]
    body = "\n\n".join(p for p in paras if p)
    focus = " ".join((root.findtext("Focus") or "").split())
    source = root.get("source", "")
    meta = {
        "title": focus,
        "source": f"{source} (NIH), via MedQuAD (Ben Abacha & Demner-Fushman, 2019, CC BY 4.0)" if source else "",
        "url": root.get("url", ""),
    }
    return {k: v for k, v in meta.items() if v}, body


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
    suffix = path.suffix.lower()
    if suffix == ".xml":
        meta, body = parse_medquad(text, rel)
    elif suffix == ".md":
        meta, body = parse_front_matter(text)
    else:
        meta, body = {}, text
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
