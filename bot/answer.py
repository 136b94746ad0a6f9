"""Compose replies: escalation first, then an extractive answer, sources and the disclaimer.

Every sentence of an answer is quoted verbatim from a retrieved passage and carries the
number of that passage; numbers are given in order of first use, one per passage. The
reply is built as data (`Reply`) and rendered to markdown in one place, with corpus and
user text escaped so nothing in them can become markup.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable

from .retrieval import Hit
from .settings import Settings
from .text import content_stems
from .triage import Escalation

DISCLAIMER = (
    "BackBot shares general information from the articles listed, not medical advice. "
    "It can't examine you: for a diagnosis or treatment, see a doctor or physiotherapist."
)

SMALL_TALK_REPLIES = {
    "greeting": "Hello! I'm BackBot. Ask me about back or neck pain: causes, stretches, exercises, or when to see a doctor.",
    "thanks": "You're welcome. I hope your back feels better soon.",
    "goodbye": "Take care, and look after your back. Goodbye!",
    "feedback": (
        "Sorry that didn't help. You could ask it another way: say where it hurts (neck, upper back, lower back) and what "
        "you'd like to know (causes, stretches, relief, or when to see a doctor), or ask \"what else?\" for other passages. "
        "The thumbs-down button under an answer tells the people who look after BackBot."
    ),
    "empty": "Please type a question about back or neck pain, for example: \"How do I stretch my upper back?\"",
}

HELP_OBTAINED = (
    "I'm glad you're getting help. Until you've been checked, please don't try exercises or stretches. "
    "Tell the doctor or paramedics everything you noticed and when it started. "
    "Once you've been seen, I'm happy to answer questions about back and neck pain."
)

ENGLISH_ONLY = (
    "Sorry, I can only read and answer questions in English, because my articles are in English. "
    "Please ask again in English. If this is an emergency, call {number} or your local emergency number now."
)

CLARIFY = (
    "I'm sorry it hurts. So that I can find the right part of my articles, could you tell me a little more: "
    "**where** is the pain (neck, upper back, lower back, shoulders), **how long** have you had it, and "
    "**what makes it worse**? For example: \"My upper back aches after sitting at a desk all day.\""
)

NOTHING_NEW = (
    "I've already shared everything my articles say about that in this conversation. You could ask about another "
    "part of your back, or about causes, stretches, relief or when to see a doctor."
)

NOTHING_MORE = "My articles don't say more about this; a doctor can tell you what applies to you."

HOLDING_BACK = (
    "I'll hold back on exercises and stretches until a doctor has checked you, because they could make things worse."
)

NOT_COVERED_REPLIES = {
    "medicine": "My articles don't cover medicines or doses. A pharmacist or doctor can tell you what is safe for you to take.",
    "pregnancy": "My articles don't cover back pain in pregnancy. A midwife, doctor or physiotherapist can advise you safely.",
    "children": "My articles are about adults and don't cover children's back pain. Please ask a doctor or nurse about a child's pain.",
}

# Openings that point back to the sentence before: quote that one too (when it answers the
# question itself), or skip. "It is important to ..." is not such a pointer, and neither is a
# connective alone ("In addition, tight neck muscles can cause headaches.") unless a pronoun
# follows it ("However, this couldn't be farther from the truth.").
_NEEDS_PREVIOUS = re.compile(
    r"^(This|That|These|Those|They|Such|Here|Then|Each time|Do this|Doing this|Another|Again|"
    r"It(?!(?: is|'s|’s) (?:\w+ ){0,2}(?:to|that)\b))\b"
    r"|^\w+( \w+){0,3}, (this|that|these|those|they|it|he|she)\b"
    r"|^(However|But|And|So|Also|On the other hand|Still|Yet|Even so|Therefore|Thus|Instead)\b[^.]*\b(they|these|those|this)\b"
)
# Holds and counts for an exercise named before ("Hold this pose for several breaths.",
# "Repeat several times.", "An alternative to this stretch is ..."): out of their place they
# attach to whatever exercise the answer named last.
_REFERS_BACK = re.compile(
    r"^(Hold|Repeat|Count to|Switch sides|Go through|Return to|Stay in)\b"
    r"|^((Do|Perform|Continue|Keep)\b[^.]*\b(this|these|that|the same)"
    r"|(An|One|Another) (alternative|variation|option) (to|of|for) (this|these|that)) "
    r"(\w+ ){0,2}(cycle|pose|stretch|stretches|move|moves|exercise|exercises|position|routine|motion|movement)\b",
    re.I,
)


def _leans_on_previous(sentence: str) -> bool:
    return bool(_NEEDS_PREVIOUS.match(sentence) or _REFERS_BACK.search(sentence))


# Connectives read better after the sentence before: it comes along when it is relevant too.
_CONNECTIVE = re.compile(
    r"^(However|But|And|Or|So|Plus|Also|Similarly|In addition|Additionally|As a result|For example|Otherwise|"
    r"Instead|On the other hand|In contrast|Still|Yet|Even so|Likewise|Therefore|Thus|Hence|Moreover|Furthermore)\b"
)
# Sentences that send the reader elsewhere instead of saying something: never an answer.
_NOT_AN_ANSWER = re.compile(
    r"^(See|Click|Read|Check out|Watch|Learn more|Visit|Subscribe|Sign up|Share|Follow|Below|Above|Here are|"
    r"The following|We are going to|We will|Let's|Let us|Be sure to|Here's how|Here is how)\b"
    # A commenter's own story ("I'm not an athlete but I have poor posture ...") is not
    # general information.
    r"|^(I'm|I’m|I am|I've|I’ve|I have|I had|I was|My)\b"
    r"|\b(link below|video (below|demonstration)|this (article|page|post)|our (page|website|site|article)|click here)\b",
    re.I,
)

# Sentences that promise what the next one says ("Luckily, there are a number of things you can
# do to relieve tightness in these muscles." / "First, try some simple stretching exercises."):
# quoted alone they leave the person with the promise and not the advice.
_ANNOUNCES = re.compile(
    r"\b(there are|there's|there is|here are) (a number of|a couple of|several|many|a few|some|lots of|plenty of|"
    r"\w+ (simple|easy|good)) (\w+ )?(things|ways|steps|options|exercises|stretches|methods|tips|moves)\b",
    re.I,
)

# Words that ask rather than name a topic ("How long should I ...?"): they match any sentence
# with "should" or "long" in it, so they don't count as shared terms.
_NOT_SCORED = frozenset(content_stems("should could would can will must may might long often many much best way ways get "
                                  "make do know want need like really help"))
#: Share of the question's (idf-weighted) terms a sentence must hold to be quoted without a cue.
MIN_OVERLAP = 0.2
#: A sentence opening with "This ..." that holds this much of the question is quoted together
#: with the sentence before it even when that one alone would not be.
STRONG_OVERLAP = 0.4

# A subordinate clause or a gerund phrase with no main clause ("Although muscle imbalances are
# not the only sources of back problems.", "Sitting with your spine curved forward.").
_FRAGMENT = re.compile(r"^(Although|Though|Even though|Because|Especially|Unless|Whereas|Whether|Which|"
                       r"(Leading|Sitting|Doing|Having|Being|Making|Causing)\b[^,;]*\.$)")

# Says only that something is simple or good, with nothing to act on.
_FILLER = re.compile(r"^(This|That|It) is (a |an )?(\w+ ){0,3}(stretch|exercise|pose|move|one)( to (perform|do))?\.$")

_KINDS_FILE = Path(__file__).parent / "data" / "answer_kinds.json"


@lru_cache(maxsize=1)
def answer_kinds() -> dict[str, dict]:
    """Lead-ins, sentence cues and 'partly answered' notes per kind of question (reviewable data)."""
    kinds = {k: v for k, v in json.loads(_KINDS_FILE.read_text(encoding="utf-8")).items() if not k.startswith("_")}
    for v in kinds.values():
        v["cue_re"] = re.compile(v["cue"], re.I) if v["cue"] else None
    return kinds


def lead_in(kind: str, region: str) -> str:
    k = answer_kinds().get(kind, answer_kinds()["general"])
    return k["lead"].format(region=region) if region and "{region}" in k["lead"] else k["lead_any"]


def search_hint(kind: str) -> str:
    return answer_kinds().get(kind, {}).get("search_hint", "")


def subject_terms(query: str, kind: str) -> set[str]:
    """The question's word stems that name its subject, not its asking: "hold" in "how long
    should I hold ..." is the kind's cue itself."""
    cue = answer_kinds().get(kind, answer_kinds()["general"])["cue_re"]
    return {t for t in set(content_stems(query)) - _NOT_SCORED if not (cue and cue.search(t))}


