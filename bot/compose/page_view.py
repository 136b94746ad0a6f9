"""How a reply looks on the web page: the escalation in its own announced box, and each
source as an expandable block with the quoted sentences highlighted. The CLI prints
`Reply.text` as plain markdown; only the page uses this module.

All corpus text is HTML-escaped here: an article is data, and a `<script>` in it is text.
"""
from __future__ import annotations

import html

from .answer import Citation, Reply, render_sources
from ..understand.triage import Escalation


def alert_style(e: Escalation) -> str:
    """CSS classes for a page to show an escalation apart: red emergency, amber urgent,
    calm blue for a crisis, and a quieter box for a reminder."""
    kind = "crisis" if e.crisis else e.level
    return f"backbot-alert backbot-{kind}" + (" backbot-reminder" if e.ongoing else "")


def _link(url: str) -> str:
    """A link that opens the article in a new tab; nothing for a file-only source."""
    if not url.startswith(("http://", "https://")):
        return ""
    href = html.escape(url, quote=True)
    return f' · <a href="{href}" target="_blank" rel="noopener noreferrer">{html.escape(url)}</a>'


def _highlighted(passage: str, quoted: tuple[str, ...]) -> str:
    """The passage, escaped, with each quoted sentence in <mark>."""
    text = " ".join(passage.split())
    spans = []
    for q in quoted:
        q = " ".join(q.split())
        at = text.find(q)
        if at >= 0:
            spans.append((at, at + len(q)))
    out, pos = [], 0
    for a, b in sorted(spans):
        if a < pos:
            continue
        out += [html.escape(text[pos:a]), "<mark>", html.escape(text[a:b]), "</mark>"]
        pos = b
    out.append(html.escape(text[pos:]))
    return "".join(out)


def sources_html(citations: list[Citation]) -> str:
    """One <details> per source: the number and title show; the link and the passage open.
    Written as one block with no blank line, so markdown leaves it whole."""
    items = []
    for c in citations:
        items.append(
            f'<details class="backbot-source"><summary>[{c.number}] {html.escape(c.title)}</summary>'
            f'<p class="backbot-source-where">{html.escape(c.source)}{_link(c.url)}</p>'
            + "".join(f"<blockquote>{_highlighted(passage, c.quoted)}</blockquote>" for passage in c.passages or (c.passage,))
            + "</details>"
        )
    return '<div class="backbot-sources"><p><strong>Sources</strong> (open one to read the passage quoted)</p>' + "".join(items) + "</div>"


def page_markdown(reply: Reply) -> str:
    """`reply.text` for the page: the escalation wrapped in a styled box that screen readers
    announce (role=alert), and the sources as expandable blocks."""
    text = reply.text
    if reply.citations:
        plain = render_sources(reply.citations)
        if plain in text:
            text = text.replace(plain, sources_html(reply.citations), 1)
    shown = reply.escalation or reply.someone_else
    if reply.alert and shown and reply.alert in text:
        box = f'<div class="{alert_style(shown)}" role="alert">\n\n{reply.alert}\n\n</div>'
        text = text.replace(reply.alert, box, 1)
    return text



ABOUT_MAX_ARTICLES = 300  # a MedQuAD-size corpus has 16,000: list some, count the rest


def about_sources_markdown(index) -> str:
    """The "About the sources" tab: the articles in the live index, and when it was built."""
    from .answer import escape_markdown

    m = index.manifest
    built = str(m.get("built_at", "unknown")).replace("T", " ").replace("+00:00", " UTC")
    rows = []
    articles = sorted(index.articles, key=lambda a: a["title"].lower())
    for a in articles[:ABOUT_MAX_ARTICLES]:
        title = escape_markdown(a["title"])
        url = a.get("url") or ""
        shown = f"[{title}]({url})" if url.startswith(("http://", "https://")) else title
        rows.append(f"| {shown} | {escape_markdown(a.get('source') or '')} |")
    return (
        "## About the sources\n\n"
        "Every answer is quoted word for word from these articles; nothing is made up. "
        "They are general information chosen by the BackBot maintainers, not a medical textbook.\n\n"
        f"**{len(index.articles):,} articles**, {len(index.chunks):,} passages; index built {escape_markdown(built)}.\n\n"
        "| article | source |\n| --- | --- |\n" + "\n".join(rows)
        + (f"\n\n... and {len(articles) - ABOUT_MAX_ARTICLES:,} more." if len(articles) > ABOUT_MAX_ARTICLES else "")
    )
