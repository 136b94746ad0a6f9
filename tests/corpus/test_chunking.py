import pytest

from bot.corpus.chunking import chunk_article
from bot.corpus.cleaning import clean_article
from bot.corpus.ingest import Article
from bot.text import default_sentence_splitter


SEVEN = ["The first sentence is right here.", "The second sentence is right here.", "The third sentence is right here.",
         "The fourth sentence is right here.", "The fifth sentence is right here.", "The sixth sentence is right here.",
         "The seventh sentence is right here."]


@pytest.mark.parametrize("n,expected", [(2, [(0, 2)]), (7, [(0, 3), (2, 5), (4, 7)])])
def test_windows_overlap_and_cover_everything(n, expected):
    """Three-sentence chunks overlapping by one cover a paragraph, the last one ending with it."""
    c = clean_article(Article("d", "T", "S", "", " ".join(SEVEN[:n]), "d.txt", "0"), default_sentence_splitter())
    assert [ch.text for ch in chunk_article(c, 3, 1)] == [" ".join(SEVEN[a:b]) for a, b in expected]


S = ["One sentence is right here.", "Two sentences are right here.", "Three sentences are right here.",
     "Four sentences are right here.", "Five starts a new paragraph here.", "Six ends the whole thing here."]


def test_chunks_are_sentence_aligned_within_paragraphs():
    text = " ".join(S[:4]) + "\n\n" + " ".join(S[4:])
    c = clean_article(Article("d", "T", "S", "", text, "d.txt", "0"), default_sentence_splitter())
    chunks = chunk_article(c, 3, 1)
    assert [ch.text for ch in chunks] == [" ".join(S[0:3]), " ".join(S[2:4]), " ".join(S[4:6])]
    for ch in chunks:
        assert c.text[ch.start : ch.end] == ch.text
        assert ch.doc_id == "d" and ch.chunk_id == f"d#{ch.position}"


def test_garbled_text_is_left_out_of_the_index():
    soup = "stretches upper back tight how to fix... Shoulders down to the pull back discomfort under shoulders!"
    text = f"{S[0]} {S[1]} {soup} {S[2]}\n\nKeyword soup for tight backs...\n\nShort heading"
    c = clean_article(Article("d", "T", "S", "", text, "d.txt", "0"), default_sentence_splitter())
    chunks = chunk_article(c, 3, 1)
    # The soup splits the paragraph; the paragraphs with nothing quotable make no chunk at all.
    assert [ch.text for ch in chunks] == [f"{S[0]} {S[1]}", S[2]]


def test_bad_chunk_settings_are_refused():
    c = clean_article(Article("d", "T", "S", "", "One is here.", "d.txt", "0"), default_sentence_splitter())
    with pytest.raises(ValueError):
        chunk_article(c, 2, 2)
