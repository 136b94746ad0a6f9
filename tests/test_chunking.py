import pytest

from bot.chunking import _windows, chunk_article
from bot.cleaning import clean_article
from bot.ingest import Article
from bot.text import default_sentence_splitter


def test_windows_overlap_and_cover_everything():
    assert _windows(2, 3, 1) == [(0, 2)]
    assert _windows(7, 3, 1) == [(0, 3), (2, 5), (4, 7)]


def test_chunks_are_sentence_aligned_within_paragraphs():
    text = "One is here. Two is here. Three is here. Four is here.\n\nFive starts anew. Six ends it."
    c = clean_article(Article("d", "T", "S", "", text, "d.txt", "0"), default_sentence_splitter())
    chunks = chunk_article(c, 3, 1)
    assert [ch.text for ch in chunks] == [
        "One is here. Two is here. Three is here.",
        "Three is here. Four is here.",
        "Five starts anew. Six ends it.",
    ]
    for ch in chunks:
        assert c.text[ch.start : ch.end] == ch.text
        assert ch.doc_id == "d" and ch.chunk_id == f"d#{ch.position}"


def test_bad_chunk_settings_are_refused():
    c = clean_article(Article("d", "T", "S", "", "One is here.", "d.txt", "0"), default_sentence_splitter())
    with pytest.raises(ValueError):
        chunk_article(c, 2, 2)
