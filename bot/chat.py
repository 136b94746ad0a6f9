"""`Chatbot`: wires triage, understanding, retrieval and composition. The only class the
page and the CLI need."""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np

from .compose import answer as A
from .compose import selection as S
from .corpus.chunking import sentence_units
from .understand.kinds import kinds, lead_in, search_hint
from .understand.dialogue import asked_parts, clean_history, clean_text, named_exercise, speaks_of_own_pain, understand
from .index.embedding import VectorCache, recent_passes
from .index.store import LoadedIndex, current_version_dir, load_index
from .retrieval.rerank import TokenVectorCache
from .retrieval.search import Hit, in_scope, threshold
from .retrieval.search import search as retrieve
from .settings import Settings
from .timing import stage
from .understand import screening
from .understand.red_flags import normalise, safety_net_advice
from .understand.triage import TriageResult, screening_asked, triage, user_turns

log = logging.getLogger(__name__)

#: Vectors of questions' asking sentences (and of any sentence the index lacks), cached.
sentence_vectors = VectorCache()


_SENTENCE_IDS: dict[str, dict[str, int]] = {}


#: Question kinds whose answer is one fact (a hold time, a count) that a follow-up may ask for
#: again. A "why?" is not among them: its cue ("from", "because") is in too many sentences, and
#: the person asking "why?" again wants more than the cause already quoted.
RECALLED_KINDS = ("duration",)


def index_sentence_ids(index: LoadedIndex) -> dict[str, int]:
    """Sentence text -> its vector's id in the index (the build's order, `sentence_units`),
    worked out once per index version."""
    key = str(index.path)
    if key not in _SENTENCE_IDS:
        ids: dict[str, int] = {}
        for i, text in enumerate(sentence_units(index.chunks).texts):
            ids.setdefault(text, i)
        _SENTENCE_IDS.clear()  # only the index in use matters; a reload replaces it
        _SENTENCE_IDS[key] = ids
    return _SENTENCE_IDS[key]



