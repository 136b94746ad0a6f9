"""One cleaner for every format: Article (raw text) -> CleanArticle (sentences with offsets).

Steps: Unicode and whitespace normalisation, mojibake repair (ftfy, then our own table for
what ftfy doesn't cover), sentence splitting (Punkt
trained on the corpus), boilerplate and duplicate removal, and a quality mark on each
sentence so that answers never quote fragments, headings or keyword soup. Kept sentences
form the cleaned text; every offset points into it, and every citation quotes it.
"""
from __future__ import annotations

import dataclasses
import re
import unicodedata
import zlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

import ftfy
from nltk.tokenize.punkt import PunktSentenceTokenizer

from .ingest import Article
from ..text import content_stems, sentence_spans, squash_spaces, words
from ..settings import DATA_DIR



@dataclass(frozen=True)
class Sentence:
    start: int  # offsets into CleanArticle.text
    end: int
    paragraph: int
    quotable: bool  # may an answer quote it on its own?
    flaw: str = ""  # why not, when it is not quotable


@dataclass(frozen=True)
class Dropped:
    text: str
    reason: str


@dataclass(frozen=True)
class CleanArticle:
    doc_id: str
    title: str
    source: str
    url: str
    path: str
    text: str
    sentences: tuple[Sentence, ...]
    dropped: tuple[Dropped, ...]

    def sentence_text(self, s: Sentence) -> str:
        return self.text[s.start : s.end]


@lru_cache(maxsize=1)
def boilerplate_patterns() -> tuple[re.Pattern, ...]:
    lines = (DATA_DIR / "boilerplate.txt").read_text(encoding="utf-8").splitlines()
    return tuple(re.compile(l, re.I) for l in lines if l.strip() and not l.startswith("#"))


@dataclass(frozen=True)
class MojibakeRepair:
    pattern: re.Pattern
    replacement: str
    example: str  # a bad text it repairs (and ftfy does not)


@lru_cache(maxsize=1)
def mojibake_repairs() -> tuple[MojibakeRepair, ...]:
    repairs = []
    for line in (DATA_DIR / "mojibake.tsv").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        pattern, replacement, example = line.split("\t")
        repairs.append(MojibakeRepair(re.compile(pattern), replacement.replace("\\n", "\n"), example))
    return tuple(repairs)


#: ftfy repairs mojibake (UTF-8 read as Windows-1252 and the like, C1 controls, lost bytes)
#: and nothing else: quotes, ligatures, full-width letters and HTML entities stay as written,
#: since answers quote the text verbatim; line ends, control characters and NFC are done below.
FTFY_SETTINGS = dict(
    unescape_html=False, remove_terminal_escapes=False, uncurl_quotes=False, fix_latin_ligatures=False,
    fix_character_width=False, fix_line_breaks=False, remove_control_chars=False, normalization=None, explain=False,
)


