"""Red-flag triage: runs first on every message, over the whole conversation.

The catalogue (`data/red_flags.json`) and the ConText-style rules (`data/context_rules.json`)
are data a clinician can review, read by `red_flags.py`. This module only applies them:

1. normalise the text (lower case, straight quotes, "can't" -> "can not");
2. split into sentences, and sentences into clauses at terminators ("but", "however"...);
3. find each flag's lay phrasings, then look for modifiers in the same clause: negation
   (within a few words), finished history, another person, hypothetical, informational;
4. only negation, history and other people suppress; hypothetical/informational wording
   becomes information without the banner; uncertainty never suppresses (safety first).

Flags accumulate over the user's turns; an emergency stays as a reminder until the person
says they got help.
"""
from __future__ import annotations

import bisect
import dataclasses
import re
from dataclasses import dataclass, field

from nltk.tokenize.punkt import PunktSentenceTokenizer

from ..text import default_sentence_splitter
from .red_flags import LEVELS, MODIFIERS, ContextRules, RedFlag, context_rules, normalise, red_flags


@dataclass(frozen=True)
class Finding:
    flag: str
    turn: int  # 0 = oldest user turn in the conversation
    group: int
    text: str
    modifier: str  # "" (affirmed), negated, historical, other_experiencer, hypothetical, informational
    by: str = "catalogue"  # which detector found it: catalogue (phrasings) or meaning (example bank)


@dataclass(frozen=True)
class Escalation:
    level: str  # "emergency" | "urgent"
    reasons: list[str]
    categories: list[str]
    flags: list[str]
    crisis: bool = False  # thoughts of self-harm: show the crisis line
    ongoing: bool = False  # raised in an earlier turn, not by this message


@dataclass(frozen=True)
class TriageResult:
    escalation: Escalation | None
    asked_about: tuple[str, ...] = ()  # flags mentioned hypothetically or as a question
    someone_else: Escalation | None = None  # this message tells of red flags in another person, now
    asks_about_red_flags: bool = False  # "what are the warning signs?"
    safety_net: bool = False  # pain for weeks / recurring: advise a check-up
    help_obtained: bool = False  # this message says they got help for an escalation raised earlier
    findings: tuple[Finding, ...] = field(default=(), repr=False)


# A negated verb inside a match ("my legs are not weak") negates it, while a negation that is
# part of the flag ("can not feel", "do not feel when I wipe") does not.
_NEGATED_INSIDE = re.compile(r"\b(is|are|was|were|am|feel|feels|felt) (not|never)\b")
_OWN_NEGATION = re.compile(r"(no|not|nothing|never)\b")


def _clause_bounds(sentence: str, rules: ContextRules) -> list[int]:
    """Positions where a new clause starts (terminators and commas before them)."""
    return [0] + [m.start() for m in rules.terminators.finditer(sentence)] + [len(sentence)]


def _clause_of(pos: int, bounds: list[int]) -> tuple[int, int]:
    i = bisect.bisect_right(bounds, pos) - 1  # bounds are sorted clause starts, then the sentence end
    i = min(max(i, 0), len(bounds) - 2)
    return bounds[i], bounds[i + 1]


_FIRST_PERSON = re.compile(r"\b(i|me|my|mine|myself|i am|i have)\b")


#: How far (characters) a modifier is looked for on either side of a match, within its clause.
#: Triggers sit within a few words of what they modify; the bound keeps a pasted essay with
#: no full stops (one clause of a megabyte) linear to check instead of quadratic.
SCOPE_CHARS = 300


@dataclass(frozen=True)
class _Sentence:
    """A sentence prepared once for all the matches in it: pseudo-triggers masked, clause starts."""
    masked: str
    bounds: list[int]


def _prepare(sentence: str, rules: ContextRules) -> _Sentence:
    masked = rules.pseudo.sub(lambda m: "_" * len(m.group()), sentence)
    return _Sentence(masked, _clause_bounds(masked, rules))


