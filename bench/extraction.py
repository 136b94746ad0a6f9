"""Article extraction from saved web pages, measured: `python -m bench.extraction`.

For each page in tests/data/pages/ (expected.json says what it must keep and leave out) and
each extractor, the share of required sentences kept, the share of furniture strings
leaked, and whether the title and canonical link are right. Prints a markdown table
(docs/ingestion.md has the last one). No model is loaded: it runs in seconds.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from bot.corpus import html_text, main_text

PAGES = Path(__file__).resolve().parent.parent / "tests" / "data" / "pages"


def trafilatura_only(html: str) -> html_text.HtmlArticle:
    """trafilatura with no fallback, and its own title and link, to see it alone."""
    import trafilatura

    doc = trafilatura.bare_extraction(html, favor_precision=True, include_comments=False, with_metadata=True)
    if doc is None:
        return html_text.HtmlArticle(title="", text="")
    return html_text.HtmlArticle(title=doc.title or "", text=main_text.body_text(doc.body), url=doc.url or "")


EXTRACTORS = {
    "tag rules alone (html_text)": html_text.extract,
    "trafilatura alone, its own title and link": trafilatura_only,
    "trafilatura, tag rules as fallback and for title and link (main_text: used)": main_text.extract,
}


def _flat(text: str) -> str:
    return " ".join(text.split())


def score(page: html_text.HtmlArticle, expected: dict) -> dict:
    text = _flat(page.text)
    kept = sum(_flat(s) in text for s in expected["present"])
    leaked = [f for f in expected["absent"] if f in text]
    return {"kept": kept, "of": len(expected["present"]), "leaked": len(leaked), "furniture": len(expected["absent"]),
            "leaked_strings": leaked, "title": page.title == expected["title"], "url": page.url == expected["url"]}


def measure() -> dict[str, dict[str, dict]]:
    expected = json.loads((PAGES / "expected.json").read_text(encoding="utf-8"))
    out: dict[str, dict[str, dict]] = {}
    for name, extract in EXTRACTORS.items():
        out[name] = {}
        for page, exp in expected.items():
            if page.startswith("_"):
                continue
            html = (PAGES / page).read_text(encoding="utf-8")
            started = time.perf_counter()
            result = extract(html)
            out[name][page] = {**score(result, exp), "ms": (time.perf_counter() - started) * 1000}
    return out


def table(results: dict[str, dict[str, dict]]) -> str:
    pages = list(next(iter(results.values())))
    lines = ["| page | " + " | ".join(results) + " |", "| --- |" + " --- |" * len(results)]
    for page in pages + ["all pages"]:
        cells = []
        for rows in results.values():
            picked = rows.values() if page == "all pages" else [rows[page]]
            kept, of = sum(r["kept"] for r in picked), sum(r["of"] for r in picked)
            leaked, furniture = sum(r["leaked"] for r in picked), sum(r["furniture"] for r in picked)
            right = sum(r["title"] for r in picked), sum(r["url"] for r in picked)
            meta = f"title {right[0]}/{len(picked)}, link {right[1]}/{len(picked)}" if page == "all pages" else \
                ("title ok" if right[0] else "title wrong") + (", link ok" if right[1] else ", link wrong")
            cells.append(f"kept {kept}/{of} ({kept / of:.0%}), leaked {leaked}/{furniture} ({leaked / furniture:.0%}); {meta}")
        lines.append(f"| {page.removesuffix('.html') if page != 'all pages' else '**all pages**'} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    results = measure()
    print(table(results))
    if "-v" in sys.argv[1:]:
        for name, rows in results.items():
            for page, r in rows.items():
                if r["leaked_strings"] or r["kept"] < r["of"]:
                    print(f"\n{name} / {page}: kept {r['kept']}/{r['of']}, leaked {r['leaked_strings']}")
        for name, rows in results.items():
            print(f"{name}: {sum(r['ms'] for r in rows.values()) / len(rows):.0f} ms a page")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
