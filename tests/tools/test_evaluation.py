"""The labelled retrieval evaluation: >= 100 questions written from the articles the way people
ask, >= 30 out of scope, and a second set over NIH articles the method was not tuned on."""
import math
from types import SimpleNamespace

import ir_measures
import pytest
from ir_measures import RR, R, Success, nDCG

from bot.compose.answer import DISCLAIMER
from bot.tools.evaluation import (LabelledQuestion, calibrate, calibrate_threshold, evaluate_methods, evaluate_retrieval,
                                  is_relevant, load_questions, relevant_passages)
from bot.index.build import prepare
from conftest import ROOT, DATA



def test_metric_helpers():
    assert is_relevant("Hold it for up to 10 seconds.", ("UP TO 10  seconds",))
    assert not is_relevant("Hold it.", ("ten seconds",))
    t, curve = calibrate_threshold([0.6, 0.7], [0.2, 0.3])
    assert 0.3 < t < 0.6 and curve


# A corpus of nine passages and three questions whose rankings are known, figured by hand.
HAND_CHUNKS = [SimpleNamespace(chunk_id=f"c{i}", text=t) for i, t in enumerate(
    ["plain one", "tight neck two", "Tight  neck three", "plain four", "tight neck five", "stiff back six",
     "tight neck seven", "tight neck eight", "tight neck nine"], 1)]
HAND_QUESTIONS = [
    LabelledQuestion("neck?", ("tight neck",)),  # relevant: c2 c3 c5 c7 c8 c9; found at ranks 1 and 4
    LabelledQuestion("back?", ("stiff back",)),  # relevant: c6; found at rank 2
    LabelledQuestion("back again?", ("stiff back",)),  # relevant: c6; not found in the top 5
    LabelledQuestion("bread?", in_scope=False),  # no evidence phrases: not a retrieval question
]
HAND_RANKINGS = {"neck?": ["c2", "c1", "c4", "c5", "c6"], "back?": ["c1", "c6", "c2", "c3", "c4"],
                 "back again?": ["c1", "c2", "c3", "c4", "c5"]}
HAND_FIGURES = {
    "success": {1: 1 / 3, 3: 2 / 3, 5: 2 / 3},  # neck: a hit from rank 1; back: from rank 2; back again: none
    "recall": {1: (1 / 6) / 3, 3: (1 / 6 + 1) / 3, 5: (2 / 6 + 1) / 3},  # neck: 1, 1, 2 of 6; back: 0, 1, 1 of 1
    "mrr": (1 + 1 / 2) / 3,
    # neck: gains at ranks 1 and 4 against an ideal of five (of six) at ranks 1-5; back: one gain at rank 2
    "ndcg5": ((1 + 1 / math.log2(5)) / sum(1 / math.log2(r + 1) for r in range(1, 6)) + 1 / math.log2(3)) / 3,
}


def test_metrics_on_a_case_worked_by_hand():
    def search(question, k):
        return [next(c for c in HAND_CHUNKS if c.chunk_id == i) for i in HAND_RANKINGS[question][:k]]

    r = evaluate_retrieval(search, HAND_QUESTIONS, HAND_CHUNKS, ks=(1, 3, 5))
    assert r.n == 3 and r.misses == ["back again?"]
    for k in (1, 3, 5):
        assert r.success[k] == pytest.approx(HAND_FIGURES["success"][k]), k
        assert r.recall[k] == pytest.approx(HAND_FIGURES["recall"][k]), k
    assert r.mrr == pytest.approx(HAND_FIGURES["mrr"])
    assert r.ndcg5 == pytest.approx(HAND_FIGURES["ndcg5"])