class Chatbot:
    def __init__(self, index: LoadedIndex, settings: Settings, model, tokens: TokenVectorCache | None = None):
        self.index = index
        self.settings = settings
        self.model = model
        # Passages' token vectors for reranking, computed when first needed (rerank.py).
        self.tokens = tokens or TokenVectorCache(model, settings.token_cache_chunks)
        self.weights = S.WEIGHTS  # how answer sentences are scored (selection.py); replaced when fitting

    @classmethod
    def load(cls, index_dir: str | Path | None = None, settings: Settings | None = None) -> "Chatbot":
        """Load a built index and its model. Raises UnusableIndexError (one clear sentence) when the
        index is missing, corrupt, or built with another model or chunking settings."""
        from .index.embedding import load_model

        settings = settings or Settings.from_env()
        if index_dir is not None:
            settings = dataclasses.replace(settings, index_dir=Path(index_dir))
        index = load_index(settings)
        return cls(index, settings, load_model(settings.model))

    def bank(self):
        """The meaning detector's example bank, its vectors kept with the index between runs."""
        from .understand.red_flag_meaning import example_bank

        return example_bank(self.model, cache_dir=self.settings.index_dir / "cache")

    # ------------------------------------------------------------ search

    def embed_query(self, query: str):
        # The pass triage made of the same text, if it made one (`recent_passes`).
        return recent_passes(self.model, [query]).vectors()[0]

    def search(self, query: str, k: int | None = None, method: str | None = None, index: LoadedIndex | None = None,
               timings: dict | None = None) -> list[Hit]:
        """Top passages by the settings' retrieval method (or `method`: hybrid, dense, bm25)."""
        if not isinstance(query, str) or not query.strip():
            return []
        return retrieve(index or self.index, query[: self.settings.max_message_chars], self.settings, self.embed_query,
                        k, method, timings, self.tokens)

    def topics(self, index: LoadedIndex | None = None) -> list[str]:
        return [a["title"] for a in (index or self.index).articles]

    # ------------------------------------------------------------ live reload

    def reload_if_published(self) -> bool:
        """Load the index version CURRENT now names, if it is not the one in use. The swap
        is one assignment: a reply already running keeps the index it started with. A new
        version that can't be used (corrupt, another model) raises UnusableIndexError and the
        current one stays."""
        name = current_version_dir(self.settings).name
        if name == self.index.path.name:
            return False
        self.index = load_index(self.settings)
        log.info("loaded the newly published index %s", self.index.path.name)
        return True

    # ------------------------------------------------------------ reply

    def reply(self, message, history: list[dict] | None = None, timings: dict | None = None):
        """Answer one message. Never raises: an internal error becomes a short apology.
        `timings`, if given, receives seconds per stage (for the benchmarks)."""
        try:
            return self._reply(message, history, timings)
        except Exception:
            log.exception("reply failed")
            return A.Reply(
                text=A.render([A.APOLOGY]),
                answered=False, citations=[], escalation=None, disclaimer=A.DISCLAIMER, intent="error",
            )

    def _reply(self, message, history, timings=None):
        index = self.index  # one index for the whole reply, even if a reload swaps it meanwhile
        message = clean_text(message) if isinstance(message, str) else ""
        if self.settings.debug_log:  # never by default: messages are health information
            log.debug("message (first 200 characters): %r", message[:200])
        history = clean_history(history, max_chars=self.settings.max_message_chars * 10)
        # Triage reads the whole message: a red flag at the end of a long text still counts.
        with stage(timings, "triage"):
            t = triage(self._triage_text(message), history, index.splitter, self.model, self.bank())
        note = ""
        if len(message) > self.settings.max_message_chars:
            message = message[: self.settings.max_message_chars]
            note = f"*(Your message was long, so I read the first {self.settings.max_message_chars:,} characters.)*"
        esc = t.escalation
        alert = A.render_escalation(esc, self.settings) if esc else ""
        if esc and esc.level == "emergency" and not esc.ongoing:
            # An emergency is answered with what to do now and nothing else: no exercises.
            return self._plain([alert], esc, "escalation", alert=alert)
        other = t.someone_else if esc is None else None
        if other:
            alert = A.render_someone_else(other, self.settings)
            if other.level == "emergency":  # what to do for them now, and nothing else
                return dataclasses.replace(self._plain([alert], None, "escalation_someone_else", alert=alert),
                                           someone_else=other)
        lead_parts = [alert, note]
        with stage(timings, "query resolution"):
            u = understand(message, history)
        if t.help_obtained:
            return self._plain([note, A.HELP_OBTAINED], esc, "help_obtained")
        answered, _ = screening.answer_to(message, screening_asked(history))
        if answered == "no" and len(message.split()) <= 8:
            return self._plain(lead_parts + [screening.no_reply()], esc, "screening_answer", alert=alert)
        if answered == "yes" and esc:
            return self._plain(lead_parts + [A.SCREENING_YES], esc, "escalation", alert=alert)
        screen = self._screening(message, history, t, u) if esc is None else None
        if screen:
            lead_parts = lead_parts + [A.render_screening(screen)]
        reply = self._answer(index, history, t, u, esc, alert, lead_parts, timings)
        if other:
            reply = dataclasses.replace(reply, someone_else=other)
        return dataclasses.replace(reply, screening=screen.ids) if screen else reply

    def _screening(self, message: str, history: list[dict], t: TriageResult, u) -> screening.Screening | None:
        """Safety questions for this reply, if its situation calls for them (screening.py)."""
        if u.intent not in ("question", "more", "clarify", "not_covered"):
            return None
        texts = [normalise(m) for m in user_turns(history)] + [normalise(message)]
        # A flag's first group is its sign (a cancer history, a fever); a later group of a
        # combined flag is the pain that completes it, which says nothing of the sign.
        mentioned = {f.flag for f in t.findings if f.group == 0}
        asked_before = any((m.get("state") or {}).get("screening") for m in history if m.get("role") == "assistant")
        return screening.screening_for(texts, mentioned, asked_before)

    def _answer(self, index, history, t, u, esc, alert, lead_parts, timings):
        """The reply to a message that is not an emergency: small talk, a clarifying question or an answer."""
        if u.intent in A.SMALL_TALK_REPLIES:
            return self._plain(lead_parts + [A.SMALL_TALK_REPLIES[u.intent]], esc, u.intent, alert=alert)
        if esc and esc.level == "emergency":
            # Until the person says they got help, no self-care advice: the reminder is the answer.
            return self._plain(lead_parts + [A.HOLDING_BACK], esc, "escalation", alert=alert)
        if u.intent == "capabilities":
            return self._plain(lead_parts + [A.capabilities_text(self.topics(index))], esc, u.intent, alert=alert)
        if u.intent == "language":
            number = A.phone_link(self.settings.emergency_number, A.escape_markdown(self.settings.emergency_number))
            return self._plain(lead_parts + [A.ENGLISH_ONLY.format(number=number)], esc, u.intent, alert=alert)
        if u.intent == "clarify":
            return self._plain(lead_parts + [self._red_flag_info(t), A.CLARIFY], esc, u.intent, u.query, alert)
        if u.intent == "not_covered":
            return self._plain(lead_parts + [A.NOT_COVERED_REPLIES[u.topic], self._red_flag_info(t)], esc, u.intent,
                               alert=alert)

        more = u.intent == "more"
        # "What else?" reaches further down the ranking for passages not quoted yet.
        k = self.settings.top_k * 2 if more else None
        # A resolved follow-up ("what can I do about it?") says what it wants only through its
        # kind: the kind's words steer the search. Standalone questions are searched as typed.
        query = f"{u.query} {search_hint(u.kind)}" if u.resolved_from and not more else u.query
        hits = self.search(query, k=k, index=index, timings=timings)
        with stage(timings, "composition"):
            return self._compose(index, u, t, hits, esc, alert, lead_parts, A.quoted_before(history),
                                 self._recalled(index, u, history))

    def _triage_text(self, message: str) -> str:
        cap = self.settings.max_triage_chars
        if len(message) <= cap:
            return message
        tail = min(10_000, cap // 2)
        return f"{message[: cap - tail]}. {message[-tail:]}"

    def _recalled(self, index: LoadedIndex, u, history: list[dict]) -> list[tuple[str, Hit]]:
        """A follow-up that asks for what the last answer already quoted ("how long should I
        hold it?" after the stretch and its hold time) gets that sentence again, first, rather
        than "the articles don't say" and filler. Only for kinds that ask for something
        specific (`RECALLED_KINDS`), and only a sentence with the kind's cue."""
        k = kinds().get(u.kind)
        if not u.resolved_from or u.intent == "more" or u.kind not in RECALLED_KINDS or not k or not k.cue:
            return []  # "what else?" wants what was not quoted yet
        ids = index_sentence_ids(index)
        for s in A.last_quoted(history):
            i = ids.get(s)
            if k.cue.search(s) and i is not None and index.sentence_owners[i]:
                chunk = index.chunks[index.sentence_owners[i][0]]
                return [(s, Hit(chunk.doc_id, chunk.chunk_id, chunk.title, chunk.text, 0.0, chunk))]
        return []

    def _compose(self, index, u, t, hits, esc, alert, lead_parts, seen, recalled=()):
        more = u.intent == "more"
        limit = self.settings.more_sentences if more else self.settings.answer_sentences
        covered = in_scope(hits, threshold(self.settings)) or (
            speaks_of_own_pain(u.query) and in_scope(hits, self.settings.min_relevance_own_pain))
        bm25 = index.bm25
        # Words the corpus doesn't know can't be quoted; they weigh nothing here.
        weight = lambda term: bm25.idf(term) if term in bm25.postings else 0.0  # noqa: E731
        passages, ranks = S.read_on(index, u.query, u.kind, hits, weight)
        own_pain = speaks_of_own_pain(u.query)
        if own_pain and not covered and self.settings.sentence_passages:
            # A story about one's own back or neck is never simply declined: the sentences
            # nearest in meaning to what it asks decide whether the articles speak to it.
            nearest = self._sentence_hits(index, u.query, [], self.settings.sentence_passages)
            if nearest and max(self._meaning(index, u.query, nearest).values(), default=0.0) >= self.weights.min_meaning:
                covered, passages, ranks = True, nearest, None
        # A standalone question reaches for sentences anywhere in the corpus; a follow-up and a
        # "how long?"/"how do I?" stay with the passages (and the exercise) already in play.
        if covered and self.settings.sentence_passages and not u.resolved_from and u.kind not in ("duration", "howto"):
            extra = self._sentence_hits(index, u.query, passages, self.settings.sentence_passages)
            ranks = (ranks or list(range(len(passages)))) + [len(passages) + i for i in range(len(extra))]
            passages = passages + extra
        selected = (S.select_sentences(u.query, passages, limit, u.kind, seen, weight, more=more,
                                       next_hit=lambda h: S.next_hit(index, h), ranks=ranks,
                                       meaning=self._meaning(index, u.query, passages), weights=self.weights)
                    if covered else [])
        if recalled and (not selected or S.partly_answered_note(
                u.kind, [s for s, _ in selected], u.query, weight, [h.text for _, h in selected])):
            # Nothing new answers it, but the last answer did: that sentence again, and of the
            # new ones only those that answer the same way (a count, a time), not filler.
            cue = kinds()[u.kind].cue
            selected = list(recalled) + [x for x in selected if cue.search(x[0]) and x not in recalled][: limit - 1]
        if not selected and covered and (more or any(seen(h.text[a:b]) for h in hits for a, b, _ in h.chunk.sentences)):
            # Everything relevant was quoted already: say so rather than repeat it or quote filler.
            return self._plain(lead_parts + [A.NOTHING_NEW], esc, "exhausted", u.query, alert)
        sentences, citations = A.cite(selected)
        if not sentences:
            # "What are the warning signs?" is answered by the catalogue even when the articles are silent.
            if t.asks_about_red_flags:
                return self._plain(lead_parts + [self._red_flag_info(t), A.NOTHING_MORE], esc, "red_flag_info", u.query, alert)
            if own_pain:  # one clarifying question rather than "my articles don't cover that"
                return self._plain(lead_parts + [A.CLARIFY_OWN_PAIN], esc, "clarify", u.query, alert)
            return self._plain(lead_parts + [A.not_in_articles_text(self.topics(index))], esc, "out_of_scope", u.query, alert)
        kind = "more" if more else u.kind
        # When the articles only partly answer, the reply says so instead of the usual lead-in.
        passage = {c.number: c.passage for c in citations}
        lead = (S.partly_answered_note(kind, [s for s, _ in sentences], u.query, weight, [passage[n] for _, n in sentences])
                or lead_in(kind, u.region))
        if u.resolved_from:
            lead = f"*Answering: {A.escape_markdown(u.shown or u.query)}*\n\n{lead}"
        parts = lead_parts + [self._red_flag_info(t), A.render_answer(lead, sentences, citations)]
        if t.safety_net:
            parts.append(f"**Good to know:** {safety_net_advice()}")
        return A.Reply(
            text=A.render(parts), answered=True, citations=citations, escalation=esc,
            disclaimer=A.DISCLAIMER, intent="question", query=u.query, sentences=sentences, alert=alert,
            named=named_exercise(" ".join(s for s, _ in sentences)), kind=kind, region=u.region,
        )

    def _meaning(self, index: LoadedIndex, query: str, passages: list[Hit]) -> dict[str, float]:
        """Each sentence of the passages -> its cosine with what the message asks (the best of
        its asking sentences, or the whole message). Sentences are encoded once and cached."""
        if self.weights.meaning == 0 and self.weights.min_meaning > 1:
            return {}
        texts = list(dict.fromkeys(h.text[a:b] for h in passages for a, b, ok in h.chunk.sentences if ok))
        if not texts:
            return {}
        asks = asked_parts(query[: self.settings.max_message_chars])
        q = sentence_vectors(self.model, asks)
        return dict(zip(texts, (self._vectors_of(index, texts) @ q.T).max(axis=1).tolist()))

    def _vectors_of(self, index: LoadedIndex, texts: list[str]) -> np.ndarray:
        """Sentence vectors from the index (built with it, one per distinct sentence); a text the
        index doesn't hold as a sentence is encoded (and cached)."""
        ids = index_sentence_ids(index)
        known = [ids.get(t) for t in texts]
        out = np.zeros((len(texts), index.sentence_vectors.d), dtype=np.float32)
        for k, i in enumerate(known):
            if i is not None:
                out[k] = index.sentence_vectors.reconstruct(i)
        missing = [k for k, i in enumerate(known) if i is None]
        if missing:
            out[missing] = sentence_vectors(self.model, [texts[k] for k in missing])
        return out

    def _sentence_hits(self, index: LoadedIndex, query: str, hits: list[Hit], n: int) -> list[Hit]:
        """Passages holding the corpus sentences nearest in meaning to what the message asks,
        not among `hits` yet: a sentence that answers can sit in a passage whose other
        sentences are about something else, which passage retrieval ranks low."""
        if n <= 0:
            return []
        asks = asked_parts(query[: self.settings.max_message_chars])
        q = sentence_vectors(self.model, asks)
        m = min(n * 3, len(index.sentence_owners))
        scores, ids = index.sentence_vectors.search(np.ascontiguousarray(q, dtype=np.float32), m)
        best: dict[int, float] = {}
        for row_s, row_i in zip(scores, ids):
            for sc, j in zip(row_s, row_i):
                if j >= 0:
                    for c in index.sentence_owners[j][:1]:
                        best[c] = max(best.get(c, -1.0), float(sc))
        have = {h.chunk_id for h in hits}
        extra = []
        for c, sc in sorted(best.items(), key=lambda kv: -kv[1]):
            chunk = index.chunks[c]
            if chunk.chunk_id in have:
                continue
            extra.append(Hit(chunk.doc_id, chunk.chunk_id, chunk.title, chunk.text, sc, chunk, sc, 0.0, sc))
            have.add(chunk.chunk_id)
            if len(extra) >= n:
                break
        return extra

    def _plain(self, parts, esc, intent, query="", alert=""):
        return A.Reply(
            text=A.render(parts), answered=False, citations=[], escalation=esc,
            disclaimer=A.DISCLAIMER, intent=intent, query=query, alert=alert,
        )

    def _red_flag_info(self, t: TriageResult) -> str:
        """For 'what are the warning signs?' questions: the catalogue, without the alarm."""
        if not t.asks_about_red_flags:
            return ""
        return A.warning_signs_text(self.settings)
