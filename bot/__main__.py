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
