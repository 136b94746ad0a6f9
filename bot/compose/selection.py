"""Choose the sentences an answer quotes, and say when they only partly answer.

Given the passages retrieval found, a sentence is quoted when it holds enough of the
question's words (weighted by the corpus idf) or the cue of its kind (a duration for "how
long?", a cause for "why?"), and reads on its own: a sentence that leans on the one before
comes with it or not at all, one that announces advice brings the advice. The result is data
(sentence, passage); `answer.cite` numbers it and `answer.render_answer` shows it.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Callable

from ..understand.kinds import kind as kind_of, kinds
from ..retrieval.search import Hit
from ..text import content_stems

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


@dataclass(frozen=True)
class Weights:
    """How a candidate sentence is scored: the question's words it holds (idf-weighted share),
    its meaning's cosine with the question, the cue of the question's kind, the passage's
    relevance and rank. A sentence is eligible by its words (`MIN_OVERLAP`), its cue, or its
    meaning (`min_meaning`). Fitted on the answer development set (`python -m bot eval
    --answers --fit`, docs/answers.md) rather than added rule by rule."""
    overlap: float = 1.0
    meaning: float = 3.0
    cue: float = 0.3
    relevance: float = 0.5
    rank: float = 0.05
    min_meaning: float = 0.45


WEIGHTS = Weights()
#: A sentence opening with "This ..." that holds this much of the question is quoted together
#: with the sentence before it even when that one alone would not be.
STRONG_OVERLAP = 0.4

# A subordinate clause or a gerund phrase with no main clause ("Although muscle imbalances are
# not the only sources of back problems.", "Sitting with your spine curved forward.").
_FRAGMENT = re.compile(r"^(Although|Though|Even though|Because|Especially|Unless|Whereas|Whether|Which|"
                       r"(Leading|Sitting|Doing|Having|Being|Making|Causing)\b[^,;]*\.$)")

# Says only that something is simple or good, with nothing to act on.
_FILLER = re.compile(r"^(This|That|It) is (a |an )?(\w+ ){0,3}(stretch|exercise|pose|move|one)( to (perform|do))?\.$")


def subject_terms(query: str, kind: str) -> set[str]:
    """The question's word stems that name its subject, not its asking: "hold" in "how long
    should I hold ..." is the kind's cue itself."""
    cue = kind_of(kind).cue
    return {t for t in set(content_stems(query)) - _NOT_SCORED if not (cue and cue.search(t))}


def partly_answered_note(kind: str, sentences: list[str], query: str = "", weight=lambda term: 1.0,
                         contexts: list[str] | None = None) -> str:
    """Said first when no quoted sentence has what this kind of question asks for (a duration,
    a cause...) about the question's own subject: a hold time quoted for the neck stretch does
    not answer "how long should I hold the thoracic stretch?". The subject is the question's
    rarest word in the corpus. `contexts`, one per sentence, are the passages they are quoted
    from: a count that leans on its exercise counts when its passage names the subject."""
    k = kinds().get(kind)
    if not k or not k.missing or not k.cue:
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
        if not k.cue.search(s):
            continue
        # "Count to fifteen, while staying in this position." times the exercise named before it.
        if not key or about_it(s) or (_leans_on_previous(s) and (
                any(about_it(e) for e in sentences[:n]) or (contexts is not None and about_it(contexts[n])))):
            return ""
    return k.missing




def _eligible(q: dict[str, float], cue, hits: list[Hit], seen, min_overlap: float,
              ranks: list[int] | None = None, meaning: dict[str, float] | None = None,
              w: Weights = WEIGHTS) -> tuple[dict, dict, set]:
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
            sim = (meaning or {}).get(sentence, 0.0)
            score = w.overlap * overlap + w.meaning * sim + w.cue * has_cue + w.relevance * hit.relevance - w.rank * rank
            quotable[(hit.chunk_id, i)] = (score, rank, i, sentence, hit, overlap)
            if ((overlap < min_overlap or overlap == 0) and not (has_cue and (overlap > 0 or rank == 0))
                    and sim < w.min_meaning):
                continue
            eligible[(hit.chunk_id, i)] = quotable[(hit.chunk_id, i)]
    return eligible, quotable, earlier