def partly_answered_note(kind: str, sentences: list[str], query: str = "", weight=lambda term: 1.0,
                         contexts: list[str] | None = None) -> str:
    """Said first when no quoted sentence has what this kind of question asks for (a duration,
    a cause...) about the question's own subject: a hold time quoted for the neck stretch does
    not answer "how long should I hold the thoracic stretch?". The subject is the question's
    rarest word in the corpus. `contexts`, one per sentence, are the passages they are quoted
    from: a count that leans on its exercise counts when its passage names the subject."""
    k = answer_kinds().get(kind)
    if not k or not k["missing"] or not k["cue_re"]:
        return ""
    terms = subject_terms(query, kind)
    key = max(sorted(terms), key=weight) if terms else ""
    mass = sum(weight(t) for t in terms)

    def about_it(s: str) -> bool:
        # Names the rarest word, or most of the question's words by weight: "one often
        # overlooked cause of back pain is tight or stiff neck muscles" answers "can tight neck
        # muscles cause lower back pain?" without "lower".
        stems = set(content_stems(s))
        return key in stems or (mass > 0 and sum(weight(t) for t in terms & stems) / mass >= 0.6)

    for n, s in enumerate(sentences):
        if not k["cue_re"].search(s):
            continue
        # "Count to fifteen, while staying in this position." times the exercise named before it.
        if not key or about_it(s) or (_leans_on_previous(s) and (
                any(about_it(e) for e in sentences[:n]) or (contexts is not None and about_it(contexts[n])))):
            return ""
    return k["missing"]


