"""HTML page -> article text, title and links, with the stdlib parser and tag rules.

`main_text` extracts a page's text with trafilatura and falls back to this one when that
finds nothing; the title, canonical link and site name always come from here.

A saved web page is mostly not the article: scripts, styles, menus, footers, cookie
banners, share buttons, "related posts". We keep the text of `<article>` (or `<main>`)
when the page has one, drop elements that are page furniture by tag, ARIA role or
class/id, and turn block elements into line and paragraph breaks so that the cleaner's
paragraph rules work as for `.txt`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

# Never article text, whatever the page.
_SKIP_TAGS = frozenset(
    "script style noscript template svg canvas iframe object embed nav footer aside form button "
    "select textarea dialog menu head".split()
)
_SKIP_ROLES = frozenset("navigation banner contentinfo complementary search dialog alertdialog menu".split())
# Class or id words that mark furniture. Matched as whole words of the attribute, so that
# "article-share" is dropped but "shared-decision" text (rare as a class) is not over-matched.
_FURNITURE = re.compile(
    r"(?:^|[\s_-])(cookie|cookies|consent|gdpr|share|sharing|social|newsletter|subscribe|signup|"
    r"banner|breadcrumbs?|related|comments?|advert|ads|ad|promo|popup|modal|sidebar|menu|navbar|"
    r"nav|footer|widget|disclaimer-bar|author-bio|tags)(?:$|[\s_-])",
    re.I,
)
# The page's header is furniture; an <article>'s header holds its title and is kept.
_PAGE_HEADER = re.compile(r"(?:^|[\s_-])(header|masthead|topbar)(?:$|[\s_-])", re.I)
_VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())
_BLOCK = frozenset(
    "p div section article main li ul ol dl dt dd h1 h2 h3 h4 h5 h6 blockquote pre table tr "
    "figure figcaption header address hr br".split()
)
_HEADINGS = frozenset("h1 h2 h3 h4 h5 h6".split())
# A heading's end: a line break that wins over the paragraph break after it, so that the
# heading stays in the paragraph it introduces (chunks never cross paragraphs).
_HEADING_END = "H"
_BREAKS = ("\n", "\n\n", _HEADING_END)


@dataclass
class HtmlArticle:
    title: str
    text: str  # paragraphs separated by blank lines; headings and list items on their own lines
    url: str = ""
    site: str = ""


@dataclass
class _Part:
    in_article: bool
    text: str


class _Extractor(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # (tag, skipped)
        self.skip_depth = 0
        self.article_depth = 0
        self.saw_article = False
        self.parts: list[_Part] = []
        self.title = ""
        self.h1 = ""
        self.in_title = False
        self.in_h1 = False
        self.meta: dict[str, str] = {}

    # A break is recorded as a part so that paragraphs survive the article filter.
    def _brk(self, kind: str) -> None:
        self.parts.append(_Part(self.article_depth > 0, kind))

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "meta":
            key = (a.get("property") or a.get("name") or "").lower()
            if key in {"og:url", "og:site_name", "og:title"}:
                self.meta[key] = a.get("content", "")
            return
        if tag == "link" and "canonical" in a.get("rel", "").lower():
            self.meta["canonical"] = a.get("href", "")
            return
        if tag == "title":
            self.in_title = True
        if tag in _VOID:
            if tag in ("br", "hr") and not self.skip_depth:
                self._brk("\n")
            return
        names = a.get("class", "") + " " + a.get("id", "")
        # <html> and <body> are the page, never furniture, whatever their classes say
        # (Squarespace puts "header-width-full" on <body>).
        furniture = tag not in ("html", "body") and (
            tag in _SKIP_TAGS
            or a.get("role", "").lower() in _SKIP_ROLES
            or a.get("aria-hidden", "").lower() == "true"
            or "hidden" in a
            or bool(_FURNITURE.search(names))
            or (not self.article_depth and (tag == "header" or bool(_PAGE_HEADER.search(names))))
        )
        self.stack.append((tag, furniture))
        if furniture:
            self.skip_depth += 1
            return
        if tag in ("article", "main"):
            self.article_depth += 1
            self.saw_article = True
        if tag == "h1" and not self.skip_depth:
            self.in_h1 = True
        if tag in _BLOCK and not self.skip_depth:
            self._brk("\n\n" if tag in ("p", "section", "article", "main", "blockquote", "table") else "\n")

    def handle_endtag(self, tag):
        if tag == "title":
            self.in_title = False
        if tag in _VOID:
            return
        # Close up to the matching open tag: browsers forgive unclosed tags, so do we.
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                for t, skipped in self.stack[i:]:
                    if skipped:
                        self.skip_depth -= 1
                    elif t in ("article", "main"):
                        self.article_depth -= 1
                del self.stack[i:]
                break
        else:
            return
        if tag == "h1":
            self.in_h1 = False
        if tag in _BLOCK and not self.skip_depth:
            self._brk(_HEADING_END if tag in _HEADINGS else "\n" if tag in ("li", "dt", "dd", "tr") else "\n\n")

    def handle_data(self, data):
        if self.in_title:
            self.title += data
            return
        if self.skip_depth:
            return
        # Newlines in HTML source are not breaks; only block elements are.
        data = re.sub(r"\s+", " ", data)
        if self.in_h1:
            self.h1 += data
        self.parts.append(_Part(self.article_depth > 0, data))


def _squash(text: str) -> str:
    return " ".join(text.split())


def _site_suffix_removed(title: str) -> str:
    """'Neck stretches | Example Clinic' -> 'Neck stretches'."""
    return re.split(r"\s+[|–—·]\s+|\s+-\s+(?=[^-]*$)", title, maxsplit=1)[0].strip()


def extract(html: str) -> HtmlArticle:
    p = _Extractor()
    p.feed(html)
    p.close()
    parts = [q.text for q in p.parts if q.in_article or not p.saw_article]
    # Runs of block breaks merge into the strongest: </li><li> is one line break, </p><p> one
    # paragraph break, </h2><p> one line break.
    out: list[str] = []
    run: list[str] = []
    for part in parts + ["\n\n"]:
        if part in _BREAKS or (run and not part.strip()):
            run.append(part)
            continue
        if run:
            out.append("\n" if _HEADING_END in run else "\n\n" if "\n\n" in run else "\n")
            run = []
        out.append(part)
    lines = [_squash(line) for line in "".join(out).split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    title = _squash(p.h1) or _site_suffix_removed(_squash(p.meta.get("og:title") or p.title))
    return HtmlArticle(
        title=title,
        text=text,
        url=p.meta.get("canonical") or p.meta.get("og:url", ""),
        site=p.meta.get("og:site_name", ""),
    )
