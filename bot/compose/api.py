"""The reply as data for integrators: what the page's `/ask` endpoint and `backbot ask --json`
return. One definition, so the API, the command line and their docs can't drift apart.

The conversation goes back to the caller as `history` in Gradio's messages format; each
assistant entry carries the reply's `state` (what it quoted, named and asked), which is what
follow-ups read. Nothing is kept on the server between calls.
"""
from __future__ import annotations

from .answer import Reply
from ..settings import Settings

#: The version of this structure; a field is only ever added within one version.
API_VERSION = 1


def escalation_data(reply: Reply, settings: Settings, esc=None) -> dict | None:
    esc = esc or reply.escalation
    if esc is None:
        return None
    return {"level": esc.level, "reasons": list(esc.reasons), "flags": list(esc.flags),
            "call": settings.emergency_number, "crisis_line": settings.crisis_line if esc.crisis else None,
            "ongoing": esc.ongoing}


def citation_data(reply: Reply) -> list[dict]:
    return [{"number": c.number, "title": c.title, "source": c.source, "url": c.url, "doc_id": c.doc_id,
             "passages": list(c.passages or (c.passage,)), "quoted": list(c.quoted)} for c in reply.citations]


def reply_data(reply: Reply, settings: Settings, message: str, history: list[dict]) -> dict:
    """The reply, and the conversation including this turn for the caller to send back.
    `history` is what the reply read (`dialogue.clean_history` of what the caller sent)."""
    turn = [{"role": "user", "content": message},
            {"role": "assistant", "content": reply.text, "state": reply.state()}]
    return {
        "api_version": API_VERSION,
        "text": reply.text,
        "answered": reply.answered,
        "intent": reply.intent,
        "query": reply.query,
        "sentences": [{"text": s, "citation": n} for s, n in reply.sentences],
        "citations": citation_data(reply),
        "escalation": escalation_data(reply, settings),
        # Red flags told of another person ("my dad can't feel his legs"): same fields, or null.
        "someone_else": escalation_data(reply, settings, reply.someone_else) if reply.someone_else else None,
        "options": [o["value"] for o in reply.options()],
        "disclaimer": reply.disclaimer,
        "history": [*history, *turn],
    }

