"""The second red-flag detector: clauses compared by meaning with reviewed example phrasings.

The catalogue (`red_flags.json`) recognises the phrasings someone wrote down; people describe
the same sign in words nobody wrote down ("wiping feels like someone else's skin"). This
detector compares each clause of a message, by MiniLM cosine, with a bank of example
phrasings per flag (`data/red_flag_examples.json`, data a clinician can review) and with
ordinary look-alikes ("no numbness, just stiff"). A clause fires a flag when its nearest flag
example is at least `threshold` similar and beats the nearest ordinary example by `margin`.
The ConText rules of the catalogue (negation, another person, finished history, hypothetical)
are then applied to the clause that matched. Triage escalates when either detector fires.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import RuleFileError
from ..index.embedding import VectorCache, encode
from ..rule_files import check_keys, compile_regex, read_json
from ..settings import DATA_DIR

EXAMPLES_FILE = DATA_DIR / "red_flag_examples.json"

#: A clause shorter than this (in words) says too little to be compared by meaning.
MIN_CLAUSE_WORDS = 3




@dataclass(frozen=True)
class ExampleBank:
    labels: tuple[str, ...]  # a flag id per row, or "" for an ordinary look-alike
    texts: tuple[str, ...]
    vectors: np.ndarray  # (rows, dim), normalised
    threshold: float
    margin: float
    flag_thresholds: tuple[tuple[str, float], ...] = ()  # flags that need less (or more) similarity
    flag_requires: tuple[tuple[str, re.Pattern], ...] = ()  # words a clause must hold to match the flag

    def threshold_for(self, flag: str) -> float:
        return dict(self.flag_thresholds).get(flag, self.threshold)

    def barred(self, clause: str) -> list[str]:
        """The flags this clause can't match by meaning: the model reads "pain down one leg"
        much like "pain down both legs", so where a flag turns on such a word, the clause must
        say it."""
        return [flag for flag, need in self.flag_requires if not need.search(clause)]


@dataclass(frozen=True)
class MeaningMatch:
    flag: str
    clause: str  # the clause as written
    example: str  # the example it matched
    similarity: float
    ordinary: float  # similarity of the nearest ordinary look-alike


def read_examples(path: Path = EXAMPLES_FILE, flag_ids: set[str] | None = None) -> dict:
    """The bank as data, checked: every flag key must be a catalogue flag id."""
    data = read_json(path)
    check_keys(path, data, "the file", {"threshold": (int, float), "margin": (int, float), "flags": dict, "not_flags": list},
               {"flag_thresholds": dict, "flag_requires": dict})
    for flag, pattern in data.get("flag_requires", {}).items():
        compile_regex(path, f"flag_requires.{flag}", pattern)
    if flag_ids is not None:
        bad = [k for k in list(data["flags"]) + list(data.get("flag_thresholds", {})) + list(data.get("flag_requires", {}))
               if k not in flag_ids]
        if bad:
            raise RuleFileError(f"{path}: {bad[0]!r} under 'flags' is not a flag id of red_flags.json.")
    return data


@lru_cache(maxsize=4)
def example_bank(model, path: Path = EXAMPLES_FILE, threshold: float | None = None,
                 margin: float | None = None, cache_dir: Path | None = None) -> ExampleBank:
    """The bank with its vectors (encoded once per model and file). With `cache_dir`, the
    vectors are kept there between runs: the bank has hundreds of phrasings, and encoding them
    would otherwise hold up the first reply of every `backbot ask` by seconds."""
    from .red_flags import red_flags

    data = read_examples(path, {f.id for f in red_flags()})
    labels, texts = [], []
    for flag, examples in data["flags"].items():
        labels += [flag] * len(examples)
        texts += examples
    labels += [""] * len(data["not_flags"])
    texts += data["not_flags"]
    return ExampleBank(tuple(labels), tuple(texts), _bank_vectors(model, texts, cache_dir),
                       float(data["threshold"] if threshold is None else threshold),
                       float(data["margin"] if margin is None else margin),
                       tuple((k, float(v)) for k, v in data.get("flag_thresholds", {}).items()),
                       tuple((k, compile_regex(path, f"flag_requires.{k}", v, re.IGNORECASE))
                             for k, v in data.get("flag_requires", {}).items()))


def _bank_vectors(model, texts: list[str], cache_dir: Path | None) -> np.ndarray:
    if cache_dir is None:
        return encode(model, texts)
    import hashlib
    import os

    # The key holds the texts and the model's own vector of a probe text, so another model (or
    # another version of it) never reads this model's vectors.
    probe = encode(model, ["red flag example bank"])[0]
    key = hashlib.sha1(probe.tobytes() + "\n".join(texts).encode("utf-8")).hexdigest()[:16]
    file = Path(cache_dir) / f"red_flag_examples-{key}.npy"
    try:
        vectors = np.load(file)
        if vectors.shape == (len(texts), probe.shape[0]):
            return vectors
    except (OSError, ValueError):
        pass
    vectors = encode(model, texts)
    try:  # a cache that can't be written (a read-only index folder) costs time, nothing else
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        tmp = file.with_name(f".{file.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            np.save(f, vectors)
        os.replace(tmp, file)
        for old in Path(cache_dir).glob("red_flag_examples-*.npy"):  # vectors of an edited bank
            if old != file:
                old.unlink(missing_ok=True)
    except OSError:
        pass
    return vectors


def clause_spans(text: str, splitter, terminators: re.Pattern) -> list[tuple[int, int]]:
    """Sentences of `text`, and their clauses (cut at the ConText terminators, "but", "and now"
    ..., and at commas before a clause of its own): a sign told in one clause ("my foot slaps
    on the floor") and a sign told across a sentence ("pain down my arm ... and I'm sweaty") are
    both compared."""
    lowered = text.lower()
    spans = []
    for a, b in splitter.span_tokenize(text) or [(0, len(text))]:
        cuts = [a] + [a + m.start() for m in terminators.finditer(lowered[a:b]) if m.start() > 0] + [b]
        # A whole sentence is compared only when no terminator divides it: past one, the
        # context of the first part ("I used to have numbness") no longer holds.
        if len(cuts) == 2 and len(lowered[a:b].split()) >= MIN_CLAUSE_WORDS:
            spans.append((a, b))
        for s, e in zip(cuts, cuts[1:]):
            if len(lowered[s:e].split()) >= MIN_CLAUSE_WORDS:
                spans.append((s, e))
            for part_a, part_b in _comma_parts(lowered, s, e):
                if len(lowered[part_a:part_b].split()) >= MIN_CLAUSE_WORDS:
                    spans.append((part_a, part_b))
    return list(dict.fromkeys(spans))


_CLAUSE_BREAK = re.compile(r"[;,:()]+\s+|\s+-+\s+|\.\.+\s*")


def _comma_parts(text: str, a: int, b: int) -> list[tuple[int, int]]:
    parts, start = [], a
    for m in _CLAUSE_BREAK.finditer(text, a, b):
        parts.append((start, m.start()))
        start = m.end()
    parts.append((start, b))
    # A part of one or two words ("to be honest,") stays with the next part.
    merged: list[tuple[int, int]] = []
    carry = None
    for s, e in parts:
        s = carry if carry is not None else s
        carry = None
        if len(text[s:e].split()) < MIN_CLAUSE_WORDS and (s, e) != parts[-1]:
            carry = s
            continue
        merged.append((s, e))
    return merged


#: Clause vectors, encoded alone (pooled from the whole message, a clause takes on its
#: neighbours' meaning: "my back is just achy" next to "I don't have a fever" reads as fever),
#: and cached: triage reads every earlier turn again at each reply.
clause_vectors = VectorCache()


def match_clauses(bank: ExampleBank, clauses: list[str], vectors: np.ndarray) -> list[MeaningMatch]:
    """The clauses whose nearest flag example passes the threshold and beats the ordinary ones."""
    if not len(clauses):
        return []
    sims = vectors @ bank.vectors.T  # (clauses, rows)
    labels = np.array(bank.labels)
    ordinary = labels == ""
    matches = []
    for c, row in enumerate(sims):
        barred = bank.barred(clauses[c])
        flag_rows = np.where(~ordinary & ~np.isin(labels, barred))[0] if barred else np.where(~ordinary)[0]
        if not len(flag_rows):
            continue
        best = int(flag_rows[np.argmax(row[flag_rows])])
        best_ordinary = float(row[ordinary].max()) if ordinary.any() else -1.0
        if row[best] >= bank.threshold_for(bank.labels[best]) and row[best] >= best_ordinary + bank.margin:
            matches.append(MeaningMatch(bank.labels[best], clauses[c], bank.texts[best], float(row[best]), best_ordinary))
    return matches


def find_by_meaning(model, text: str, splitter, terminators: re.Pattern, bank: ExampleBank | None = None
                    ) -> list[MeaningMatch]:
    """Each sentence or clause of `text` that reads like a red flag."""
    bank = bank or example_bank(model)
    clauses = [text[a:b] for a, b in clause_spans(text, splitter, terminators)]
    return match_clauses(bank, clauses, clause_vectors(model, clauses))
