"""What a maintainer sees: the build summary, the dry-run report and the index status.

Data in, text out; the CLI only prints these.
"""
from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..corpus.cleaning import is_noise
from ..index.build import BuildSummary, Prepared
from ..index.store import UnusableIndexError, build_command, current_version_dir, file_sha256, read_jsonl
from ..corpus.ingest import CorpusError, corpus_files
from ..settings import Settings

EXAMPLE_CHARS = 110


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 1] + "…"


def _names(ids: tuple[str, ...], limit: int = 8) -> str:
    shown = ", ".join(ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def changes_text(changes) -> str:
    parts = [f"{len(changes.added)} added", f"{len(changes.changed)} changed", f"{len(changes.removed)} removed"]
    lines = ["Articles: " + ", ".join(parts) + "."]
    for label, ids in (("added", changes.added), ("changed", changes.changed), ("removed", changes.removed)):
        if ids:
            lines.append(f"  {label}: {_names(ids)}")
    return "\n".join(lines)


def summary_text(s: BuildSummary) -> str:
    if s.up_to_date:
        return (f"The index {s.version} is up to date with the corpus ({s.articles} articles, {s.chunks} chunks); "
                f"nothing was rebuilt. Use --full to rebuild anyway.")
    kind = "Full build" if s.full else "Incremental build"
    faiss = s.faiss.get("type", "?")
    if s.faiss.get("recall_at_10") is not None:
        faiss += f", recall@10 against exact search {s.faiss['recall_at_10']:.3f}"
    return "\n".join([
        f"{kind}: published index {s.version} in {s.seconds:.1f} s.",
        changes_text(s.changes),
        f"Index: {s.articles} articles, {s.chunks} chunks; {s.encoded} chunks and {s.sentences_encoded} sentences embedded now, "
        f"{s.reused} chunks from the cache.",
        f"Vectors: {faiss}.",
        f"Cleaning dropped {s.dropped_sentences} sentences (boilerplate, duplicates); {len(s.skipped)} files or records skipped.",
    ])


def dry_run_text(prep: Prepared, verbose: bool = True) -> str:
    """Per article: what cleaning dropped and why, and what answers may not quote."""
    lines = []
    totals: Counter = Counter()
    for a in prep.cleaned:
        chunks = sum(1 for c in prep.chunks if c.doc_id == a.doc_id)
        quotable = sum(1 for s in a.sentences if s.quotable)
        lines.append(f"{a.path} [{a.doc_id}] \"{_short(a.title)}\": {len(a.sentences)} sentences kept "
                     f"({quotable} quotable), {chunks} chunks, {len(a.dropped)} dropped")
        for d in a.dropped:
            reason = d.reason.split(" (")[0] if d.reason.startswith("boilerplate") else d.reason
            totals["dropped: " + reason.split(" (")[0]] += 1
            if verbose:
                lines.append(f"  - dropped, {reason}: {_short(d.text)}")
        for s in a.sentences:
            if s.flaw:
                where = "left out of the index" if is_noise(s.flaw) else "kept for context, never quoted"
                totals[f"{where}: {s.flaw.split(' (')[0]}"] += 1
                if verbose:
                    lines.append(f"  - {where}, {s.flaw}: {_short(a.sentence_text(s))}")
    lines.append("")
    for s in prep.skipped:
        lines.append(f"skipped {s.path}: {s.reason}")
    lines.append(f"\nDry run: {len(prep.cleaned)} articles, {len(prep.chunks)} chunks, {len(prep.skipped)} skipped. "
                 "Nothing was written.")
    lines.append(changes_text(prep.changes))
    lines.append("Totals by reason:")
    lines.extend(f"  {n:6d}  {reason}" for reason, n in totals.most_common())
    return "\n".join(lines)


@dataclass
class Status:
    index_dir: Path
    corpus_dir: Path
    problem: str = ""  # the index can't be used: why, and the fix
    manifest: dict = field(default_factory=dict)
    articles: int = 0
    new_files: list[str] = field(default_factory=list)
    changed_files: list[str] = field(default_factory=list)
    removed_files: list[str] = field(default_factory=list)
    still_skipped: list[str] = field(default_factory=list)
    settings_differ: str = ""
    corpus_problem: str = ""

    @property
    def rebuild_needed(self) -> bool:
        return bool(self.problem or self.new_files or self.changed_files or self.removed_files or self.settings_differ)


def _timestamp(iso: str) -> float:
    try:
        return dt.datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return 0.0


def index_status(settings: Settings) -> Status:
    """Compare the live index with the corpus folder, by file content (not dates: a copied
    or checked-out file has a new date and the same text)."""
    st = Status(settings.index_dir, settings.corpus_dir)
    try:
        path = current_version_dir(settings)
        st.manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
        indexed: dict[str, str] = {}
        for row in read_jsonl(path / "articles.jsonl"):
            indexed[row["path"]] = row.get("sha256", "")
            st.articles += 1
    except UnusableIndexError as e:
        st.problem = str(e)
        indexed = {}
    except (OSError, ValueError, KeyError, TypeError):
        st.problem = f"The index in {settings.index_dir} is unreadable; rebuild it with: {build_command(settings)}"
        indexed = {}
    if st.manifest:
        if st.manifest.get("model") != settings.model:
            st.settings_differ = f"built with the model '{st.manifest.get('model')}', settings use '{settings.model}'"
        elif st.manifest.get("chunking") != settings.chunking():
            st.settings_differ = f"built with chunking {st.manifest.get('chunking')}, settings use {settings.chunking()}"
    try:
        files = {p.relative_to(settings.corpus_dir).as_posix(): p for p in corpus_files(settings.corpus_dir)}
    except CorpusError as e:
        st.corpus_problem = str(e)
        files = {}
    # [path, reason] pairs; a collection file may have many (one per bad record).
    skipped = {p: r for p, r in st.manifest.get("skipped", []) if isinstance(p, str)}
    built = st.manifest.get("corpus_read_at") or _timestamp(st.manifest.get("built_at", ""))
    for rel, p in files.items():
        if rel not in indexed:
            # A file the last build skipped (unreadable, empty) is only news if edited since.
            if rel in skipped and built and p.stat().st_mtime <= built:
                st.still_skipped.append(f"{rel}: {skipped[rel]}")
            else:
                st.new_files.append(rel)
        elif indexed[rel] != file_sha256(p):
            st.changed_files.append(rel)
    st.removed_files = sorted(set(indexed) - set(files)) if not st.corpus_problem else []
    return st


def status_text(st: Status, settings: Settings) -> str:
    lines = [f"Index folder: {st.index_dir}", f"Corpus folder: {st.corpus_dir}"]
    if st.problem:
        lines.append(f"Index: {st.problem}")
    else:
        m = st.manifest
        faiss = m.get("faiss", {}).get("type", m.get("faiss_type", "?"))
        lines += [
            f"Index version: {m.get('version')} built {m.get('built_at')} (format {m.get('format_version')})",
            f"Model: {m.get('model')} ({m.get('dimension')} dimensions); chunking {m.get('chunking')}; vectors {faiss}",
            f"Contents: {m.get('counts', {}).get('articles', st.articles)} articles, "
            f"{m.get('counts', {}).get('chunks', '?')} chunks",
        ]
    if st.corpus_problem:
        lines.append(f"Corpus: {st.corpus_problem}")
    for label, names in (("new (not in the index)", st.new_files), ("changed since the build", st.changed_files),
                         ("removed from the corpus folder", st.removed_files)):
        if names:
            lines.append(f"Files {label}: {len(names)}")
            lines.extend(f"  {n}" for n in names[:20])
            if len(names) > 20:
                lines.append(f"  ... and {len(names) - 20} more")
    if st.still_skipped:
        lines.append(f"Files skipped by the last build and not edited since: {len(st.still_skipped)}")
        lines.extend(f"  {n}" for n in st.still_skipped[:20])
    if st.settings_differ:
        lines.append(f"Settings differ: {st.settings_differ}")
    if st.rebuild_needed:
        lines.append(f"Rebuild needed: yes. Run: {build_command(settings)}")
    else:
        lines.append("Rebuild needed: no; the index matches the corpus folder.")
    return "\n".join(lines)
