"""Read a folder of articles into `Article`s: one reader per format, no cleaning here.

Formats: `.txt` (title from the file name), `.md` with optional YAML front matter (`id`,
`title`, `source`, `url`, `date`, `licence`), `.html`/`.htm` (the article's text only, see
`main_text`), `.json` (one article, or a list of them) and `.jsonl` (one article per line),
and `.xml` in the MedQuAD format (one NIH topic per file: its answers become the
paragraphs). `.txt`, `.md` and `.html` files need not be UTF-8: see `decode_text`. A file
or record that can't be read is skipped with a warning naming it and the reason; the rest
of the corpus still builds.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import yaml

from ..errors import ArticleError, CorpusError

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


_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?\r?\n)?---[ \t]*(?:\r?\n|\Z)", re.S)


class FrontMatterError(ValueError):
    """Front matter that is not YAML, or not a mapping of fields."""


def _field_text(value) -> str:
    """A YAML value as the text an article field holds: a list reads as 'a, b', a date as
    2024-05-01 (YAML parses an unquoted date), nothing as ''."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(t for t in (_field_text(v) for v in value) if t)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_field_text(v)}" for k, v in value.items())
    if isinstance(value, bool):
        return "yes" if value else "no"
    return " ".join(str(value).split())


def parse_front_matter(text: str) -> tuple[dict[str, str], str]:
    """YAML front matter between `---` lines -> (fields as text, body). Comments, quotes and
    lists work as YAML has them; fields an article doesn't use (tags, authors...) are kept
    here and ignored by the reader. Raises FrontMatterError, saying where, when it is not
    YAML or not a mapping."""
    m = _FRONT.match(text)
    if not m:
        return {}, text
    try:
        data = yaml.safe_load(m.group(1) or "")
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""  # +2: 0-based, after the first ---
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        hint = " (quote a value that contains ': ', e.g. title: \"Neck pain: a guide\")" if "mapping values" in problem else ""
        raise FrontMatterError(f"has front matter that is not valid YAML{where}: {problem}{hint}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise FrontMatterError("has front matter that is not a list of 'field: value' lines")
    meta = {str(k).strip().lower(): _field_text(v) for k, v in data.items()}
    return {k: v for k, v in meta.items() if v}, text[m.end() :]


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


def _check_size(data: bytes, rel: str, limit: int) -> None:
    if len(data) > limit:
        raise ArticleError(rel, f"is {len(data) / 1e6:.0f} MB, over the {limit // 1_000_000} MB limit")


_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
         (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
# The WHATWG encoding standard: pages labelled Latin-1 or ASCII are decoded as Windows-1252
# (its superset), since that is what such pages almost always really are.
_WINDOWS_1252_LABELS = {"iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1", "us-ascii", "ascii", "cp1252",
                        "windows-1252", "x-cp1252"}


def _declared_charset(data: bytes) -> str:
    """The charset a saved page declares in its first 4 KB (`<meta charset>` or
    `http-equiv` Content-Type), as a Python codec name; '' when none or unknown."""
    import codecs

    m = _META_CHARSET.search(data[:4096])
    if not m:
        return ""
    label = m.group(1).decode("ascii", "replace").lower()
    if label in _WINDOWS_1252_LABELS:
        return "cp1252"
    try:
        return codecs.lookup(label).name
    except LookupError:
        return ""


def _detected_charset(data: bytes) -> str:
    """charset-normalizer's guess. On short texts it can't tell the Western code pages apart
    (Windows-1250, 1252 and Latin-1 read 'café' alike), so among its equally good guesses we
    prefer Windows-1252, the usual encoding of English text that isn't UTF-8."""
    import charset_normalizer

    matches = list(charset_normalizer.from_bytes(data))
    if not matches:
        return ""
    best = min(m.chaos for m in matches)
    for m in matches:
        if m.chaos <= best + 0.01 and "cp1252" in m.could_be_from_charset:
            return "cp1252"
    return matches[0].encoding


def decode_text(data: bytes, rel: str, html: bool = False) -> str:
    """The text of a file saved in any encoding: a byte-order mark first, then
    UTF-8 (almost never valid by accident), then the charset a page declares, then
    charset-normalizer's guess. NUL bytes without a UTF-16/32 mark, or bytes no encoding
    reads as text, mean a binary file (ArticleError)."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                name = codec.removesuffix("-sig").upper()
                raise ArticleError(rel, f"starts with a {name} byte-order mark but is not {name} text") from None
    if b"\x00" in data:
        raise ArticleError(rel, "looks binary (contains NUL bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    for find in ((_declared_charset,) if html else ()) + (_detected_charset,):  # the guess only if needed
        codec = find(data)
        if codec:
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                continue
    raise ArticleError(rel, "looks binary (no text encoding reads it)")


def _decode_utf8(data: bytes, rel: str) -> str:
    if b"\x00" in data:
        raise ArticleError(rel, "looks binary (contains NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ArticleError(rel, f"is not valid UTF-8 (byte {e.start}; JSON and XML files must be UTF-8)") from None


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
    _check_size(data, rel, limit)
    reader = READERS.get(suffix)
    if suffix in COLLECTIONS or not reader.any_encoding:
        text = _decode_utf8(data, rel)
    else:
        text = decode_text(data, rel, html=reader.html)
    sha = hashlib.sha256(data).hexdigest()
    base = {"path": rel, "sha256": sha, "doc_id": doc_id_for(rel), "title": _title_from_name(path), "source": rel}
    if suffix in COLLECTIONS:
        return _read_collection(text, rel, suffix, base)
    meta, body = reader.read(text, rel)
    if not body.strip():
        raise ArticleError(rel, "is empty")
    return [_article(base, meta, body)], []


def _read_markdown(text: str, rel: str) -> tuple[dict[str, str], str]:
    try:
        return parse_front_matter(text)
    except FrontMatterError as e:
        raise ArticleError(rel, str(e)) from None


def _read_plain(text: str, rel: str) -> tuple[dict[str, str], str]:
    return {}, text


@dataclass(frozen=True)
class Reader:
    """How one format becomes an article: (text, path) -> (fields, body). Fields are any of
    id, title, source, url, date, licence; the title defaults to the file name."""
    read: Callable[[str, str], tuple[dict[str, str], str]]
    any_encoding: bool = True  # decoded from whatever encoding it was saved in (else UTF-8 only)
    html: bool = False  # a saved page: its own <meta charset> is believed first


#: One reader per format: a new format is one function and one entry here (docs/architecture.md).
#: JSON and XML must be UTF-8: JSON by its standard, and XML declares its own encoding, which
#: decoding it another way would contradict.
READERS: dict[str, Reader] = {
    ".txt": Reader(_read_plain),
    ".md": Reader(_read_markdown),
    ".html": Reader(lambda text, rel: _parse_html(text, rel), html=True),
    ".htm": Reader(lambda text, rel: _parse_html(text, rel), html=True),
    ".xml": Reader(parse_medquad, any_encoding=False),
}


def formats() -> tuple[str, ...]:
    """Every suffix a corpus file may have."""
    return (*READERS, *COLLECTIONS)


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
    from .main_text import extract

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
        if p.is_file() and p.suffix.lower() in formats()
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def read_corpus(root: Path, progress: bool = False) -> tuple[list[Article], list[Skipped]]:
    """All readable articles under `root`, sorted by path; unreadable ones as `Skipped`.
    `progress` shows how far reading has got (saved web pages take ~30 ms each)."""
    from ..progress import track

    articles, skipped = [], []
    ids: dict[str, str] = {}
    for path in track(corpus_files(root), "reading", "files", progress):
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
