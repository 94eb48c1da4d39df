"""The main content of a documentation page as clean, deterministic Markdown.

``extract(html, url)`` runs one cascade. In order, with why each step exists:

1. **Parse** with lxml from UTF-8 bytes. A body that is not text at all (see ``is_text``:
   binary data served as HTML decodes to replacement characters and controls) gives ``None``
   before anything else; the crawl checks it first and counts it as ``not_text``. Bytes, because
   lxml refuses a ``str`` that carries an XML encoding declaration; control characters are
   dropped first, because lxml refuses those too. Input that still yields no document (empty,
   junk) gives ``None``: the crawl counts it as a page without main content instead of crashing.
   A page nested deeper than ``_MAX_DEPTH`` elements is parsed again with its deepest tags
   dropped and their text kept: lxml's parser stops at 256 levels and silently loses the rest
   of the page, and markdownify recurses about three frames a level (it fails near 330).
2. **Read the metadata** the crawl needs: ``lang`` from ``<html lang>``, the absolute canonical
   URL, and the title (the main element's ``h1``, else ``<title>`` without its site suffix).
3. **Clean the tree** before any extractor sees it:

   a. drop scripts, styles and the like, whose text is never content;
   b. make every heading its text: drop permalink anchors (``¶``, ``#``, Sphinx's
      ``a.headerlink``, Docusaurus's ``a.hash-link`` that holds only a zero-width space), and
      unwrap a heading that is a link to its own anchor (mdBook's ``a.header``), which would
      otherwise end every heading, and every chunk's heading path, with a link;
   c. drop navigation, skip links, sidebars and tables of contents (``nav``,
      ``[role=navigation]`` and the classes common documentation generators give them): on a
      short docs page trafilatura otherwise falls back to whole-page heuristics that keep the
      site's menus; and drop page chrome that sits inside the main content: what the page
      marks as not for print (Bootstrap's ``d-print-none``: Docsy's "Was this page helpful?"
      widget, breadcrumbs) and a short "Last modified ..." or "Last updated ..." line;
   d. unwrap ``<u>``, which trafilatura would write into the Markdown as raw HTML;
   e. make every link absolute against the page URL, because trafilatura resolves relative links
      against the host root (``../x/`` on ``/a/b/`` becomes ``/x/``);
   f. give API reference entries the shape a developer reads: a Sphinx autodoc entry
      (``dl.py`` and the other domains' ``dl`` with a ``dt.sig`` signature) becomes a heading
      holding its signature in a code span, then its description; its field lists
      (Parameters, Returns, Raises) become a bold label and a list of ``name (type): text``;
      without this trafilatura writes the whole entry as one list item and flattens the
      ``autosummary`` tables inside it into run-on text;
   g. swap every ``<pre>`` for a one-word placeholder and keep its exact text and language aside:
      trafilatura drops the blank lines of code blocks and the language of every block, and
      Markdown converters may escape what is inside.

4. **trafilatura** (tables, links and inline formatting kept, comments dropped) picks the main
   content out of the cleaned tree and writes it as Markdown: its boilerplate removal is what
   scores F1 0.958 on the article-extraction benchmark.
5. **Fallback**: when trafilatura returns nothing (it swallows its own errors: the DRF release
   notes contain a literal ``<source=>`` that lxml turns into an element trafilatura cannot
   copy), markdownify converts the page's main element (``main``, ``article``,
   ``[role=main]``, ``.md-content``, else ``body``) with the page chrome (header, footer,
   aside) also removed. ``extractor`` says which of the two produced the Markdown.
6. **Finish**: trailing spaces and runs of blank lines are normalised, a table written without
   a header row (docutils and ``autosummary`` tables have none, and trafilatura then writes no
   separator line, so the rows are no Markdown table) gets an empty one, then each placeholder is
   replaced by a fenced block holding the code exactly as the page shows it, with its language.
   Every step is a pure function of the HTML, so the same page always gives the same bytes and
   a re-encoded page (``&quot;`` vs ``"``) gives the same Markdown.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import lxml.html
import trafilatura
from lxml import etree
from lxml.html.defs import empty_tags
from markdownify import MarkdownConverter

from .scope import is_version

__all__ = ["Extraction", "extract", "is_text"]


@dataclass(frozen=True)
class Extraction:
    """The main content of one page and what the corpus records about it."""

    markdown: str
    title: str
    lang: str
    extractor: str
    canonical_url: str | None
    #: Why the page, though a page of the site, is not content (its ``markdown`` is then
    #: empty): ``site_index`` (a generated index or search page) or ``old_version`` (a
    #: Docusaurus page of another version than the current one). ``<meta name=robots
    #: content=noindex>`` is no such sign: Docsy writes it on every page of a non-production
    #: build, and the secrets-store-csi-azure deploy is one.
    set_aside: str | None = None


# Characters lxml refuses in text (C0 controls other than tab, newline, carriage return).
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

# What no text holds: controls (but tab, newline, form feed and carriage return), surrogates,
# private-use code points, and the replacement character a failed decoding leaves.
_NOT_TEXT = re.compile(
    "[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ud800-\udfff\ue000-\uf8ff\ufffd\U000f0000-\U0010ffff]"
)

# The share of such characters above which a body is not text. Measured on bodies decoded as
# Scrapy decodes them: at most 0.04% in the 690 real pages of tests/fixtures (none in the 509
# docs pages), at least 11% in 300 KB of random bytes whatever charset the server declares (11%
# as KOI8-R or CP437, 13% as windows-1252 or UTF-16, 56% as UTF-8, 61% with none).
_MAX_NOT_TEXT_SHARE = 0.05

# How deep elements may nest before the deeper ones are unwrapped: real pages nest at most 50
# deep (the 690 pages of tests/fixtures); markdownify fails near 330 levels.
_MAX_DEPTH = 128

# Elements whose text a reader never reads as part of the page.
_NEVER_CONTENT = ("script", "style", "noscript", "template", "iframe", "svg", "button")

# Class names that documentation generators give their navigation, skip links, sidebars and
# TOCs: MkDocs Material, Sphinx (classic, Read the Docs, PyData), Docusaurus, and generic ones.
_NAV_CLASSES = frozenset(
    {
        "md-skip",
        "skip-link",
        "md-header",
        "md-tabs",
        "md-sidebar",
        "md-nav",
        "md-footer",
        "sphinxsidebar",
        "wy-nav-side",
        "bd-sidebar",
        "theme-doc-sidebar-container",
        "theme-doc-toc-desktop",
        "toc",
        "table-of-contents",
        # Chrome inside the main content: Bootstrap's "not printed" (Docsy's feedback widget,
        # breadcrumbs, page meta links), Docusaurus's edit/last-updated footer.
        "d-print-none",
        "theme-doc-footer",
        "td-page-meta__lastmod",
    }
)

# Classes that generators give a heading's permalink anchor: Sphinx, Docusaurus, and the
# markdown-it / VuePress / anchor.js families.
_PERMALINK_CLASSES = frozenset(
    {"headerlink", "hash-link", "header-anchor", "anchorjs-link", "heading-anchor", "anchor-link"}
)

# What a permalink anchor shows instead of words.
_PERMALINK_TEXT = frozenset({"", "¶", "§", "#", "\N{LINK SYMBOL}"})

# Characters that take no room: Docusaurus fills its permalink anchors with U+200B.
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")

_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")

# A line of page metadata, not content: "Last modified January 15, 2021: <commit>", "Last
# updated on 3/4/2024 by someone". A date must follow, so a sentence about a "last modified"
# field stays.
_LAST_CHANGED = re.compile(
    r"^\s*last (?:modified|updated)(?: on)?:?\s+"
    r"(?:\d|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d)",
    re.IGNORECASE,
)
_LAST_CHANGED_MAX_CHARS = 300

_MAIN_SELECTORS = ("main", "article", "[role=main]", ".md-content")

_CHROME_TAGS = ("header", "footer", "aside")

_LANGUAGE_CLASS = re.compile(r"^(?:language|lang|highlight)-([\w+#.-]+)$")

# Class values that name no language: Sphinx's "use the default lexer" and explicit "none".
_NO_LANGUAGE = frozenset({"default", "none"})

# Blank lines before a text, but not the indentation of its first line (a nested list item).
_LEADING_BLANK_LINES = re.compile(r"\A(?:[ \t]*\n)+")

_TITLE_SEPARATOR = re.compile(r"\s+(?:-|\||\N{EN DASH}|\N{EM DASH}|\N{MIDDLE DOT})\s+")


@dataclass(frozen=True)
class _CodeBlock:
    text: str
    language: str


def extract(html: str, url: str, *, all_versions: bool = False) -> Extraction | None:
    """Extracts the main content of a page as Markdown.

    Args:
        html: the page, already decoded to text (replacement characters are fine).
        url: the URL the page was fetched from; relative links and the canonical URL are resolved
            against it.
        all_versions: keep pages of other versions than the current one (set aside as
            ``old_version`` otherwise).

    Returns:
        The extraction, or ``None`` when the page has no main content at all (empty page, junk,
        only navigation) or is not text.
    """
    if not is_text(html):
        return None
    root = _parse(html)
    if root is None:
        return None
    lang = _language(root)
    canonical_url = _canonical_url(root, url)
    set_aside = _reason_to_set_aside(root, url, all_versions=all_versions)
    if set_aside is not None:
        return Extraction("", _title(root), lang, "none", canonical_url, set_aside)
    _drop_unwanted(root, url)
    title = _title(root)
    _make_links_absolute(root, url)
    _restructure_api_entries(root)
    code_blocks = _stash_code_blocks(root, html)

    extractor = "trafilatura"
    markdown = _add_table_headers(_normalise(_with_trafilatura(root)))
    if not markdown or _loses_structure(markdown, root, code_blocks):
        extractor = "fallback"
        markdown = _add_table_headers(_normalise(_with_markdownify(root)))
    markdown = _restore_code_blocks(markdown, code_blocks)
    if not markdown:
        return None
    return Extraction(
        markdown=markdown,
        title=title,
        lang=lang,
        extractor=extractor,
        canonical_url=canonical_url,
    )


def is_text(body: str) -> bool:
    """Whether a decoded body is text, rather than binary data that a server calls HTML.

    Decoded, random bytes are mostly replacement characters and controls, or private-use code
    points; a real page holds almost none.
    """
    not_text = len(body) - len(_NOT_TEXT.sub("", body))
    return not_text <= _MAX_NOT_TEXT_SHARE * len(body)


def _parse(html: str) -> lxml.html.HtmlElement | None:
    """Parses the page, or returns ``None`` when there is no document in it."""
    text = _CONTROL_CHARS.sub("", html.replace("\r\n", "\n").replace("\r", "\n"))
    root = _parse_text(text)
    if root is not None and _deeper_than(root, _MAX_DEPTH):
        root = _parse_text(_flatten(text, _MAX_DEPTH))
    return root


def _parse_text(text: str) -> lxml.html.HtmlElement | None:
    parser = lxml.html.HTMLParser(encoding="utf-8")
    try:
        root: lxml.html.HtmlElement = lxml.html.document_fromstring(
            text.encode("utf-8", "replace"), parser=parser
        )
    except (etree.ParserError, ValueError):
        return None
    return root


def _deeper_than(root: lxml.html.HtmlElement, limit: int) -> bool:
    """Whether some element has more than ``limit`` ancestors."""
    depth = 0
    for event, _ in etree.iterwalk(root, events=("start", "end")):
        depth += 1 if event == "start" else -1
        if depth > limit + 1:
            return True
    return False


def _flatten(html: str, limit: int) -> str:
    """The page with the tags of every element nested more than ``limit`` deep dropped, and
    their text kept (each dropped tag leaves a line break, so that words stay apart)."""
    flattener = _Flattener(limit)
    flattener.feed(html)
    flattener.close()
    return "".join(flattener.out)


class _Flattener(HTMLParser):
    """Writes a page back as it reads it, but for the tags nested deeper than a limit.

    Depth is counted on the tags as written: an end tag closes the nearest open element of its
    name and those opened inside it, a stray end tag is dropped, and elements closed implicitly
    (``<p>`` before ``<p>``) stay open, so a page may be flattened a little higher than needed.
    Comments and processing instructions are left out: the cascade drops them anyway.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(convert_charrefs=False)
        self.limit = limit
        self.out: list[str] = []
        self._open: list[tuple[str, bool]] = []  # (tag, whether its tags are written)
        self._open_names: Counter[str] = Counter()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        kept = len(self._open) < self.limit
        self._write_tag(kept, self.get_starttag_text() or "")
        if tag not in empty_tags:
            self._open.append((tag, kept))
            self._open_names[tag] += 1

    def parse_html_declaration(self, i: int) -> int:
        # lxml reads a "<![...>" section as a comment; Python before 3.13 raises
        # AssertionError on a malformed one ("<![&").
        if self.rawdata.startswith("<![", i):
            return self.parse_bogus_comment(i)
        return super().parse_html_declaration(i)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._write_tag(len(self._open) < self.limit, self.get_starttag_text() or "")

    def handle_endtag(self, tag: str) -> None:
        if not self._open_names[tag]:
            return
        while True:
            name, kept = self._open.pop()
            self._open_names[name] -= 1
            if name == tag:
                self._write_tag(kept, f"</{tag}>")
                return

    def _write_tag(self, kept: bool, written: str) -> None:
        self.out.append(written if kept else "\n")

    def handle_data(self, data: str) -> None:
        self.out.append(data)

    def handle_entityref(self, name: str) -> None:
        self.out.append(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self.out.append(f"&#{name};")

    def handle_decl(self, decl: str) -> None:
        self.out.append(f"<!{decl}>")


def _reason_to_set_aside(
    root: lxml.html.HtmlElement, url: str, *, all_versions: bool
) -> str | None:
    """Why a page is not content, or ``None`` when it is."""
    if _is_site_index(root, url) or _is_versions_page(root, url):
        return "site_index"
    if not all_versions and root.cssselect(".theme-doc-version-banner"):
        # Docusaurus prints this banner on every version but the current one ("This is
        # documentation for X 29.3, which is no longer actively maintained"; "unreleased").
        return "old_version"
    return None


def _is_site_index(root: lxml.html.HtmlElement, url: str) -> bool:
    """Whether the page is the site's generated index or search page: the target of its own
    ``<link rel="index">`` or ``<link rel="search">`` (Sphinx's ``genindex.html`` and
    ``search.html``). They list links, or need JavaScript; no sentence in them is content."""
    try:
        page = urlsplit(url)._replace(query="", fragment="")
    except ValueError:  # an unparsable page URL: nothing can point at it
        return False
    for link in root.iter("link"):
        rels = (link.get("rel") or "").lower().split()
        if not ({"index", "search"} & set(rels)) or not link.get("href"):
            continue
        try:
            target = urlsplit(urljoin(url, link.get("href", "")))._replace(query="", fragment="")
        except ValueError:
            continue
        if target == page:
            return True
    return False


def _is_versions_page(root: lxml.html.HtmlElement, url: str) -> bool:
    """Whether the page is a docs site's list of its versions (Docusaurus' ``/versions``, a
    Sphinx ``versions.html``): named ``versions`` and linking to at least two versions' docs.
    Each version it names is crawled, or set aside, by its own path."""
    try:
        last = urlsplit(url).path.rstrip("/").rpartition("/")[2].lower()
    except ValueError:
        return False
    if last.removesuffix(".html") != "versions":
        return False
    versions: set[str] = set()
    for anchor in root.iter("a"):
        try:
            path = urlsplit(urljoin(url, anchor.get("href") or "")).path
        except ValueError:
            continue
        versions.update(s for s in path.split("/") if is_version(s))
    return len(versions) >= 2


def _language(root: lxml.html.HtmlElement) -> str:
    """The page's declared language (``<html lang>``, else Content-Language), or ``''``."""
    declared = root.get("lang") or root.get("xml:lang")
    if not declared:
        metas = root.xpath(
            "//meta[translate(@http-equiv, 'CONTENT-LANGUAGE', 'content-language')"
            " = 'content-language']/@content"
        )
        declared = str(metas[0]) if metas else ""
    tag = declared.replace("_", "-").replace(",", " ").split()
    if not tag:
        return ""
    primary, _, rest = tag[0].partition("-")
    return f"{primary.lower()}-{rest}" if rest else primary.lower()


def _canonical_url(root: lxml.html.HtmlElement, url: str) -> str | None:
    """The absolute http(s) URL of ``<link rel=canonical>``, if the page has one."""
    for link in root.iter("link"):
        if "canonical" not in (link.get("rel") or "").lower().split():
            continue
        href = (link.get("href") or "").strip()
        if not href:
            continue
        try:
            absolute = urljoin(url, href)
            scheme = urlsplit(absolute).scheme
        except ValueError:  # an unparsable href (or page URL) names no canonical page
            continue
        if scheme in ("http", "https"):
            return absolute
    return None


def _drop_unwanted(root: lxml.html.HtmlElement, url: str) -> None:
    """Removes what is never main content (scripts, permalinks, navigation, chrome), unwraps
    heading self-links and underlines."""
    for element in list(root.iter(*_NEVER_CONTENT, etree.Comment, etree.ProcessingInstruction)):
        _remove(element)
    for element in list(root.iter("a")):
        if _is_permalink(element):
            _remove(element)
    for heading in list(root.iter(*_HEADINGS)):
        for anchor in list(heading.iter("a")):
            if _links_to_this_page(anchor, url):
                anchor.drop_tag()
    for element in list(root.iter()):
        if _is_navigation(element) or _is_last_changed_line(element):
            _remove(element)
    for element in list(root.iter("u")):
        element.drop_tag()


def _is_permalink(anchor: lxml.html.HtmlElement) -> bool:
    """Whether an anchor is a heading's permalink rather than a link a reader follows."""
    if not _PERMALINK_CLASSES.isdisjoint((anchor.get("class") or "").split()):
        return True
    if not (anchor.get("href") or "").startswith("#"):
        return False
    in_heading = any(ancestor.tag in (*_HEADINGS, "dt") for ancestor in anchor.iterancestors())
    text = _ZERO_WIDTH.sub("", anchor.text_content()).strip()
    return in_heading and text in _PERMALINK_TEXT


def _links_to_this_page(anchor: lxml.html.HtmlElement, url: str) -> bool:
    """Whether a link points at an anchor of the page it is on (``#x``, or the page's own URL
    with a fragment): inside a heading, that is the heading's permalink, not a link to follow."""
    href = (anchor.get("href") or "").strip()
    if href.startswith("#"):
        return True
    if "#" not in href:
        return False
    try:
        target = urlsplit(urljoin(url, href))
        page = urlsplit(url)
    except ValueError:
        return False
    return (target.netloc, target.path) == (page.netloc, page.path)


def _is_last_changed_line(element: lxml.html.HtmlElement) -> bool:
    """Whether an element is a short "Last modified ..." line of page metadata."""
    if element.tag not in ("div", "p", "span", "small", "footer"):
        return False
    text = element.text_content()
    return len(text) <= _LAST_CHANGED_MAX_CHARS and bool(_LAST_CHANGED.match(text))


def _is_navigation(element: lxml.html.HtmlElement) -> bool:
    """Whether an element is a menu, sidebar or table of contents."""
    if not isinstance(element.tag, str):
        return False
    if element.tag == "nav" or element.get("role") == "navigation":
        return True
    return not _NAV_CLASSES.isdisjoint((element.get("class") or "").split())


def _remove(element: lxml.html.HtmlElement) -> None:
    """Removes an element and its content, keeping the text that follows it."""
    if element.getparent() is not None:
        element.drop_tree()


def _title(root: lxml.html.HtmlElement) -> str:
    """The main element's first ``h1``, else ``<title>`` without its site suffix, else ``''``."""
    main = _main_element(root)
    headings = main.xpath(".//h1") if main is not None else []
    if headings:
        return _collapse(headings[0].text_content())
    titles = root.xpath("//title")
    if titles:
        title = _collapse(titles[0].text_content())
        separators = list(_TITLE_SEPARATOR.finditer(title))
        # The site's name is what follows the last separator: "Page - Sub - Site".
        return title[: separators[-1].start()] if separators else title
    headings = root.xpath("//h1")
    return _collapse(headings[0].text_content()) if headings else ""


def _collapse(text: str) -> str:
    """Collapses runs of whitespace to single spaces."""
    return " ".join(text.split())


def _main_element(root: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    """The element a page marks as its main content, if it marks one."""
    for selector in _MAIN_SELECTORS:
        found = root.cssselect(selector)
        if found:
            element: lxml.html.HtmlElement = found[0]
            return element
    return None


def _make_links_absolute(root: lxml.html.HtmlElement, url: str) -> None:
    """Resolves every link against the page URL (and its ``<base href>``)."""
    try:
        root.make_links_absolute(url, resolve_base_href=True, handle_failures="discard")
    except ValueError:
        # An unparsable page URL leaves the links as they are rather than losing the page.
        return


def _restructure_api_entries(root: lxml.html.HtmlElement) -> None:
    """Rewrites Sphinx API entries (``dl`` with a ``dt.sig``) and field lists as headings,
    paragraphs and lists, innermost last so that nesting sets each heading's level."""
    entries = [dl for dl in root.iter("dl") if _is_api_entry(dl)]
    levels = {
        dl: min(6, 2 + sum(1 for a in dl.iterancestors("dl") if _is_api_entry(a))) for dl in entries
    }
    for field_list in [dl for dl in root.iter("dl") if "field-list" in _classes(dl)]:
        _rewrite_field_list(field_list)
    for rubric in root.cssselect("p.rubric"):
        label = etree.Element("strong")
        label.text, rubric.text = rubric.text, None
        label.extend(list(rubric))
        rubric.append(label)
    for dl in reversed(entries):
        _rewrite_api_entry(dl, levels[dl])


def _classes(element: lxml.html.HtmlElement) -> list[str]:
    return (element.get("class") or "").split()


def _is_api_entry(dl: lxml.html.HtmlElement) -> bool:
    """Whether a ``dl`` is an autodoc (or other Sphinx domain) object description."""
    return any("sig" in _classes(dt) for dt in dl.iterchildren("dt"))


def _rewrite_api_entry(dl: lxml.html.HtmlElement, level: int) -> None:
    """``<dl><dt class=sig>sig</dt><dd>body</dd></dl>`` -> ``<hN>kind `sig`</hN>`` then body."""
    replacement = etree.Element("div")
    for child in dl.iterchildren():
        if child.tag == "dt":
            replacement.append(_signature_heading(child, level))
        elif child.tag == "dd":
            _move_contents(child, replacement)
    _swap(dl, replacement)


def _move_contents(dd: lxml.html.HtmlElement, into: lxml.html.HtmlElement) -> None:
    """Appends what a ``dd`` holds to ``into``: its loose text as a paragraph, then its children."""
    if dd.text and dd.text.strip():
        paragraph = etree.SubElement(into, "p")
        paragraph.text = dd.text
    into.extend(list(dd))


def _swap(old: lxml.html.HtmlElement, new: lxml.html.HtmlElement) -> None:
    """Puts ``new`` where ``old`` was, keeping the text that followed ``old``."""
    new.tail = old.tail
    old.getparent().replace(old, new)


def _signature_heading(dt: lxml.html.HtmlElement, level: int) -> lxml.html.HtmlElement:
    """A heading: the entry's kind (``class``, ``property`` ...) then its signature as code."""
    for link in dt.cssselect(".viewcode-link"):
        anchor = next(link.iterancestors("a"), None)
        _remove(anchor if anchor is not None else link)
    kinds = [_collapse(em.text_content()) for em in dt.cssselect("em.property")]
    for em in dt.cssselect("em.property"):
        _remove(em)
    heading = etree.Element(f"h{level}")
    kind = " ".join(k for k in kinds if k)
    if kind:
        heading.text = kind + " "
    code = etree.SubElement(heading, "code")
    code.text = _collapse(dt.text_content())
    return heading


def _rewrite_field_list(field_list: lxml.html.HtmlElement) -> None:
    """A docutils field list -> per field a bold label, then its items as a list."""
    replacement = etree.Element("div")
    for child in field_list.iterchildren():
        if child.tag == "dt":
            paragraph = etree.SubElement(replacement, "p")
            label = etree.SubElement(paragraph, "strong")
            label.text = _collapse(child.text_content()).rstrip(":") + ":"
        elif child.tag == "dd":
            inner = [dl for dl in child.iterchildren("dl")]
            if inner:
                items = etree.SubElement(replacement, "ul")
                for dl in inner:
                    _field_items(dl, items)
            else:
                _move_contents(child, replacement)
    _swap(field_list, replacement)


def _field_items(dl: lxml.html.HtmlElement, items: lxml.html.HtmlElement) -> None:
    """numpydoc's ``<dt><strong>y</strong><span class=classifier>int</span></dt><dd>..</dd>``
    pairs as list items ``**y** (int): ...``."""
    item: lxml.html.HtmlElement | None = None
    for child in dl.iterchildren():
        if child.tag == "dt":
            item = etree.SubElement(items, "li")
            classifiers = child.cssselect(".classifier")
            types = [_collapse(c.text_content()) for c in classifiers]
            for classifier in classifiers:
                _remove(classifier)
            name = etree.SubElement(item, "strong")
            name.text = _collapse(child.text_content())
            name.tail = f" ({', '.join(types)}): " if any(types) else ": "
        elif child.tag == "dd" and item is not None:
            blocks = list(child)
            if len(blocks) == 1 and blocks[0].tag == "p" and not (child.text or "").strip():
                # One paragraph: its text continues the item's line.
                paragraph = blocks[0]
                last = item[-1]
                last.tail = (last.tail or "") + (paragraph.text or "")
                item.extend(list(paragraph))
            else:
                last = item[-1]
                last.tail = (last.tail or "") + (child.text or "")
                item.extend(blocks)


def _stash_code_blocks(root: lxml.html.HtmlElement, html: str) -> dict[str, _CodeBlock]:
    """Replaces each ``<pre>`` by a placeholder word; returns the blocks by placeholder."""
    prefix = _placeholder_prefix(html)
    blocks: dict[str, _CodeBlock] = {}
    for pre in list(root.iter("pre")):
        if any(ancestor.tag == "pre" for ancestor in pre.iterancestors()):
            continue
        for line_break in pre.iter("br"):
            line_break.tail = "\n" + (line_break.tail or "")
        text = pre.text_content().rstrip("\n")
        language = _code_language(pre)
        key = f"{prefix}{len(blocks)}x"
        tail = pre.tail
        pre.clear()
        pre.text = key
        pre.tail = tail
        blocks[key] = _CodeBlock(text=text, language=language)
    return blocks


def _placeholder_prefix(html: str) -> str:
    """A word that appears nowhere in the page, so placeholders cannot collide with its text."""
    prefix = "groundsetcodeblock"
    while prefix in html:
        prefix += "q"
    return prefix


def _code_language(pre: lxml.html.HtmlElement) -> str:
    """The language a code block declares on itself, its ``<code>`` or its wrappers."""
    candidates = [pre, *pre.iterchildren("code")]
    parent = pre.getparent()
    if parent is not None:
        candidates.append(parent)
        grandparent = parent.getparent()
        if grandparent is not None:
            candidates.append(grandparent)
    for element in candidates:
        for name in (element.get("class") or "").split():
            match = _LANGUAGE_CLASS.match(name)
            if match and match.group(1).lower() not in _NO_LANGUAGE:
                return match.group(1)
    return ""


def _with_trafilatura(root: lxml.html.HtmlElement) -> str:
    """Markdown of the main content according to trafilatura, or ``''``."""
    try:
        markdown = trafilatura.extract(
            root,
            output_format="markdown",
            include_comments=False,
            include_tables=True,
            include_links=True,
            include_formatting=True,
            include_images=False,
        )
    except Exception:  # a third-party crash on one page must fall back, not abort the crawl
        return ""
    return markdown or ""


def _loses_structure(
    markdown: str, root: lxml.html.HtmlElement, code_blocks: dict[str, _CodeBlock]
) -> bool:
    """Whether trafilatura's Markdown (normalised, tables given their headers) lost a code
    block or a table of the page's main element.

    On a short page trafilatura can fall back on whole-page heuristics that keep a skip link
    and a banner and flatten a table into lines (seen on a Chinese page of a Docusaurus site).
    """
    main = _main_element(root)
    if main is None:
        return False
    in_main = [pre.text for pre in main.iter("pre") if pre.text in code_blocks]
    if any(key not in markdown for key in in_main):
        return True
    tables = sum(
        1 for t in main.iter("table") if not any(a.tag == "table" for a in t.iterancestors())
    )
    lines = markdown.split("\n")
    return tables > sum(1 for line in lines if _TABLE_SEPARATOR.match(line.replace(" ", "")))


def _with_markdownify(root: lxml.html.HtmlElement) -> str:
    """Markdown of the page's main element, without the page chrome, or ``''``."""
    main = _main_element(root)
    if main is None:
        main = root.find("body")
    if main is None:
        return ""
    for element in list(main.iter(*_CHROME_TAGS)):
        # Docusaurus puts the page's h1 in a <header> inside its <article>: that one stays.
        keeps_title = element.tag == "header" and any(True for _ in element.iter(*_HEADINGS))
        if element is not main and not keeps_title:
            _remove(element)
    converter = MarkdownConverter(
        heading_style="ATX",
        bullets="-",
        escape_misc=False,
        # A backslash, not two trailing spaces: the finishing step strips trailing spaces.
        newline_style="backslash",
        strip=["img"],
    )
    try:
        return str(converter.convert(lxml.html.tostring(main, encoding="unicode")))
    except Exception:  # a third-party crash on one page must not abort the crawl
        return ""


def _normalise(markdown: str) -> str:
    """Strips trailing spaces and collapses runs of blank lines (code is still stashed away)."""
    lines = [line.rstrip() for line in markdown.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


_TABLE_ROW = re.compile(r"^\|.*\|$")
_TABLE_SEPARATOR = re.compile(r"^\|(?:\s*:?-+:?\s*\|)+$")


def _add_table_headers(markdown: str) -> str:
    """Gives each run of table rows that lacks a separator line an empty header row."""
    lines = markdown.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        if not _TABLE_ROW.match(lines[i]):
            out.append(lines[i])
            i += 1
            continue
        j = i
        while j < len(lines) and _TABLE_ROW.match(lines[j]):
            j += 1
        rows = lines[i:j]
        if not any(_TABLE_SEPARATOR.match(row.replace(" ", "")) for row in rows[:2]):
            columns = len(re.findall(r"(?<!\\)\|", rows[0])) - 1
            if columns >= 1:
                out.append("|" + " |" * columns)
                out.append("|" + "---|" * columns)
        out.extend(rows)
        i = j
    return "\n".join(out)


def _restore_code_blocks(markdown: str, blocks: dict[str, _CodeBlock]) -> str:
    """Replaces each placeholder, and the fence an extractor put around it, by a fenced block."""
    if not blocks:
        return markdown + "\n" if markdown else ""
    keys = "|".join(re.escape(key) for key in blocks)
    # The split keeps the captured placeholders at the odd positions.
    parts = re.split(rf"(?:```[^\n]*\n)?`*({keys})`*(?:\n```)?", markdown)
    pieces = [
        _fence(blocks[part]) if index % 2 else _LEADING_BLANK_LINES.sub("", part).rstrip()
        for index, part in enumerate(parts)
    ]
    return "\n\n".join(piece for piece in pieces if piece) + "\n"


def _fence(block: _CodeBlock) -> str:
    """A fenced code block longer than any backtick run inside the code."""
    longest = max((len(run) for run in re.findall(r"`+", block.text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{block.language}\n{block.text}\n{fence}"
