"""nltk text tools used by chunking, BM25 and triage alike.

We never depend on downloadable nltk data (no network here, and `punkt` LookupErrors
are a classic offline failure): Punkt is trained on the corpus at build time and saved
with the index; word tokenising is a regular expression; stemming is Porter's.
"""
from __future__ import annotations

import re
from functools import lru_cache

from nltk.stem import PorterStemmer
from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer, PunktTrainer

# Words keep inner apostrophes and hyphens ("can't", "self-harm"); numbers stay whole.
# The stdlib `re` runs this pattern several times faster than nltk's RegexpTokenizer (which
# goes through the `regex` module with a timeout guard); it is called for every sentence.
_WORDS = re.compile(r"[A-Za-z0-9]+(?:['’-][A-Za-z0-9]+)*")
_STEMMER = PorterStemmer()

STOPWORDS = frozenset(
    """a an and are as at be been being but by can could do does did for from had has have
    how i if in into is it its it's me my of on or our so than that the their them then there
    these they this those to too up us was we were what when where which while who why will
    with would you your yours i'm i've""".split()
)


#: Punkt learns abbreviations and sentence starters well from a few MB; training on all of a
#: large corpus costs minutes (42 s for MedQuAD's 26 MB) for no better splits.
PUNKT_TRAINING_CHARS = 3_000_000


def training_sample(texts: list[str], limit: int = PUNKT_TRAINING_CHARS) -> list[str]:
    """Every n-th text, so that the sample spans the whole corpus and stays under `limit`."""
    total = sum(map(len, texts))
    if total <= limit:
        return texts
    stride = -(-total // limit)  # ceiling division
    return texts[::stride]


def train_sentence_splitter(texts: list[str]) -> PunktSentenceTokenizer:
    """Learn abbreviations and sentence starters from the corpus itself."""
    trainer = PunktTrainer()
    trainer.train("\n\n".join(training_sample(texts)), finalize=True)
    return PunktSentenceTokenizer(trainer.get_params())


def default_sentence_splitter() -> PunktSentenceTokenizer:
    """An untrained Punkt (generic rules), for text seen before any index exists."""
    return PunktSentenceTokenizer(PunktParameters())


def sentence_spans(splitter: PunktSentenceTokenizer, text: str) -> list[tuple[int, int]]:
    return list(splitter.span_tokenize(text))


def words(text: str) -> list[str]:
    """Lower-cased word tokens, straight apostrophes."""
    return [w.lower().replace("’", "'") for w in _WORDS.findall(text)]


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    return _STEMMER.stem(word)


def content_stems(text: str) -> list[str]:
    """Stemmed tokens without stopwords: the terms that carry meaning for matching."""
    return [stem(w) for w in words(text) if w not in STOPWORDS]


_SPACES = re.compile(r"[ \t\f\v\u00a0\u2000-\u200b\u202f\u205f\u3000]+")


def squash_spaces(text: str) -> str:
    return _SPACES.sub(" ", text).strip()
