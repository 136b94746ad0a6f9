"""The command line: `python -m bot build | ask`.

Only light imports at the top: `ask` should cost the model load and nothing more (no gradio).
Errors are one sentence on stderr and a non-zero exit, never a traceback.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys

from .settings import Settings, SettingsError


def _settings(args) -> Settings:
    return Settings.from_env(
        corpus_dir=getattr(args, "corpus", None),
        index_dir=getattr(args, "index", None),
        model=getattr(args, "model", None),
    )


def cmd_build(args) -> int:
    from .index import build_index

    settings = _settings(args)
    print(f"Building the index from {settings.corpus_dir} into {settings.index_dir} (model {settings.model})...", file=sys.stderr)
    summary = build_index(settings, progress=not args.quiet)
    for s in summary.skipped:
        print(f"warning: skipped {s.path}: {s.reason}", file=sys.stderr)
    print(
        f"Built index {summary.version}: {summary.articles} articles, {summary.chunks} chunks, "
        f"{summary.dropped_sentences} boilerplate/duplicate sentences dropped, {len(summary.skipped)} files skipped, "
        f"{summary.seconds:.1f} s."
    )
    return 0


def cmd_ask(args) -> int:
    from .chat import Chatbot

    bot = Chatbot.load(settings=_settings(args))
    reply = bot.reply(args.question)
    if args.json:
        print(json.dumps(reply.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(reply.text)
    return 0


def cmd_eval(args) -> int:
    from pathlib import Path

    from . import evaluation as ev

    tests = Path(__file__).resolve().parent.parent / "tests" / "data"
    if args.triage:
        r = ev.evaluate_triage(ev.load_vignettes(Path(args.vignettes or tests / "triage_vignettes.jsonl")))
        print(f"Triage on {r.n} vignettes")
        print("| metric | value |\n| --- | --- |")
        print(f"| sensitivity (any escalation) | {r.sensitivity:.3f} |")
        print(f"| sensitivity for emergencies | {r.emergency_sensitivity:.3f} |")
        print(f"| specificity | {r.specificity:.3f} |")
        print(f"| level agreement | {r.level_agreement:.3f} |")
        print(f"\nMisclassified ({len(r.misclassified)}):")
        for messages, expected, got in r.misclassified:
            print(f"- expected {expected or 'none'}, got {got or 'none'}: {messages}")
        return 0
    from .chat import Chatbot

    bot = Chatbot.load(settings=_settings(args))
    r = ev.evaluate_retrieval(bot.search, ev.load_questions(Path(args.questions or tests / "questions.jsonl")))
    print(f"Dense retrieval on {r.n} questions (single-hit recall)")
    print("| recall@1 | recall@3 | recall@5 | MRR |\n| --- | --- | --- | --- |")
    print(f"| {r.recall[1]:.3f} | {r.recall[3]:.3f} | {r.recall[5]:.3f} | {r.mrr:.3f} |")
    for q in r.misses:
        print(f"- not in the top 3: {q}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="BackBot: back and neck pain answers from articles.")
    sub = parser.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="(re)build the index from a folder of articles")
    b.add_argument("--corpus", help="folder of articles (default: corpus/)")
    b.add_argument("--index", help="index folder (default: index/)")
    b.add_argument("--model", help="embedding model: a path or name (default: all-MiniLM-L6-v2)")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    b.set_defaults(func=cmd_build)

    a = sub.add_parser("ask", help="answer one question")
    a.add_argument("question")
    a.add_argument("--index", help="index folder (default: index/)")
    a.add_argument("--model", help="embedding model the index was built with")
    a.add_argument("--json", action="store_true", help="print the reply as JSON")
    a.set_defaults(func=cmd_ask)

    e = sub.add_parser("eval", help="measure retrieval on labelled questions, or triage with --triage")
    e.add_argument("--triage", action="store_true", help="evaluate red-flag triage on the labelled vignettes")
    e.add_argument("--vignettes", help="triage vignettes (JSONL; default tests/data/triage_vignettes.jsonl)")
    e.add_argument("--questions", help="labelled questions (JSONL; default tests/data/questions.jsonl)")
    e.add_argument("--index", help="index folder (default: index/)")
    e.set_defaults(func=cmd_eval)

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from .embedding import ModelError
    from .index import BuildError, IndexError_
    from .ingest import CorpusError

    try:
        return args.func(args)
    except (IndexError_, BuildError, CorpusError, ModelError, SettingsError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("Interrupted; the live index is unchanged.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
