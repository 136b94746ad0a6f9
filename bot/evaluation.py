"""Metrics over labelled question sets: retrieval recall@k and MRR, and scope calibration.

Relevance is keyed on evidence phrases, not on raw passage text (which breaks on chunked
corpora): a passage is relevant when it contains any of the question's expected phrases.
Recall@k here is single-hit recall: the share of questions with at least one relevant
passage in the top k.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LabelledQuestion:
    question: str
    expected: tuple[str, ...]


def load_questions(path: Path) -> list[LabelledQuestion]:
    rows = [json.loads(l) for l in path.read_text(encoding="utf-8").splitlines() if l.strip()]
    return [LabelledQuestion(r["question"], tuple(r["expected"])) for r in rows]


def _fold(text: str) -> str:
    return " ".join(text.lower().replace("’", "'").split())


def is_relevant(passage: str, expected: tuple[str, ...]) -> bool:
    p = _fold(passage)
    return any(_fold(e) in p for e in expected)


def first_relevant_rank(passages: list[str], expected: tuple[str, ...]) -> int | None:
    for rank, text in enumerate(passages, 1):
        if is_relevant(text, expected):
            return rank
    return None


@dataclass(frozen=True)
class RetrievalReport:
    n: int
    recall: dict[int, float]
    mrr: float
    misses: list[str]


def evaluate_retrieval(search, questions: list[LabelledQuestion], ks=(1, 3, 5)) -> RetrievalReport:
    """`search(question, k)` returns passages (objects with .text) best first."""
    depth = max(ks)
    ranks = []
    misses = []
    for q in questions:
        rank = first_relevant_rank([h.text for h in search(q.question, depth)], q.expected)
        ranks.append(rank)
        if rank is None or rank > 3:
            misses.append(q.question)
    n = len(questions)
    recall = {k: sum(1 for r in ranks if r is not None and r <= k) / n for k in ks}
    mrr = sum(1 / r for r in ranks if r is not None) / n
    return RetrievalReport(n, recall, mrr, misses)


def calibrate_threshold(scores_in: list[float], scores_out: list[float]) -> tuple[float, list[tuple[float, float, float]]]:
    """Pick the relevance threshold with the best balanced accuracy on labelled in-scope and
    out-of-scope questions; return it with the whole curve (threshold, TPR, TNR).

    Candidates are midpoints between neighbouring scores; among equally good ones the
    midpoint of the widest gap wins, which leaves the largest margin on both sides."""
    scores = sorted(set(scores_in + scores_out))
    mids = [((a + b) / 2, b - a) for a, b in zip(scores, scores[1:])] or [(scores[0], 0.0)]
    curve, best, best_key = [], None, None
    for t, gap in mids:
        tpr = sum(s >= t for s in scores_in) / len(scores_in)
        tnr = sum(s < t for s in scores_out) / len(scores_out)
        curve.append((t, tpr, tnr))
        key = (round(tpr + tnr, 9), gap)
        if best_key is None or key > best_key:
            best, best_key = t, key
    return best, curve


# ---------------------------------------------------------------- triage


@dataclass(frozen=True)
class TriageReport:
    n: int
    sensitivity: float  # share of must-escalate vignettes that escalated (any level)
    emergency_sensitivity: float  # share of emergencies escalated as emergencies
    specificity: float  # share of must-not vignettes left alone
    level_agreement: float  # share of escalating vignettes given the labelled level
    misclassified: list[tuple[str, str | None, str | None]]  # (messages, expected, got)


def load_vignettes(path: Path) -> list[dict]:
    return [json.loads(l) for l in path.read_text(encoding="utf-8").splitlines() if l.strip()]


def evaluate_triage(vignettes: list[dict]) -> TriageReport:
    """Run triage on the last turn of each vignette, with the earlier turns as history."""
    from .triage import triage

    pos = neg = pos_hit = neg_ok = level_ok = emerg = emerg_hit = 0
    wrong = []
    for v in vignettes:
        *earlier, last = v["messages"]
        history = [m for t in earlier for m in ({"role": "user", "content": t}, {"role": "assistant", "content": "..."})]
        e = triage(last, history).escalation
        got = e.level if e else None
        expected = v["level"]
        if expected:
            pos += 1
            pos_hit += got is not None
            level_ok += got == expected
            if expected == "emergency":
                emerg += 1
                emerg_hit += got == "emergency"
        else:
            neg += 1
            neg_ok += got is None
        if got != expected:
            wrong.append((" / ".join(v["messages"]), expected, got))
    return TriageReport(
        n=len(vignettes),
        sensitivity=pos_hit / max(1, pos),
        emergency_sensitivity=emerg_hit / max(1, emerg),
        specificity=neg_ok / max(1, neg),
        level_agreement=level_ok / max(1, pos),
        misclassified=wrong,
    )