def modifier_for(sentence: str | _Sentence, start: int, end: int, rules: ContextRules, flag: RedFlag) -> str:
    """The ConText modifier that governs the match sentence[start:end], or ''."""
    prepared = sentence if isinstance(sentence, _Sentence) else _prepare(sentence, rules)
    masked = prepared.masked
    a, b = _clause_of(start, prepared.bounds)
    a, b = max(a, start - SCOPE_CHARS), min(b, end + SCOPE_CHARS)
    before, after = masked[a:start], masked[end:b]
    found = []
    for modifier in MODIFIERS:
        if modifier == "historical" and flag.history_is_the_flag:
            continue
        fwd = rules.forward.get(modifier)
        hits = list(fwd.finditer(before)) if fwd else []
        if modifier == "negated" and hits:
            # Negation reaches only a few words: "no fever and I wet myself" must still escalate.
            gap = len(before[hits[-1].end():].split())
            hits = hits if gap <= rules.negation_window else []
        if modifier == "informational" and hits:
            # "what is this numbness in my groin?" is about the person: not informational.
            span = before[hits[-1].start():] + masked[start:end]
            hits = [] if _FIRST_PERSON.search(span) else hits
        if modifier == "other_experiencer" and hits:
            # "my wife says I can't feel my legs": the person is speaking of themselves again.
            if re.search(r"\b(i|me)\b", before[hits[-1].end():]):
                hits = []
        bwd = rules.backward.get(modifier)
        if not hits and bwd and bwd.search(after):
            if modifier != "informational" or not _FIRST_PERSON.search(masked[a:b]):
                hits = [True]
        if hits:
            found.append(modifier)
    return found[0] if found else ""


def find_flags(message: str, turn: int = 0, splitter: PunktSentenceTokenizer | None = None,
               model=None, bank=None) -> list[Finding]:
    """The red-flag findings of one message: the catalogue's phrasings, and, given the
    embedding model, clauses that read like a flag's examples (`red_flag_meaning`)."""
    findings = _catalogue_findings(message, turn, splitter)
    if model is not None:
        # Where the catalogue read a sign and its context ("no back pain at all", "my son's
        # back") and found it only denied, that reading stands over a meaning match.
        affirmed = {(f.flag, f.group) for f in findings if not f.modifier}
        denied = {(f.flag, f.group) for f in findings if f.modifier in ("negated", "other_experiencer")} - affirmed
        findings += [f for f in _meaning_findings(message, turn, splitter, model, bank) if (f.flag, f.group) not in denied]
    return findings


def _catalogue_findings(message: str, turn: int, splitter: PunktSentenceTokenizer | None) -> list[Finding]:
    rules = context_rules()
    splitter = splitter or default_sentence_splitter()
    text = normalise(message)
    findings = []
    # One affirmed finding settles a group for this message: a pasted essay repeating "my back
    # hurts" a thousand times needs no thousand checks. Every other finding is still checked.
    settled: set[tuple[str, int]] = set()
    seen_modifiers: set[tuple[str, int, str]] = set()
    for sentence in splitter.tokenize(text) or [text]:
        prepared = None
        for flag in red_flags():
            for g, group in enumerate(flag.groups):
                for pattern in group:
                    for m in pattern.finditer(sentence):
                        if (flag.id, g) in settled:
                            break
                        prepared = prepared or _prepare(sentence, rules)
                        mod = modifier_for(prepared, m.start(), m.end(), rules, flag)
                        if mod == "negated" and _OWN_NEGATION.match(m.group()):
                            # "I have not slept, no position helps": a phrasing that carries its
                            # own negation is a sign of its own, not the object of an earlier one.
                            mod = ""
                        if not mod and _NEGATED_INSIDE.search(m.group()):
                            mod = "negated"
                        if not mod:
                            settled.add((flag.id, g))
                        if (flag.id, g, mod) not in seen_modifiers:  # one finding per kind is all that is read
                            seen_modifiers.add((flag.id, g, mod))
                            findings.append(Finding(flag.id, turn, g, m.group(), mod))
    return findings


def clause_modifier(clause: str, flag: RedFlag) -> str:
    """The ConText modifier of a whole clause that matched by meaning. Negations that are the
    sign itself ("can not feel", "no feeling", "not working") are masked first, as the
    catalogue keeps them inside its matches. A negation then counts only where it opens the
    clause ("no numbness down there") or closes it ("... is fine"): the bank's examples carry
    their own negations ("I don't get the urge to wee"), and a clause that reads like one of
    them is not denied by a "not" in its middle. Other modifiers: forward triggers anywhere
    before its end, backward ones anywhere in it."""
    rules = context_rules()
    text = normalise(clause)
    masked = rules.loss_of_function.sub(lambda m: "_" * len(m.group()), text)
    prepared = _prepare(masked, rules)
    fwd, bwd = rules.forward.get("negated"), rules.backward.get("negated")
    opening = " ".join(prepared.masked.split()[:3])
    # A negation's scope ends at a terminator: "no chest pain but my jaw aches" is not denied
    # (", it is just tight" ends no scope here: the clause was cut where the text allows).
    ends_scope = any(prepared.masked[max(0, m.start() - 1)] != "," for m in rules.terminators.finditer(prepared.masked))
    if (fwd and fwd.search(opening) and not ends_scope) or (bwd and bwd.search(prepared.masked)) or (
            rules.clause_denials.search(prepared.masked)) or rules.state_denials.search(prepared.masked):
        return "negated"
    end = len(masked)
    for found in (modifier_for(prepared, end, end, rules, flag), modifier_for(prepared, 0, 0, rules, flag)):
        if found and found != "negated":
            return found
    # The window found a negation in the middle, which may hide another modifier behind it.
    for modifier in MODIFIERS[1:]:
        if modifier == "historical" and flag.history_is_the_flag:
            continue
        if any(p and p.search(prepared.masked) for p in (rules.forward.get(modifier), rules.backward.get(modifier))):
            return modifier
    return ""


