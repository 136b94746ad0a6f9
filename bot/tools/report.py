"""Render an evaluation: a markdown table for the terminal, JSON for machines, and a
self-contained HTML page (table + matplotlib plots embedded as PNG, nothing fetched)."""
from __future__ import annotations

import base64
import dataclasses
import html
import io
import json

from .evaluation import CURVE_KS, TABLE_KS, Calibration, MethodReport
from ..retrieval.search import METHODS

COLUMNS = (*(f"success@{k}" for k in TABLE_KS), *(f"recall@{k}" for k in TABLE_KS),
           "MRR", "nDCG@5", "OOS precision", "OOS recall", "ms/query")

#: What the columns mean, under the table (text and HTML alike).
LEGEND = ("success@k: share of questions with a relevant passage (one containing an expected phrase) in the top k.\n"
          "recall@k: share of each question's relevant passages (all such passages of the corpus) in the top k, averaged.\n"
          f"MRR over the top {max(CURVE_KS)}; nDCG@5 with binary gains.\n"
          "OOS: out of scope; precision is the share of declined questions that were truly out of scope.")


def _row(r: MethodReport) -> list[str]:
    x = r.retrieval
    return ([f"{x.success[k]:.3f}" for k in TABLE_KS] + [f"{x.recall[k]:.3f}" for k in TABLE_KS]
            + [f"{x.mrr:.3f}", f"{x.ndcg5:.3f}", f"{r.oos_precision:.3f}", f"{r.oos_recall:.3f}", f"{r.latency_ms:.1f}"])


def table(reports: list[MethodReport]) -> str:
    lines = ["| method | " + " | ".join(COLUMNS) + " |", "| --- |" + " ---: |" * len(COLUMNS)]
    lines += [f"| {r.method} | " + " | ".join(_row(r)) + " |" for r in reports]
    return "\n".join(lines)


def details(reports: list[MethodReport], method: str = "hybrid") -> str:
    r = next((r for r in reports if r.method == method), reports[-1])
    out = ["Thresholds: " + ", ".join(f"{x.method} {x.threshold:.4f}" for x in reports)]
    if r.retrieval.misses:
        out.append(f"\n{r.method}: no relevant passage in the top 3 ({len(r.retrieval.misses)}):")
        out += [f"- {q}" for q in r.retrieval.misses]
    if r.oos_errors:
        out.append(f"\n{r.method}: scope mistakes ({len(r.oos_errors)}):")
        out += [f"- {e}" for e in r.oos_errors]
    return "\n".join(out)


def calibration_text(calibrations: list[Calibration]) -> str:
    out = []
    for c in calibrations:
        best = min(c.curve, key=lambda p: abs(p[0] - c.threshold))
        out.append(f"{c.method}: threshold {c.threshold:.4f} keeps {best[1]:.1%} of {c.n_in} in-scope questions "
                   f"and declines {best[2]:.1%} of {c.n_out} out-of-scope ones")
    out.append("To use them: " + " ".join(f"BACKBOT_{METHODS[c.method].threshold.upper()}={c.threshold:.4f}" for c in calibrations))
    return "\n".join(out)