def select_sentences(query: str, hits: list[Hit], limit: int, kind: str = "general",
                     seen=lambda sentence: False, weight=lambda term: 1.0, more: bool = False,
                     next_hit: Callable[[Hit], Hit | None] = lambda hit: None,
                     ranks: list[int] | None = None, meaning: dict[str, float] | None = None,
                     weights: Weights = WEIGHTS) -> list[tuple[str, Hit]]:
    """The most relevant quotable sentences of the top passages, in reading order.

    A sentence is eligible when the quality filter passed it, it is not a question or a
    pointer elsewhere ("See ..."), it was not quoted earlier in the conversation (`seen`),
    and it shares a term with the question or carries this kind's cue (a duration for "how
    long", a cause for "why"). Eligible sentences are scored by the question's terms they
    share (weighted by `weight`, the corpus idf: "thoracic" counts more than "stretch"),
    their meaning's cosine with the question (`meaning`, sentence -> cosine), the cue, and the
    passage's relevance and rank, with `weights`. `more` ("what else?") also lets in the
    rest of the top three passages: the person asked for more of what they are about. One that opens with "This"/"It"/"These" comes only
    with the sentence before it, and only when that one is eligible too; or alone, when that
    one was quoted in an earlier reply and this one shares enough of the question's words, not
    just a cue (a follow-up such as "why?" goes on from what the person has just read). One
    that announces what follows ("there are a number of things you can do ...") brings the
    sentence after it, from the article's next passage (`next_hit`) when it ends its own.
    """
    q = {t: weight(t) for t in set(content_stems(query)) - _NOT_SCORED}
    cue = kind_of(kind).cue
    eligible, quotable, earlier = _eligible(q, cue, hits, seen, MIN_OVERLAP, ranks, meaning, weights)
    if more:
        eligible = {**{k: v for k, v in quotable.items() if v[1] < 3}, **eligible}
    after = lambda c: _sentence_after(c, next_hit, seen)  # noqa: E731
    result = _choose(eligible, quotable, limit, earlier, after, cue)
    if not result:
        # The passages are on topic (retrieval said so) but no sentence holds enough of the
        # question's words: quote what the best passages share with it, rather than decline.
        fallback, quotable, earlier = _eligible(q, cue, hits[:2], seen, 0.0, ranks and ranks[:2], meaning, weights)
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
    # Only the sentence right after it: across a heading, a new section begins.
    if h.chunk.start + a - (hit.chunk.start + hit.chunk.sentences[i][1]) > 3:
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
        follow = after(c) if _ANNOUNCES.search(sentence) else None
        if _ANNOUNCES.search(sentence) and follow is None:
            continue  # a promise whose advice can't follow it (a heading or the article's end comes next)
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
        if follow is not None:
            if follow[3] not in {p[3] for p in picked.values()}:
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




def read_on(index, query: str, kind: str, hits: list, weight) -> tuple[list, list[int] | None]:
    """The passages an answer is chosen from, and their ranks (None: their order).

    An exercise's steps, holds and counts often run on into the next passage ("Count to
    fifteen ..." follows the thoracic stretch's description). For "how long?" and "how do
    I?", the next passage of the top-three passage naming most of what was asked about (by
    idf: "thoracic stretch") is read too, ranked first: its counts are the answer, though
    the question's words are in the passage before it."""
    if kind not in ("duration", "howto") or not hits:
        return hits, None
    subject = subject_terms(query, kind)
    named = [sum(weight(t) for t in subject & set(content_stems(h.text))) for h in hits[:3]]
    ids = {h.chunk_id for h in hits}
    for at in sorted(range(len(named)), key=lambda n: (-named[n], n)):
        after = next_hit(index, hits[at])
        if after is not None and after.chunk_id not in ids:
            return hits[: at + 1] + [after] + hits[at + 1:], list(range(at + 1)) + [0] + list(range(at + 1, len(hits)))
    return hits, None


def next_hit(index, hit):
    """The passage after `hit` in its article, as a hit as relevant as `hit` (it goes on
    from it); None at the article's end."""
    c = index.following(hit.chunk)
    return None if c is None else dataclasses.replace(hit, chunk_id=c.chunk_id, text=c.text, chunk=c)
