"""Read a folder of articles into `Article`s: one reader per format, no cleaning here.

Formats: `.txt` (title from the file name), `.md` with optional front matter (`id`, `title`,
`source`, `url`, `date`, `licence`), `.html`/`.htm` (the article's text only, see
`html_text`), `.json` (one article, or a list of them) and `.jsonl` (one article per line),
and `.xml` in the MedQuAD format (one NIH topic per file: its answers become the
paragraphs). A file or record that can't be read is skipped with a warning naming it and
the reason; the rest of the corpus still builds.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from ..errors import ArticleError, CorpusError

FORMATS = (".txt", ".md", ".html", ".htm", ".json", ".jsonl", ".xml")
#: Formats that hold many articles: the size limit applies to each record, not the file.
COLLECTIONS = (".json", ".jsonl")
MAX_ARTICLE_BYTES = 5_000_000  # a larger article is almost surely not an article
MAX_COLLECTION_BYTES = 500_000_000
# Field names accepted in JSON records, first match wins (MedQuAD's dump uses focus/answer).
TITLE_FIELDS = ("title", "name", "focus", "headline")
TEXT_FIELDS = ("text", "body", "content", "answer", "article")
URL_FIELDS = ("url", "link", "source_url")


@dataclass(frozen=True)
class Article:
    doc_id: str
    title: str
    source: str
    url: str
    text: str  # raw body, as written
    path: str  # relative to the corpus folder (several articles share it in .json/.jsonl)
    sha256: str  # of the file's bytes: the corpus fingerprint is built from these
    date: str = ""
    licence: str = ""


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


def _decode(data: bytes, rel: str, limit: int) -> str:
    if len(data) > limit:
        raise ArticleError(rel, f"is {len(data) / 1e6:.0f} MB, over the {limit // 1_000_000} MB limit")
    if b"\x00" in data:
        raise ArticleError(rel, "looks binary (contains NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ArticleError(rel, f"is not valid UTF-8 (byte {e.start})") from None


def _first(record: dict, names: tuple[str, ...]) -> str:
    for name in names:
        value = record.get(name)
        if isinstance(value, str) and value.strip():
            return value
    return ""


def _json_records(text: str, rel: str, suffix: str):
    """(label, record) pairs; a record that is not an object is reported, not fatal."""
    import json

    if suffix == ".jsonl":
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                yield f"line {n}", json.loads(line)
            except json.JSONDecodeError as e:
                yield f"line {n}", ArticleError(f"{rel} line {n}", f"is not valid JSON ({e.msg})")
        return
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ArticleError(rel, f"is not valid JSON ({e.msg} at line {e.lineno})") from None
    if isinstance(data, dict) and isinstance(data.get("articles"), list):
        data = data["articles"]
    if isinstance(data, dict):
        yield "", data
    elif isinstance(data, list):
        for n, record in enumerate(data, 1):
            yield f"record {n}", record
    else:
        raise ArticleError(rel, "is JSON but neither an article object nor a list of them")


def read_file(path: Path, root: Path) -> tuple[list["Article"], list["Skipped"]]:
    """Read one file into its articles (one, or many for .json/.jsonl). A problem with the
    whole file raises ArticleError; a bad record in a collection is returned as Skipped."""
    rel = path.relative_to(root).as_posix()
    suffix = path.suffix.lower()
    try:
        size = path.stat().st_size
        limit = MAX_COLLECTION_BYTES if suffix in COLLECTIONS else MAX_ARTICLE_BYTES
        if size > limit:  # checked before reading: a 50 MB file is not read into memory
            raise ArticleError(rel, f"is {size / 1e6:.0f} MB, over the {limit // 1_000_000} MB limit")
        data = path.read_bytes()
    except OSError as e:
        raise ArticleError(rel, f"cannot be read ({e.strerror or e})") from None
    text = _decode(data, rel, limit)
    sha = hashlib.sha256(data).hexdigest()
    base = {"path": rel, "sha256": sha, "doc_id": doc_id_for(rel), "title": _title_from_name(path), "source": rel}
    if suffix in COLLECTIONS:
        return _read_collection(text, rel, suffix, base)
    if suffix == ".xml":
        meta, body = parse_medquad(text, rel)
    elif suffix in (".html", ".htm"):
        meta, body = _parse_html(text, rel)
    elif suffix == ".md":
        meta, body = parse_front_matter(text)
    else:
        meta, body = {}, text
    if not body.strip():
        raise ArticleError(rel, "is empty")
    return [_article(base, meta, body)], []


def _article(base: dict, meta: dict, body: str) -> "Article":
    return Article(
        doc_id=meta.get("id") or base["doc_id"],
        title=meta.get("title") or base["title"],
        source=meta.get("source") or base["source"],
        url=meta.get("url", ""),
        text=body,
        path=base["path"],
        sha256=base["sha256"],
        date=meta.get("date", ""),
        licence=meta.get("licence") or meta.get("license", ""),
    )


def _parse_html(text: str, rel: str) -> tuple[dict[str, str], str]:
    from .html_text import extract

    try:
        page = extract(text)
    except Exception as e:  # html.parser is lenient; anything it still chokes on is reported
        raise ArticleError(rel, f"is HTML that could not be parsed ({type(e).__name__})") from None
    if not page.text.strip():
        raise ArticleError(rel, "has no article text (empty, or all scripts, menus and furniture)")
    meta = {"title": page.title, "url": page.url, "source": page.site}
    return {k: v for k, v in meta.items() if v}, page.text


def _read_collection(text: str, rel: str, suffix: str, base: dict):
    articles, skipped = [], []
    used: set[str] = set()
    for label, record in _json_records(text, rel, suffix):
        where = f"{rel} {label}".strip()
        if isinstance(record, ArticleError):
            skipped.append(Skipped(record.path, record.reason))
            continue
        if not isinstance(record, dict):
            skipped.append(Skipped(where, "is not a JSON object"))
            continue
        body = _first(record, TEXT_FIELDS)
        if not body.strip():
            skipped.append(Skipped(where, f"has no text (fields tried: {', '.join(TEXT_FIELDS)})"))
            continue
        if len(body.encode("utf-8")) > MAX_ARTICLE_BYTES:
            skipped.append(Skipped(where, f"is over the {MAX_ARTICLE_BYTES // 1_000_000} MB article limit"))
            continue
        # A record's id keeps its citations stable when records are reordered; without
        # one, its position in the file is the best we have.
        rid = record.get("id")
        suffix_id = str(rid) if isinstance(rid, (str, int)) and str(rid).strip() else label.split()[-1] if label else ""
        doc_id = f"{base['doc_id']}-{doc_id_for(suffix_id)}" if suffix_id else base["doc_id"]
        # Real dumps repeat ids (MedQuAD reuses one id for every topic of a page): number the
        # repeats in file order rather than lose the articles.
        n, unique = 1, doc_id
        while unique in used:
            n += 1
            unique = f"{doc_id}-{n}"
        used.add(unique)
        meta = {
            "id": unique,
            "title": _first(record, TITLE_FIELDS),
            "url": _first(record, URL_FIELDS),
            "source": _first(record, ("source", "publisher", "site")),
            "date": _first(record, ("date", "published")),
            "licence": _first(record, ("licence", "license")),
        }
        articles.append(_article(base, {k: v for k, v in meta.items() if v}, body))
    if not articles and not skipped:
        raise ArticleError(rel, "is empty")
    return articles, skipped




def corpus_files(root: Path) -> list[Path]:
    """The article files under `root` (known formats, no hidden files), sorted."""
    if not root.is_dir():
        raise CorpusError(f"The corpus folder {root} does not exist.")
    return sorted(
        p for p in root.rglob("*")
        if p.is_file() and p.suffix.lower() in FORMATS
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def read_corpus(root: Path) -> tuple[list[Article], list[Skipped]]:
    """All readable articles under `root`, sorted by path; unreadable ones as `Skipped`."""
    articles, skipped = [], []
    ids: dict[str, str] = {}
    for path in corpus_files(root):
        try:
            found, bad = read_file(path, root)
        except ArticleError as e:
            skipped.append(Skipped(e.path, e.reason))
            continue
        skipped.extend(bad)
        for article in found:
            if article.doc_id in ids:
                skipped.append(Skipped(article.path, f"has the same id '{article.doc_id}' as {ids[article.doc_id]}"))
                continue
            ids[article.doc_id] = article.path
            articles.append(article)
    return articles, skipped




def corpus_fingerprint(articles: list[Article]) -> str:
    h = hashlib.sha256()
    for path, sha in sorted({(a.path, a.sha256) for a in articles}):
        h.update(f"{path}\0{sha}\n".encode())
    return h.hexdigest()