def _fold(text: str) -> str:
    return " ".join(text.split())


def quoted_before(history: list[dict]):
    """A test for 'was this sentence already quoted in an answer of this conversation?', so a
    follow-up never repeats one. Only answer bodies count, not the passages under Sources."""
    bodies = [_fold(re.split(r"\*\*Sources\*\*|<div class=\"backbot-sources\"", m["content"], maxsplit=1)[0])
              for m in history if m["role"] == "assistant"]
    if not bodies:
        return lambda sentence: False
    joined = "\n".join(bodies)
    return lambda sentence: _fold(escape_markdown(sentence)) in joined or _fold(sentence) in joined


@dataclass(frozen=True)
class Citation:
    number: int
    doc_id: str
    title: str
    source: str
    url: str
    chunk_id: str  # the first passage cited from this article
    passage: str  # the passages cited from this article, joined with " … " (for display)
    quoted: tuple[str, ...] = ()  # the sentences of the passages the answer uses
    passages: tuple[str, ...] = ()  # each exact text of the cleaned article; overlapping chunks merged


@dataclass(frozen=True)
class Reply:
    text: str
    answered: bool
    citations: list[Citation]
    escalation: Escalation | None
    disclaimer: str
    intent: str = "question"
    query: str = ""
    sentences: list[tuple[str, int]] = field(default_factory=list)  # (quoted sentence, citation number)
    alert: str = ""  # the escalation part of `text` (markdown), so a page can style it apart

    def to_dict(self) -> dict:
        import dataclasses

        return dataclasses.asdict(self)


def escape_markdown(text: str) -> str:
    """Make text inert in markdown/HTML: no tags, links, images or emphasis from it."""
    text = text.replace("\\", "\\\\")
    text = re.sub(r"([`*_\[\]<>#|!~])", r"\\\1", text)
    return text.replace("&", "&amp;")


