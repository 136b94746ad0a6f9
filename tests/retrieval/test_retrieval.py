"""Hybrid retrieval piece by piece: BM25, lay terms, fusion, MMR, the persisted keyword
index, and the search end to end on the seed corpus."""
import json

import numpy as np
import pytest

from bot.index.bm25 import bm25_from_json, bm25_scores, bm25_to_json, build_bm25, coverage, terms
from bot.retrieval.lexical import expand_query
from bot.retrieval.search import mmr, rrf, weighted

DOCS = [
    "SMR or self myofascial release loosens tight muscles.",
    "Stretch your neck by tilting your head to one side.",
    "Sitting all day makes the lower back ache.",
]


def test_bm25_finds_exact_rare_terms_and_stems():
    stats = build_bm25(DOCS)
    s = bm25_scores(stats, terms("what is SMR"))
    assert s.argmax() == 0 and s[1] == 0 and s[2] == 0
    s = bm25_scores(stats, terms("stretching my necks"))  # stems: stretch, neck
    assert s.argmax() == 1


def test_bm25_round_trips_and_refuses_inconsistent_data():
    stats = build_bm25(DOCS)
    again = bm25_from_json(json.loads(json.dumps(bm25_to_json(stats))))
    q = terms("tight muscles neck")
    assert np.allclose(bm25_scores(stats, q), bm25_scores(again, q))
    bad = bm25_to_json(stats)
    bad["postings"]["smr"] = [[7], [1]]  # a chunk that does not exist
    with pytest.raises(ValueError, match="smr"):
        bm25_from_json(bad)
    bad = bm25_to_json(stats)
    bad["tokenizer"] = "something-else"
    with pytest.raises(ValueError, match="terms were made"):
        bm25_from_json(bad)


def test_coverage_is_the_share_of_the_questions_weight():
    stats = build_bm25(DOCS)
    assert coverage(stats, terms("SMR release"), set(terms(DOCS[0]))) == 1.0
    assert coverage(stats, terms("SMR release"), set(terms(DOCS[1]))) == 0.0
    # A word the corpus never saw weighs the most: the question is mostly about something else.
    assert coverage(stats, terms("sourdough neck"), set(terms(DOCS[1]))) < 0.5


@pytest.mark.parametrize("said,written", [
    ("I think I have a slipped disc", "herniated disk"),
    ("lumbago again", "lower back pain"),
    ("pins and needles in my arm", "tingling"),
    ("am I getting a hunchback", "kyphosis"),
    ("knots in my shoulders", "trigger points"),
])
def test_lay_terms_add_the_articles_words(said, written):
    expanded = expand_query(said)
    assert expanded.startswith(said) and written in expanded


def test_lay_terms_match_whole_words_only():
    assert expand_query("my disco dancing hurt") == "my disco dancing hurt"
    assert expand_query("no lay words here") == "no lay words here"
    assert expand_query("my traps-and-lats day") == "my traps-and-lats day"  # one hyphenated word


@pytest.mark.parametrize("said", ["a knot under my shoulder blade", "what are KNOTS", "Slipped discs?", "a crick in my neck"])
def test_lay_terms_match_other_word_forms(said):
    """Rows are matched by word stems: singular, plural and case alike."""
    assert expand_query(said) != said and expand_query(said).startswith(said)


def test_rrf_rewards_agreement_and_weights_count():
    dense = {1: 0.9, 2: 0.8, 3: 0.1}
    bm25 = {2: 12.0, 3: 11.0, 4: 1.0}
    fused = rrf([dense, bm25], [1.0, 1.0], k=60)
    assert max(fused, key=fused.get) == 2  # second in one list, first in the other
    assert fused[2] == pytest.approx(1 / 62 + 1 / 61)
    only_dense = rrf([dense, bm25], [1.0, 0.0], k=60)
    assert max(only_dense, key=only_dense.get) == 1
    w = weighted([dense, bm25], [1.0, 1.0])
    assert max(w, key=w.get) == 2


def test_mmr_demotes_near_copies():
    relevance = {0: 1.0, 1: 0.99, 2: 0.9, 3: 0.2}
    sim = lambda i, j: 0.98 if {i, j} == {0, 1} else 0.1  # noqa: E731
    assert mmr([0, 1, 2, 3], relevance, sim, 2, lam=0.7) == [0, 2]
    assert mmr([0, 1, 2, 3], relevance, sim, 2, lam=1.0) == [0, 1]  # lambda 1 = relevance only


def test_hybrid_finds_exact_terms_dense_misses(chatbot):
    q = "what is SMR"
    assert any("self myofascial release" in h.text for h in chatbot.search(q, 3, "hybrid"))
    assert any("self myofascial release" in h.text for h in chatbot.search(q, 3, "bm25"))
    r = chatbot.reply(q)
    assert r.answered and any("myofascial" in s for s, _ in r.sentences)


def test_top_passages_are_not_near_copies(chatbot):
    for q in ["How do I stretch my upper back?", "why does sitting hurt my back", "what is a knot in a muscle"]:
        hits = chatbot.search(q, 5)
        texts = [h.text for h in hits]
        assert len(set(texts)) == len(texts)
        # No two of the top five share more than one sentence (windows overlap by one).
        for i, a in enumerate(hits):
            for b in hits[i + 1:]:
                if a.doc_id == b.doc_id:
                    overlap = max(0, min(a.chunk.end, b.chunk.end) - max(a.chunk.start, b.chunk.start))
                    assert overlap < 0.6 * min(len(a.text), len(b.text)), (q, a.chunk_id, b.chunk_id)


def test_every_method_can_be_chosen_and_bad_settings_are_refused(chatbot):
    from bot.settings import Settings, SettingsError

    for method in ("dense", "bm25", "hybrid"):
        hits = chatbot.search("neck stretch", 3, method)
        assert len(hits) == 3 and all(0.0 <= h.relevance <= 1.0 + 1e-6 for h in hits)
    with pytest.raises(SettingsError, match="retrieval must be one of"):
        Settings.from_env(env={"BACKBOT_RETRIEVAL": "magic"})
    with pytest.raises(SettingsError, match="mmr_lambda"):
        Settings.from_env(env={"BACKBOT_MMR_LAMBDA": "2"})


def test_tampered_keyword_index_is_refused(own_index):
    from bot.index.store import UnusableIndexError, current_version_dir, load_index

    settings = own_index
    path = current_version_dir(settings) / "bm25.json"
    path.write_text(path.read_text().replace('"n_docs": ', '"n_docs": 1'), encoding="utf-8")
    with pytest.raises(UnusableIndexError, match="backbot build"):
        load_index(settings)


def test_a_new_method_is_one_entry_in_the_table(chatbot, monkeypatch):
    """As docs/architecture.md says: a method is an entry in METHODS; search, the settings
    check and the threshold lookup read the table."""
    from bot.retrieval import search as retrieval
    from bot.settings import Settings

    method = retrieval.Method((retrieval.BEST_SENTENCE,), lambda cos, cov: cos, "min_relevance_dense")
    monkeypatch.setitem(retrieval.METHODS, "best_sentence", method)
    Settings.from_env(env={"BACKBOT_RETRIEVAL": "best_sentence"})  # accepted now
    hits = chatbot.search("how long do I hold the thoracic stretch", k=3, method="best_sentence")
    assert len(hits) == 3 and "thoracic" in " ".join(h.text.lower() for h in hits)
    assert all(0 < h.relevance <= 1 and h.relevance == h.dense for h in hits)
    assert retrieval.threshold(chatbot.settings, "best_sentence") == chatbot.settings.min_relevance_dense