def to_json(reports: list[MethodReport], calibrations: list[Calibration] | None, meta: dict) -> str:
    data = {"meta": meta, "methods": [dataclasses.asdict(r) for r in reports]}
    if calibrations:
        data["calibration"] = [dataclasses.asdict(c) for c in calibrations]
    return json.dumps(data, indent=2, ensure_ascii=False)


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def plots(reports: list[MethodReport], calibrations: list[Calibration] | None) -> list[tuple[str, str]]:
    """(caption, base64 PNG) pairs."""
    import matplotlib

    matplotlib.use("Agg")  # no display here, and no GUI toolkit needed
    import matplotlib.pyplot as plt

    out = []
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, name in zip(axes, ("success", "recall")):
        for r in reports:
            curve = getattr(r, f"{name}_curve")
            ax.plot(sorted(curve), [curve[k] for k in sorted(curve)], marker="o", label=r.method)
        ax.set_title(f"{name}@k")
        ax.set_xlabel("k (passages retrieved)")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
    axes[0].legend()
    out.append(("Success@k (a relevant passage in the top k) and recall@k (share of relevant passages in the top k) per method",
                _png(fig)))
    plt.close(fig)
    if calibrations:
        fig, axes = plt.subplots(1, len(calibrations), figsize=(4.2 * len(calibrations), 3.6), squeeze=False)
        for ax, c in zip(axes[0], calibrations):
            ts = [p[0] for p in c.curve]
            ax.plot(ts, [p[1] for p in c.curve], label="in scope kept")
            ax.plot(ts, [p[2] for p in c.curve], label="out of scope declined")
            ax.axvline(c.threshold, color="grey", linestyle="--", label=f"threshold {c.threshold:.3f}")
            ax.set_title(c.method)
            ax.set_xlabel("relevance threshold")
            ax.set_ylim(0, 1.02)
            ax.grid(alpha=0.3)
        axes[0][0].legend(fontsize=8)
        out.append(("Abstention: share of questions on the right side of each threshold", _png(fig)))
        plt.close(fig)
    return out


def to_html(reports: list[MethodReport], calibrations: list[Calibration] | None, meta: dict) -> str:
    e = html.escape
    head = "".join(f"<th>{e(c)}</th>" for c in ("method",) + COLUMNS)
    rows = "".join("<tr><td>" + e(r.method) + "</td>" + "".join(f"<td>{v}</td>" for v in _row(r)) + "</tr>" for r in reports)
    figures = "".join(f'<figure><img alt="{e(cap)}" src="data:image/png;base64,{png}"><figcaption>{e(cap)}</figcaption></figure>'
                      for cap, png in plots(reports, calibrations))
    info = "".join(f"<li><b>{e(str(k))}</b>: {e(str(v))}</li>" for k, v in meta.items())
    misses = e(details(reports))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>BackBot retrieval evaluation</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#111}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}}
td:first-child,th:first-child{{text-align:left}}img{{max-width:100%}}pre{{white-space:pre-wrap}}</style></head>
<body><h1>BackBot retrieval evaluation</h1><ul>{info}</ul>
<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>
<p>{e(LEGEND)}</p>
{figures}<h2>Misses</h2><pre>{misses}</pre></body></html>
"""


def write_answers_report(path, reports) -> None:
    """`eval --answers` as a self-contained HTML page: the five figures per system, overall
    and by question kind, per question file, and the answerable turns BackBot missed."""
    from .answer_eval import FIGURES, SYSTEMS

    e = html.escape
    sections = []
    for name, r in reports:
        head = "".join(f"<th>{e(c)}</th>" for c in ("questions", "figure") + SYSTEMS)
        rows = []
        for label, tallies in [("all", r.overall)] + [(k, t) for k, t in r.by_kind.items()]:
            for figure in FIGURES:
                cells = "".join(
                    "<td>" + ("–" if (v := tallies[s].figures()[figure]) is None else f"{v:.2f}") + "</td>" for s in SYSTEMS)
                rows.append(f"<tr><td>{e(label)}</td><td>{e(figure)}</td>{cells}</tr>")
        misses = "".join(f"<li>[{e(i)}] {e(m[:300])} → <i>{e(f[:200])}</i></li>" for i, m, f in r.misses)
        sections.append(f"<h2>{e(name)} ({r.turns} turns)</h2><table><thead><tr>{head}</tr></thead>"
                        f"<tbody>{''.join(rows)}</tbody></table><h3>Answerable turns without a gold sentence</h3>"
                        f"<ul>{misses}</ul>")
    path.write_text(f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>BackBot answer evaluation</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#111}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}}
td:first-child,td:nth-child(2),th:first-child{{text-align:left}}</style></head>
<body><h1>BackBot answer evaluation</h1>
<p>Answered: share of answerable questions quoting at least one sentence. Gold quoted: a sentence that directly
answers is quoted. First gold: the first quoted sentence directly answers. On topic: share of quoted sentences that
answer or are acceptable context. Unanswerable handled: declined, or answered only with on-topic sentences.</p>
{''.join(sections)}</body></html>
""", encoding="utf-8")