def _eligible(q: dict[str, float], cue, hits: list[Hit], seen, min_overlap: float,
              ranks: list[int] | None = None) -> tuple[dict, dict, set]:
    """(chunk id, sentence position) -> (score, rank, position, sentence, hit, overlap): the
    sentences that answer (see `select_sentences`), and every sentence that could be quoted;
    and the positions of sentences quoted earlier in the conversation. `ranks` gives each
    hit's rank when it is not its place in `hits` (a passage read on from another shares its rank)."""
    q_mass = sum(q.values()) or 1.0
    eligible: dict[tuple[str, int], tuple] = {}
    quotable: dict[tuple[str, int], tuple] = {}
    done: dict[tuple[str, int], tuple[str, int]] = {}
    earlier = set()
    for place, hit in enumerate(hits):
        rank = ranks[place] if ranks else place
        for i, (a, b, ok) in enumerate(hit.chunk.sentences):
            key = (hit.doc_id, hit.chunk.start + a)  # overlapping chunks share sentences: each counts once
            if not ok:
                continue
            if key in done:
                # ... but the next sentence of this chunk may lean on it: it is quotable (and
                # quoted earlier) under this chunk's position too.
                first = done[key]
                if first in quotable:
                    quotable[(hit.chunk_id, i)] = quotable[first]
                if first in earlier:
                    earlier.add((hit.chunk_id, i))
                continue
            done[key] = (hit.chunk_id, i)
            sentence = hit.text[a:b]
            if seen(sentence):
                earlier.add((hit.chunk_id, i))
                continue
            if sentence.endswith("?") or _NOT_AN_ANSWER.search(sentence) or _FRAGMENT.match(sentence) or _FILLER.match(sentence):
                continue
            overlap = sum(q[t] for t in set(content_stems(sentence)) if t in q) / q_mass
            has_cue = bool(cue and cue.search(sentence))
            score = overlap + 0.3 * has_cue + 0.5 * hit.relevance - 0.05 * rank
            quotable[(hit.chunk_id, i)] = (score, rank, i, sentence, hit, overlap)
            if (overlap < min_overlap or overlap == 0) and not (has_cue and (overlap > 0 or rank == 0)):
                continue
            eligible[(hit.chunk_id, i)] = quotable[(hit.chunk_id, i)]
    return eligible, quotable, earlier


def select_sentences(query: str, hits: list[Hit], limit: int, kind: str = "general",
                     seen=lambda sentence: False, weight=lambda term: 1.0, more: bool = False,
                     next_hit: Callable[[Hit], Hit | None] = lambda hit: None,
                     ranks: list[int] | None = None) -> list[tuple[str, Hit]]:
    """The most relevant quotable sentences of the top passages, in reading order.

    A sentence is eligible when the quality filter passed it, it is not a question or a
    pointer elsewhere ("See ..."), it was not quoted earlier in the conversation (`seen`),
    and it shares a term with the question or carries this kind's cue (a duration for "how
    long", a cause for "why"). Eligible sentences are scored by the question's terms they
    share (weighted by `weight`, the corpus idf: "thoracic" counts more than "stretch"),
    the cue, and the passage's relevance and rank. `more` ("what else?") also lets in the
    rest of the top three passages: the person asked for more of what they are about. One that opens with "This"/"It"/"These" comes only
    with the sentence before it, and only when that one is eligible too; or alone, when that
    one was quoted in an earlier reply and this one shares enough of the question's words, not
    just a cue (a follow-up such as "why?" goes on from what the person has just read). One
    that announces what follows ("there are a number of things you can do ...") brings the
    sentence after it, from the article's next passage (`next_hit`) when it ends its own.
    """
    q = {t: weight(t) for t in set(content_stems(query)) - _NOT_SCORED}
    cue = answer_kinds().get(kind, answer_kinds()["general"])["cue_re"]
    eligible, quotable, earlier = _eligible(q, cue, hits, seen, MIN_OVERLAP, ranks)
    if more:
        eligible = {**{k: v for k, v in quotable.items() if v[1] < 3}, **eligible}
    after = lambda c: _sentence_after(c, next_hit, seen)  # noqa: E731
    result = _choose(eligible, quotable, limit, earlier, after, cue)
    if not result:
        # The passages are on topic (retrieval said so) but no sentence holds enough of the
        # question's words: quote what the best passages share with it, rather than decline.
        fallback, quotable, earlier = _eligible(q, cue, hits[:2], seen, 0.0, ranks and ranks[:2])
        result = _choose(fallback, quotable, limit, earlier, after, cue)
    return [(c[3], c[4]) for c in result]


def _sentence_after(c: tuple, next_hit: Callable[[Hit], Hit | None], seen) -> tuple | None:
    """The sentence that follows candidate `c` in its article, as a candidate with c's score and
    rank, or None when there is none or it can't be quoted."""
    score, rank, i, sentence, hit, overlap = c
    h, j = hit, i + 1
    if j >= len(hit.chunk.sentences):
        h = next_hit(hit)
        if h is None:
            return None
        end = hit.chunk.start + hit.chunk.sentences[i][1]
        j = next((k for k, (a, _, _) in enumerate(h.chunk.sentences) if h.chunk.start + a >= end), None)
        if j is None:
            return None
    a, b, ok = h.chunk.sentences[j]
    text = h.text[a:b]
    if not ok or seen(text) or text.endswith("?") or _NOT_AN_ANSWER.search(text):
        return None
    return (score, rank, j, text, h, overlap)


