"""The labelled retrieval evaluation (>= 40 questions written from the articles)."""
import json
from pathlib import Path

from bot.answer import DISCLAIMER
from bot.evaluation import calibrate_threshold, evaluate_retrieval, is_relevant, load_questions
from bot.index import prepare

DATA = Path(__file__).resolve().parent / "data"


def test_metric_helpers():
    assert is_relevant("Hold it for up to 10 seconds.", ("UP TO 10  seconds",))
    assert not is_relevant("Hold it.", ("ten seconds",))
    t, curve = calibrate_threshold([0.6, 0.7], [0.2, 0.3])
    assert 0.3 < t < 0.6 and curve


def test_recall_at_3_on_the_labelled_set(chatbot):
    questions = load_questions(DATA / "questions.jsonl")
    assert len(questions) >= 40
    report = evaluate_retrieval(chatbot.search, questions)
    print(f"recall@1={report.recall[1]:.3f} recall@3={report.recall[3]:.3f} recall@5={report.recall[5]:.3f} MRR={report.mrr:.3f}")
    assert report.recall[3] >= 0.85, report.misses


def test_scope_threshold_separates_labelled_questions(chatbot):
    rows = [json.loads(l) for l in (DATA / "scope.jsonl").read_text().splitlines() if l.strip()]
    t = chatbot.settings.min_relevance
    outs = [chatbot.search(r["question"], 1)[0].score < t for r in rows if not r["in_scope"]]
    ins = [chatbot.search(r["question"], 1)[0].score >= t for r in rows if r["in_scope"]]
    assert sum(outs) / len(outs) >= 0.9 and sum(ins) / len(ins) >= 0.9


def test_every_reply_has_the_disclaimer_and_verbatim_citations(chatbot, built_index):
    settings, _ = built_index
    cleaned, *_ = prepare(settings)
    corpus_text = {a.doc_id: a.text for a in cleaned}
    questions = load_questions(DATA / "questions.jsonl")
    for q in questions:
        r = chatbot.reply(q.question)
        assert DISCLAIMER in r.text, q.question
        for c in r.citations:
            assert c.passage in corpus_text[c.doc_id], (q.question, c.chunk_id)
        numbers = {c.number: c for c in r.citations}
        for sentence, n in r.sentences:
            assert sentence in numbers[n].passage
