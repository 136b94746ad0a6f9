import re

import pytest

from bot.corpus.ingest import CorpusError, FrontMatterError, doc_id_for, parse_front_matter, read_corpus
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
    meta, body = parse_front_matter("---\ntitle: 'A: B'\nurl: https://x.org/a\n---\nHello.")
    assert meta == {"title": "A: B", "url": "https://x.org/a"} and body == "Hello."
    assert parse_front_matter("No front matter.") == ({}, "No front matter.")


def readme_front_matter_example() -> str:
    """The front-matter example of the README's walk-through, as a maintainer would copy it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("A `.md` file may start with front matter"):]
    return re.search(r"```[a-z]*\n(.*?)```", section, re.S).group(1)


def test_the_readme_front_matter_example_copied_as_shown(tmp_path):
    example = readme_front_matter_example()
    assert "#" in example  # it has the inline comments that the old reader kept in the id
    (tmp_path / "copied.md").write_text(example, encoding="utf-8")
    [a], skipped = read_corpus(tmp_path)
    assert not skipped
    assert a.doc_id == "my-article"
    assert (a.title, a.source, a.url) == ("A descriptive title", "Who published it", "https://example.org/article")
    assert (a.date, a.licence) == ("2024-05-01", "CC BY 4.0")
    assert a.text.startswith("Article text as published")


def test_front_matter_is_yaml_quotes_lists_and_comments():
    meta, body = parse_front_matter(
        "---\n"
        "title: \"Neck pain: what helps\"   # quoted, so the colon is part of the title\n"
        "source: 'Spine & Stride'\n"
        "url: https://example.org/a#section\n"
        "# a comment line\n"
        "licence: [CC BY 4.0, CC BY-SA 4.0]\n"
        "tags:\n  - neck\n  - posture\n"
        "---\nBody.\n")
    assert meta["title"] == "Neck pain: what helps" and meta["source"] == "Spine & Stride"
    assert meta["url"] == "https://example.org/a#section"  # '#' inside a value is not a comment
    assert meta["licence"] == "CC BY 4.0, CC BY-SA 4.0" and meta["tags"] == "neck, posture"
    assert body == "Body.\n"
    assert parse_front_matter("---\nid: 42\n---\nText.")[0] == {"id": "42"}


def test_broken_front_matter_is_a_short_warning_naming_the_file(tmp_path):
    with pytest.raises(FrontMatterError, match="line 2.*quote a value"):
        parse_front_matter("---\ntitle: Neck pain: a guide\n---\nText.")
    (tmp_path / "good.md").write_text("---\ntitle: Fine\n---\nStretch gently every day.\n", encoding="utf-8")
    (tmp_path / "colon.md").write_text("---\ntitle: Neck pain: a guide\n---\nText here.\n", encoding="utf-8")
    (tmp_path / "unclosed.md").write_text("---\ntitle: [neck, back\n---\nText here.\n", encoding="utf-8")
    (tmp_path / "scalar.md").write_text("---\njust a sentence\n---\nText here.\n", encoding="utf-8")
    articles, skipped = read_corpus(tmp_path)
    assert [a.path for a in articles] == ["good.md"]
    reasons = {s.path: s.reason for s in skipped}
    assert reasons["colon.md"].startswith("has front matter that is not valid YAML at line 2")
    assert "not valid YAML" in reasons["unclosed.md"]
    assert "not a list of 'field: value' lines" in reasons["scalar.md"]
    assert all("\n" not in r and "Traceback" not in r for r in reasons.values())


def test_doc_id_is_stable_and_from_the_path():
    assert doc_id_for("Sub Dir/My Article.txt") == doc_id_for("Sub Dir/My Article.txt") == "sub-dir-my-article"


def test_bad_files_are_skipped_with_a_reason(tmp_path):
    (tmp_path / "good.txt").write_text("Stretching helps a stiff neck. Do it daily.", encoding="utf-8")
    (tmp_path / "empty.txt").write_text("   \n", encoding="utf-8")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02abc")
    (tmp_path / "image.html").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (tmp_path / "latin1.json").write_bytes('{"title": "Caf\xe9", "text": "Caf\xe9 au lait."}'.encode("latin-1"))
    (tmp_path / "ignored.pdf").write_bytes(b"%PDF")
    articles, skipped = read_corpus(tmp_path)
    assert [a.path for a in articles] == ["good.txt"]
    reasons = {s.path: s.reason for s in skipped}
    assert reasons["empty.txt"] == "is empty"
    assert "binary" in reasons["binary.txt"] and "binary" in reasons["image.html"]
    assert "UTF-8" in reasons["latin1.json"]  # JSON is UTF-8 by its standard


# ---------------------------------------------------------------- encodings

TEXT = "Don\u2019t slump \u2013 sit \u201ctall\u201d and let your shoulders drop. A caf\u00e9 chair is na\u00efve support."


def test_windows_1252_and_latin1_text_files_are_decoded_not_skipped(tmp_path):
    (tmp_path / "cp1252.txt").write_bytes(TEXT.encode("cp1252"))
    (tmp_path / "latin1.md").write_bytes("---\ntitle: Caf\xe9 posture\n---\nDolor de espalda: a\xf1o, ni\xf1o, caf\xe9.\n".encode("latin-1"))
    (tmp_path / "short.txt").write_bytes("caf\xe9 au lait".encode("latin-1"))
    articles, skipped = read_corpus(tmp_path)
    assert not skipped
    by_path = {a.path: a for a in articles}
    assert by_path["cp1252.txt"].text == TEXT  # curly quotes and accents as written
    assert by_path["latin1.md"].title == "Caf\u00e9 posture" and "a\u00f1o, ni\u00f1o" in by_path["latin1.md"].text
    assert by_path["short.txt"].text == "caf\u00e9 au lait"


def test_utf16_and_declared_charsets_are_decoded(tmp_path):
    (tmp_path / "utf16.txt").write_bytes(TEXT.encode("utf-16"))  # with its byte-order mark
    (tmp_path / "big-endian.md").write_bytes(b"\xfe\xff" + ("---\ntitle: Wide\n---\n" + TEXT).encode("utf-16-be"))
    page = ("<html><head><meta http-equiv='Content-Type' content='text/html; charset={}'><title>Sit tall</title></head>"
            "<body><p>{}</p></body></html>")
    (tmp_path / "declared.html").write_bytes(page.format("windows-1252", TEXT).encode("cp1252"))
    (tmp_path / "greek.html").write_bytes(
        page.format("iso-8859-7", "\u03a0\u03cc\u03bd\u03bf\u03c2 \u03c3\u03c4\u03b7 \u03bc\u03ad\u03c3\u03b7.").encode("iso-8859-7"))
    articles, skipped = read_corpus(tmp_path)
    assert not skipped
    by_path = {a.path: a for a in articles}
    assert by_path["utf16.txt"].text == TEXT
    assert by_path["big-endian.md"].title == "Wide" and by_path["big-endian.md"].text == TEXT
    assert by_path["declared.html"].text == TEXT
    assert "\u03a0\u03cc\u03bd\u03bf\u03c2" in by_path["greek.html"].text  # the meta charset, not a guess


def test_a_utf8_file_is_read_as_utf8_and_its_fingerprint_is_of_its_bytes(tmp_path):
    raw = TEXT.encode("cp1252")
    (tmp_path / "a.txt").write_bytes(raw)
    [a], _ = read_corpus(tmp_path)
    import hashlib
    assert a.sha256 == hashlib.sha256(raw).hexdigest()  # a re-save in UTF-8 is a change
    (tmp_path / "a.txt").write_text(TEXT, encoding="utf-8")
    [b], _ = read_corpus(tmp_path)
    assert b.text == a.text and b.sha256 != a.sha256


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


def test_a_new_format_is_one_reader(tmp_path, monkeypatch):
    """As docs/architecture.md says: a format is a function and an entry in READERS; the
    corpus walk, decoding and the article fields follow from it."""
    from bot.corpus import ingest

    def read_org(text, rel):  # Emacs org-mode: "#+TITLE: ..." then the text
        title = re.search(r"^#\+TITLE:\s*(.+)$", text, re.M)
        return ({"title": title.group(1)} if title else {}), re.sub(r"^#\+\w+:.*\n", "", text, flags=re.M)

    monkeypatch.setitem(ingest.READERS, ".org", ingest.Reader(read_org))
    (tmp_path / "neck.org").write_bytes("#+TITLE: Neck care\nTilt your head gently to each side.\n".encode("cp1252"))
    articles, skipped = read_corpus(tmp_path)
    assert skipped == [] and [(a.title, a.text.strip()) for a in articles] == [("Neck care", "Tilt your head gently to each side.")]
