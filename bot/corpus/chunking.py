"""CleanArticle -> Chunks: sentence-aligned, overlapping windows inside a paragraph.

Windows never cross a paragraph break (a new topic usually starts there), and a heading
line travels with the sentences after it so its words help retrieval.

Only text an answer could use is indexed: garbled or cut-off sentences (scraped SEO soup)
break a paragraph into runs and are left out, and a window without a single quotable
sentence is not a chunk. Otherwise keyword soup wins searches it can never answer.
"""
from __future__ import annotations

from dataclasses import dataclass

from .cleaning import CleanArticle, is_noise
from ..errors import SettingsError


@dataclass(frozen=True)
class Chunk:
    chunk_id: str  # "<doc_id>#<position>"
    doc_id: str
    title: str
    source: str
    url: str
    position: int  # order of the chunk within its article
    start: int  # character offsets into the article's cleaned text
    end: int
    text: str  # == cleaned_text[start:end]
    sentences: tuple[tuple[int, int, bool], ...]  # (start, end, quotable), relative to `text`


def _windows(n: int, size: int, overlap: int) -> list[tuple[int, int]]:
    if n <= size:
        return [(0, n)]
    step = max(1, size - overlap)
    spans = []
    for a in range(0, n, step):
        b = min(n, a + size)
        spans.append((a, b))
        if b == n:
            break
    return spans


def chunk_article(article: CleanArticle, size: int, overlap: int) -> list[Chunk]:
    if size < 1 or not 0 <= overlap < size:
        raise SettingsError(f"Chunk size {size} with overlap {overlap} is not usable: need size >= 1 and 0 <= overlap < size.")
    runs: list[list] = []
    previous = None
    for s in article.sentences:
        if is_noise(s.flaw):
            previous = None  # the run ends here
            continue
        if previous is None or s.paragraph != previous.paragraph:
            runs.append([])
        runs[-1].append(s)
        previous = s
    chunks: list[Chunk] = []
    for run in runs:
        for a, b in _windows(len(run), size, overlap):
            group = run[a:b]
            if not any(s.quotable for s in group):
                continue
            start, end = group[0].start, group[-1].end
            chunks.append(
                Chunk(
                    chunk_id=f"{article.doc_id}#{len(chunks)}",
                    doc_id=article.doc_id,
                    title=article.title,
                    source=article.source,
                    url=article.url,
                    position=len(chunks),
                    start=start,
                    end=end,
                    text=article.text[start:end],
                    sentences=tuple((s.start - start, s.end - start, s.quotable) for s in group),
                )
            )
    return chunks


def chunk_corpus(articles: list[CleanArticle], size: int, overlap: int) -> list[Chunk]:
    return [c for a in articles for c in chunk_article(a, size, overlap)]


@dataclass(frozen=True)
class SentenceUnits:
    """Each distinct sentence of the chunks once, with the chunks (positions in the chunk
    list) that hold it: overlapping windows share sentences, which are embedded once."""
    texts: list[str]
    owners: list[tuple[int, ...]]


def sentence_units(chunks: list[Chunk]) -> SentenceUnits:
    """The sentences to embed on their own. A chunk's vector blurs its three sentences
    together; a question often matches one of them closely (a hold time, a named stretch),
    which the best sentence's vector still shows."""
    place: dict[tuple[str, int, int], int] = {}
    texts: list[str] = []
    owners: list[list[int]] = []
    for i, c in enumerate(chunks):
        for a, b, _ in c.sentences:
            key = (c.doc_id, c.start + a, c.start + b)
            if key not in place:
                place[key] = len(texts)
                texts.append(c.text[a:b])
                owners.append([])
            owners[place[key]].append(i)
    return SentenceUnits(texts, [tuple(o) for o in owners])
