"""Kinds of question (causes, how-to, relief, prevention, how long, when to see a doctor, what
is, ...), defined once in `data/question_kinds.json`: how each is recognised, how a resolved
follow-up of that kind is shown, and how its answer opens and which sentences it prefers.
The file is checked when loaded: a missing or unknown key is an error naming the file and key.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..errors import RuleFileError
from ..rule_files import check_keys, compile_regex, read_json
from ..settings import DATA_DIR

FILE = DATA_DIR / "question_kinds.json"
FIELDS = {"pattern": (str, type(None)), "shown": (str, type(None)), "lead": str, "lead_any": str,
          "cue": (str, type(None)), "missing": str, "search_hint": str}
#: The fallback kind (no pattern of its own) and the one "tell me more" takes.
GENERAL, MORE = "general", "more"


@dataclass(frozen=True)
class Kind:
    name: str
    pattern: re.Pattern | None  # recognises the kind in a question; None: never by its words
    shown: str | None  # "What causes {subject}?": a resolved follow-up as shown to the person
    lead: str  # the line before the quoted sentences, with {region}
    lead_any: str  # ... when the question names no region
    cue: re.Pattern | None  # sentences that match are preferred for this kind
    missing: str  # said first when no quoted sentence matches the cue
    search_hint: str  # words added to the search of a resolved "what can I do about it?"


def _regex(path: Path, where: str, value: str | None) -> re.Pattern | None:
    return compile_regex(path, where, value, re.I) if value else None


def read_kinds(path: Path = FILE) -> dict[str, Kind]:
    """The kinds in the order they are tried, checked."""
    kinds = {}
    for name, entry in read_json(path).items():
        if name.startswith("_"):
            continue
        check_keys(path, entry, name, FIELDS)
        kinds[name] = Kind(name, _regex(path, f"{name}.pattern", entry["pattern"]), entry["shown"], entry["lead"],
                           entry["lead_any"], _regex(path, f"{name}.cue", entry["cue"]), entry["missing"],
                           entry["search_hint"])
    for needed in (GENERAL, MORE):
        if needed not in kinds:
            raise RuleFileError(f"{path}: the kind '{needed}' is required.")
    if kinds[GENERAL].shown is None or "{subject}" not in kinds[GENERAL].shown:
        raise RuleFileError(f"{path}: '{GENERAL}.shown' must be a question with {{subject}}.")
    return kinds


@lru_cache(maxsize=1)
def kinds() -> dict[str, Kind]:
    return read_kinds()


def kind(name: str) -> Kind:
    """A kind by name; an unknown name is the general kind."""
    return kinds().get(name, kinds()[GENERAL])


def question_kind(text: str) -> str:
    """The first kind whose pattern the text matches, else 'general'."""
    for k in kinds().values():
        if k.pattern is not None and k.pattern.search(text):
            return k.name
    return GENERAL


def shown_question(name: str, subject: str) -> str:
    """A resolved follow-up in plain English: "What causes upper back pain?"."""
    template = kind(name).shown or kinds()[GENERAL].shown
    return template.format(subject=subject)


def lead_in(name: str, region: str) -> str:
    k = kind(name)
    return k.lead.format(region=region) if region and "{region}" in k.lead else k.lead_any


def search_hint(name: str) -> str:
    return kinds()[name].search_hint if name in kinds() else ""
