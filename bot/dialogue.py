"""Understand a message: small talk, topics the articles don't cover, follow-ups, questions.

Rules over words, reviewable in the tables below; the retriever decides the rest.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .text import words

SMALL_TALK = {
    "greeting": r"(hi|hello|hey|hiya|howdy|good (morning|afternoon|evening)|greetings|yo)( there)?( backbot)?",
    "thanks": r"(thanks?( you)?( so much| a lot| very much)?|thank you|cheers|ta|great thanks|ok thanks|that helps?|that was helpful|helpful)",
    "goodbye": r"(bye|goodbye|see you|see ya|good night|goodnight|that'?s all|i'?m done|farewell)",
    "capabilities": r"(what can you do|what do you do|who are you|what are you|help me\??|how does this work|what can i ask( you)?|what do you know( about)?|what topics)",
}
_SMALL_TALK = {k: re.compile(rf"^\W*({v})\W*$", re.I) for k, v in SMALL_TALK.items()}

# Medical topics the articles do not cover, where a loosely related passage would mislead.
NOT_COVERED = {
    "medicine": r"\b(dose|doses|dosage|mg|milligrams?|how many (pills|tablets)|ibuprofen|paracetamol|acetaminophen|"
    r"tylenol|advil|aspirin|naproxen|codeine|tramadol|opioids?|painkillers?|muscle relaxants?|diazepam|gabapentin|"
    r"pregabalin|prescription|medication|medicine|drugs?)\b",
    "pregnancy": r"\b(pregnan\w*|trimester|postpartum|after giving birth|breastfeeding)\b",
    "children": r"\b(my (child|kid|son|daughter|baby|toddler|teen|teenager)|children|child's|kids|infant|teenager'?s?"
                r"|(1[0-7]|[1-9]|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)[- ]years?[- ]old)\b",
}
_NOT_COVERED = {k: re.compile(v, re.I) for k, v in NOT_COVERED.items()}

_FOLLOW_UP = re.compile(r"^\W*(and|what about|how about|also|what else|more|tell me more|why|how long|how often|how many)\b|\b(it|that|this|those|them|these)\b", re.I)


@dataclass(frozen=True)
class Understanding:
    intent: str  # empty | greeting | thanks | goodbye | capabilities | not_covered | question
    query: str  # what to search for (a follow-up is resolved with the previous question)
    topic: str = ""  # for not_covered: medicine | pregnancy | children
    resolved_from: str = ""  # the earlier question a follow-up was joined to


def clean_history(history, max_turns: int = 200) -> list[dict]:
    """Gradio messages -> [{"role", "content": str}], tolerant of malformed entries.
    Content may be a string or a list of parts ({"type": "text", "text": ...}); anything
    else is ignored. Only the last `max_turns` messages matter for a reply."""
    clean = []
    for entry in history if isinstance(history, list) else []:
        if not isinstance(entry, dict) or entry.get("role") not in ("user", "assistant"):
            continue
        content = entry.get("content")
        if isinstance(content, list):
            content = " ".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
        if isinstance(content, str):
            clean.append({"role": entry["role"], "content": content})
    return clean[-max_turns:]


def previous_user_question(history: list[dict]) -> str:
    for entry in reversed(history):
        if entry["role"] == "user":
            text = entry["content"].strip()
            if text and not any(p.match(text) for p in _SMALL_TALK.values()):
                return text
    return ""


def understand(message: str, history: list[dict] | None = None) -> Understanding:
    text = message.strip()
    if not words(text):
        return Understanding("empty", "")
    for intent, pattern in _SMALL_TALK.items():
        if pattern.match(text):
            return Understanding(intent, "")
    for topic, pattern in _NOT_COVERED.items():
        if pattern.search(text):
            return Understanding("not_covered", text, topic=topic)
    previous = previous_user_question(history)
    if previous and len(words(text)) <= 7 and _FOLLOW_UP.search(text):
        return Understanding("question", f"{previous} {text}", resolved_from=previous)
    return Understanding("question", text)
