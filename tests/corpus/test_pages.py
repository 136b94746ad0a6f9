"""Saved web pages in the markup of real themes (tests/data/pages/, what each must give in
expected.json): the article text is read, page furniture is not, title and link are right."""
import json
import shutil
from conftest import DATA

import pytest

from bot.corpus.cleaning import clean_article
from bot.corpus.ingest import read_corpus
from bot.text import default_sentence_splitter

PAGES = DATA / "pages"
EXPECTED = {k: v for k, v in json.loads((PAGES / "expected.json").read_text(encoding="utf-8")).items()
            if not k.startswith("_")}


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """Every fixture read as a maintainer's corpus folder would be."""
    folder = tmp_path_factory.mktemp("pages")
    for name in EXPECTED:
        shutil.copy(PAGES / name, folder / name)
    articles, skipped = read_corpus(folder)
    assert not skipped
    return {a.path: a for a in articles}


def test_there_are_pages_of_several_themes():
    assert len(EXPECTED) >= 6 and all((PAGES / name).is_file() for name in EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_article_text_is_kept(pages, name):
    text = flat(pages[name].text)
    missing = [s for s in EXPECTED[name]["present"] if s not in text]
    assert not missing


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_page_furniture_is_left_out(pages, name):
    leaked = [f for f in EXPECTED[name]["absent"] if f in pages[name].text]
    assert not leaked


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_title_and_canonical_link(pages, name):
    assert pages[name].title == EXPECTED[name]["title"]
    assert pages[name].url == EXPECTED[name]["url"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_no_furniture_is_quotable_after_cleaning(pages, name):
    c = clean_article(pages[name], default_sentence_splitter())
    quotable = " ".join(c.sentence_text(s) for s in c.sentences if s.quotable)
    assert not [f for f in EXPECTED[name]["absent"] if f in quotable]
    # The article's own sentences are still quotable (most of them: the quality rules also
    # hold back a few, e.g. one ending on "on").
    kept = [s for s in EXPECTED[name]["present"] if s in quotable]
    assert len(kept) >= len(EXPECTED[name]["present"]) / 2


def test_headings_stay_with_their_paragraph_and_paragraphs_stay_apart(pages):
    text = pages["wordpress-classic.html"].text
    assert "Set the seat before you set off\nSit with your hips well back" in text
    assert "the next morning.\n\nSet the seat" in text
    # Blogger writes paragraphs as text<br><br>: each is its own paragraph.
    blog = pages["blogspot.html"].text
    assert "how I weed.\n\nThe worst part" in blog
    # A list's items are lines of one paragraph.
    assert "neck support.\nReplace a pillow" in pages["ghost.html"].text


def test_a_page_the_main_text_extractor_finds_nothing_in_falls_back_to_the_tag_rules(tmp_path):
    # Text straight inside <body> is no block trafilatura scores; the tag rules keep it.
    (tmp_path / "bare.html").write_text(
        "<html><head><title>Chin glides</title></head><body><nav>Home</nav>"
        "Glide your chin straight back and hold it for five seconds.</body></html>", encoding="utf-8")
    [a], skipped = read_corpus(tmp_path)
    assert not skipped and a.title == "Chin glides"
    assert a.text == "Glide your chin straight back and hold it for five seconds."