def _choose(eligible: dict, quotable: dict, limit: int, earlier: set = frozenset(),
            after: Callable[[tuple], tuple | None] = lambda c: None, cue=None) -> list[tuple]:
    # Best first until the answer is full: a sentence skipped below takes no place.
    chosen = sorted(eligible.values(), key=lambda c: -c[0])
    picked = {}
    goes_on = set()  # go on from a sentence the person read in an earlier reply
    for c in chosen:
        if len(picked) >= limit:
            break
        score, rank, i, sentence, hit, overlap = c
        previous = (hit.chunk_id, i - 1)
        if previous in earlier and overlap >= MIN_OVERLAP:
            goes_on.add((hit.chunk_id, i))  # and shares the question's words
        elif _leans_on_previous(sentence):
            # Bring the sentence it leans on, when that one is relevant too, or when this one
            # answers so well (or is the hold or count asked for) that the pair is worth it;
            # otherwise skip it.
            worth_it = overlap >= STRONG_OVERLAP or bool(cue and _REFERS_BACK.search(sentence) and cue.search(sentence))
            before = eligible.get(previous) or (quotable.get(previous) if worth_it else None)
            if before is None or _leans_on_previous(before[3]):
                continue  # a chain of "This ... However, this ..." would need yet another sentence
            picked.setdefault(previous, before)
        elif _CONNECTIVE.match(sentence):
            before = eligible.get(previous)
            if before is not None and not _leans_on_previous(before[3]):
                picked.setdefault(previous, before)
        picked.setdefault((hit.chunk_id, i), c)
        if _ANNOUNCES.search(sentence):
            follow = after(c)
            if follow is not None and follow[3] not in {p[3] for p in picked.values()}:
                picked.setdefault((follow[4].chunk_id, follow[2]), follow)
    # In reading order: articles by their best passage's rank, and within an article the
    # sentences (steps of one exercise) as written. A sentence that goes on from the earlier
    # reply comes first: after another sentence, "This can lead to ..." would seem to mean that one.
    doc_rank: dict[str, int] = {}
    for c in sorted(picked.values(), key=lambda c: c[1]):
        doc_rank.setdefault(c[4].doc_id, c[1])
    result = sorted(picked.values(), key=lambda c: ((c[4].chunk_id, c[2]) not in goes_on, doc_rank[c[4].doc_id],
                                                    c[4].chunk.start + c[4].chunk.sentences[c[2]][0]))
    # A sentence brought along by another can also be chosen in its own right (overlapping
    # passages hold it twice): quote it once.
    texts = set()
    result = [c for c in result if not (c[3] in texts or texts.add(c[3]))]
    while len(result) > limit + 1:  # one over is allowed, to keep a pair together
        result.remove(min(result, key=lambda c: c[0]))
        kept = {(c[4].chunk_id, c[2]) for c in result}
        result = [c for c in result if not (_leans_on_previous(c[3]) and (c[4].chunk_id, c[2] - 1) not in kept | earlier)]
    return result


def _merged_passages(chunks: list) -> tuple[str, ...]:
    """The cited chunks of one article in reading order, overlapping or touching ones joined
    into one span of the article's text."""
    spans: list[list] = []
    for c in sorted(chunks, key=lambda c: c.start):
        if spans and c.start <= spans[-1][1]:
            last = spans[-1]
            if c.end > last[1]:
                last[2] += c.text[last[1] - c.start:]
                last[1] = c.end
        else:
            spans.append([c.start, c.end, c.text])
    return tuple(text for _, _, text in spans)