def normalise(raw: str) -> str:
    """Line ends unified, mojibake repaired (ftfy, then bot/data/mojibake.tsv), Unicode NFC,
    control characters dropped, spaces squashed per line."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    if not text.isascii():  # mojibake is never ASCII; most English text is, and skips ftfy
        text = ftfy.fix_text(text, **FTFY_SETTINGS)
    text = unicodedata.normalize("NFC", text)
    for repair in mojibake_repairs():
        text = repair.pattern.sub(repair.replacement, text)
    # Drop control characters except newlines; zero-width characters too. Most lines are
    # printable, and str.isprintable() checks that in C: only the rest pay for the loop.
    return "\n".join(
        squash_spaces(line if line.isprintable() else _drop_controls(line))
        for line in text.replace("\t", " ").split("\n")
    )


def _drop_controls(line: str) -> str:
    return "".join(c for c in line if unicodedata.category(c)[0] != "C")


def paragraphs(text: str) -> list[list[str]]:
    """Blank lines separate paragraphs; each line of a paragraph is a hard sentence boundary."""
    blocks = re.split(r"\n\s*\n", text)
    return [[l for l in b.split("\n") if l.strip()] for b in blocks if b.strip()]


@lru_cache(maxsize=1)
def _any_boilerplate() -> re.Pattern:
    # One pass over the sentence to rule out the common case; only a hit looks for which.
    return re.compile("|".join(f"(?:{p.pattern})" for p in boilerplate_patterns()), re.I)


def boilerplate_reason(sentence: str) -> str:
    if not _any_boilerplate().search(sentence):
        return ""
    for pattern in boilerplate_patterns():
        if pattern.search(sentence):
            return f"boilerplate ({pattern.pattern})"
    return ""


_DATE = re.compile(
    r"\b(\d{1,2} )?(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]* \d{1,2}(, )?\d{4}\b"
    r"|\b\d{1,2} (january|february|march|april|may|june|july|august|september|october|"
    r"november|december) \d{4}\b",
    re.I,
)
_TITLE_RUN = re.compile(r"(?:\b[A-Z][\w/’'-]*[,:]? ){2,}[A-Z]")
# Text that was tokenised and glued back ("do n't", "Let ’ s", "( hence name") is scraped soup.
_DETOKENISED = re.compile(r"\s['’]\s?\w|\bn't\b| n't|\(\s|\s\)|\s[,.!?;:](?!\w)|,[!?.]")
_DANGLING = frozenset(
    "the a an and or to with for in on at from by your my we as that these but so which if "
    "into than their our its".split()
)


def quality_flaw(sentence: str) -> str:
    """Why a sentence can't be quoted alone ('' when it can). Rules, not a model: reviewable."""
    tokens = words(sentence)
    if "…" in sentence or "..." in sentence:
        return "cut off (…)"
    if not re.search(r"[.!?][”\"’')]*$", sentence):
        return "heading or fragment (no end punctuation)"
    if len(tokens) < 5:
        return "too short to stand alone"
    if len(tokens) > 60:
        return "run-on text"
    if not re.match(r"[“\"'(]?[A-Z0-9]", sentence):
        return "starts mid-sentence"
    if tokens[-1] in _DANGLING:
        return f"cut off (ends on '{tokens[-1]}')"
    if _DETOKENISED.search(sentence):
        return "garbled (spaces inside words or punctuation)"
    if _DATE.search(sentence):
        return "date stamp (scraped page furniture)"
    if _TITLE_RUN.search(sentence[1:]):
        return "heading stuck to a sentence"
    if re.search(r":\s*[^a-z\s]", sentence):
        return "label or list, not a sentence"
    if sentence.endswith("!") and len(tokens) > 8:
        return "keyword soup ending in '!'"
    return ""


GARBLED = ("cut off", "garbled", "keyword soup", "starts mid-sentence")
#: Flaws that make a sentence noise, not just unquotable: chunking leaves these out of the index.
NOISE = GARBLED + ("inside a stretch of garbled text", "run-on text")


def is_noise(flaw: str) -> bool:
    return flaw.startswith(NOISE)


def mark_garbled_stretches(flaws: list[str], paragraph_of: list[int], window: int = 4) -> list[str]:
    """Scraped SEO soup comes in runs: a sentence whose neighbours (same paragraph, ±window)
    are mostly garbled is taken to be part of that run even when it parses on its own.
    Headings and short lines don't count: list-style articles are full of them."""
    garbled = [f.startswith(GARBLED) for f in flaws]
    marked = list(flaws)
    for i, flaw in enumerate(flaws):
        if flaw:
            continue
        near = [j for j in range(max(0, i - window), min(len(flaws), i + window + 1))
                if j != i and paragraph_of[j] == paragraph_of[i]]
        if len(near) >= window and sum(garbled[j] for j in near) / len(near) >= 0.6:
            marked[i] = "inside a stretch of garbled text"
    return marked


_ENDS_SENTENCE = re.compile(r"[.!?][”\"’')]*$")

#: Two sentences whose content words overlap this much (Jaccard) say the same thing.
NEAR_DUPLICATE_JACCARD = 0.8
NEAR_DUPLICATE_MIN_TERMS = 5  # shorter sentences are compared exactly: one word is a big change
# A difference in these words changes the meaning, however small the edit.
_MEANINGFUL = frozenset("not no never don't doesn't didn't can't cannot won't shouldn't isn't aren't without".split())
_BANDS = 3  # MinHash LSH: 3 bands of 2 hashes find pairs with J >= 0.8 with p > 0.95
_MULTIPLIERS = ((0x9E3779B1, 0x7F4A7C15), (0x85EBCA77, 0xC2B2AE3D), (0x27D4EB2F, 0x165667B1),
                (0x61C88647, 0x2545F491), (0x94D049BB, 0x133111EB), (0xBF58476D, 0x1CE4E5B9))


def _dedupe_key(sentence: str) -> str:
    return " ".join(words(sentence))


@lru_cache(maxsize=200_000)
def _term_hashes(term: str) -> tuple[int, ...]:
    # crc32, not hash(): str hashes change between processes, and dedupe must be repeatable.
    base = zlib.crc32(term.encode("utf-8"))
    return tuple((base * a + b) & 0xFFFFFFFF for a, b in _MULTIPLIERS)


