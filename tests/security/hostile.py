"""A corpus of hostile catalogue records: markup, script, odd URLs, entities and stray LaTeX.

Each must come out of every page, feed and email as the very text that went in,
and never as markup or a link that runs script.
"""

from html.parser import HTMLParser

TITLES = [
    '<script>alert("title")</script> Attention over negation',
    "<img src=x onerror=alert(1)> Retrieval with images",
    '"><svg onload=alert(2)> Closing the attribute',
    "&lt;b&gt;Entities&lt;/b&gt; &amp; &#x3C;script&#x3E; stay as typed",
    r"Stray LaTeX: $\frac{a}{b}$ \begin{equation} x < y \end{equation} \textbf{",
    "{{ settings.SECRET_KEY }} {% debug %} template syntax is text",
    "Zero\u200bwidth, RTL \u202eevil\u202c and emoji 🧪 in a title",
]
ABSTRACT = (
    '<a href="javascript:alert(3)">click me</a> <iframe src="https://evil.example/"></iframe> '
    "<style>body{display:none}</style> &amp;amp; &#60;b&#62; "
    r"$\mathcal{O}(n^2)$ and \url{javascript:alert(4)} <!-- comment --> ]]> </textarea>"
)
AUTHORS = [
    '<b onmouseover="alert(5)">Bold Author</b>',
    "Robert'); DROP TABLE papers_paper;--",
    "Zoë &amp; Ĳsbrand <i>Italic</i>",
]
BAD_URLS = [
    "javascript:alert(6)",
    " JaVaScRiPt:alert(7)",
    "data:text/html,<script>alert(8)</script>",
    "vbscript:msgbox(9)",
    "ftp://example.org/code.tar.gz",
]


def records() -> list[dict]:
    """One record per hostile title, in PaperRecord's field names."""
    return [
        {
            "title": title,
            "abstract": ABSTRACT,
            "authors": AUTHORS,
            "arxiv_id": f"2601.{i:05d}",
            "arxiv_version": 1,
            "comment": '<script>alert("comment")</script>',
            "journal_ref": "<marquee>J. Hostile Res.</marquee>",
            "code_url": BAD_URLS[i % len(BAD_URLS)],
            "abs_url": f"https://arxiv.org/abs/2601.{i:05d}",
            "pdf_url": BAD_URLS[(i + 1) % len(BAD_URLS)],
            "tags": ["hostile"],
        }
        for i, title in enumerate(TITLES, start=1)
    ]


def jsonl() -> str:
    """The corpus as a paperhub JSON Lines file (`import_papers` reads it)."""
    import json

    lines = []
    for record in records():
        lines.append(
            json.dumps(
                {
                    "title": record["title"],
                    "abstract": record["abstract"],
                    "authors": record["authors"],
                    "arxiv_id": record["arxiv_id"] + "v1",
                    "url": record["abs_url"],
                    "pdf_url": record["pdf_url"],
                    "code_url": record["code_url"],
                    "tags": record["tags"],
                }
            )
        )
    return "\n".join(lines) + "\n"


class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str] = []
        self.attribute_values: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value is not None:
                self.attribute_values.append(value)
            if name in ("href", "src", "action", "formaction") and value is not None:
                self.links.append(value)

    def handle_data(self, data):
        self.parts.append(data)


def page_text(html: str) -> str:
    """What a reader sees (text nodes, entities decoded), whitespace collapsed."""
    parser = _Text()
    parser.feed(html)
    return " ".join("".join(parser.parts).split())


def page_links(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return parser.links


def page_attribute_values(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return parser.attribute_values


def squeeze(text: str) -> str:
    return " ".join(text.split())


def unsafe_links(html: str) -> list[str]:
    """Links whose scheme is anything but http(s) (relative links, #fragments and mailto: are fine)."""
    unsafe = []
    for link in page_links(html):
        squeezed = "".join(ch for ch in link if ord(ch) > 0x20).lower()
        scheme, colon, _ = squeezed.partition(":")
        if colon and "/" not in scheme and "?" not in scheme and "#" not in scheme:
            if scheme not in ("http", "https", "mailto"):
                unsafe.append(link)
    return unsafe