def _ir_measures(questions, chunks, ranked_ids) -> dict:
    """ir-measures (trec_eval) over our rankings and labels: one relevant judgement per relevant
    passage, the ranking's order as descending scores."""
    qrels = [ir_measures.Qrel(str(n), cid, 1) for n, q in enumerate(questions) for cid in relevant_passages(chunks, q.expected)]
    run = [ir_measures.ScoredDoc(str(n), cid, float(len(ids) - rank))
           for n, ids in enumerate(ranked_ids) for rank, cid in enumerate(ids)]
    # trec_eval leaves out questions without a relevant passage; our figures count them as misses.
    assert {r.query_id for r in qrels} == {str(n) for n in range(len(questions))}
    return ir_measures.calc_aggregate([*(Success @ k for k in (1, 3, 5)), *(R @ k for k in (1, 3, 5)), RR, nDCG @ 5],
                                      qrels, run)


def _same_figures(ours, theirs):
    for k in (1, 3, 5):
        assert ours.success[k] == pytest.approx(theirs[Success @ k], abs=1e-6), f"success@{k}"
        assert ours.recall[k] == pytest.approx(theirs[R @ k], abs=1e-6), f"recall@{k}"
    assert ours.mrr == pytest.approx(theirs[RR], abs=1e-6)
    assert ours.ndcg5 == pytest.approx(theirs[nDCG @ 5], abs=1e-6)


def test_ir_measures_agrees_with_the_case_worked_by_hand():
    """Their measure names mean what ours do: Success@k, R@k (recall), RR, nDCG@k."""
    questions = [q for q in HAND_QUESTIONS if q.expected]
    theirs = _ir_measures(questions, HAND_CHUNKS, [HAND_RANKINGS[q.question] for q in questions])
    _same_figures(SimpleNamespace(**HAND_FIGURES), theirs)


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
        print(f"{r.method}: success@1={x.success[1]:.3f} success@3={x.success[3]:.3f} recall@3={x.recall[3]:.3f} "
              f"recall@5={x.recall[5]:.3f} MRR={x.mrr:.3f} nDCG@5={x.ndcg5:.3f} "
              f"OOS P={r.oos_precision:.3f} R={r.oos_recall:.3f}")
    return reports


def test_eval_figures_equal_ir_measures(seed_reports, chatbot):
    """What `eval` reports for every method, recomputed by ir-measures from the same rankings
    (the top 10, as eval ranks) and the same relevant passages."""
    questions = [q for q in load_questions(DATA / "questions.jsonl", DATA / "scope.jsonl") if q.expected]
    for method, report in seed_reports.items():
        ranked = [[h.chunk_id for h in chatbot.search(q.question, 10, method)] for q in questions]
        theirs = _ir_measures(questions, chatbot.index.chunks, ranked)
        assert report.retrieval.n == len(questions)
        _same_figures(report.retrieval, theirs)


def test_hybrid_beats_each_single_method(seed_reports):
    hybrid = seed_reports["hybrid"].retrieval.success[3]
    assert hybrid >= seed_reports["dense"].retrieval.success[3]
    assert hybrid >= seed_reports["bm25"].retrieval.success[3]


def test_hybrid_mrr_on_the_seed_set(seed_reports):
    r = seed_reports["hybrid"].retrieval
    assert r.mrr >= 0.80, r.misses  # issue 4's target (0.868 today)


def test_hybrid_success_on_the_seed_set(seed_reports):
    r = seed_reports["hybrid"].retrieval
    # Issue 4's target, set as "recall@3" on what is success@3 (0.925 today: 98 of 106; 0.92
    # needs 98, so one more miss fails this).
    assert r.success[3] >= 0.92, r.misses


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
        print(f"NIH {r.method}: success@3={r.retrieval.success[3]:.3f} recall@3={r.retrieval.recall[3]:.3f} "
              f"MRR={r.retrieval.mrr:.3f}")
    h = reports["hybrid"]
    # Held out: written before any tuning, used only to check that a change generalises. Hybrid
    # must not fall behind a single method here either (success@3 0.885 against dense's 0.81;
    # 0.73 before the sentence vectors, 0.81 before the rerank).
    assert h.retrieval.success[3] >= max(reports[m].retrieval.success[3] for m in ("dense", "bm25")), h.retrieval.misses
    assert h.retrieval.success[5] >= 0.85, h.retrieval.misses
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
