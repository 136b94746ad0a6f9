"""Votes from the page: recorded one JSON line each, summarised for a maintainer.

A line holds what a maintainer needs to turn a bad answer into an evaluation case (the
question, the doc ids the reply cited, its intent, the vote) and nothing that identifies
the person: no IP address, no session, no user agent.
"""
from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from ..errors import FeedbackError

# Votes arrive from several worker threads of the page; one line must never interleave with another.
_write_lock = threading.Lock()




@dataclass(frozen=True)
class Vote:
    question: str
    doc_ids: tuple[str, ...]
    vote: str  # "up" | "down"
    intent: str = ""
    answered: bool = False


@dataclass
class FeedbackSummary:
    path: Path
    up: int = 0
    down: int = 0
    unreadable_lines: int = 0
    down_questions: list[tuple[str, int]] = field(default_factory=list)  # (question, down votes), most first
    down_docs: list[tuple[str, int]] = field(default_factory=list)  # (doc id, down votes), most first


def record_vote(path: Path, vote: Vote) -> None:
    """Append one vote. The folder is created on first use."""
    line = json.dumps({
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "question": vote.question,
        "doc_ids": list(vote.doc_ids),
        "intent": vote.intent,
        "answered": vote.answered,
        "vote": vote.vote,
    }, ensure_ascii=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _write_lock, path.open("a", encoding="utf-8") as f:
        f.write(line + "\n")


def summarise(path: Path, top: int = 10) -> FeedbackSummary:
    """Counts, and the questions and articles that were voted down most."""
    summary = FeedbackSummary(path)
    if not path.exists():
        return summary
    if not path.is_file():
        raise FeedbackError(f"{path} is not a file; set BACKBOT_FEEDBACK_FILE to the votes file.")
    down_q: Counter[str] = Counter()
    down_d: Counter[str] = Counter()
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as e:
        raise FeedbackError(f"Can't read {path}: {e.strerror}.") from None
    for line in lines:
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            vote, question = row["vote"], str(row.get("question", ""))
        except (ValueError, KeyError, TypeError):
            summary.unreadable_lines += 1  # a hand-edited or cut-off line must not hide the rest
            continue
        if vote == "up":
            summary.up += 1
        elif vote == "down":
            summary.down += 1
            down_q[" ".join(question.split()).lower()] += 1  # "What is SMR" and "what is  smr" are one case
            down_d.update(str(d) for d in row.get("doc_ids") or [])
        else:
            summary.unreadable_lines += 1
    summary.down_questions = down_q.most_common(top)
    summary.down_docs = down_d.most_common(top)
    return summary


def summary_text(s: FeedbackSummary) -> str:
    total = s.up + s.down
    if not total:
        lines = [f"No votes yet in {s.path}."]
    else:
        lines = [
            f"Votes in {s.path}: {total} ({s.up} up, {s.down} down; {s.up / total:.0%} helpful).",
        ]
        if s.down_questions:
            lines += ["", "Questions voted down most (candidates for tests/data/questions.jsonl):"]
            lines += [f"  {n:>3}  {q}" for q, n in s.down_questions]
        if s.down_docs:
            lines += ["", "Articles cited in down-voted replies:"]
            lines += [f"  {n:>3}  {d}" for d, n in s.down_docs]
    if s.unreadable_lines:
        lines.append(f"\n{s.unreadable_lines} line(s) could not be read and were left out.")
    return "\n".join(lines)
