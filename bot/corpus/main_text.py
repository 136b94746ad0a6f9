"""Saved web page -> article text, with trafilatura's main-text extraction.

Our own tag rules (`html_text`) need the page to say what is furniture: `<article>`, `<nav>`,
class names such as "share" or "related". Most blog themes say little of that (WordPress
classic themes are div soup, Wix and Medium use generated class names), so their menus,
bylines, "You may also like" links and newsletter boxes came through as sentences.
trafilatura scores the page's blocks by text density and link density instead, the method
the field measures others against. We ask it for precision over recall: a lost sentence
costs one citation, furniture in the index costs wrong answers. When it finds nothing (a
tiny page, a page of lists), the tag rules' text is used instead; the title, canonical
link and site name come from the tag rules' reading of `<h1>`, `<title>`, `<link
rel=canonical>` and Open Graph tags, which the tests pin. Figures: docs/ingestion.md.
"""
from __future__ import annotations

import logging
import re

from .html_text import HtmlArticle
from .html_text import extract as extract_by_tags

# trafilatura logs a line for every page it can't use ("empty HTML tree", "not long enough");
# the fallback handles those, and a maintainer sees our one warning if both fail.
logging.getLogger("trafilatura").setLevel(logging.CRITICAL)

# trafilatura's XML body: <p>, <head> (headings), <list><item>, <quote>, <table><row><cell>,
# <lb/> (a <br> of the page), with formatting (<hi>, <ref>) inside.
_HEADING, _LINES, _ROWS = "head", ("list",), ("table",)


def _inline(el) -> str:
    """The element's text with <lb/> as a line break and every other tag flattened."""
    parts = [el.text or ""]
    for child in el:
        parts.append("\n" if child.tag == "lb" else _inline(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _squash_lines(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.split("\n")]


def body_text(body) -> str:
    """trafilatura's body as our text layout: paragraphs separated by blank lines, list
    items and table rows on their own lines, and a heading on the line before the paragraph
    it introduces (chunks never cross paragraphs, so the heading stays with its section).
    Two <lb/> in a row (Blogger writes paragraphs as `text<br><br>`) are a paragraph break."""
    blocks: list[str] = []
    heading = ""
    for el in body:
        if el.tag == _HEADING:
            heading = " ".join(_inline(el).split())
            continue
        if el.tag in _LINES:
            lines = [" ".join(_inline(item).split()) for item in el.iter("item")]
            block = "\n".join(l for l in lines if l)
        elif el.tag in _ROWS:
            rows = [" ".join(" ".join(_inline(c).split()) for c in row) for row in el.iter("row")]
            block = "\n".join(r for r in rows if r.strip())
        else:
            block = re.sub(r"\n{3,}", "\n\n", "\n".join(_squash_lines(_inline(el)))).strip()
        if heading:
            block = f"{heading}\n{block}" if block else heading
            heading = ""
        if block:
            blocks.append(block)
    if heading:
        blocks.append(heading)
    return re.sub(r"\n{3,}", "\n\n", "\n\n".join(blocks)).strip()


def extract_main_text(html: str) -> str:
    """The page's main text by trafilatura ('' when it finds none)."""
    import trafilatura

    doc = trafilatura.bare_extraction(
        html, favor_precision=True, include_comments=False, include_tables=True, include_images=False,
        include_links=False, deduplicate=False, with_metadata=False,
    )
    if doc is None or doc.body is None:
        return ""
    return body_text(doc.body)


def extract(html: str) -> HtmlArticle:
    """The article of a saved page: trafilatura's text, or the tag rules' when it has none;
    title, link and site name from the tag rules."""
    tags = extract_by_tags(html)
    text = extract_main_text(html)
    return HtmlArticle(title=tags.title, text=text or tags.text, url=tags.url, site=tags.site)
