"""The command line: `backbot serve | build | status | ask | eval | feedback | examples`
(`python -m bot ...` in a checkout).

Only light imports at the top: `ask` should cost the model load and nothing more (no gradio).
Errors are one sentence on stderr, never a traceback. Exit codes: 0 success, 1 a runtime error
(no index, a failed build, a damaged file; `status --check`: a rebuild is needed), 2 a usage
error (a bad option or argument, a missing input file, a bad setting).
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import sys
from pathlib import Path

from . import __version__
from .errors import BackBotError, UsageError
from .settings import Settings

#: Exit codes (documented in the README).
OK, RUNTIME_ERROR, USAGE_ERROR = 0, 1, 2




def _settings(args) -> Settings:
    return Settings.from_env(
        corpus_dir=getattr(args, "corpus", None),
        index_dir=getattr(args, "index", None),
        model=getattr(args, "model", None),
    )


def cmd_build(args) -> int:
    from .index.build import build_index, prepare, previous_build
    from .tools.maintenance import dry_run_text, summary_text

    settings = _settings(args)
    if args.dry_run:
        prep = prepare(settings, full=args.full, live=previous_build(settings), progress=not args.quiet)
        print(dry_run_text(prep, verbose=not args.quiet))
        return 0
    print(f"{'Full' if args.full else 'Incremental'} build (a full one if there is no index yet) of {settings.index_dir} from {settings.corpus_dir} (model {settings.model})", file=sys.stderr)
    stage = (lambda msg: None) if args.quiet else (lambda msg: print(f"... {msg}", file=sys.stderr, flush=True))
    summary = build_index(settings, progress=not args.quiet, full=args.full, on_stage=stage)
    for s in summary.skipped:
        print(f"warning: skipped {s.path}: {s.reason}", file=sys.stderr)
    print(summary_text(summary))
    return 0


def cmd_status(args) -> int:
    from .tools.maintenance import index_status, status_text

    settings = _settings(args)
    st = index_status(settings)
    print(status_text(st, settings))
    # For cron and CI: 1 when a build would change the index (or there is none to serve).
    return RUNTIME_ERROR if args.check and st.rebuild_needed else OK


def cmd_serve(args) -> int:
    from .page import serve

    return serve(Settings.from_env(host=args.host, port=args.port, index_dir=args.index, root_path=args.root_path))


def cmd_ask(args) -> int:
    from .chat import Chatbot

    settings = _settings(args)
    bot = Chatbot.load(settings=settings)
    reply = bot.reply(args.question)
    if args.json:
        from .compose.api import reply_data

        print(json.dumps(reply_data(reply, settings, args.question, []), ensure_ascii=False, indent=2))
    else:
        print(reply.text)
    return 0


#: The labelled sets `eval` reads by default: those of a checkout of the repository, relative to
#: the folder it runs in (an installed BackBot has no test data: give the files).
TESTS_DATA = Path("tests") / "data"
_FROM_CHECKOUT = " (the default sets are in tests/data of a checkout of the repository; give the files)"

#: The triage sets `eval --triage` reads by default, side by side.
TRIAGE_SETS = ("triage_real_dev.jsonl", "triage_real_heldout.jsonl", "triage_real_fresh.jsonl",
               "triage_real_fresh2.jsonl", "triage_real_fresh3.jsonl", "triage_vignettes.jsonl", "triage_heldout.jsonl")


def _print_leave_one_set_out(sets: dict, model) -> None:
    from .tools import evaluation as ev

    print("\nLeave one set out (fitted on the others, measured on the one left out):\n")
    print("| set left out | threshold | margin | sensitivity | emergencies | specificity |\n| --- | --- | --- | --- | --- | --- |")
    folds = ev.cross_validate_meaning_detector(sets, model)
    for name, t, m, r in folds:
        print(f"| {name} | {t:.2f} | {m:.2f} | {r.sensitivity:.3f} | {r.emergency_sensitivity:.3f} | {r.specificity:.3f} |")
    r = ev.pool_reports([r for *_, r in folds])
    print(f"| **all, pooled** | | | {r.sensitivity:.3f} | {r.emergency_sensitivity:.3f} | {r.specificity:.3f} |")


def _eval_triage(args, tests) -> int:
    from pathlib import Path

    from .tools import evaluation as ev

    paths = [Path(p) for p in args.vignettes] if args.vignettes else [tests / n for n in TRIAGE_SETS]
    for p in paths:
        if not p.is_file():
            raise UsageError(f"The vignettes file {p} does not exist{_FROM_CHECKOUT}.")
    model = None
    if not args.catalogue_only:
        from .index.embedding import load_model

        model = load_model(Settings.from_env().model)
    if args.fit:
        if model is None:
            raise UsageError("--fit tunes the meaning detector: leave out --catalogue-only.")
        vignettes = [v for p in paths for v in ev.load_vignettes(p)]
        print("| threshold | margin | sensitivity | emergencies | specificity |\n| --- | --- | --- | --- | --- |")
        for t, m, r in ev.fit_meaning_detector(vignettes, model)[:15]:
            print(f"| {t:.2f} | {m:.2f} | {r.sensitivity:.3f} | {r.emergency_sensitivity:.3f} | {r.specificity:.3f} |")
        print("\nBest first. Set 'threshold' and 'margin' in bot/data/red_flag_examples.json; fit on development data only.")
        if len(paths) > 1:
            _print_leave_one_set_out({p.name: ev.load_vignettes(p) for p in paths}, model)
        return 0
    reports = [(p.name, ev.evaluate_triage(ev.load_vignettes(p), model)) for p in paths]
    detectors = "catalogue only" if args.catalogue_only else "catalogue + meaning"
    print(f"Triage ({detectors})\n")
    print("| metric | " + " | ".join(name for name, _ in reports) + " |")
    print("| --- |" + " --- |" * len(reports))
    rows = [("messages", lambda r: str(r.n)), ("sensitivity (any escalation)", lambda r: f"{r.sensitivity:.3f}"),
            ("sensitivity for emergencies", lambda r: f"{r.emergency_sensitivity:.3f}"),
            ("specificity", lambda r: f"{r.specificity:.3f}"), ("level agreement", lambda r: f"{r.level_agreement:.3f}")]
    for label, cell in rows:
        print(f"| {label} | " + " | ".join(cell(r) for _, r in reports) + " |")
    for name, r in reports:
        if len(r.families) > 2:
            print(f"\nBy family, {name} (right / of):")
            print("; ".join(f"{f} {a}/{b}" for f, (a, b) in r.families.items()))
    for name, r in reports:
        print(f"\nMisclassified in {name} ({len(r.misclassified)}):")
        for messages, expected, got in r.misclassified:
            print(f"- expected {expected or 'none'}, got {got or 'none'}: {messages}")
    return 0


#: The answer sets `eval --answers` reads by default, side by side.
ANSWER_SETS = ("answers_dev.jsonl", "answers_heldout.jsonl")


def _eval_answers(args, tests) -> int:
    from pathlib import Path

    from .tools import answer_eval as ae

    paths = [Path(p) for p in args.questions] if args.questions else [tests / n for n in ANSWER_SETS]
    for p in paths:
        if not p.is_file():
            raise UsageError(f"The questions file {p} does not exist{_FROM_CHECKOUT}.")
    sets = [(p.name, ae.load_items(p)) for p in paths]
    with _evaluation_index(args) as settings:
        from .chat import Chatbot

        bot = Chatbot.load(settings=settings)
        reports = [(name, ae.evaluate_answers(bot, items)) for name, items in sets]
    for name, r in reports:
        print(ae.report_markdown(r, name) + "\n")
    for name, r in reports:
        print(f"Answerable turns without a gold sentence in {name} ({len(r.misses)}):")
        for item_id, message, first in r.misses:
            print(f"- [{item_id}] {message[:160]!r} -> {first[:120]!r}")
        print()
    if args.report:
        from .tools import report

        report.write_answers_report(Path(args.report), reports)
        print(f"Report written to {args.report}")
    return 0


def cmd_eval(args) -> int:
    from pathlib import Path

    from .tools import evaluation as ev

    tests = TESTS_DATA
    if args.triage:
        return _eval_triage(args, tests)
    if args.answers:
        return _eval_answers(args, tests)
    paths = [Path(p) for p in (args.questions or [tests / "questions.jsonl", tests / "scope.jsonl"])]
    for p in paths:
        if not p.is_file():
            raise UsageError(f"The questions file {p} does not exist{_FROM_CHECKOUT}.")
    questions = ev.load_questions(*paths)
    if not any(q.expected for q in questions):
        raise UsageError("No labelled questions (rows with \"expected\" phrases) in " + ", ".join(map(str, paths)) + ".")
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    for m in methods:
        if m not in ev.METHODS:
            raise UsageError(f"Unknown method '{m}': choose from {', '.join(ev.METHODS)}.")
    with _evaluation_index(args) as settings:
        from .chat import Chatbot

        bot = Chatbot.load(settings=settings)
        calibrations = ev.calibrate(bot, questions, methods) if args.calibrate else None
        reports = ev.evaluate_methods(bot, questions, methods)
        meta = {
            "corpus": ", ".join(args.corpus) if args.corpus else str(settings.corpus_dir),
            "questions": ", ".join(map(str, paths)),
            "labelled questions": sum(1 for q in questions if q.expected),
            "out-of-scope questions": sum(1 for q in questions if not q.in_scope),
            "chunks": len(bot.index.chunks),
            "fusion": f"{settings.fusion} (k={settings.rrf_k}, weights dense {settings.dense_weight} / best sentence {settings.sentence_weight} / bm25 {settings.bm25_weight})",
            "rerank": f"late interaction over the top {settings.rerank_candidates} (hybrid)" if settings.rerank_candidates else "off",
            "mmr_lambda": settings.mmr_lambda,
            "lay-term expansion": settings.expand_lay_terms,
        }
    from .tools import report

    if args.json:
        print(report.to_json(reports, calibrations, meta))
    else:
        print(f"Retrieval on {meta['labelled questions']} labelled questions, {meta['out-of-scope questions']} out of scope "
              f"({meta['chunks']} chunks)\n")
        print(report.table(reports))
        print("\n" + report.LEGEND + "\n")
        print(report.details(reports))
        if calibrations:
            print("\nCalibration (best balanced accuracy):")
            print(report.calibration_text(calibrations))
    if args.report:
        out = Path(args.report)
        out.write_text(report.to_html(reports, calibrations, meta), encoding="utf-8")
        print(f"\nReport written to {out}", file=sys.stderr)
    return 0


def cmd_feedback(args) -> int:
    from pathlib import Path

    from .tools.feedback import summarise, summary_text

    settings = Settings.from_env(feedback_file=Path(args.file) if args.file else None)
    print(summary_text(summarise(settings.feedback_file, top=args.top)))
    return 0


def cmd_examples(args) -> int:
    from pathlib import Path

    from .chat import Chatbot
    from .tools.examples import load_examples, render_examples

    source = Path(args.conversations)
    if not source.is_file():
        raise UsageError(f"The conversations file {source} does not exist{_FROM_CHECKOUT}.")
    examples = load_examples(source)
    text = render_examples(Chatbot.load(settings=_settings(args)), examples)
    Path(args.out).write_text(text + "\n", encoding="utf-8")
    print(f"Wrote {len(examples)} conversations to {args.out}", file=sys.stderr)
    return 0


@contextlib.contextmanager
def _evaluation_index(args):
    """The index to evaluate: the usual one, or one built now from `--corpus` folders
    (merged) in a temporary folder, so evaluating never touches the live index."""
    import shutil
    import tempfile
    from pathlib import Path

    from .index.build import build_index

    settings = _settings(argparse.Namespace(index=args.index, model=args.model))
    if not args.corpus:
        yield settings
        return
    with tempfile.TemporaryDirectory(prefix="backbot-eval-") as tmp:
        corpus = Path(tmp) / "corpus"
        for n, folder in enumerate(args.corpus):
            folder = Path(folder)
            if not folder.is_dir():
                raise UsageError(f"The corpus folder {folder} does not exist.")
            # One subfolder per source keeps article ids apart when two folders share file names.
            shutil.copytree(folder, corpus / f"{n}-{folder.name}" if len(args.corpus) > 1 else corpus)
        settings = dataclasses.replace(settings, corpus_dir=corpus, index_dir=Path(tmp) / "index")
        print(f"Building a temporary index from {', '.join(args.corpus)}...", file=sys.stderr)
        summary = build_index(settings)
        for s in summary.skipped:
            print(f"warning: skipped {s.path}: {s.reason}", file=sys.stderr)
        yield settings


def build_parser() -> argparse.ArgumentParser:
    """Every command and option (a declarative builder: long by nature, one line per option)."""
    parser = argparse.ArgumentParser(
        prog="backbot", description="BackBot: back and neck pain answers quoted from articles, with red-flag triage.",
        epilog="Exit codes: 0 success, 1 runtime error (or `status --check`: rebuild needed), 2 usage error.")
    parser.add_argument("--version", action="version", version=f"backbot {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sv = sub.add_parser("serve", help="serve the chat page (and its /ask API)")
    sv.add_argument("--host", help="address to bind (default 127.0.0.1; or BACKBOT_HOST, GRADIO_SERVER_NAME)")
    sv.add_argument("--port", type=int, help="port (default 7860; or BACKBOT_PORT, GRADIO_SERVER_PORT)")
    sv.add_argument("--root-path", help="URL prefix when served behind a reverse proxy, e.g. /backbot")
    sv.add_argument("--index", help="index folder (default: ./index)")
    sv.set_defaults(func=cmd_serve)

    b = sub.add_parser("build", help="(re)build the index from a folder of articles")
    b.add_argument("--corpus", help="folder of articles (default: ./corpus)")
    b.add_argument("--index", help="index folder (default: ./index)")
    b.add_argument("--model", help="embedding model: a path or name (default: all-MiniLM-L6-v2)")
    b.add_argument("--full", action="store_true",
                   help="rebuild from scratch: retrain the sentence splitter and re-embed every chunk")
    b.add_argument("--dry-run", action="store_true",
                   help="read and clean only: report per article what was dropped and why; write nothing")
    b.add_argument("--quiet", action="store_true", help="no progress output (with --dry-run: totals only)")
    b.set_defaults(func=cmd_build)

    st = sub.add_parser("status", help="show the index and whether the corpus folder has changed since it was built")
    st.add_argument("--corpus", help="folder of articles (default: ./corpus)")
    st.add_argument("--index", help="index folder (default: ./index)")
    st.add_argument("--model", help="embedding model the index should use")
    st.add_argument("--check", action="store_true", help="exit 1 when a rebuild is needed (for cron and CI)")
    st.set_defaults(func=cmd_status)

    a = sub.add_parser("ask", help="answer one question")
    a.add_argument("question")
    a.add_argument("--index", help="index folder (default: ./index)")
    a.add_argument("--model", help="embedding model the index was built with")
    a.add_argument("--json", action="store_true", help="print the reply as JSON")
    a.set_defaults(func=cmd_ask)

    e = sub.add_parser("eval", help="measure retrieval (dense, BM25, hybrid) on labelled questions, or triage")
    e.add_argument("--questions", nargs="+", metavar="FILE",
                   help="labelled JSONL files (default: tests/data/questions.jsonl tests/data/scope.jsonl)")
    e.add_argument("--corpus", nargs="+", metavar="DIR",
                   help="evaluate on these article folders (merged) in a temporary index instead of index/")
    e.add_argument("--index", help="index folder (default: ./index)")
    e.add_argument("--model", help="embedding model the index was built with")
    e.add_argument("--methods", default="dense,bm25,hybrid", help="comma-separated (default: dense,bm25,hybrid)")
    e.add_argument("--calibrate", action="store_true", help="also fit each method's abstention threshold and show it")
    e.add_argument("--json", action="store_true", help="print the results as JSON")
    e.add_argument("--report", metavar="FILE.html", help="write an HTML report with the table and plots")
    e.add_argument("--triage", action="store_true", help="evaluate red-flag triage on the labelled vignettes instead")
    e.add_argument("--vignettes", nargs="+", metavar="FILE",
                   help="triage vignettes (JSONL), side by side; default: the four sets in tests/data")
    e.add_argument("--answers", action="store_true",
                   help="answer quality sentence by sentence (BackBot vs two naive peers) on labelled questions; "
                        "--questions FILE... (default: tests/data/answers_dev.jsonl and answers_heldout.jsonl)")
    e.add_argument("--fit", action="store_true",
                   help="with --triage: grid the meaning detector's threshold and margin on the given vignettes")
    e.add_argument("--catalogue-only", action="store_true",
                   help="with --triage: the catalogue's phrasings alone, without the meaning detector")
    e.set_defaults(func=cmd_eval)

    f = sub.add_parser("feedback", help="summarise the thumbs up/down votes from the page")
    f.add_argument("--file", help="votes file (default: feedback/votes.jsonl or BACKBOT_FEEDBACK_FILE)")
    f.add_argument("--top", type=int, default=10, help="how many down-voted questions to list (default 10)")
    f.set_defaults(func=cmd_feedback)

    docs = Path("docs")
    x = sub.add_parser("examples", help="render the sample conversations into docs/examples.md")
    x.add_argument("--conversations", default=str(docs / "example_conversations.jsonl"), help="JSONL: title, turns")
    x.add_argument("--out", default=str(docs / "examples.md"), help="markdown file to write (default docs/examples.md)")
    x.add_argument("--index", help="index folder (default: ./index)")
    x.set_defaults(func=cmd_examples)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except UsageError as e:  # settings included
        print(f"error: {e}", file=sys.stderr)
        return USAGE_ERROR
    except BrokenPipeError:
        # The reader stopped reading (`... | head`): not an error. Point stdout at /dev/null so
        # the interpreter's final flush doesn't raise again.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return OK
    except KeyboardInterrupt:
        print("Interrupted; the live index is unchanged.", file=sys.stderr)
        return 130
    except (BackBotError, OSError) as e:  # OSError: a disk that is full or read-only, a file that vanished
        print(f"error: {e}", file=sys.stderr)
        return RUNTIME_ERROR


if __name__ == "__main__":
    sys.exit(main())
