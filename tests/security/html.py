"""Reading a page the way a Content Security Policy would: what inline code does it carry?"""

from dataclasses import dataclass, field
from html.parser import HTMLParser

# <script type=...> that browsers never execute: data blocks, which CSP leaves alone
# (Django's json_script filter and allauth's onload configuration use them).
DATA_SCRIPT_TYPES = {"application/json", "application/ld+json"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "poster", "data"}


@dataclass
class InlineCode:
    """Everything on a page that a strict CSP (no 'unsafe-inline') would block or that runs script."""

    scripts: list[str] = field(default_factory=list)  # bodies of executable inline <script>s
    style_elements: list[str] = field(default_factory=list)
    style_attributes: list[str] = field(default_factory=list)  # "tag: value"
    style_attribute_values: list[str] = field(default_factory=list)  # the values, whole
    event_handlers: list[str] = field(default_factory=list)  # "tag onclick=..."
    javascript_urls: list[str] = field(default_factory=list)  # "a href=javascript:..."

    def problems(self) -> list[str]:
        return [
            *(f"inline <script>: {s[:80]!r}" for s in self.scripts),
            *(f"<style> element: {s[:80]!r}" for s in self.style_elements),
            *(f"style attribute on {s}" for s in self.style_attributes),
            *(f"event handler attribute {s}" for s in self.event_handlers),
            *(f"javascript: URL in {s}" for s in self.javascript_urls),
        ]


class _Reader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found = InlineCode()
        self._in: tuple[str, dict] | None = None  # ("script"|"style", attrs) while inside one
        self._body: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = {name.lower(): (value or "") for name, value in attrs}
        for name, value in attributes.items():
            if name.startswith("on"):
                self.found.event_handlers.append(f"<{tag} {name}={value[:60]!r}>")
            elif name == "style":
                self.found.style_attributes.append(f"<{tag}>: {value[:60]!r}")
                self.found.style_attribute_values.append(value)
            elif name in URL_ATTRIBUTES and _is_javascript_url(value):
                self.found.javascript_urls.append(f"<{tag} {name}={value[:60]!r}>")
        if tag in ("script", "style"):
            self._in = (tag, attributes)
            self._body = []

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in ("script", "style"):
            self.handle_endtag(tag)

    def handle_data(self, data):
        if self._in:
            self._body.append(data)

    def handle_endtag(self, tag):
        if not self._in or tag != self._in[0]:
            return
        kind, attributes = self._in
        body = "".join(self._body).strip()
        self._in = None
        if kind == "style":
            self.found.style_elements.append(body)
        elif attributes.get("type", "").strip().lower() in DATA_SCRIPT_TYPES:
            return
        elif body or "src" not in attributes:
            self.found.scripts.append(body)


def _is_javascript_url(value: str) -> bool:
    # Browsers ignore ASCII whitespace and control characters inside the scheme.
    squeezed = "".join(ch for ch in value if ord(ch) > 0x20).lower()
    return squeezed.startswith(("javascript:", "vbscript:", "data:text/html"))


def inline_code(html: str) -> InlineCode:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader.found


def csp_directives(header: str) -> dict[str, list[str]]:
    """'default-src 'self'; img-src 'self' data:' -> {'default-src': ["'self'"], 'img-src': [...]}."""
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives
