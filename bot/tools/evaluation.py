"""Metrics over labelled question sets: retrieval (success@k, recall@k, MRR, nDCG; defined in
bot/tools/metrics.py) and scope calibration.

Relevance is keyed on evidence phrases, not on raw passage text (which breaks on chunked
corpora): a passage (an indexed chunk) is relevant to a question when it contains any of the
question's expected phrases. The relevant passages of a question are all such chunks of the
corpus; success@k asks whether one of them is in the top k, recall@k what share of them is.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from ..errors import UsageError
from ..retrieval.search import METHODS as RETRIEVAL_METHODS, threshold

from . import metrics


@dataclass(frozen=True)
class LabelledQuestion:
    question: str
    expected: tuple[str, ...] = ()  # phrases a correct passage contains; empty for scope-only rows
    in_scope: bool = True


def load_questions(*paths: Path) -> list[LabelledQuestion]:
    """Rows `{"question", "expected": [...]}` (in scope, with evidence) and
    `{"question", "in_scope": false|true}` (scope labels only), from one or more JSONL files."""
    out = []
    for path in paths:
        for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                r = json.loads(line)
                out.append(LabelledQuestion(r["question"], tuple(r.get("expected", ())), bool(r.get("in_scope", True))))
            except (ValueError, KeyError, TypeError):
                raise UsageError(f"{path}, line {n}: expected a JSON object with a \"question\"") from None
    return out


def _fold(text: str) -> str:
    return " ".join(text.lower().replace("’", "'").split())


def is_relevant(passage: str, expected: tuple[str, ...]) -> bool:
    p = _fold(passage)
    return any(_fold(e) in p for e in expected)


def relevant_passages(chunks, expected: tuple[str, ...]) -> set[str]:
    """Ids of the corpus chunks (objects with .chunk_id and .text) relevant to a question."""
    return {c.chunk_id for c in chunks if is_relevant(c.text, expected)}


@dataclass(frozen=True)
class RetrievalReport:
    n: int
    success: dict[int, float]  # success@k: share of questions with a relevant passage in the top k
    recall: dict[int, float]  # recall@k: mean share of each question's relevant passages in the top k
    mrr: float  # over the top max(k) passages
    misses: list[str]  # questions without a relevant passage in the top 3
    ndcg5: float = 0.0


def evaluate_retrieval(search, questions: list[LabelledQuestion], chunks, ks=(1, 3, 5)) -> RetrievalReport:
    """`search(question, k)` returns hits (objects with .chunk_id) best first; `chunks` is the
    whole corpus as indexed, which decides every question's relevant passages. Questions
    without expected phrases are skipped."""
    questions = [q for q in questions if q.expected]
    depth = max(ks)
    rankings, misses = [], []
    for q in questions:
        relevant = relevant_passages(chunks, q.expected)
        flags = [h.chunk_id in relevant for h in search(q.question, depth)]
        rankings.append((flags, len(relevant)))
        if not metrics.success_at(flags, 3):
            misses.append(q.question)
    n = max(1, len(questions))
    return RetrievalReport(
        n=len(questions),
        success={k: sum(metrics.success_at(f, k) for f, _ in rankings) / n for k in ks},
        recall={k: sum(metrics.recall_at(f, r, k) for f, r in rankings) / n for k in ks},
        mrr=sum(metrics.reciprocal_rank(f) for f, _ in rankings) / n,
        misses=misses,
        ndcg5=sum(metrics.ndcg_at(f, r, 5) for f, r in rankings) / n,
    )


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


# ---------------------------------------------------------------- methods side by side

METHODS = tuple(RETRIEVAL_METHODS)  # the names, in the order the table lists them
TABLE_KS = (1, 3, 5)  # the k of the success@k and recall@k columns
CURVE_KS = tuple(range(1, 11))  # the k of the plotted curves


@dataclass(frozen=True)
class MethodReport:
    method: str
    retrieval: RetrievalReport
    success_curve: dict[int, float]  # success@k for k = 1..10, for the plot
    recall_curve: dict[int, float]  # recall@k for k = 1..10, for the plot
    threshold: float
    oos_precision: float  # of the questions BackBot declined, the share truly out of scope
    oos_recall: float  # of the out-of-scope questions, the share declined
    oos_errors: list[str]  # wrongly answered or wrongly declined
    latency_ms: float  # mean search time per question


def evaluate_methods(bot, questions: list[LabelledQuestion], methods=METHODS,
                     thresholds: dict[str, float] | None = None) -> list[MethodReport]:
    """Retrieval metrics per method, and scope decisions as a person gets them: a question is
    declined when the reply says the articles don't cover it (a topic like medicine doses, or
    a best relevance under the method's threshold)."""
    import dataclasses

    from ..chat import Chatbot

    reports = []
    for method in methods:
        t = (thresholds or {}).get(method, threshold(bot.settings, method))
        # The same index and model, answering with this method and threshold.
        settings = dataclasses.replace(bot.settings, retrieval=method, **{RETRIEVAL_METHODS[method].threshold: t})
        variant = Chatbot(bot.index, settings, bot.model, bot.tokens)
        timings = []

        def timed_search(q, k, variant=variant):
            t0 = time.perf_counter()
            hits = variant.search(q, k)
            timings.append(time.perf_counter() - t0)
            return hits

        r = evaluate_retrieval(timed_search, questions, bot.index.chunks, CURVE_KS)
        tp = fp = fn = 0
        errors = []
        for q in questions:
            declined = variant.reply(q.question).intent in ("not_covered", "out_of_scope")
            if declined and not q.in_scope:
                tp += 1
            elif declined:
                fp += 1
                errors.append(f"declined, but in scope: {q.question}")
            elif not q.in_scope:
                fn += 1
                errors.append(f"answered, but out of scope: {q.question}")
        table = dataclasses.replace(r, success={k: r.success[k] for k in TABLE_KS},
                                    recall={k: r.recall[k] for k in TABLE_KS})
        reports.append(MethodReport(
            method, table, r.success, r.recall, t,
            oos_precision=tp / (tp + fp) if tp + fp else 0.0,
            oos_recall=tp / (tp + fn) if tp + fn else 0.0,
            oos_errors=errors,
            latency_ms=1000 * sum(timings) / max(1, len(timings)),
        ))
    return reports


@dataclass(frozen=True)
class Calibration:
    method: str
    threshold: float
    curve: list[tuple[float, float, float]]  # (threshold, share of in-scope kept, share of out-of-scope declined)
    n_in: int
    n_out: int


def calibrate(bot, questions: list[LabelledQuestion], methods=METHODS) -> list[Calibration]:
    """Best threshold per method on the labelled questions that reach retrieval (questions
    the dialogue already declines, like drug doses, say nothing about the threshold)."""
    from ..understand.dialogue import understand

    rows = [q for q in questions if understand(q.question, []).intent != "not_covered"]
    out = []
    for method in methods:
        best = {q.question: max((h.relevance for h in bot.search(q.question, None, method)), default=0.0) for q in rows}
        s_in = [best[q.question] for q in rows if q.in_scope]
        s_out = [best[q.question] for q in rows if not q.in_scope]
        if not s_in or not s_out:
            raise UsageError("calibration needs both in-scope and out-of-scope questions")
        t, curve = calibrate_threshold(s_in, s_out)
        out.append(Calibration(method, t, curve, len(s_in), len(s_out)))
    return out


# ---------------------------------------------------------------- triage


@dataclass(frozen=True)
class TriageReport:
    n: int
    sensitivity: float  # share of must-escalate vignettes that escalated (any level)
    emergency_sensitivity: float  # share of emergencies escalated as emergencies
    specificity: float  # share of must-not vignettes left alone
    level_agreement: float  # share of escalating vignettes given the labelled level
    misclassified: list[tuple[str, str | None, str | None]]  # (messages, expected, got)
    families: dict[str, tuple[int, int]] = field(default_factory=dict)  # family -> (right, of)
    positives: int = 0  # how many must escalate, of them emergencies, and how many must not:
    emergencies: int = 0  # the weights that pool reports of several sets
    negatives: int = 0


def load_vignettes(path: Path) -> list[dict]:
    """Labelled conversations for triage, one JSON object a line: `messages` (the person's
    turns) and the level the last turn must get, as `level` (null for none) or `expect`
    ("emergency" | "urgent" | "none"); optionally `family`, `kind` and `source`."""
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        v = json.loads(line)
        if not isinstance(v.get("messages"), list) or not v["messages"]:
            raise UsageError(f"{path.name}, line {n}: 'messages' must be a non-empty list of the person's turns.")
        level = v["level"] if "level" in v else v.get("expect")
        level = None if level in (None, "", "none") else level
        if level not in (None, "urgent", "emergency"):
            raise UsageError(f"{path.name}, line {n}: the level must be emergency, urgent or none, not {level!r}.")
        rows.append({**v, "level": level})
    return rows


