"""Compose replies: escalation first, then an extractive answer, sources and the disclaimer.

Every sentence of an answer is quoted verbatim from a retrieved passage and carries the
number of that passage; numbers are given in order of first use, one per passage. The
reply is built as data (`Reply`) and rendered to markdown in one place, with corpus and
user text escaped so nothing in them can become markup.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .retrieval import Hit
from .settings import Settings
from .text import content_stems, squash_spaces
from .triage import Escalation

DISCLAIMER = (
    "BackBot shares general information from the articles listed, not medical advice. "
    "It can't examine you: for a diagnosis or treatment, see a doctor or physiotherapist."
)

SMALL_TALK_REPLIES = {
    "greeting": "Hello! I'm BackBot. Ask me about back or neck pain: causes, stretches, exercises, or when to see a doctor.",
    "thanks": "You're welcome. I hope your back feels better soon.",
    "goodbye": "Take care, and look after your back. Goodbye!",
    "empty": "Please type a question about back or neck pain, for example: \"How do I stretch my upper back?\"",
}

HELP_OBTAINED = (
    "I'm glad you're getting help. Until you've been checked, please don't try exercises or stretches. "
    "Tell the doctor or paramedics everything you noticed and when it started. "
    "Once you've been seen, I'm happy to answer questions about back and neck pain."
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

# Openings that point back to the sentence before: quote that one too, or skip.
_NEEDS_PREVIOUS = re.compile(r"^(This|That|These|Those|It|They|Each time|Do this|Doing this|Then|Also)\b")


@dataclass(frozen=True)
class Citation:
    number: int
    doc_id: str
    title: str
    source: str
    url: str
    chunk_id: str
    passage: str  # exact text of the chunk in the cleaned corpus
    quoted: tuple[str, ...] = ()  # the sentences of the passage the answer uses


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


def select_sentences(query: str, hits: list[Hit], limit: int) -> list[tuple[str, Hit]]:
    """The most relevant quotable sentences of the top passages, in reading order.

    Sentences are scored by the passage's rank and by how many of the question's terms
    they contain; overlapping chunks share sentences, so each sentence is kept once.
    """
    q = set(content_stems(query))
    candidates = []
    seen = set()
    for rank, hit in enumerate(hits):
        for i, (a, b, ok) in enumerate(hit.chunk.sentences):
            if not ok:
                continue
            key = (hit.doc_id, hit.chunk.start + a)
            if key in seen:
                continue
            seen.add(key)
            sentence = hit.text[a:b]
            if sentence.endswith("?"):
                continue  # a question is not an answer
            overlap = len(q & set(content_stems(sentence))) / max(1, len(q))
            score = overlap + 0.5 * hit.relevance - 0.05 * rank
            if overlap == 0 and rank > 0:
                continue
            candidates.append((score, rank, i, sentence, hit))
    candidates.sort(key=lambda c: -c[0])
    chosen = candidates[:limit]
    # Pull in the sentence an anaphoric opening depends on, when it sits in the same passage.
    extra = []
    for score, rank, i, sentence, hit in chosen:
        if _NEEDS_PREVIOUS.match(sentence):
            if i > 0 and hit.chunk.sentences[i - 1][2]:
                a, b, _ = hit.chunk.sentences[i - 1]
                extra.append((score, rank, i - 1, hit.text[a:b], hit))
    picked = {}
    for c in chosen + extra:
        picked.setdefault((c[4].chunk_id, c[2]), c)
    # Drop an anaphoric sentence whose antecedent could not be brought along.
    result = []
    for key, (score, rank, i, sentence, hit) in picked.items():
        if _NEEDS_PREVIOUS.match(sentence) and (hit.chunk_id, i - 1) not in picked:
            continue
        result.append((rank, i, sentence, hit))
    result.sort(key=lambda r: (r[0], r[1]))
    return [(s, h) for _, _, s, h in result]


def cite(selected: list[tuple[str, Hit]]) -> tuple[list[tuple[str, int]], list[Citation]]:
    """Number passages in order of first use; one citation per passage."""
    numbers: dict[str, int] = {}
    quoted: dict[str, list[str]] = {}
    hits: dict[str, Hit] = {}
    out = []
    for sentence, hit in selected:
        if hit.chunk_id not in numbers:
            numbers[hit.chunk_id] = len(numbers) + 1
            hits[hit.chunk_id] = hit
        quoted.setdefault(hit.chunk_id, []).append(sentence)
        out.append((sentence, numbers[hit.chunk_id]))
    citations = [
        Citation(n, h.doc_id, h.title, h.chunk.source, h.chunk.url, h.chunk_id, h.text, tuple(quoted[cid]))
        for cid, n in numbers.items()
        for h in [hits[cid]]
    ]
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
        # One line per passage: a newline inside it would end the markdown quote.
        passage = escape_markdown(squash_spaces(c.passage))
        for q in c.quoted:
            q = escape_markdown(squash_spaces(q))
            passage = passage.replace(q, f"**{q}**", 1)
        lines.append(f"{c.number}. **{escape_markdown(c.title)}**: {where}\n   > {passage}")
    return "\n".join(lines)


def render(parts: list[str], disclaimer: str = DISCLAIMER) -> str:
    body = "\n\n".join(p for p in parts if p)
    return f"{body}\n\n---\n*{disclaimer}*"


def render_answer(lead: str, sentences: list[tuple[str, int]], citations: list[Citation]) -> str:
    body = " ".join(f"{escape_markdown(s)} [{n}]" for s, n in sentences)
    return f"{lead}\n\n{body}\n\n{render_sources(citations)}"
