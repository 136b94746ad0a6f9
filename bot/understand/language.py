"""Is a message English? BackBot's articles are English, and so are its red-flag phrasings:
a message in another language gets the English-only reply, which carries the emergency number
whatever the message says.

py3langid (a maintained fork of langid.py; its model ships inside the package, nothing is
downloaded) scores the message over 97 languages. Short messages give it too little to go on,
so they count as English unless their letters or words say otherwise.
"""
from __future__ import annotations

import threading
from functools import lru_cache

from ..text import STOPWORDS, words

#: The share of py3langid's probability English needs for a message to count as English. Messages
#: in other languages score below 0.001; the lowest English one in tests/data scores 0.10.
MIN_ENGLISH_PROBABILITY = 0.02
#: Below this many words, the identifier is not asked (it can't tell "ok thanks" from Afrikaans).
MIN_WORDS = 4

_LOCK = threading.Lock()  # the identifier keeps state between calls


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def english_probability(text: str) -> float:
    with _LOCK:
        ranked = _identifier().rank(text)
    return next((float(p) for lang, p in ranked if lang == "en"), 0.0)


def is_english(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return True  # nothing to read: not a language question
    if sum(c.isascii() for c in letters) / len(letters) < 0.5:
        return False  # Arabic, Chinese, Cyrillic ... script
    found = words(text)
    if len(found) < MIN_WORDS:
        # Too short to identify: English unless it has accented letters and no English word.
        return all(c.isascii() for c in letters) or any(w in STOPWORDS for w in found)
    return english_probability(text[:2000]) >= MIN_ENGLISH_PROBABILITY
