"""Understand a message in its conversation: small talk, feedback, topics the articles don't
cover, vague messages, the kind of question and the body region, and follow-ups resolved
into a full question from the history.

Rules over words, reviewable in the tables below; the retriever decides the rest. The
conversation's state is not stored anywhere: it is re-derived from the history each turn
(`understand` folds over the earlier user messages), so "New conversation" — an empty
history — forgets everything, and two people can never share state.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .language import is_english
from ..text import STOPWORDS, words
from .kinds import question_kind, shown_question

SMALL_TALK = {
    "greeting": r"(hi|hello|hey|hiya|howdy|good (morning|afternoon|evening)|greetings|yo)( there)?( backbot)?",
    "thanks": r"((ok|okay|great|perfect|brilliant|cool|awesome),? )?(thanks?|thank you|thx|cheers|ta)( you)?( so much| a lot| very much)?"
              r"([,.!]* (that|this|it)( really)? (helps?|helped|was (very |really )?helpful))?"
              r"|(that|this|it)( really)? (helps?|helped|was (very |really )?helpful)|helpful",
    "goodbye": r"(bye|goodbye|see you|see ya|good night|goodnight|that'?s all|i'?m done|farewell)",
    "capabilities": r"(what can you do|what do you do|who are you|what are you|help me\??|how does this work|what can i ask( you)?|what do you know( about)?|what topics)",
    "feedback": r"(no,? )?(that|this|it)( answer)? (did ?n'?t|does ?n'?t|did not|does not) (help|answer( my question)?|work)"
                r"|(that|this|it)('?s| is| was) (not|n'?t) (helpful|useful|right|what i (asked|meant|wanted))"
                r"|(that|this|it) wasn'?t (helpful|useful|what i (asked|meant|wanted))"
                r"|not (helpful|useful|what i (asked|meant|wanted))|useless|wrong answer|(that'?s|that is) wrong"
                r"|you did ?n'?t answer( my question)?",
}
_SMALL_TALK = {k: re.compile(rf"^\W*({v})\W*$", re.I) for k, v in SMALL_TALK.items()}

# Medical topics the articles do not cover, where a loosely related passage would mislead.
NOT_COVERED = {
    # A medicine the person tried or takes ("ibuprofen didn't help, what else?") is context, not
    # the question: only asking about a medicine (which one, how much, is it safe) is.
    "medicine": r"\b(how (much|many|often) (\w+ ){0,3}(take|have|pills|tablets|mg)|doses?|dosage|\d+ ?mg\b|milligrams?"
    r"|(can|should|could|do) i (take|use|combine|mix|stop taking|come off)\b(?! (a|the) (break|rest|walk|bath|shower))"
    r"|is it (safe|ok|okay|alright|fine) to (take|use|mix|combine)|(which|what|best|strongest) (\w+ )?(painkillers?|pain ?killers?|medicines?|"
    r"medications?|tablets|pills|drugs?|muscle relaxants?|anti-?inflammator\w*)\b(?! (did|do|does|have|had|didn'?t|don'?t))"
    r"|prescribe (me|something)|side effects?|(ibuprofen|paracetamol|acetaminophen|tylenol|advil|aspirin|naproxen|codeine|tramadol|"
    r"diazepam|gabapentin|pregabalin|co-?codamol|opioids?)\b[^.?!]{0,40}\?)",
    "pregnancy": r"\b(pregnan\w*|trimester|postpartum|after giving birth|breastfeeding)\b",
    # Back pain of a child, not a parent's own back pain who mentions their kids.
    "children": r"\bmy (child|kid|son|daughter|baby|toddler|teen|teenager)('s)? (\w+ ){0,4}(back|neck|spine|posture|scoliosis|hunch)"
                r"|\b(child|kid|children|teen|teenager|toddler)('s)? (back|neck) (pain|hurts|ache)"
                r"|\b(my|our) (1[0-7]|[1-9]|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)[- ]years?[- ]old"
                r"( (son|daughter|child|kid|boy|girl))? (has|have|is|keeps|complains|gets|got|hurt|says)\b"
                r"|\bi am (1[0-7]|[1-9])\b(?! (years? (ago|in)|weeks|months|days|hours|minutes|kg|lbs?|stone))",
}
_NOT_COVERED = {k: re.compile(v, re.I) for k, v in NOT_COVERED.items()}


#: Body regions, in the words people use; the first listed that matches wins for a message
#: naming several ("neck and shoulders" -> neck).
REGIONS = {
    "neck": r"\bneck\b|\bcervical\b",
    "upper back": r"\bupper[- ]back\b|\bthoracic\b|\bshoulder[- ]blades?\b|\bmid(dle)?[- ]back\b|\btraps?\b|\btrapezius\b|\brhomboids?\b",
    "lower back": r"\blower[- ]back\b|\blow[- ]back\b|\blumbar\b|\blumbago\b|\bsciatica\b",
    "shoulders": r"\bshoulders?\b",
    "hips and legs": r"\bhips?\b|\blegs?\b|\bglutes?\b|\bhamstrings?\b|\bknees?\b|\bthighs?\b|\bbuttocks?\b",
}
_REGIONS = {k: re.compile(v, re.I) for k, v in REGIONS.items()}

# A follow-up leans on the conversation: it opens with one of these, or points back with a pronoun.
_FOLLOW_UP_OPENING = re.compile(r"^\W*(and|what about|how about|also|for|why|how long|how often|how many|how much|"
                                r"is that|does that|can i|should i|do i)\b", re.I)
_PRONOUN = re.compile(r"\b(it|that|this|those|them|these|they)\b", re.I)
_MORE = re.compile(r"^\W*(and )?(what else( can| could| should| do)?( i)?( do| try)?|anything else|(some )?more|tell me more|more please|go on|continue|keep going|"
                   r"other (ones|stretches|exercises|ideas|options|tips)|any (other|more)( \w+)?( ones)?|"
                   r"what other \w+( \w+)?|give me more|show me more|something else)\W*$", re.I)
_WHY = re.compile(r"^\W*why\b", re.I)

# Words that say "it hurts" without saying where, what or which question: a message made
# only of these (and stopwords) gets one clarifying question instead of a random passage.
VAGUE_WORDS = frozenset(
    """hurt hurts hurting pain pains painful ache aches aching achy sore help please bad really very much back
    body still again now today got have feel feels feeling terrible awful killing lot bit always ok okay hmm um
    idk something wrong problem problems issue issues am need so just all time hate sucks ugh hard can't cant
    don't dont know what's whats""".split()
)

# Exercise names in an answer ("the thoracic stretch", "child's pose"): what "it" points to next.
_EXERCISE = re.compile(r"\b(?:the|a|an|this|known as|called)\s+((?:[a-z][a-z'’-]*\s+){0,2}?"
                       r"(?:stretch|pose|exercise|tilt|rotation|glide|squeeze|roll|twist|bridge|plank|row|release|tuck))\b", re.I)
_GENERIC = frozenset("simple good great easy this that these one another following back best basic same other quick "
                     "gentle specific first second third".split())


@dataclass(frozen=True)
class Understanding:
    #: empty | greeting | thanks | goodbye | capabilities | feedback | language | clarify | not_covered | question | more
    intent: str
    query: str  # what to search for (a follow-up is resolved with the conversation)
    topic: str = ""  # for not_covered: medicine | pregnancy | children
    resolved_from: str = ""  # the earlier question a follow-up was resolved with
    kind: str = "general"  # a kind of data/question_kinds.json (understand/kinds.py)
    region: str = ""  # neck | upper back | lower back | shoulders | hips and legs
    subject: str = ""  # what "it" means in the next message: "the <exercise>" an answer named, or the topic
    shown: str = ""  # a resolved follow-up as a person would ask it ("How long should I hold the neck tilt?")


_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(text: str) -> str:
    """A message as the rest of BackBot can read it: halves of surrogate pairs joined or
    replaced (the tokenizer rejects a lone one) and control characters dropped."""
    if not text.isascii():
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return _CONTROLS.sub("", text)


def clean_history(history, max_turns: int = 100, max_chars: int = 20_000) -> list[dict]:
    """Gradio messages -> [{"role", "content": str} (+ "state": dict for replies)], tolerant of malformed entries.
    Content may be a string or a list of parts ({"type": "text", "text": ...}); anything
    else is ignored. Only the last `max_turns` messages, and the first `max_chars` of each,
    matter for a reply: a client sending a huge history can't make a reply slow."""
    clean = []
    for entry in history[-max_turns:] if isinstance(history, list) else []:
        if not isinstance(entry, dict) or entry.get("role") not in ("user", "assistant"):
            continue
        content = entry.get("content")
        if isinstance(content, list):
            content = " ".join(p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
        if isinstance(content, str):
            item = {"role": entry["role"], "content": clean_text(content[:max_chars])}
            # A reply's state (what it asked, quoted and named) rides with it as data.
            if entry["role"] == "assistant" and isinstance(entry.get("state"), dict):
                item["state"] = entry["state"]
            clean.append(item)
    return clean[-max_turns:]


_OWN = re.compile(r"\b(i|i'?m|i'?ve|me|my|mine|myself)\b", re.I)
_PAIN = re.compile(r"\b(pain\w*|hurt\w*|ache\w*|aching|achy|sore\w*|stiff\w*|tight\w*|tense|tension|knots?|spasms?|"
                   r"twinge\w*|crick|locked|seized|pulled|strain\w*|sprain\w*|sciatica|posture|slouch\w*|hunch\w*)\b", re.I)


def speaks_of_own_pain(text: str) -> bool:
    """Does the message tell of the person's own back or neck trouble? Such a message is in
    the articles' scope whatever else it says: it gets an answer or a clarifying question,
    never a bare "my articles don't cover that"."""
    return bool(_OWN.search(text) and _PAIN.search(text) and (body_region(text) or re.search(r"\b(back|spine)\b", text, re.I)))


_ASKS = re.compile(r"\?|^\W*(what|how|why|when|where|which|who|is|are|can|could|should|would|will|do|does|did|any)\b"
                   r"|\b(any (tips|advice|ideas|suggestions|help)|advice (on|please)|help me|recommend)", re.I)
_SENTENCE_END = re.compile(r"(?<=[.?!])\s+|\n+")


def asked_parts(text: str) -> list[str]:
    """The sentences of a message that ask something (a long message tells a story and asks
    once or twice); the whole message when none does."""
    parts = [p.strip() for p in _SENTENCE_END.split(text) if p.strip()]
    asking = [p for p in parts if _ASKS.search(p)]
    if len(parts) > 1:
        # "what else helps?" at the end of a story asks about the story's subject.
        topic = short_subject(text, body_region(text))
        asking = [p if len(words(p)) > 6 or topic == "this pain" else f"{p} {topic}" for p in asking]
    return asking or [text]


def body_region(text: str) -> str:
    # The earliest mention wins; at the same place, the table's order ("shoulder blades" is upper back).
    found = [(m.start(), order, region) for order, (region, p) in enumerate(_REGIONS.items()) for m in [p.search(text)] if m]
    return min(found)[2] if found else ""


# Words that ask rather than name: left out of a question's topic.
_ASKING = frozenset("should can best way ways cause causes caused causing help helps prevent treat fix get rid make "
                    "makes good relieve relief".split())
# Words a follow-up asks with, which name no topic of their own ("how long should I do it too?").
_FOLLOW_UP_WORDS = frozenset("long often many much times time try work works too also else about instead hold stay "
                             "safe okay ok fine".split())


# Words that carry the conversation along and never name a topic ("ok, what stretches can I
# do instead?" is about stretches, not "ok stretches instead").
_FILLER_WORDS = frozenset("ok okay fine instead also too else then well anyway about".split())
# An open question for what helps, which names no remedy of its own.
_OPEN_HELP = re.compile(r"^\W*(what|how) (can|could|should|do) (i|you|we)\b", re.I)


def topic_words(text: str) -> str:
    """The words of a question that name its topic ("What causes tech neck?" -> "tech neck")."""
    return " ".join(w for w in words(text) if w not in STOPWORDS and w not in _ASKING and w not in _FILLER_WORDS)


def named_exercise(sentences: str) -> str:
    """The first exercise the sentences an answer quoted name by something more than 'a
    simple stretch' (kept in the reply's state, so "it" in the next message can point to it)."""
    for m in _EXERCISE.finditer(sentences):
        name = " ".join(m.group(1).split()).lower()
        qualifiers = name.split()[:-1]
        # "this instantly relieving stretch" describes, it doesn't name.
        if qualifiers and not set(qualifiers) & _GENERIC and not any(w.endswith("ly") for w in qualifiers):
            return name
    return ""


def _is_vague(text: str) -> bool:
    return all(w in VAGUE_WORDS or w in STOPWORDS for w in words(text))


def _own_vague(text: str) -> bool:
    """Does the message say it hurts (rather than only ask, like "why?" or "what can I do?")?"""
    return any(w in VAGUE_WORDS and w not in STOPWORDS for w in words(text))


def _with_region(query: str, old: str, new: str) -> str:
    """'How do I stretch my upper back?' + neck -> 'How do I stretch my neck?'."""
    if old:
        swapped, n = _REGIONS[old].subn(new, query, count=1)
        if n:
            return swapped
    return f"{query.rstrip(' ?.!')} ({new})"


def _own_topic(text: str, region: str) -> list[str]:
    """The words of a message that name something the conversation has not (region words and
    asking words left out)."""
    if region:
        text = _REGIONS[region].sub(" ", text)
    return [w for w in words(text)
            if w not in STOPWORDS and w not in VAGUE_WORDS and w not in _ASKING and w not in _FOLLOW_UP_WORDS]


_REGION_AS_ADJECTIVE = {"shoulders": "shoulder", "hips and legs": "hip and leg"}


def short_subject(query: str, region: str) -> str:
    """What a conversation is about, in a few words: the topic words of a short question, or
    "<region> pain" for a long story (its topic words would not read as English)."""
    topic = topic_words(query)
    if topic and len(topic.split()) <= 4:
        return topic
    return f"{_REGION_AS_ADJECTIVE.get(region, region)} pain" if region else "this pain"


def _shown(kind: str, subject: str, why_helps: str = "") -> str:
    if why_helps:
        return f"Why does {why_helps} help?"
    if kind == "duration" and not subject.startswith("the "):
        if re.search(r"stretch|exercise|pose", subject):
            return f"How long should I hold the {subject}, and how often?"
        return f"How long and how often should I do the stretches for {subject}?"  # a topic, not an exercise
    return shown_question(kind, subject)


def _resolve(text: str, ctx: Understanding, last: dict) -> Understanding | None:
    """A follow-up resolved with the previous question, or None when `text` stands alone.

    A follow-up is short and leans on what came before: "what else?", "and for the neck?"
    (only a region), "why?", "what can I do?" (no topic of its own), or "How long should I
    hold it?" (a pronoun for what the last answer was about). `last` is the state of the
    reply before (what it named), never its rendered text."""
    n = len(words(text))
    region, kind = body_region(text), question_kind(text)
    # "it" is the exercise the last answer named when the follow-up asks how to do it, how
    # long, or anything plain ("is it safe?"); asked what causes or prevents "it", it is the pain.
    named = last.get("named", "") if isinstance(last.get("named", ""), str) else ""
    exercise = named if kind in ("howto", "duration", "general") else ""
    subject = f"the {exercise}" if exercise else ctx.subject or short_subject(ctx.query, ctx.region)
    base = dict(resolved_from=ctx.query, region=region or ctx.region)
    if _MORE.match(text):
        return Understanding("more", ctx.query, kind=ctx.kind, subject=ctx.subject,
                             shown=f"What else do the articles say about {ctx.subject or short_subject(ctx.query, ctx.region)}?",
                             **base)
    if n > 8:
        return None
    own = _own_topic(text, region)
    if region and not own and not _WHY.match(text):
        # "and for the neck?": the same question about another part of the body.
        query = _with_region(ctx.query, ctx.region, region)
        shown = ctx.shown.replace(ctx.region, region) if ctx.shown and ctx.region else ""
        if not shown:
            shown = query if len(query.split()) <= 14 else _shown(ctx.kind, f"{region} pain")
        return Understanding("question", query, kind=ctx.kind, subject=subject, shown=_sentence(shown), **base)
    why_helps = ""
    if _PRONOUN.search(text) and len(own) <= 3:
        # "How long should I hold it?" -> "How long should I hold the thoracic stretch?"
        query = _PRONOUN.sub(subject, text.strip(), count=1)
        # Without a named exercise, "it" is a topic: the kind's plain question reads better.
        shown = query if exercise or kind == "general" else _shown(kind, subject)
    elif _WHY.match(text) and not own:
        # "why?" after a stretch: why it helps; after anything else: the reasons behind it.
        previous = ctx.query.strip().rstrip(" ?.!")
        if named and ctx.kind in ("howto", "relief"):
            query = f"why does the {named} help"
            why_helps = f"the {named}"
        elif ctx.kind in ("howto", "relief") and subject and _OPEN_HELP.match(previous):
            # "why?" after "what can I do about tight neck muscles?": why what helps, helps.
            query = f"why does it help with {subject}"
            why_helps = f"that with {subject}"
        else:
            query = f"why {previous[:1].lower()}{previous[1:]}"
        shown = _shown("causes", subject, why_helps)
    elif not own:
        # "what can I do?", "how often?": the question asked about the same subject.
        query = f"{text.strip().rstrip(' ?.!')} for {subject}"
        shown = _shown(kind if kind != "general" else ctx.kind, subject)
    elif _FOLLOW_UP_OPENING.search(text) and len(own) <= 2 and not region:
        # "what about heat?", "and stretching?": a new angle on the same part of the body. A
        # message naming its own part of the body ("how long should I hold the neck stretch?")
        # leans on nothing before it and is searched as typed.
        query = f"{' '.join(own)} ({ctx.region or subject})"
        shown = f"What about {' '.join(own)} for {ctx.region or subject}?"
    else:
        return None
    return Understanding("question", query, kind=kind if kind != "general" else ctx.kind, subject=subject,
                         shown=_sentence(shown), **base)


def _sentence(text: str) -> str:
    """A question as shown: capital first letter, one question mark."""
    text = " ".join(text.split()).rstrip(" ?.!")
    return f"{text[:1].upper()}{text[1:]}?" if text else ""


def _understand_one(message: str, ctx: Understanding | None, last: dict) -> Understanding:
    text = message.strip()
    if not words(text):
        if any(c.isalpha() for c in text):
            return Understanding("language", "")  # letters, but none of them English words
        return Understanding("empty", "")
    for intent, pattern in _SMALL_TALK.items():
        if pattern.match(text):
            return Understanding(intent, "")
    if not is_english(text):
        return Understanding("language", "")
    for topic, pattern in _NOT_COVERED.items():
        if pattern.search(text):
            return Understanding("not_covered", text, topic=topic)
    if ctx and ctx.intent == "clarify":
        # The answer to our clarifying question completes the vague message before it.
        query = f"{ctx.query} {text}"
        kind = question_kind(text) if question_kind(text) != "general" else "relief"
        subject = short_subject(text, body_region(query))
        return Understanding("question", query, resolved_from=ctx.query, kind=kind, region=body_region(query),
                             subject=subject, shown=_sentence(_shown(kind, subject)))
    if ctx and ctx.intent in ("question", "more") and _MORE.match(text):
        return _resolve(text, ctx, last)
    if _is_vague(text) and not (ctx and ctx.intent in ("question", "more") and not _own_vague(text)):
        # Even mid-conversation: "it hurts" after a stretch may mean the stretch hurts, or
        # something new; asking is safer than guessing.
        return Understanding("clarify", text)
    if ctx and ctx.intent in ("question", "more"):
        followed = _resolve(text, ctx, last)
        if followed:
            return followed
    # A story's kind is what its asking sentences ask: "10 hours a day" in the story is not "how often?".
    return Understanding("question", text, kind=question_kind(" ".join(asked_parts(text))), region=body_region(text),
                         subject=short_subject(text, body_region(text)))


def understand(message: str, history: list[dict] | None = None) -> Understanding:
    """What `message` asks, given the conversation so far (clean_history's format). What an
    earlier reply named is read from its state, never from its text."""
    ctx, last = None, {}
    for entry in (history or [])[-40:]:  # the last 20 turns are plenty of context
        if entry["role"] == "user":
            u = _understand_one(entry["content"], ctx, last)
            # Small talk and feedback keep the conversation's subject; anything else replaces it.
            if u.intent not in ("greeting", "thanks", "goodbye", "feedback", "empty", "capabilities") or ctx is None:
                ctx = u
            last = {}
        else:
            last = entry.get("state") or {}
    return _understand_one(message, ctx, last)