class SeenSentences:
    """Sentences already kept in the corpus, to drop exact and near-duplicates.

    Exact: same words, ignoring case and punctuation. Near: content stems (stopwords out,
    Porter stems) with Jaccard >= 0.8, unless the difference is a number or a negation
    ("hold for 10 seconds" vs "30 seconds" are both kept). Candidates come from MinHash
    LSH buckets, so the cost stays linear in the corpus size.
    """

    def __init__(self):
        self.exact: dict[str, str] = {}
        self.terms: list[frozenset[str]] = []
        self.owner: list[str] = []
        self.buckets: dict[tuple, list[int]] = {}
        self._last: tuple = ("", None)

    @staticmethod
    def _bands(terms: frozenset[str]) -> list[tuple]:
        hashes = [_term_hashes(t) for t in terms]
        mins = [min(h[i] for h in hashes) for i in range(2 * _BANDS)]
        return [(b, mins[2 * b], mins[2 * b + 1]) for b in range(_BANDS)]

    def _features(self, sentence: str) -> tuple[str, frozenset[str], list[tuple]]:
        # The same sentence is checked, then added: compute its features once.
        if self._last[0] != sentence:
            terms = frozenset(content_stems(sentence))
            bands = self._bands(terms) if len(terms) >= NEAR_DUPLICATE_MIN_TERMS else []
            self._last = (sentence, (_dedupe_key(sentence), terms, bands))
        return self._last[1]

    def duplicate_of(self, sentence: str) -> tuple[str, str]:
        """(kind, doc_id of the earlier sentence), or ("", "")."""
        key, terms, bands = self._features(sentence)
        if key in self.exact:
            return "duplicate", self.exact[key]
        for band in bands:
            for j in self.buckets.get(band, ())[:20]:
                other = self.terms[j]
                if len(terms & other) / len(terms | other) >= NEAR_DUPLICATE_JACCARD:
                    diff = terms ^ other
                    if not any(t in _MEANINGFUL or any(ch.isdigit() for ch in t) for t in diff):
                        return "near-duplicate", self.owner[j]
        return "", ""

    def add(self, sentence: str, doc_id: str) -> None:
        key, terms, bands = self._features(sentence)
        self.exact.setdefault(key, doc_id)
        if not bands:
            return
        self.terms.append(terms)
        self.owner.append(doc_id)
        for band in bands:
            self.buckets.setdefault(band, []).append(len(self.terms) - 1)


def clean_article(
    article: Article, splitter: PunktSentenceTokenizer, seen: SeenSentences | None = None
) -> CleanArticle:
    """Split, filter and re-join one article. `seen` carries the sentences kept so far across
    articles, so that a sentence repeated elsewhere in the corpus is kept only once."""
    seen = SeenSentences() if seen is None else seen
    parts: list[str] = []
    sentences: list[Sentence] = []
    dropped: list[Dropped] = []
    offset = 0
    para_index = 0
    for para in paragraphs(normalise(article.text)):
        para_started = False
        for line in para:
            line_started = False
            for a, b in sentence_spans(splitter, line):
                s = line[a:b].strip()
                if not s:
                    continue
                reason = boilerplate_reason(s)
                if not reason and not words(s):
                    reason = "no words"
                if not reason:
                    kind, where = seen.duplicate_of(s)
                    if kind:
                        reason = f"{kind} sentence" + ("" if where == article.doc_id else f" (also in {where})")
                if reason:
                    dropped.append(Dropped(s, reason))
                    continue
                # A heading often repeats the sentence that opens its section; remembering the
                # heading would drop that sentence, the one an answer can quote.
                if _ENDS_SENTENCE.search(s):
                    seen.add(s, article.doc_id)
                sep = " " if line_started else ("\n" if para_started else ("\n\n" if parts else ""))
                parts.append(sep)
                offset += len(sep)
                sentences.append(Sentence(offset, offset + len(s), para_index, True, quality_flaw(s)))
                parts.append(s)
                offset += len(s)
                line_started = para_started = True
        if para_started:
            para_index += 1
    flaws = mark_garbled_stretches([s.flaw for s in sentences], [s.paragraph for s in sentences])
    sentences = [dataclasses.replace(s, quotable=not f, flaw=f) for s, f in zip(sentences, flaws)]
    return CleanArticle(
        doc_id=article.doc_id,
        title=article.title,
        source=article.source,
        url=article.url,
        path=article.path,
        text="".join(parts),
        sentences=tuple(sentences),
        dropped=tuple(dropped),
    )


def clean_corpus(articles: Iterable[Article], splitter: PunktSentenceTokenizer) -> list[CleanArticle]:
    seen = SeenSentences()
    return [clean_article(a, splitter, seen) for a in articles]