#: The meaning detector reads this much of a message (encoding costs ~20 ms per 900 characters);
#: the catalogue reads all of what triage is given.
MEANING_CHARS = 20_000


def _meaning_findings(message: str, turn: int, splitter, model, bank=None) -> list[Finding]:
    from .red_flag_meaning import find_by_meaning

    splitter = splitter or default_sentence_splitter()
    flags = {f.id: f for f in red_flags()}
    findings = []
    for match in find_by_meaning(model, message[:MEANING_CHARS], splitter, context_rules().terminators, bank):
        flag = flags[match.flag]
        mod = clause_modifier(match.clause, flag)
        # A meaning match stands for the whole flag: every group of an all_of flag.
        findings += [Finding(flag.id, turn, g, match.clause, mod, "meaning") for g in range(len(flag.groups))]
    return findings


def _affirmed_flags(findings: list[Finding]) -> list[RedFlag]:
    """Flags whose every group has an affirmed finding somewhere in the conversation."""
    affirmed = {(f.flag, f.group) for f in findings if not f.modifier}
    return [fl for fl in red_flags() if all((fl.id, g) in affirmed for g in range(len(fl.groups)))]


#: Someone else's signs told in the third person, retold in the first, so that both detectors
#: (whose phrasings and examples are in the first person) can read them: "he can't feel his
#: legs and he's wet himself" -> "i can not feel my legs and i have wet myself". In order.
_RELATIVE = (r"\bmy (mother|mum|mom|father|dad|husband|wife|partner|son|daughter|grandma|grandmother|grandad|"
             r"grandfather|granny|nan|brother|sister|friend|neighbou?r|boyfriend|girlfriend)")
_RETOLD = tuple((re.compile(a, re.IGNORECASE), b) for a, b in (
    (r"\b(he|she)s\b", r"\1 is"),  # "hes wet himself", "shes fallen"
    (_RELATIVE + r" is\b", "I am"),
    (_RELATIVE + r" has\b", "I have"),
    (_RELATIVE + r" (was|can|had|said|says|fell|slipped|tripped)\b", r"I \2"),
    (r"\b(he|she)( has|['’]s| is)? (wet|soiled|lost|had|been|got|fallen|gone|started|stopped|passed|hurt)\b", r"I have \3"),
    (r"\b(he|she) (is|['’]s)\b|\b(he|she)['’]s\b", "I am"),
    (r"\b(he|she) has\b", "I have"),
    (r"\b(he|she) does\b", "I do"),
    (r"\b(he|she) says\b", "I say"),
    (r"\b(he|she)\b", "I"),
    (r"\b(himself|herself)\b", "myself"),
    (r"\b(his|her)\b", "my"),
    (r"\bhim\b", "me"),
))
_THIRD_PERSON = re.compile(r"\b(he|she|his|her|him|himself|herself|hes|shes)\b|" + _RELATIVE, re.IGNORECASE)


def _told_of_someone_else(message: str, turn: int, splitter, model, bank) -> list[Finding]:
    """Findings of a message about another person's signs, read as if told in the first person
    (marked `other_experiencer`: they are not the person's own). The message is retold in place,
    so its clauses without a pronoun stay as they were and their vectors come from the cache."""
    if not _THIRD_PERSON.search(message):
        return []
    text = message
    for pattern, first_person in _RETOLD:
        text = pattern.sub(first_person, text)
    return [dataclasses.replace(f, modifier="other_experiencer") for f in find_flags(text, turn, splitter, model, bank)
            if f.modifier in ("", "other_experiencer")]


def _someone_elses_flags(findings: list[Finding]) -> list[RedFlag]:
    """Flags told of another person ("my dad can't feel his legs and has wet himself"): they are
    not the person's own, so they raise no escalation of theirs, but someone may need help now."""
    other = {(f.flag, f.group) for f in findings if f.modifier == "other_experiencer"}
    told = other | {(f.flag, f.group) for f in findings if not f.modifier}
    return [fl for fl in red_flags() if any((fl.id, g) in other for g in range(len(fl.groups)))
            and all((fl.id, g) in told for g in range(len(fl.groups)))]


