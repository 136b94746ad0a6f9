
import pytest

from bot.corpus.ingest import CorpusError, doc_id_for, parse_front_matter, read_corpus
from conftest import ROOT



def test_seed_corpus_has_ids_titles_sources_and_raw_text():
    articles, skipped = read_corpus(ROOT / "corpus")
    assert len(articles) == 5 and skipped == []
    seeds = {p.name[:3]: p.read_text(encoding="utf-8") for p in (ROOT.parent / "shared" / "seeds").glob("*.txt")}
    for a in articles:
        assert a.title and a.title != a.path and a.source
        # Text is kept exactly as the seed: cleaning belongs to ingestion.
        assert a.text == seeds[a.path[:3]]


def test_front_matter_is_parsed_and_removed():
    meta, body = parse_front_matter("---\ntitle: A: B\nurl: https://x.org/a\n---\nHello.")
    assert meta == {"title": "A: B", "url": "https://x.org/a"} and body == "Hello."
    assert parse_front_matter("No front matter.") == ({}, "No front matter.")


def test_doc_id_is_stable_and_from_the_path():
    assert doc_id_for("Sub Dir/My Article.txt") == doc_id_for("Sub Dir/My Article.txt") == "sub-dir-my-article"


def test_bad_files_are_skipped_with_a_reason(tmp_path):
    (tmp_path / "good.txt").write_text("Stretching helps a stiff neck. Do it daily.", encoding="utf-8")
    (tmp_path / "empty.txt").write_text("   \n", encoding="utf-8")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02abc")
    (tmp_path / "latin1.md").write_bytes("caf\xe9 au lait".encode("latin-1"))
    (tmp_path / "ignored.pdf").write_bytes(b"%PDF")
    articles, skipped = read_corpus(tmp_path)
    assert [a.path for a in articles] == ["good.txt"]
    reasons = {s.path: s.reason for s in skipped}
    assert reasons["empty.txt"] == "is empty"
    assert "binary" in reasons["binary.txt"]
    assert "UTF-8" in reasons["latin1.md"]


def test_missing_corpus_folder_is_a_clear_error(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        read_corpus(tmp_path / "nope")


def test_medquad_xml_articles_are_read(tmp_path):
    nih = ROOT.parent / "shared" / "data" / "medquad" / "back-articles"
    articles, skipped = read_corpus(nih)
    assert len(articles) == 6 and not skipped
    sciatica = next(a for a in articles if a.doc_id == "4-sciatica")
    assert sciatica.title == "Sciatica" and sciatica.url.startswith("https://www.nlm.nih.gov/")
    assert "MedQuAD" in sciatica.source and "Sciatica is a symptom" in sciatica.text
    assert "What is (are)" not in sciatica.text  # questions are not quotable statements
    (tmp_path / "bad.xml").write_text("<Document><Focus>x</Focus", encoding="utf-8")
    (tmp_path / "other.xml").write_text("<svg></svg>", encoding="utf-8")
    articles, skipped = read_corpus(tmp_path)
    reasons = {s.path: s.reason for s in skipped}
    assert "not well-formed XML" in reasons["bad.xml"] and "not a MedQuAD" in reasons["other.xml"]
