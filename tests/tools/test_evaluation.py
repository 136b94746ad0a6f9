"""The labelled retrieval evaluation: >= 100 questions written from the articles the way people
ask, >= 30 out of scope, and a second set over NIH articles the method was not tuned on."""
import math

import pytest

from bot.compose.answer import DISCLAIMER
from bot.tools.evaluation import calibrate, calibrate_threshold, evaluate_methods, is_relevant, load_questions, ndcg
from bot.index.build import prepare
from conftest import ROOT, DATA



def test_metric_helpers():
    assert is_relevant("Hold it for up to 10 seconds.", ("UP TO 10  seconds",))
    assert not is_relevant("Hold it.", ("ten seconds",))
    t, curve = calibrate_threshold([0.6, 0.7], [0.2, 0.3])
    assert 0.3 < t < 0.6 and curve
    assert ndcg(["a x", "b", "c"], ("x",), n_relevant=1) == 1.0
    assert ndcg(["b", "a x", "c"], ("x",), n_relevant=1) == pytest.approx(1 / math.log2(3))
    assert ndcg(["b", "c"], ("x",), n_relevant=1) == 0.0


def test_labelled_sets_are_big_enough():
    seed = load_questions(DATA / "questions.jsonl", DATA / "scope.jsonl")
    assert sum(1 for q in seed if q.expected) >= 100
    assert sum(1 for q in seed if not q.in_scope) >= 30
    assert len(load_questions(DATA / "questions_nih.jsonl")) >= 20


@pytest.fixture(scope="module")
def seed_reports(chatbot):
    questions = load_questions(DATA / "questions.jsonl", DATA / "scope.jsonl")
    reports = {r.method: r for r in evaluate_methods(chatbot, questions)}
    for r in reports.values():
        x = r.retrieval
        print(f"{r.method}: recall@1={x.recall[1]:.3f} recall@3={x.recall[3]:.3f} MRR={x.mrr:.3f} "
              f"nDCG@5={x.ndcg5:.3f} OOS P={r.oos_precision:.3f} R={r.oos_recall:.3f}")
    return reports


def test_hybrid_beats_each_single_method(seed_reports):
    hybrid = seed_reports["hybrid"].retrieval.recall[3]
    assert hybrid >= seed_reports["dense"].retrieval.recall[3]
    assert hybrid >= seed_reports["bm25"].retrieval.recall[3]


def test_hybrid_mrr_on_the_seed_set(seed_reports):
    r = seed_reports["hybrid"].retrieval
    assert r.mrr >= 0.80, r.misses  # issue 4's target (0.868 today)


def test_hybrid_recall_on_the_seed_set(seed_reports):
    r = seed_reports["hybrid"].retrieval
    # Issue 4's target (0.925 today: 98 of 106; 0.92 needs 98, so one more miss fails this).
    assert r.recall[3] >= 0.92, r.misses


def test_out_of_scope_precision_and_recall(seed_reports):
    r = seed_reports["hybrid"]
    assert r.oos_precision >= 0.9 and r.oos_recall >= 0.9, r.oos_errors


def test_calibrated_threshold_is_the_setting(chatbot):
    """The shipped threshold is the one calibration finds on the labelled questions."""
    questions = load_questions(DATA / "questions.jsonl", DATA / "scope.jsonl")
    (c,) = calibrate(chatbot, questions, ["hybrid"])
    assert c.threshold == pytest.approx(chatbot.settings.min_relevance, abs=0.01)
    kept = min(c.curve, key=lambda p: abs(p[0] - c.threshold))
    assert kept[1] >= 0.9 and kept[2] >= 0.9


def test_the_method_generalises_to_the_nih_articles(tmp_path_factory, settings_for):
    """Second labelled set: the seed corpus plus six NIH (MedQuAD) articles it was not tuned on."""
    import shutil

    from bot import Chatbot
    from bot.index.build import build_index

    nih = ROOT.parent / "shared" / "data" / "medquad" / "back-articles"
    root = tmp_path_factory.mktemp("merged")
    shutil.copytree(ROOT / "corpus", root / "corpus" / "seed")
    shutil.copytree(nih, root / "corpus" / "nih")
    settings = settings_for(corpus_dir=root / "corpus", index_dir=root / "index")
    build_index(settings)
    bot = Chatbot.load(settings=settings)
    questions = load_questions(DATA / "questions_nih.jsonl", DATA / "scope.jsonl")
    reports = {r.method: r for r in evaluate_methods(bot, questions)}
    for r in reports.values():
        print(f"NIH {r.method}: recall@3={r.retrieval.recall[3]:.3f} MRR={r.retrieval.mrr:.3f}")
    h = reports["hybrid"]
    # Held out: written before any tuning, used only to check that a change generalises. Hybrid
    # must not fall behind a single method here either (recall@3 0.885 against dense's 0.81;
    # 0.73 before the sentence vectors, 0.81 before the rerank).
    assert h.retrieval.recall[3] >= max(reports[m].retrieval.recall[3] for m in ("dense", "bm25")), h.retrieval.misses
    assert h.retrieval.recall[5] >= 0.85, h.retrieval.misses
    assert h.oos_precision >= 0.9 and h.oos_recall >= 0.9, h.oos_errors
    assert any(c.doc_id.startswith("nih") for c in bot.index.chunks)


def test_every_reply_has_the_disclaimer_and_verbatim_citations(chatbot, built_index):
    settings, _ = built_index
    corpus_text = {a.doc_id: a.text for a in prepare(settings).cleaned}
    questions = [q for q in load_questions(DATA / "questions.jsonl") if q.expected]
    for q in questions:
        r = chatbot.reply(q.question)
        assert DISCLAIMER in r.text, q.question
        for c in r.citations:
            assert c.passages and all(p in corpus_text[c.doc_id] for p in c.passages), (q.question, c.chunk_id)
        numbers = {c.number: c for c in r.citations}
        for sentence, n in r.sentences:
            assert sentence in numbers[n].passage
