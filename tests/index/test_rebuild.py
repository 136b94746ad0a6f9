"""A maintainer's rebuilds: every article format, bad articles, near-duplicates, incremental
builds (counting what is really encoded), deletions, --dry-run, status, HNSW, and builds
killed with SIGKILL at several stages."""
import json
import os
import shutil
import signal
import subprocess
import sys

import pytest

from bot.index import embedding
from bot.corpus.cleaning import clean_corpus
from bot.index.build import build_index
from bot.index.store import load_index
from bot.corpus.ingest import Article, read_corpus
from bot.text import default_sentence_splitter
from conftest import ROOT

NIH = ROOT.parent / "shared" / "data" / "medquad" / "back-articles"

PAGE = (ROOT / "tests" / "data" / "pages" / "desk-neck.html").read_text(encoding="utf-8")


def _count_encoded(monkeypatch) -> list[int]:
    """Wrap the model's encode so the test counts the chunks really sent to the model."""
    counts: list[int] = []
    real = embedding.encode

    def counting(model, texts, *a, **kw):
        counts.append(len(texts))
        return real(model, texts, *a, **kw)

    monkeypatch.setattr(embedding, "encode", counting)
    return counts


# ---------------------------------------------------------------- formats


def test_html_keeps_the_article_and_drops_page_furniture(tmp_path):
    (tmp_path / "desk-neck.html").write_text(PAGE, encoding="utf-8")
    [a], skipped = read_corpus(tmp_path)
    assert not skipped and a.doc_id == "desk-neck"
    assert a.title == "Looking after your neck at a desk"
    assert a.url == "https://example.org/desk-neck" and a.source == "Example Clinic"
    assert "Raise the screen so the top edge is level with your eyes." in a.text
    for furniture in ("SCRIPT", "MENU", "NAV", "COOKIE", "SHARE", "ASIDE", "FOOTER", "color: red"):
        assert furniture not in a.text
    # Source line breaks are not sentence breaks; the heading stays with its section.
    assert "forward for hours. Raise" in a.text.replace("\n", " ")
    assert "The chin glide\nSit tall" in a.text


def test_json_and_jsonl_records_become_articles_with_stable_ids(tmp_path):
    (tmp_path / "one.json").write_text(json.dumps(
        {"title": "Posture", "text": "Sit back in your chair with your feet flat.", "url": "https://x.org/p"}))
    (tmp_path / "many.json").write_text(json.dumps({"articles": [
        {"id": "a1", "title": "Walking", "body": "Walking every day keeps the back moving."},
        {"title": "Sleep", "content": "A medium-firm mattress suits many people with back pain."}]}))
    (tmp_path / "feed.jsonl").write_text("\n".join([
        json.dumps({"id": "q1", "focus": "Sciatica", "answer": "Sciatica is pain along the sciatic nerve."}),
        "{not json",
        json.dumps({"id": "q2", "title": "Empty"}),
        json.dumps({"id": "q1", "focus": "Sciatica again", "answer": "Repeated ids are numbered, not lost."}),
        json.dumps(["not", "an", "object"]),
    ]) + "\n")
    articles, skipped = read_corpus(tmp_path)
    by_id = {a.doc_id: a for a in articles}
    assert by_id["one"].title == "Posture" and by_id["one"].url == "https://x.org/p"
    assert by_id["many-a1"].text.startswith("Walking") and by_id["many-2"].title == "Sleep"
    assert by_id["feed-q1"].title == "Sciatica" and by_id["feed-q1-2"].title == "Sciatica again"
    reasons = {s.path: s.reason for s in skipped}
    assert "not valid JSON" in reasons["feed.jsonl line 2"]
    assert "has no text" in reasons["feed.jsonl line 3"]
    assert "not a JSON object" in reasons["feed.jsonl line 5"]
    # Ids come from the path (and record id), so a second read gives the same ones.
    assert [a.doc_id for a in read_corpus(tmp_path)[0]] == [a.doc_id for a in articles]


def test_markdown_front_matter_keeps_date_and_licence(tmp_path):
    (tmp_path / "a.md").write_text("---\ntitle: T\ndate: 2024-05-01\nlicence: CC BY 4.0\n---\nBody text here.\n")
    [a], _ = read_corpus(tmp_path)
    assert (a.title, a.date, a.licence) == ("T", "2024-05-01", "CC BY 4.0")