def evaluate_triage(vignettes: list[dict], model=None, bank=None) -> TriageReport:
    """Run triage on the last turn of each vignette, with the earlier turns as history. With
    the embedding `model`, the meaning detector runs too (as in the chatbot)."""
    from ..understand.triage import triage

    pos = neg = pos_hit = neg_ok = level_ok = emerg = emerg_hit = 0
    wrong = []
    families: dict[str, list[int]] = {}
    for v in vignettes:
        *earlier, last = v["messages"]
        history = [m for t in earlier for m in ({"role": "user", "content": t}, {"role": "assistant", "content": "..."})]
        e = triage(last, history, model=model, bank=bank).escalation
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
        family = v.get("family") or ("none" if not expected else expected)
        tally = families.setdefault(family if expected else f"{family} (must not escalate)", [0, 0])
        tally[0] += (got is not None) if expected else (got is None)
        tally[1] += 1
        if got != expected:
            wrong.append((" / ".join(v["messages"]), expected, got))
    return TriageReport(
        n=len(vignettes),
        sensitivity=pos_hit / max(1, pos),
        emergency_sensitivity=emerg_hit / max(1, emerg),
        specificity=neg_ok / max(1, neg),
        level_agreement=level_ok / max(1, pos),
        misclassified=wrong,
        families={k: (a, b) for k, (a, b) in sorted(families.items())},
        positives=pos,
        emergencies=emerg,
        negatives=neg,
    )


def fit_meaning_detector(vignettes: list[dict], model, min_specificity: float = 0.90,
                         thresholds=None, margins=None) -> list[tuple[float, float, TriageReport]]:
    """Grid over the meaning detector's threshold and margin on labelled vignettes: every
    point with its report, best first (highest sensitivity among those keeping specificity at
    `min_specificity`, then emergencies at emergency level, then specificity)."""
    import dataclasses

    from ..understand.red_flag_meaning import example_bank

    base = example_bank(model)
    thresholds = thresholds or [round(0.50 + 0.02 * i, 2) for i in range(14)]
    margins = margins or [-0.02, 0.0, 0.02, 0.04, 0.06]
    points = []
    for t in thresholds:
        for m in margins:
            r = evaluate_triage(vignettes, model, dataclasses.replace(base, threshold=t, margin=m))
            points.append((t, m, r))
    return sorted(points, key=lambda p: _fit_rank(p[2], min_specificity))


def _fit_rank(r: TriageReport, min_specificity: float) -> tuple:
    """Best first: specificity kept at the floor, then sensitivity, emergencies, specificity."""
    return (r.specificity < min_specificity, -r.sensitivity, -r.emergency_sensitivity, -r.specificity)


def pool_reports(reports: list[TriageReport]) -> TriageReport:
    """Several sets' reports as one (rates weighted by each set's counts; no message lists)."""
    pos, emerg, neg = (sum(getattr(r, k) for r in reports) for k in ("positives", "emergencies", "negatives"))
    weighted = lambda k, w: sum(getattr(r, k) * getattr(r, w) for r in reports) / max(1, sum(getattr(r, w) for r in reports))
    return TriageReport(sum(r.n for r in reports), weighted("sensitivity", "positives"),
                        weighted("emergency_sensitivity", "emergencies"), weighted("specificity", "negatives"),
                        weighted("level_agreement", "positives"), [], {}, pos, emerg, neg)


def cross_validate_meaning_detector(sets: dict[str, list[dict]], model, min_specificity: float = 0.90,
                                    thresholds=None, margins=None) -> list[tuple[str, float, float, TriageReport]]:
    """Leave one set out: for each set, the threshold and margin that fit the other sets best
    (as `fit_meaning_detector` ranks them), and that point's report on the set left out. The
    held-out reports, pooled, estimate how the fitted decision does on data it was not fitted
    on (the example bank and the rules are not refitted per fold: see docs/triage.md)."""
    import dataclasses

    from ..understand.red_flag_meaning import example_bank

    base = example_bank(model)
    thresholds = thresholds or [round(0.56 + 0.02 * i, 2) for i in range(8)]
    margins = margins or [0.0, 0.02, 0.04, 0.06]
    grid = {(t, m): {name: evaluate_triage(vs, model, dataclasses.replace(base, threshold=t, margin=m))
                     for name, vs in sets.items()} for t in thresholds for m in margins}
    folds = []
    for held in sets:
        best = min(grid, key=lambda p: _fit_rank(pool_reports([r for n, r in grid[p].items() if n != held]),
                                                 min_specificity))
        folds.append((held, best[0], best[1], grid[best][held]))
    return folds