def _help_obtained(message: str) -> bool:
    rules = context_rules()
    text = normalise(message)
    for p in rules.help_obtained:
        m = p.search(text)
        if m and not re.search(r"\b(not|never|no|should i|do i need to|can not)\b[^.?!]{0,20}$", text[: m.start()]):
            return True
    return False


def _escalation(flags: list[RedFlag], ongoing: bool) -> Escalation | None:
    if not flags:
        return None
    level = max((f.level for f in flags), key=LEVELS.index)
    # The reasons shown are those of the highest level first; each category once.
    flags = sorted(flags, key=lambda f: -LEVELS.index(f.level))
    reasons, categories = [], []
    for f in flags:
        if f.reason not in reasons:
            reasons.append(f.reason)
        if f.category not in categories:
            categories.append(f.category)
    return Escalation(
        level=level,
        reasons=reasons,
        categories=categories,
        flags=[f.id for f in flags],
        crisis=any(f.crisis for f in flags),
        ongoing=ongoing,
    )


def screening_asked(history: list[dict] | None) -> tuple[str, ...]:
    """The screening questions the reply just before this message asked (from its state)."""
    last = (history or [])[-1:]
    if not last or last[0].get("role") != "assistant":
        return ()
    asked = (last[0].get("state") or {}).get("screening") or ()
    return tuple(q for q in asked if isinstance(q, str))


def _screening_findings(message: str, history: list[dict] | None, turn: int) -> list[Finding]:
    """A "yes" to the screening questions just asked is a finding of each flag it affirms."""
    from .screening import answer_to

    kind, flags = answer_to(message, screening_asked(history))
    by_id = {f.id: f for f in red_flags()}
    return [Finding(f, turn, g, message[:200], "", "screening") for f in flags if f in by_id
            for g in range(len(by_id[f].groups))]


def user_turns(history: list[dict] | None) -> list[str]:
    """The user's earlier messages (history already cleaned by dialogue.clean_history)."""
    return [m["content"] for m in history or [] if m.get("role") == "user"]


def triage(message: str, history: list[dict] | None = None, splitter: PunktSentenceTokenizer | None = None,
           model=None, bank=None) -> TriageResult:
    """Red flags of the conversation, the newest message last. With the embedding `model`,
    the meaning detector runs beside the catalogue and either one escalates; `bank` replaces
    its example bank (for fitting its threshold)."""
    rules = context_rules()
    earlier = user_turns(history)
    # Findings of the turns since the person last said they got help.
    start = 0
    for i, turn in enumerate(earlier):
        if _help_obtained(turn):
            start = i + 1
    current_help = _help_obtained(message)
    # Each earlier turn with the history before it, so a "yes" to screening questions counts later too.
    before = [history[:k] for k, m in enumerate(history or []) if m.get("role") == "user"]
    past = [f for i, (t, h) in enumerate(zip(earlier[start:], before[start:]))
            for f in find_flags(t, i, splitter, model, bank) + _screening_findings(t, h, i)]
    now = find_flags(message, len(earlier), splitter, model, bank) + _screening_findings(message, history, len(earlier))

    now_flags = _affirmed_flags(past + now)
    past_flags = _affirmed_flags(past)
    # This message raises an escalation when it completes a flag or states one on its own.
    raised_now = bool({f.id for f in now_flags} - {f.id for f in past_flags}) or bool(_affirmed_flags(now))
    if current_help and not _affirmed_flags(now):
        escalation = None  # they told us they got help: stop repeating the alarm
    elif raised_now:
        escalation = _escalation(now_flags, ongoing=False)
    else:
        escalation = _escalation(past_flags, ongoing=True)

    text = normalise(message)
    asked = tuple(
        fl.id for fl in red_flags()
        if all(any(f.flag == fl.id and f.group == g for f in now) for g in range(len(fl.groups)))
        and any(f.flag == fl.id and f.modifier in ("hypothetical", "informational") for f in now)
    )
    return TriageResult(
        escalation=escalation,
        asked_about=asked,
        someone_else=None if escalation and not escalation.ongoing else _escalation(_someone_elses_flags(
            now + _told_of_someone_else(message, len(earlier), splitter, model, bank)), ongoing=False),
        asks_about_red_flags=bool(asked) or any(p.search(text) for p in rules.asks_about_red_flags),
        safety_net=any(p.search(text) for p in rules.safety_net),
        help_obtained=current_help and bool(past_flags) and escalation is None,
        findings=tuple(past + now),
    )
