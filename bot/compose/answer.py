"""Compose replies: escalation first, then an extractive answer, sources and the disclaimer.

Which sentences are quoted is decided in `selection.py`; this module numbers them (`cite`)
and renders the reply.

Every sentence of an answer is quoted verbatim from a retrieved passage and carries the
number of that passage; numbers are given in order of first use, one per passage. The
reply is built as data (`Reply`) and rendered to markdown in one place, with corpus and
user text escaped so nothing in them can become markup.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..retrieval.search import Hit
from ..settings import Settings
from ..understand.red_flags import warning_signs
from ..understand.triage import Escalation

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

CLARIFY_OWN_PAIN = (
    "I couldn't find that in my articles. To find the part that fits, could you tell me: is it your neck, upper back or "
    "lower back, and would you like to know about causes, stretches and exercises, easing the pain, or when to see a "
    "doctor? If the pain is new and severe, or getting worse, a doctor or physiotherapist should check it."
)

NOTHING_NEW = (
    "I've already shared everything my articles say about that in this conversation. You could ask about another "
    "part of your back, or about causes, stretches, relief or when to see a doctor."
)

SCREENING_YES = "Thank you for telling me. Please follow the advice above; you can still ask me about back and neck pain afterwards."

NO_TO_SCREENING = "No, none of these"

NOTHING_MORE = "My articles don't say more about this; a doctor can tell you what applies to you."

HOLDING_BACK = (
    "I'll hold back on exercises and stretches until a doctor has checked you, because they could make things worse."
)

NOT_COVERED_REPLIES = {
    "medicine": "My articles don't cover medicines or doses. A pharmacist or doctor can tell you what is safe for you to take.",
    "pregnancy": "My articles don't cover back pain in pregnancy. A midwife, doctor or physiotherapist can advise you safely.",
    "children": "My articles are about adults and don't cover children's back pain. Please ask a doctor or nurse about a child's pain.",
}

def warning_signs_text(settings: Settings) -> str:
    """'What are the warning signs?', answered from the red-flag catalogue (every flag's sign)."""
    number = escape_markdown(settings.emergency_number)
    emergency = "; ".join(warning_signs("emergency"))
    urgent = "; ".join(warning_signs("urgent"))
    return (f"**Warning signs to know about.** Call {number} or go to an emergency department for: {emergency}. "
            f"See a doctor the same day for: {urgent}.")


def render_screening(s) -> str:
    """The safety questions, before any advice (a `screening.Screening`)."""
    items = "\n".join(f"- {escape_markdown(q.ask)}" for q in s.questions)
    return ("**First, a quick safety check.** Do you have any of these?\n" + items + "\n\n"
            "If you do, tell me, because that needs a doctor first. If not, here is what my articles say.")


def _fold(text: str) -> str:
    return " ".join(text.split())


def quoted_before(history: list[dict]):
    """A test for 'was this sentence already quoted in an answer of this conversation?', so a
    follow-up never repeats one. Read from each reply's state (`Reply.state()["quoted"]`);
    a history without state (a client that keeps only the text) has nothing quoted."""
    quoted = {_fold(q) for m in history if m["role"] == "assistant"
              for q in ((m.get("state") or {}).get("quoted") or ()) if isinstance(q, str)}
    return lambda sentence: _fold(sentence) in quoted


def last_quoted(history: list[dict]) -> list[str]:
    """The sentences the last reply quoted, in order (from its state; none without state)."""
    last = [m for m in history if m["role"] == "assistant"][-1:]
    return [q for m in last for q in ((m.get("state") or {}).get("quoted") or ()) if isinstance(q, str)]


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
    screening: tuple[str, ...] = ()  # the safety questions this reply asks (ids of data/screening.json)
    someone_else: Escalation | None = None  # red flags told of another person (`alert` holds its box)

    def options(self) -> list[dict]:
        """One-tap answers for a page: each screening question's "yes", then "no"."""
        if not self.screening:
            return []
        from ..understand.screening import questions

        return [{"label": questions()[q].yes, "value": questions()[q].yes} for q in self.screening] + [
            {"label": NO_TO_SCREENING, "value": NO_TO_SCREENING}]

    named: str = ""  # the exercise the quoted sentences name ("it" in the next message)
    kind: str = ""  # the kind of question answered
    region: str = ""

    def state(self) -> dict:
        """What the next turn needs to know of this reply, as data (kept with the history):
        what it quoted (never quoted again), what it named, what it asked."""
        return {"intent": self.intent, "query": self.query, "kind": self.kind, "region": self.region,
                "named": self.named, "quoted": [s for s, _ in self.sentences], "screening": list(self.screening)}

    def to_dict(self) -> dict:
        import dataclasses

        return dataclasses.asdict(self)


def escape_markdown(text: str) -> str:
    """Make text inert in markdown/HTML: no tags, links, images or emphasis from it."""
    text = text.replace("\\", "\\\\")
    text = re.sub(r"([`*_\[\]<>#|!~])", r"\\\1", text)
    return text.replace("&", "&amp;")


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


def render_someone_else(e: Escalation, settings: Settings) -> str:
    """Red flags told of another person: what to do for them, in their own box."""
    call = phone_link(settings.emergency_number, f"call {escape_markdown(settings.emergency_number)}")
    crisis = escape_markdown(settings.crisis_line)
    reasons = "\n".join(f"- {escape_markdown(r)}" for r in e.reasons)
    if e.crisis:
        return ("## 💙 If someone you know is thinking of ending their life\n\n"
                f"Stay with them if you can, and **{phone_link(settings.crisis_line, f'call or text {crisis}')}** "
                f"(suicide and crisis line) together; if they are in immediate danger or have hurt themselves, **{call}**.")
    if e.level == "emergency":
        return ("## ⚠️ The person you describe may need help now\n\n"
                f"What you describe can be a sign of a medical emergency. If it is happening now, **{call}** for "
                "them or take them to the nearest emergency department. Don't wait to see if it passes.\n\n"
                f"**Why:**\n{reasons}")
    return ("## The person you describe should see a doctor today\n\n"
            "What you describe should be checked by a doctor within 24 hours: they can call their doctor or an "
            f"urgent care service. If it gets worse quickly, {call}.\n\n**Why:**\n{reasons}")


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


#: A failure inside a reply becomes this (with the disclaimer); the traceback goes to the log.
APOLOGY = "Sorry, something went wrong on my side. Please try asking again."
#: "What can you do?" names this many article titles and counts the rest.
CAPABILITY_TITLES = 20


def capabilities_text(titles: list[str]) -> str:
    # A large corpus has thousands of titles: name some, count the rest.
    listed = "\n".join(f"- {escape_markdown(t)}" for t in titles[:CAPABILITY_TITLES])
    if len(titles) > CAPABILITY_TITLES:
        listed += f"\n- ... and {len(titles) - CAPABILITY_TITLES:,} more"
    return (
        "I answer questions about back and neck pain by quoting the articles I have, with numbered sources. "
        "If you describe warning signs of something serious, I'll tell you to get help instead. "
        f"I can't diagnose you or advise on medicines.\n\nMy articles:\n{listed}"
    )


def not_in_articles_text(titles: list[str]) -> str:
    named = "; ".join(escape_markdown(t) for t in titles[:8])
    return (
        "Sorry, my articles don't cover that. I can answer questions about back and neck pain: "
        f"causes, stretches and exercises, relief and prevention. My articles are: {named}."
    )
