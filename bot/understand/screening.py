"""Ask before advising: safety questions put at the top of a reply, once per conversation.

When someone describes sciatica or leg symptoms, sudden or severe pain, pain after a fall or
accident, or is over 50, a serious cause has to be ruled out before self-care advice, and the
signs that rule it in are the ones people don't think to mention. The situations, the
questions each one asks and why are data (`data/screening.json`). A question is left out when
the person has already spoken of its sign, either way ("no numbness down there").

The answer still comes in the same reply: a person with none of the signs is not made to wait.
A "yes" (typed, or the one-tap answer on the page) escalates as the question's flag; triage
reads which questions were asked from the conversation's state, never from the rendered text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..errors import RuleFileError
from ..rule_files import check_keys, read_json
from ..settings import DATA_DIR

DATA = DATA_DIR / "screening.json"


@dataclass(frozen=True)
class ScreeningQuestion:
    id: str
    ask: str  # the question shown
    yes: str  # the one-tap "yes" answer; triage reads it as the flag
    flag: str  # the red-flag catalogue id it screens for
    spoken_of: tuple[re.Pattern, ...]  # words showing the person already spoke of the sign, either way


@dataclass(frozen=True)
class Situation:
    id: str
    why: str
    patterns: tuple[re.Pattern, ...]
    ask: tuple[str, ...]  # question ids, in the order asked


@dataclass(frozen=True)
class Screening:
    questions: tuple[ScreeningQuestion, ...]
    situations: tuple[str, ...]  # the situations that led to them

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(q.id for q in self.questions)


_KEYS = {"questions": dict, "situations": list, "answers": dict, "no_reply": str}
_QUESTION_KEYS = {"ask": str, "yes": str, "flag": str, "spoken_of": list}
_SITUATION_KEYS = {"id": str, "why": str, "patterns": list, "ask": list}


@lru_cache(maxsize=1)
def _data() -> dict:
    return read_screening(DATA)


def read_screening(path: Path) -> dict:
    """screening.json, checked: every key known and of its type, every question asked defined."""
    data = read_json(path)
    check_keys(path, data, "the file", _KEYS)
    for qid, q in data["questions"].items():
        check_keys(path, q, f"questions.{qid}", _QUESTION_KEYS)
    for n, s in enumerate(data["situations"]):
        check_keys(path, s, f"situations[{n}]", _SITUATION_KEYS)
        for qid in s["ask"]:
            if qid not in data["questions"]:
                raise RuleFileError(f"{path}: situation {s['id']!r} asks {qid!r}, which is not a question.")
    return data


@lru_cache(maxsize=1)
def questions() -> dict[str, ScreeningQuestion]:
    return {qid: ScreeningQuestion(qid, q["ask"], q["yes"], q["flag"], tuple(re.compile(p) for p in q["spoken_of"]))
            for qid, q in _data()["questions"].items()}


@lru_cache(maxsize=1)
def situations() -> tuple[Situation, ...]:
    return tuple(Situation(s["id"], s["why"], tuple(re.compile(p) for p in s["patterns"]), tuple(s["ask"]))
                 for s in _data()["situations"])


def no_reply() -> str:
    return _data()["no_reply"]


def screening_for(texts: list[str], mentioned_flags: set[str], asked_before: bool) -> Screening | None:
    """The questions to ask, given the person's messages (normalised, newest last), the flags
    already spoken of either way, and whether this conversation was screened before."""
    if asked_before:
        return None
    joined = " \n ".join(texts)
    found = [s for s in situations() if any(p.search(joined) for p in s.patterns)]
    ids = list(dict.fromkeys(q for s in found for q in s.ask))
    asked = tuple(q for q in (questions()[i] for i in ids)
                  if q.flag not in mentioned_flags and not any(p.search(joined) for p in q.spoken_of))
    return Screening(asked, tuple(s.id for s in found)) if asked else None


def answer_to(message: str, asked: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """How a message answers the screening questions `asked` just before it: ("yes", the flags
    it affirms), ("no", ()) or ("", ()) when it is not an answer. A bare "yes" to several
    questions affirms them all: safety first, a doctor will sort out which."""
    if not asked:
        return "", ()
    text = " ".join(message.lower().replace("’", "'").split())
    by_id = questions()
    for qid in asked:
        if text == " ".join(by_id[qid].yes.lower().split()):
            return "yes", (by_id[qid].flag,)
    answers = _data()["answers"]
    if re.match(answers["yes"], text):
        return "yes", tuple(dict.fromkeys(by_id[q].flag for q in asked))
    if re.match(answers["no"], text):
        return "no", ()
    return "", ()