def cite(selected: list[tuple[str, Hit]]) -> tuple[list[tuple[str, int]], list[Citation]]:
    """Number sources in order of first use, one number per article: two passages of one
    article are one source, so the Sources list never shows the same title twice."""
    numbers: dict[str, int] = {}
    quoted: dict[str, list[str]] = {}
    chunks: dict[str, dict[str, Hit]] = {}
    out = []
    for sentence, hit in selected:
        if hit.doc_id not in numbers:
            numbers[hit.doc_id] = len(numbers) + 1
        chunks.setdefault(hit.doc_id, {}).setdefault(hit.chunk_id, hit)
        quoted.setdefault(hit.doc_id, []).append(sentence)
        out.append((sentence, numbers[hit.doc_id]))
    citations = []
    for doc_id, n in numbers.items():
        hits = list(chunks[doc_id].values())
        first = hits[0]
        passages = _merged_passages([h.chunk for h in hits])
        citations.append(Citation(n, doc_id, first.title, first.chunk.source, first.chunk.url, first.chunk_id,
                                  " … ".join(passages), tuple(quoted[doc_id]), passages))
    return out, citations


# ---------------------------------------------------------------- rendering


def phone_link(number: str, label: str) -> str:
    """A markdown `tel:` link, so a phone can dial with one tap; plain text if no digits."""
    digits = re.sub(r"[^0-9+]", "", number)
    return f"[{label}](tel:{digits})" if digits else label


def render_escalation(e: Escalation, settings: Settings) -> str:
    number = escape_markdown(settings.emergency_number)
    crisis = escape_markdown(settings.crisis_line)
    call = phone_link(settings.emergency_number, f"call {number}")
    Call = phone_link(settings.emergency_number, f"Call {number}")
    reasons = "\n".join(f"- {escape_markdown(r)}" for r in e.reasons)
    if e.ongoing:
        if e.level == "emergency":
            return (
                f"> ⚠️ **Reminder: earlier you described signs of an emergency.** If you haven't yet, "
                f"**{call}** or go to an emergency department now, and don't try exercises until you have been checked. "
                "Tell me once you've got help."
            )
        return (
            f"> **Reminder:** earlier you described something a doctor should check today. "
            f"Please contact your doctor or an urgent care service; if it gets worse, {call}."
        )
    if e.crisis:
        head = (
            "## 💙 Please reach out for support now\n\n"
            f"I'm really sorry you're feeling this way. You don't have to go through it alone: **{phone_link(settings.crisis_line, f'call or text {crisis}')}** "
            f"(suicide and crisis line) to talk to someone now, or **{call}** if you are in immediate danger or have hurt yourself."
        )
        others = [r for r, f in zip(e.reasons, e.flags) if f != "self_harm"]
        if others:
            head += "\n\nYou also described signs that need emergency care:\n" + "\n".join(f"- {escape_markdown(r)}" for r in others)
        return head
    if e.level == "emergency":
        return (
            "## ⚠️ Please get help now\n\n"
            f"What you describe can be a sign of a medical emergency. **{Call}** or go to the nearest "
            "emergency department now. Don't wait to see if it passes, and don't try exercises or stretches.\n\n"
            f"**Why:**\n{reasons}"
        )
    return (
        "## Please see a doctor today\n\n"
        "What you describe should be checked by a doctor within 24 hours: call your doctor or an urgent care service. "
        f"If it gets worse quickly, {call}.\n\n**Why:**\n{reasons}"
    )


def render_sources(citations: list[Citation]) -> str:
    lines = ["**Sources**"]
    for c in citations:
        where = f"[{escape_markdown(c.source)}]({c.url})" if c.url.startswith(("http://", "https://")) else escape_markdown(c.source)
        quotes = []
        for passage in c.passages or (c.passage,):
            # One line per passage (a newline inside it would end the quote), paragraphs between them.
            passage = escape_markdown(_fold(passage))
            for q in c.quoted:
                q = escape_markdown(_fold(q))
                passage = passage.replace(q, f"**{q}**", 1)
            quotes.append(f"   > {passage}")
        lines.append(f"{c.number}. **{escape_markdown(c.title)}**: {where}\n" + "\n   >\n".join(quotes))
    return "\n".join(lines)


def render(parts: list[str], disclaimer: str = DISCLAIMER) -> str:
    body = "\n\n".join(p for p in parts if p)
    return f"{body}\n\n---\n*{disclaimer}*"


def render_answer(lead: str, sentences: list[tuple[str, int]], citations: list[Citation]) -> str:
    body = " ".join(f"{escape_markdown(_fold(s))} [{n}]" for s, n in sentences)
    return f"{lead}\n\n{body}\n\n{render_sources(citations)}"
