import dataclasses

import pytest

from bot.index.build import BuildError, build_index, build_lock
from bot.index.store import UnusableIndexError, load_index
from bot.corpus.ingest import CorpusError


def test_build_writes_a_manifest_and_loads(built_index):
    settings, summary = built_index
    assert summary.articles == 5 and summary.chunks > 50 and summary.skipped == ()
    idx = load_index(settings)
    m = idx.manifest
    assert m["model"] == settings.model and m["dimension"] == 384
    assert m["chunking"] == settings.chunking() and len(m["corpus_fingerprint"]) == 64
    assert m["built_at"] and m["format_version"] == 3
    assert m["lexical"]["method"] == "bm25" and "bm25.json" in m["files"]
    assert idx.vectors.ntotal == len(idx.chunks) == summary.chunks
    # Every chunk is a slice of its article's cleaned text.
    texts = {a["doc_id"]: a["text"] for a in idx.articles}
    for c in idx.chunks:
        assert texts[c.doc_id][c.start : c.end] == c.text
    # One vector per distinct sentence; overlapping chunks share theirs.
    held = [len(c.sentences) for c in idx.chunks]
    assert idx.sentence_vectors.ntotal == len(idx.sentence_owners) == m["counts"]["sentences"]
    # A one-sentence chunk's sentence has the chunk's text: its vector comes from the cache.
    single = sum(len(c.sentences) == 1 for c in idx.chunks)
    assert summary.sentences_encoded == len(idx.sentence_owners) - single
    assert len(idx.sentence_owners) < sum(held) and sum(map(len, idx.sentence_owners)) == sum(held)


def test_a_sentence_vector_is_that_sentences_embedding(built_index, chatbot):
    """The sentence index is aligned: vector j is the embedding of a sentence that every chunk
    listed as its owner holds."""
    import numpy as np

    idx = chatbot.index
    for j in (0, len(idx.sentence_owners) // 2, len(idx.sentence_owners) - 1):
        owners = idx.sentence_owners[j]
        first = idx.chunks[owners[0]]
        texts = [first.text[a:b] for a, b, _ in first.sentences]
        found = [t for t in texts if np.dot(chatbot.embed_query(t), idx.sentence_vectors.reconstruct(j)) > 0.999]
        assert len(found) == 1
        assert all(found[0] in idx.chunks[i].text for i in owners)


def test_missing_index_names_the_build_command(tmp_path, settings_for):
    with pytest.raises(UnusableIndexError, match="backbot build"):
        load_index(settings_for(index_dir=tmp_path / "none"))


def test_corrupt_file_is_detected(own_index):
    live = load_index(own_index).path
    with open(live / "chunks.jsonl", "a") as fh:
        fh.write("garbage\n")
    with pytest.raises(UnusableIndexError, match="corrupt.*backbot build"):
        load_index(own_index)


@pytest.mark.parametrize("name", ["vectors.faiss", "sentences.faiss", "sentences.json"])
def test_deleted_file_is_detected(own_index, name):
    (load_index(own_index).path / name).unlink()
    with pytest.raises(UnusableIndexError, match="missing.*backbot build"):
        load_index(own_index)


def test_other_model_or_chunking_is_refused(own_index):
    with pytest.raises(UnusableIndexError, match="model 'all-MiniLM-L6-v2'.*rebuild"):
        load_index(dataclasses.replace(own_index, model="some/other-model"))
    with pytest.raises(UnusableIndexError, match="chunking"):
        load_index(dataclasses.replace(own_index, chunk_sentences=5))


def test_failed_build_leaves_the_old_index_serving(own_index):
    before = load_index(own_index).manifest["version"]
    for f in own_index.corpus_dir.iterdir():
        f.write_text("", encoding="utf-8")  # every article now empty: the build must fail
    with pytest.raises(CorpusError):
        build_index(own_index)
    assert load_index(own_index).manifest["version"] == before


def test_unreadable_article_is_skipped_and_build_goes_on(own_index):
    (own_index.corpus_dir / "broken.txt").write_bytes(b"\xff\xfe\x00\xd8bad")  # a UTF-16 mark, then no UTF-16
    summary = build_index(own_index)
    assert [s.path for s in summary.skipped] == ["broken.txt"]
    assert summary.articles == 5
    assert load_index(own_index).manifest["version"] == summary.version


def test_a_second_build_at_once_is_refused(own_index):
    with build_lock(own_index.index_dir):
        with pytest.raises(BuildError, match="already running"):
            build_index(own_index)