def test_each_bad_article_is_skipped_with_its_reason_and_the_build_goes_on(own_index):
    corpus = own_index.corpus_dir
    (corpus / "empty.md").write_text("---\ntitle: Nothing\n---\n   \n")
    (corpus / "binary.txt").write_bytes(b"\x89PNG\x00\x00\x01")
    (corpus / "front.md").write_text("---\ntitle: [unclosed\n---\nSit tall at the desk.\n")
    (corpus / "scripts-only.html").write_text("<html><body><script>x()</script><nav>Home</nav></body></html>")
    (corpus / "broken.xml").write_text("<Document><Focus>Back</Focus><QAPairs>")
    with open(corpus / "huge.txt", "wb") as fh:
        fh.truncate(50_000_000)  # a 50 MB file (sparse: nothing is written to disk)
    summary = build_index(own_index)
    reasons = {s.path: s.reason for s in summary.skipped}
    assert reasons["empty.md"] == "is empty"
    assert "binary" in reasons["binary.txt"]
    assert "front matter" in reasons["front.md"]
    assert "no article text" in reasons["scripts-only.html"]
    assert "not well-formed XML" in reasons["broken.xml"]
    assert "50 MB" in reasons["huge.txt"] and "limit" in reasons["huge.txt"]
    assert len(summary.skipped) == 6 and summary.articles == 5
    assert load_index(own_index).manifest["counts"]["articles"] == 5
    # Status doesn't call a skipped file "new" forever, only once it is edited.
    from bot.tools.maintenance import index_status

    st = index_status(own_index)
    assert not st.rebuild_needed and len(st.still_skipped) == 6 and not st.new_files
    (corpus / "empty.md").write_text("---\ntitle: Now written\n---\nA real sentence about posture is here now.\n")
    st = index_status(own_index)
    assert st.new_files == ["empty.md"] and st.rebuild_needed


# ---------------------------------------------------------------- cleaning


def _article(doc_id, text):
    return Article(doc_id=doc_id, title=doc_id, source=doc_id, url="", text=text, path=doc_id + ".txt", sha256="")


def test_near_duplicate_sentences_across_articles_are_dropped_but_numbers_and_negations_count():
    a = _article("a", "Gently pull your head towards your right shoulder until you feel a stretch in the left side of your neck.\n\n"
                      "Hold the stretch for 10 seconds and then switch sides slowly.\n\n"
                      "You should bend your knees when lifting heavy boxes from the floor.")
    b = _article("b", "Gently pull your head toward your right shoulder until you feel the stretch in the left side of the neck!\n\n"
                      "Hold the stretch for 30 seconds and then switch sides slowly.\n\n"
                      "You should not bend your knees when lifting heavy boxes from the floor.")
    _, cb = clean_corpus([a, b], default_sentence_splitter())
    dropped = {d.text: d.reason for d in cb.dropped}
    assert len(dropped) == 1
    [(text, reason)] = dropped.items()
    assert text.startswith("Gently pull your head toward") and reason == "near-duplicate sentence (also in a)"
    kept = [cb.sentence_text(s) for s in cb.sentences]
    assert any("30 seconds" in s for s in kept) and any("should not bend" in s for s in kept)


# ---------------------------------------------------------------- incremental builds


def test_incremental_build_encodes_only_what_changed(own_index, monkeypatch):
    counts = _count_encoded(monkeypatch)
    before = load_index(own_index)
    shutil.copy(NIH / "4-spinal-stenosis.xml", own_index.corpus_dir)
    added = build_index(own_index)
    after = load_index(own_index)
    new_chunks = [c for c in after.chunks if c.doc_id == "4-spinal-stenosis"]
    assert added.changes.added == ("4-spinal-stenosis",) and not added.changes.changed
    assert new_chunks and len(new_chunks) == added.encoded
    new_sentences = {c.text[a:b] for c in new_chunks for a, b, _ in c.sentences} - {c.text for c in new_chunks}
    # Chunk texts, then the article's sentences that aren't a whole chunk already (same text, same vector).
    assert sum(counts) == added.encoded + added.sentences_encoded and added.sentences_encoded == len(new_sentences)
    assert added.reused == len(before.chunks) and not added.full
    # Vectors taken from the cache are the ones the full build computed.
    import numpy as np
    old = {c.text: before.vectors.reconstruct(i) for i, c in enumerate(before.chunks)}
    for i, c in enumerate(after.chunks):
        if c.text in old:
            assert np.allclose(after.vectors.reconstruct(i), old[c.text], atol=1e-6)

    counts.clear()
    same = build_index(own_index)
    assert same.up_to_date and sum(counts) == 0 and load_index(own_index).path == after.path

    counts.clear()
    md = own_index.corpus_dir / "001-upper-back-and-neck-stretches.md"
    md.write_text(md.read_text(encoding="utf-8") + "\n\nA brand new closing sentence about neck stretches was added here.\n",
                  encoding="utf-8")
    changed = build_index(own_index)
    assert changed.changes.changed == ("001-upper-back-and-neck-stretches",)
    assert 0 < changed.encoded <= 2  # the chunk(s) holding the new sentence
    assert sum(counts) == changed.encoded + changed.sentences_encoded and changed.sentences_encoded <= 1

    counts.clear()
    full = build_index(own_index, full=True)
    assert full.full and full.chunks == full.encoded and sum(counts) == full.encoded + full.sentences_encoded > full.chunks


