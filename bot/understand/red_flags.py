"""The red-flag catalogue and the ConText-style rules, as data a clinician can review:
`data/red_flags.json` (each flag's level, reason, sign and lay phrasings) and
`data/context_rules.json` (negation, history, other people, hypothetical and informational
wording; spellings). Both are checked when loaded. `triage.py` applies them; the warning-signs
reply and the page's panel are generated from `warning_signs`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..errors import RuleFileError
from ..rule_files import check_keys, compile_regex, read_json
from ..settings import DATA_DIR

LEVELS = ("urgent", "emergency")  # in rising order


@dataclass(frozen=True)
class RedFlag:
    id: str
    level: str
    category: str
    reason: str
    sign: str  # the short lay wording listed by the warning-signs reply and the page's banner
    groups: tuple[tuple[re.Pattern, ...], ...]  # one phrasing from every group must match
    history_is_the_flag: bool = False
    crisis: bool = False


@dataclass(frozen=True)
class ContextRules:
    negation_window: int
    pseudo: re.Pattern
    terminators: re.Pattern
    forward: dict[str, re.Pattern]
    backward: dict[str, re.Pattern]
    help_obtained: tuple[re.Pattern, ...]
    asks_about_red_flags: tuple[re.Pattern, ...]
    safety_net: tuple[re.Pattern, ...]
    safety_net_advice: str
    spellings: dict[str, str]
    misspelt: re.Pattern  # whole words of `spellings`
    loss_of_function: re.Pattern  # "can not", "no feeling": negations that are the sign itself
    clause_denials: re.Pattern  # "... fine", "... normal" closing a clause that matched by meaning
    state_denials: re.Pattern  # "feels fine when I sit": anywhere in a clause that matched by meaning


MODIFIERS = ("negated", "historical", "other_experiencer", "hypothetical", "informational")


def _alternation(phrases: list[str]) -> re.Pattern:
    # Longest first, so "no history of" wins over "history of" and "no".
    ordered = sorted(phrases, key=len, reverse=True)
    return re.compile(r"(?<![\w'])(?:" + "|".join(ordered) + r")(?![\w'])")


_FLAG_KEYS = {"id": str, "level": str, "category": str, "reason": str, "sign": str}
_FLAG_OPTIONAL = {"patterns": list, "all_of": list, "history_is_the_flag": bool, "crisis": bool}
_CONTEXT_KEYS = {"negation_window_words": int, "pseudo": list, "terminators": list, "help_obtained": list,
                 "asks_about_red_flags": list, "spellings": dict, "loss_of_function": list, "clause_denials": list,
                 "state_denials": list,
                 **{m: dict for m in ("negated", "historical", "other_experiencer", "hypothetical", "informational")}}


@lru_cache(maxsize=1)
def _catalogue() -> dict:
    return read_catalogue(DATA_DIR / "red_flags.json")


def read_catalogue(path: Path) -> dict:
    """red_flags.json, checked: every flag has its keys, a known level, and patterns that compile."""
    data = read_json(path)
    check_keys(path, data, "the file", {"flags": list, "routine_safety_net": dict})
    check_keys(path, data["routine_safety_net"], "routine_safety_net", {"patterns": list, "advice": str})
    seen = set()
    for n, f in enumerate(data["flags"]):
        where = f"flags[{n}]" + (f" ({f['id']})" if isinstance(f, dict) and isinstance(f.get("id"), str) else "")
        check_keys(path, f, where, _FLAG_KEYS, _FLAG_OPTIONAL)
        if f["level"] not in LEVELS:
            raise RuleFileError(f"{path}: '{where}.level' must be one of {', '.join(LEVELS)}, not {f['level']!r}.")
        if ("patterns" in f) == ("all_of" in f):
            raise RuleFileError(f"{path}: {where} needs exactly one of 'patterns' and 'all_of'.")
        if f["id"] in seen:
            raise RuleFileError(f"{path}: the flag id '{f['id']}' is used twice.")
        seen.add(f["id"])
        for g, group in enumerate(f.get("all_of") or [f["patterns"]]):
            for p in group:
                compile_regex(path, f"{where} pattern {p!r}", r"(?<![\w'])" + p)
    return data


@lru_cache(maxsize=1)
def red_flags() -> tuple[RedFlag, ...]:
    data = _catalogue()
    flags = []
    for f in data["flags"]:
        groups = f.get("all_of") or [f["patterns"]]
        flags.append(
            RedFlag(
                id=f["id"],
                level=f["level"],
                category=f["category"],
                reason=f["reason"],
                sign=f["sign"],
                groups=tuple(tuple(re.compile(r"(?<![\w'])" + p) for p in g) for g in groups),
                history_is_the_flag=f.get("history_is_the_flag", False),
                crisis=f.get("crisis", False),
            )
        )
    return tuple(flags)


@lru_cache(maxsize=1)
def context_rules() -> ContextRules:
    data = read_context_rules(DATA_DIR / "context_rules.json")
    safety = _catalogue()["routine_safety_net"]
    return ContextRules(
        negation_window=data["negation_window_words"],
        pseudo=_alternation(data["pseudo"]),
        terminators=_alternation(data["terminators"]),
        forward={m: _alternation(data[m]["forward"]) for m in MODIFIERS if data[m]["forward"]},
        backward={m: _alternation(data[m]["backward"]) for m in MODIFIERS if data[m]["backward"]},
        help_obtained=tuple(re.compile(p) for p in data["help_obtained"]),
        asks_about_red_flags=tuple(re.compile(p) for p in data["asks_about_red_flags"]),
        safety_net=tuple(re.compile(p) for p in safety["patterns"]),
        safety_net_advice=safety["advice"],
        spellings=(sp := {k: v for k, v in data["spellings"].items() if not k.startswith("_")}),
        misspelt=re.compile(r"\b(" + "|".join(map(re.escape, sp)) + r")\b"),
        loss_of_function=_alternation(data["loss_of_function"]),
        clause_denials=re.compile(r"(?<![\w'])(?:" + "|".join(sorted(data["clause_denials"], key=len, reverse=True))
                                  + r")(?:\s*[,.;!]|\W*$)"),
        # ...unless a change follows: "my bladder was fine until this morning".
        state_denials=re.compile(r"(?<![\w'])(?:" + "|".join(data["state_denials"])
                                 + r")(?![\w'])(?!,? (until|till|up until|up to|before|then|otherwise|apart|except|other than)\b)"),
    )


def read_context_rules(path: Path) -> dict:
    """context_rules.json, checked: every key known and of its type."""
    data = read_json(path)
    check_keys(path, data, "the file", _CONTEXT_KEYS)
    for m in MODIFIERS:
        check_keys(path, data[m], m, {"forward": list, "backward": list})
    return data


def warning_signs(level: str) -> list[str]:
    """The catalogue's signs of one level, in catalogue order, each once: the one source of
    the warning-signs reply and the page's banner."""
    return list(dict.fromkeys(f.sign for f in red_flags() if f.level == level))


def safety_net_advice() -> str:
    return context_rules().safety_net_advice


_CONTRACTIONS = [
    (r"\bcan'?t\b", "can not"), (r"\bwon'?t\b", "will not"), (r"\bain'?t\b", "is not"),
    (r"\b(do|does|did|is|are|was|were|have|has|had|could|would|should|must)n'?t\b", r"\1 not"),
    (r"\bi'?m\b", "i am"), (r"\bi'?ve\b", "i have"), (r"\bi'?d\b", "i would"), (r"\bi'?ll\b", "i will"),
    (r"\b(it|that|there|what)'s\b", r"\1 is"),
]


def normalise(text: str) -> str:
    text = text.lower().replace("’", "'").replace("‘", "'")
    text = re.sub(r"[\u200b-\u200f\u2060\ufeff]", "", text)
    for pattern, repl in _CONTRACTIONS:
        text = re.sub(pattern, repl, text)
    rules = context_rules()
    text = rules.misspelt.sub(lambda m: rules.spellings[m.group()], text)
    return re.sub(r"\s+", " ", text).strip()
