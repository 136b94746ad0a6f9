"""BackBot benchmarks: `python -m bench [--quick] [--json FILE] [--docs]`.

Prints a markdown table of the figures and the targets (met / not met), and writes JSON.
`--quick` (under two minutes; CI runs it to keep it working) uses the seed index only and
smaller samples; the full run adds the MedQuAD-size index (seed corpus + 16,407 NIH answers,
MedQuAD, Ben Abacha & Demner-Fushman 2019, CC BY 4.0), a 1,000,000-vector synthetic search
and the start-up of the page. Nothing here asserts a time: figures are reported, not tested.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from . import measure as M  # noqa: E402

WORK = M.ROOT / "bench" / ".work"  # indexes and caches kept between runs (gitignored)
DOCS = M.ROOT / "docs" / "benchmarks.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def machine() -> dict:
    cpu = ""
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                   if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = ""
    try:
        kb = int(next(l.split()[1] for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")))
        mem = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration):
        pass
    import faiss
    import torch

    return {"cpu": cpu, "cores": os.cpu_count(), "memory": mem, "python": platform.python_version(),
            "torch": torch.__version__, "faiss": faiss.__version__, "platform": platform.platform()}


def build_seconds(stdout: str) -> float:
    m = re.search(r"in ([0-9.]+) s\.", stdout)
    return float(m.group(1)) if m else float("nan")


def build(corpus: Path, index: Path, full: bool) -> dict:
    cmd = [sys.executable, "-m", "bot", "build", "--quiet", "--corpus", str(corpus), "--index", str(index)]
    r = M.run_measured(cmd + (["--full"] if full else []))
    if r["returncode"] != 0:
        raise RuntimeError(f"build failed: {r['stderr'][-800:]}")
    manifest = json.loads((index / (index / "CURRENT").read_text().strip() / "manifest.json").read_text())
    return {"wall_s": r["seconds"], "build_s": build_seconds(r["stdout"]), "peak_rss_mb": r["peak_rss_mb"],
            "chunks": manifest["counts"]["chunks"], "articles": manifest["counts"]["articles"],
            "encoded": manifest.get("build", {}).get("encoded"), "summary": r["stdout"].strip()}


def run(quick: bool) -> dict:
    from bot import Chatbot
    from bot.corpus.chunking import sentence_units
    from bot.index.embedding import load_model

    results: dict = {"quick": quick, "machine": machine(), "started": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    n_questions = 60 if quick else 200
    questions = M.fixed_questions(n_questions)

    def say(msg):
        print(f"[bench] {msg}", file=sys.stderr, flush=True)

    # -- build throughput against bare encode, on the same chunk texts
    say("build throughput")
    tp_corpus = WORK / ("tp-quick" if quick else "tp") / "corpus"
    shutil.rmtree(tp_corpus, ignore_errors=True)
    M.medquad_corpus(tp_corpus, limit=20 if quick else 1500)
    tp_index = tp_corpus.parent / "index"
    b = build(tp_corpus, tp_index, full=True)
    model = load_model(M.settings_for(tp_corpus, tp_index).model)
    bot_tp = Chatbot.load(settings=M.settings_for(tp_corpus, tp_index))
    # What a full build encodes: every chunk, then each sentence that isn't a whole chunk already.
    chunk_texts = [c.text for c in bot_tp.index.chunks]
    whole = set(chunk_texts)
    texts = chunk_texts + [t for t in sentence_units(bot_tp.index.chunks).texts if t not in whole]
    bare = M.encode_throughput(model, texts, bot_tp.settings.embed_batch_size)
    results["build"] = {**b, "texts": len(texts), "texts_per_s": len(texts) / b["build_s"],
                        "bare_encode_texts_per_s": bare, "ratio": (len(texts) / b["build_s"]) / bare}
    del bot_tp

    # -- seed index: floor, latency by stage, concurrency
    say("seed index: latency")
    seed_index = WORK / "seed-index"
    build(M.ROOT / "corpus", seed_index, full=False)
    bot = Chatbot.load(settings=M.settings_for(M.ROOT / "corpus", seed_index))
    results["floor"] = M.encode_floor(bot.model, questions)
    results["seed"] = {"chunks": len(bot.index.chunks), **M.reply_latency(bot, questions)}
    say("concurrency")
    results["concurrency"] = [M.concurrency(bot, questions, c, 6 if quick else 25) for c in (1, 2, 4, 8)]

    # -- start-up
    say("start-up")
    results["startup"] = M.startup(seed_index, repeats=1 if quick else 3)
    if not quick:
        results["startup"].update(M.page_startup(seed_index, port=_free_port()))

    # -- MedQuAD-size index
    if not quick:
        say("MedQuAD-size index (the first run embeds 51,590 chunks: about 15 minutes)")
        mq_corpus = M.medquad_corpus(WORK / "medquad" / "corpus")
        mq_index = WORK / "medquad" / "index"
        for extra in mq_corpus.glob("*.xml"):
            extra.unlink()  # a previous run's added article
        first = build(mq_corpus, mq_index, full=False)
        shutil.copy(M.NIH / "4-sciatica.xml", mq_corpus)
        add = build(mq_corpus, mq_index, full=False)
        (mq_corpus / "4-sciatica.xml").unlink()
        remove = build(mq_corpus, mq_index, full=False)
        results["medquad_build"] = {"initial": first, "add_one_article": add, "remove_one_article": remove}
        say("MedQuAD-size index: latency")
        big = Chatbot.load(settings=M.settings_for(mq_corpus, mq_index))
        results["medquad"] = {"chunks": len(big.index.chunks), "faiss": big.index.manifest.get("faiss", {}),
                              **M.reply_latency(big, questions)}
        say("HNSW on the MedQuAD-size index's real vectors")
        results["real_hnsw"] = M.real_vectors_hnsw(big.index.vectors, big.settings)
        del big

    # -- search cost at scale (random vectors)
    say("synthetic search")
    dim = bot.index.vectors.d
    if quick:
        results["synthetic"] = M.synthetic_search(50_000, dim, 100, ("flat", "ivf"))
    else:
        results["synthetic"] = (M.synthetic_search(100_000, dim, 200, ("flat", "hnsw", "ivf"))
                                + M.synthetic_search(1_000_000, dim, 200, ("flat", "ivf")))
    results["targets"] = targets(results)
    return results


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def targets(r: dict) -> list[dict]:
    out = []

    def add(name, value, limit, met, unit=""):
        out.append({"target": name, "value": value, "limit": limit, "met": bool(met), "unit": unit})

    floor = r["floor"]["p50_ms"]
    add("seed reply p50 <= 2 x query-embedding p50", r["seed"]["reply"]["p50_ms"] / floor, 2.0,
        r["seed"]["reply"]["p50_ms"] <= 2 * floor, "x")
    if "medquad" in r:
        add("MedQuAD-size reply p95 <= 60 ms", r["medquad"]["reply"]["p95_ms"], 60.0,
            r["medquad"]["reply"]["p95_ms"] <= 60, "ms")
    add("build throughput >= 0.8 x bare encode", r["build"]["ratio"], 0.8, r["build"]["ratio"] >= 0.8, "x")
    if "medquad_build" in r:
        s = r["medquad_build"]["add_one_article"]["build_s"]
        add("add one article to the MedQuAD-size index <= 10 s beyond start-up", s, 10.0, s <= 10, "s")
    st = r["startup"]
    add("`python -m bot ask` first answer <= floor + 1.5 s", st["ask_s"] - st["floor_s"], 1.5,
        st["ask_s"] <= st["floor_s"] + 1.5, "s over the floor")
    return out


def markdown(r: dict) -> str:
    m = r["machine"]
    lines = [f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory']}; Python {m['python']}, torch {m['torch']}, "
             f"faiss {m['faiss']}. Run: {r['started']}{' (--quick)' if r['quick'] else ''}.", ""]
    lines += ["### Targets", "", "| target | measured | limit | met |", "| --- | --- | --- | --- |"]
    for t in r["targets"]:
        lines.append(f"| {t['target']} | {t['value']:.2f} {t['unit']} | {t['limit']} | {'met' if t['met'] else '**not met**'} |")
    lines += ["", "### Reply latency (`Chatbot.reply`, one caller)", "",
              "| index | chunks | p50 ms | p95 ms | p99 ms | p50 / embedding floor |", "| --- | --- | --- | --- | --- | --- |"]
    floor = r["floor"]["p50_ms"]
    for name in ("seed", "medquad"):
        if name in r:
            x = r[name]
            lines.append(f"| {name} | {x['chunks']:,} | {x['reply']['p50_ms']:.1f} | {x['reply']['p95_ms']:.1f} | "
                         f"{x['reply']['p99_ms']:.1f} | {x['reply']['p50_ms'] / floor:.2f} |")
    lines.append(f"| *floor: bare `model.encode` of one query* | | {floor:.1f} | {r['floor']['p95_ms']:.1f} | "
                 f"{r['floor']['p99_ms']:.1f} | 1.00 |")
    lines += ["", "Per stage (median ms over the replies that reached the stage):", "",
              "| stage | " + " | ".join(n for n in ("seed", "medquad") if n in r) + " |",
              "| --- |" + " --- |" * sum(1 for n in ("seed", "medquad") if n in r)]
    for stage in ("triage", "query resolution", "embedding", "dense search", "bm25", "fusion", "rerank", "diversity",
                  "composition"):
        # The rerank is skipped above `rerank_max_chunks` (the MedQuAD-size index): no figure.
        cells = [f"{r[n]['stages'][stage]['p50_ms']:.2f}" if stage in r[n]["stages"] else "–"
                 for n in ("seed", "medquad") if n in r]
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    calls = " | ".join(f"{r[n]['model_calls']['p50']:.0f} (mean {r[n]['model_calls']['mean']:.2f})"
                       for n in ("seed", "medquad") if n in r and "model_calls" in r[n])
    if calls:
        lines.append(f"| *model forward passes per reply: median* | {calls} |")
    lines += ["", "A text is run through the model once per reply, by the first stage that needs it; the later "
              "stages reuse that pass (`embedding.recent_passes`). For a one-sentence question the meaning "
              "detector's clause, the search query and the answer's asked part are the same text, so its forward "
              "pass is timed under *triage*, and *embedding* and *composition* show only what they add to it."]
    b = r["build"]
    lines += ["", "### Build", "",
              f"Full build of {b['articles']:,} articles ({b['chunks']:,} chunks; {b['texts']:,} texts embedded, the "
              f"chunks and their sentences): {b['build_s']:.1f} s, {b['texts_per_s']:.0f} texts/s; bare `model.encode` "
              f"of the same texts {b['bare_encode_texts_per_s']:.0f} texts/s: ratio **{b['ratio']:.2f}**. "
              f"Peak memory {b['peak_rss_mb']:.0f} MB."]
    if "medquad_build" in r:
        mb = r["medquad_build"]
        lines += ["", "| MedQuAD-size index | build s (after start-up) | wall s | chunks embedded | peak MB |",
                  "| --- | --- | --- | --- | --- |"]
        first = ("build (vectors from the embedding cache of earlier runs)" if not mb["initial"]["encoded"]
                 else "build (cold: no vectors in the embedding cache)")
        for label, key in ((first, "initial"),
                           ("add one article", "add_one_article"), ("remove it again", "remove_one_article")):
            x = mb[key]
            built = "up to date" if x["build_s"] != x["build_s"] else f"{x['build_s']:.1f}"  # NaN: nothing to build
            lines.append(f"| {label} | {built} | {x['wall_s']:.1f} | {x['encoded']} | {x['peak_rss_mb']:.0f} |")
    st = r["startup"]
    lines += ["", f"### Start-up (median of {st.get('repeats', 1)} runs)", "", "| what | seconds | peak/resident MB |",
              "| --- | --- | --- |",
              f"| floor: import torch + sentence-transformers, load the model, one encode | {st['floor_s']:.2f} | {st['floor_peak_rss_mb']:.0f} |",
              f"| `python -m bot ask` to its answer | {st['ask_s']:.2f} | {st['ask_peak_rss_mb']:.0f} |"]
    if "page_ready_s" in st:
        lines += [f"| `python app.py` to the page serving | {st['page_ready_s']:.2f} | |",
                  f"| `python app.py` to its first answer | {st['page_first_answer_s']:.2f} | {st['app_rss_mb']:.0f} (after 21 replies) |"]
    lines += ["", "### Concurrency (seed index, threads calling `Chatbot.reply`)", "",
              "| callers | replies/s | p50 ms | errors |", "| --- | --- | --- | --- |"]
    for c in r["concurrency"]:
        lines.append(f"| {c['callers']} | {c['replies_per_s']:.1f} | {c['p50_ms']:.1f} | {c['errors']} |")
    if "real_hnsw" in r:
        h = r["real_hnsw"]
        lines += ["", f"HNSW over the MedQuAD-size index's own {h['n']:,} vectors (M={h['M']}, efSearch={h['ef_search']}): "
                  f"built in {h['build_s']:.1f} s, recall@10 against exact search **{h['recall_at_10']:.3f}**, "
                  f"search p50 {h['hnsw_p50_ms']:.2f} ms against {h['flat_p50_ms']:.2f} ms exact."]
    lines += ["", "### Search cost at scale (random normalised vectors, 384 dimensions)", "",
              "| vectors | index | build s | search p50 ms | p95 ms | recall@10 vs exact |", "| --- | --- | --- | --- | --- | --- |"]
    for s in r["synthetic"]:
        lines.append(f"| {s['n']:,} | {s['kind']} | {s['build_s']:.1f} | {s['search']['p50_ms']:.2f} | "
                     f"{s['search']['p95_ms']:.2f} | {s['recall_at_10']:.3f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="seed index only, small samples (under two minutes)")
    p.add_argument("--json", default=str(M.ROOT / "bench" / "results.json"), help="where to write the figures")
    p.add_argument("--docs", action="store_true", help=f"also put the table into {DOCS.relative_to(M.ROOT)}")
    args = p.parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    results = run(args.quick)
    Path(args.json).write_text(json.dumps(results, indent=2, default=str), encoding="utf-8")
    table = markdown(results)
    print(table)
    if args.docs:
        text = DOCS.read_text(encoding="utf-8")
        a, b = text.index(START) + len(START), text.index(END)
        cmd = "scripts/bench" + (" --quick" if args.quick else "")
        DOCS.write_text(text[:a] + f"\n_Generated by `{cmd}`._\n\n" + table + "\n" + text[b:], encoding="utf-8")
        print(f"\n{DOCS} updated", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
