"""Lay words to the articles' words before a keyword search ("slipped disc" also searches
"herniated disk"): a reviewable table, `data/lay_terms.tsv`."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ..errors import RuleFileError
from ..settings import DATA_DIR
from ..text import stem, words


@dataclass(frozen=True)
class LayTerm:
    stems: tuple[str, ...]  # the phrase as word stems: "knots" and "knot" match alike
    phrase: str
    article_terms: str


@lru_cache(maxsize=1)
def lay_terms() -> tuple[LayTerm, ...]:
    """`data/lay_terms.tsv`: how people say it <TAB> how the articles write it."""
    rows = []
    path = DATA_DIR / "lay_terms.tsv"
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        if line.count("\t") != 1 or not all(part.strip() for part in line.split("\t")):
            raise RuleFileError(f"{path}, line {n}: expected 'lay phrase<TAB>article words', got {line!r}.")
        phrase, article = (part.strip() for part in line.split("\t", 1))
        rows.append(LayTerm(tuple(stem(w) for w in words(phrase)), phrase, article))
    return tuple(rows)


def _holds(seq: list[str], part: tuple[str, ...]) -> bool:
    n = len(part)
    return n > 0 and any(tuple(seq[i : i + n]) == part for i in range(len(seq) - n + 1))


def expand_query(query: str) -> str:
    """The question plus the article wording of any lay term in it ("slipped disc" adds
    "herniated disk"). Whole words are compared by their stems, so "knot" matches the row
    "knots" and "screens" the row "screen", but "disco" never matches "disc". The original
    words stay, so nothing the person said is lost."""
    said = [stem(w) for w in words(query)]
    extra = [t.article_terms for t in lay_terms() if _holds(said, t.stems)]
    return f"{query} {' '.join(extra)}" if extra else query
