"""Answer quality, sentence by sentence: does the reply quote what answers the person?

Retrieval figures count a hit when the right passage is among the sources; a person reads the
sentences. Each labelled question (or turn of a conversation) lists the corpus sentences that
directly answer it (`gold`) and those that are acceptable context, or is marked not answerable
from the articles. Five figures, for BackBot and for two naive peers run on the same turns:

- answered: share of answerable turns whose reply quotes at least one sentence;
- gold quoted: share of answerable turns whose reply quotes a gold sentence;
- first gold: share of answerable turns whose first quoted sentence is gold;
- on topic: share of all quoted sentences that are gold or context;
- unanswerable handled: share of not-answerable turns declined, or answered only with
  gold or context sentences.

Peers: "naive" quotes the top 4 corpus sentences by cosine with the message; "top chunk"
quotes the best dense passage whole (typical RAG). Neither declines, reads the conversation
or knows what it quoted before.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ..errors import UsageError

SYSTEMS = ("BackBot", "naive: top 4 sentences", "top chunk whole")
FIGURES = ("answered", "gold quoted", "first gold", "on topic", "unanswerable handled")


@dataclass(frozen=True)
class Turn:
    user: str
    answerable: bool
    gold: tuple[str, ...]
    context: tuple[str, ...]


@dataclass(frozen=True)
class AnswerItem:
    id: str
    kind: str
    turns: tuple[Turn, ...]
    source: str = ""


@dataclass
class Tally:
    answerable: int = 0
    answered: int = 0
    gold: int = 0
    first_gold: int = 0
    quoted: int = 0
    on_topic: int = 0
    unanswerable: int = 0
    handled: int = 0

    def add(self, turn: Turn, quoted: list[str]) -> None:
        labelled = turn.gold + turn.context
        topical = [is_labelled(s, labelled) for s in quoted]
        self.quoted += len(quoted)
        self.on_topic += sum(topical)
        if turn.answerable:
            self.answerable += 1
            self.answered += bool(quoted)
            self.gold += any(is_labelled(s, turn.gold) for s in quoted)
            self.first_gold += bool(quoted) and is_labelled(quoted[0], turn.gold)
        else:
            self.unanswerable += 1
            self.handled += all(topical)

    def figures(self) -> dict[str, float | None]:
        div = lambda a, b: a / b if b else None  # noqa: E731
        return {"answered": div(self.answered, self.answerable), "gold quoted": div(self.gold, self.answerable),
                "first gold": div(self.first_gold, self.answerable), "on topic": div(self.on_topic, self.quoted),
                "unanswerable handled": div(self.handled, self.unanswerable)}


@dataclass
class AnswerReport:
    turns: int
    overall: dict[str, Tally]  # system -> tally
    by_kind: dict[str, dict[str, Tally]]  # kind -> system -> tally
    misses: list[tuple[str, str, str]] = field(default_factory=list)  # (item id, message, BackBot's first sentence)


def _fold(text: str) -> str:
    text = text.lower().replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return re.sub(r"\s+", " ", text).strip()


def is_labelled(sentence: str, labelled: tuple[str, ...]) -> bool:
    """Whether a quoted sentence is one of the labelled ones. Sentence splits differ a little
    between the labeller and the index, so one containing the other (20+ characters) counts."""
    s = _fold(sentence)
    for g in labelled:
        g = _fold(g)
        if s == g or (min(len(s), len(g)) >= 20 and (s in g or g in s)):
            return True
    return False


def load_items(path: Path) -> list[AnswerItem]:
    items = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            turns = tuple(Turn(t["user"], bool(t["answerable"]), tuple(t.get("gold", ())), tuple(t.get("context", ())))
                          for t in d["turns"])
        except (ValueError, KeyError, TypeError) as e:
            raise UsageError(f"{path.name}, line {n}: not a labelled question ({type(e).__name__}: {e}).") from None
        if not turns:
            raise UsageError(f"{path.name}, line {n}: 'turns' is empty.")
        items.append(AnswerItem(str(d.get("id", n)), d.get("kind") or "general", turns, d.get("source", "")))
    return items


def _corpus_sentences(index) -> list[str]:
    seen = {}
    for c in index.chunks:
        for a, b, quotable in c.sentences:
            if quotable:
                seen.setdefault(c.text[a:b], None)
    return list(seen)


def evaluate_answers(bot, items: list[AnswerItem], peers: bool = True) -> AnswerReport:
    """Run each item's turns through `bot` as one conversation (each reply's state kept with
    it, as the page does), and the peers on each turn alone (`peers=False` skips them)."""
    from ..index.embedding import encode

    sentences = _corpus_sentences(bot.index)
    sentence_vectors = encode(bot.model, sentences) if peers else None
    overall = {s: Tally() for s in SYSTEMS}
    by_kind: dict[str, dict[str, Tally]] = {}
    misses = []
    turns = 0
    for item in items:
        history: list[dict] = []
        for turn in item.turns:
            turns += 1
            reply = bot.reply(turn.user, history)
            history = history + [{"role": "user", "content": turn.user},
                                 {"role": "assistant", "content": reply.text, "state": reply.state()}]
            quoted = {SYSTEMS[0]: [s for s, _ in reply.sentences]}
            if peers:
                quoted[SYSTEMS[1]] = _naive(bot, turn.user, sentences, sentence_vectors)
                quoted[SYSTEMS[2]] = _top_chunk(bot, turn.user)
            kind = by_kind.setdefault(item.kind, {s: Tally() for s in SYSTEMS})
            for system, q in quoted.items():
                overall[system].add(turn, q)
                kind[system].add(turn, q)
            mine = quoted[SYSTEMS[0]]
            if turn.answerable and not any(is_labelled(s, turn.gold) for s in mine):
                misses.append((item.id, turn.user, mine[0] if mine else f"(not answered: {reply.intent})"))
    return AnswerReport(turns, overall, dict(sorted(by_kind.items())), misses)


def _naive(bot, message: str, sentences: list[str], vectors: np.ndarray, n: int = 4) -> list[str]:
    q = bot.embed_query(message[: bot.settings.max_message_chars])
    order = np.argsort(-(vectors @ q))[:n]
    return [sentences[i] for i in order]


def _top_chunk(bot, message: str) -> list[str]:
    hits = bot.search(message, k=1, method="dense")
    if not hits:
        return []
    c = hits[0].chunk
    return [c.text[a:b] for a, b, quotable in c.sentences if quotable]


def report_markdown(report: AnswerReport, title: str) -> str:
    """The five figures per system, overall and by question kind."""
    def row(label: str, tallies: dict[str, Tally]) -> list[str]:
        out = []
        for figure in FIGURES:
            cells = []
            for s in SYSTEMS:
                v = tallies[s].figures()[figure]
                cells.append("–" if v is None else f"{v:.2f}")
            out.append(f"| {label} | {figure} | " + " | ".join(cells) + " |")
        return out

    lines = [f"Answers on {title} ({report.turns} turns)\n", "| questions | figure | " + " | ".join(SYSTEMS) + " |",
             "| --- | --- |" + " --- |" * len(SYSTEMS)]
    lines += row("all", report.overall)
    for kind, tallies in report.by_kind.items():
        lines += row(f"{kind} ({tallies[SYSTEMS[0]].answerable + tallies[SYSTEMS[0]].unanswerable})", tallies)
    return "\n".join(lines)