def test_a_deleted_article_disappears_and_nothing_is_encoded(own_index, monkeypatch):
    counts = _count_encoded(monkeypatch)
    (own_index.corpus_dir / "002-muscle-imbalances-and-back-pain.md").unlink()
    summary = build_index(own_index)
    idx = load_index(own_index)
    assert summary.changes.removed == ("002-muscle-imbalances-and-back-pain",)
    assert sum(counts) == 0 and summary.encoded == summary.sentences_encoded == 0
    assert all(c.doc_id != "002-muscle-imbalances-and-back-pain" for c in idx.chunks)
    assert all(a["doc_id"] != "002-muscle-imbalances-and-back-pain" for a in idx.articles)


def test_hnsw_above_the_threshold_is_recorded_with_its_recall(own_index):
    import dataclasses

    from bot import Chatbot

    settings = dataclasses.replace(own_index, hnsw_threshold=10)
    summary = build_index(settings)  # same corpus, new vector-index settings: re-indexed, nothing re-embedded
    m = load_index(settings).manifest
    assert not summary.up_to_date and summary.encoded == summary.sentences_encoded == 0
    assert m["sentence_faiss"]["type"] == "hnsw-ip" and m["sentence_faiss"]["recall_at_10"] >= 0.95
    assert m["faiss"]["type"] == "hnsw-ip" and summary.faiss["type"] == "hnsw-ip"
    assert m["faiss"]["recall_at_10"] >= 0.95  # ~90 real chunks: HNSW should be near exact
    bot = Chatbot.load(settings=settings)
    assert bot.index.vectors.hnsw.efSearch == settings.hnsw_ef_search
    assert bot.reply("How do I stretch my upper back?").answered


# ---------------------------------------------------------------- CLI: dry run and status


def _cli(*args):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


def test_dry_run_reports_each_article_and_writes_nothing(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    index = tmp_path / "index"
    r = _cli("build", "--dry-run", "--corpus", str(corpus), "--index", str(index))
    assert r.returncode == 0, r.stderr
    out = r.stdout
    for path in (p.name for p in corpus.iterdir()):
        assert path in out
    assert "dropped, boilerplate" in out and "left out of the index, cut off" in out
    assert "Nothing was written" in out and "5 added" in out
    assert not index.exists()


def test_status_says_when_a_rebuild_is_needed(own_index):
    args = ("status", "--corpus", str(own_index.corpus_dir), "--index", str(own_index.index_dir))
    r = _cli(*args)
    assert r.returncode == 0 and "Rebuild needed: no" in r.stdout
    assert "5 articles" in r.stdout and "all-MiniLM-L6-v2" in r.stdout
    shutil.copy(NIH / "4-sciatica.xml", own_index.corpus_dir)
    (own_index.corpus_dir / "000-tight-neck-muscles-and-back-pain.md").write_text("---\ntitle: x\n---\nChanged text here.\n")
    (own_index.corpus_dir / "004-upper-back-pain-relief-exercises.md").unlink()
    out = _cli(*args).stdout
    assert "Files new (not in the index): 1\n  4-sciatica.xml" in out
    assert "Files changed since the build: 1\n  000-tight-neck-muscles-and-back-pain.md" in out
    assert "Files removed from the corpus folder: 1\n  004-upper-back-pain-relief-exercises.md" in out
    assert "Rebuild needed: yes" in out
    r = _cli("status", "--corpus", str(own_index.corpus_dir), "--index", str(own_index.index_dir / "none"))
    assert "No index has been built" in r.stdout and "Rebuild needed: yes" in r.stdout and "Traceback" not in r.stderr


# ---------------------------------------------------------------- crash safety


STAGES = ("reading", "embedding", "indexing", "writing", "verifying", "publishing")


@pytest.mark.parametrize("stage", STAGES)
def test_a_build_killed_at_any_stage_leaves_an_index_that_loads_and_answers(own_index, stage):
    from bot import Chatbot

    before = load_index(own_index).path.name
    shutil.copy(NIH / "4-herniated-disk.xml", own_index.corpus_dir)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "build", "--corpus", str(own_index.corpus_dir), "--index", str(own_index.index_dir)],
        cwd=ROOT, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if line.startswith(f"... {stage}"):
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, f"the build ended before '{stage}': {''.join(seen)}"
    # Whatever CURRENT names (the old version, or the new one if the rename had happened), it loads.
    idx = load_index(own_index)
    assert idx.path.name in (before, *[p.name for p in own_index.index_dir.glob("v*")])
    assert Chatbot.load(settings=own_index).reply("How do I stretch my upper back?").answered
    # The next build cleans up what the killed one left and publishes.
    summary = build_index(own_index)
    assert not list(own_index.index_dir.glob(".staging-*"))
    assert any(c.doc_id == "4-herniated-disk" for c in load_index(own_index).chunks)
    if stage in ("indexing", "writing", "verifying"):
        # Vectors encoded before the kill were cached: the rerun had nothing left to encode.
        assert summary.encoded == summary.sentences_encoded == 0
