"""Small text helpers shared by the catalogue: normalization for identity and search."""

import re
import unicodedata

_SPACE = re.compile(r"\s+")
_NON_WORD = re.compile(r"[^\w\s]")
# arXiv ids: new style 2101.00001 (4+4/5 digits), old style cs/0503050 or math.GT/0309136.
ARXIV_ID = re.compile(r"^(?P<id>(\d{4}\.\d{4,5})|([a-z][a-z\-]*(\.[A-Z]{2})?/\d{7}))(v(?P<version>\d+))?$")


# The two private-use characters that mark placeholders in cached frames and stored pages
# (papers/pagecache.py OPEN and CLOSE): never part of a paper's text.
PLACEHOLDER_MARKS = "\ue010\ue011"
_MARKS = str.maketrans("", "", PLACEHOLDER_MARKS)


def collapse_whitespace(value: str) -> str:
    """One space between words, none at either end; unicode and LaTeX untouched (but for the page
    caches' two placeholder marks, which are dropped)."""
    return _SPACE.sub(" ", (value or "").translate(_MARKS)).strip()


def normalize_title(value: str) -> str:
    """A key that equal titles share whatever their case, accents, punctuation or spacing."""
    value = value or ""
    if value.isascii():
        # Most titles and names: nothing to decompose, and casefold() is lower() on ASCII.
        folded = value.lower()
    else:
        folded = unicodedata.normalize("NFKD", value).casefold()
        folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return collapse_whitespace(_NON_WORD.sub(" ", folded))[:500]


def normalize_name(value: str) -> str:
    """De-duplication key for author names ("J. Smith", "j smith" -> "j smith")."""
    return normalize_title(value)[:255]


def split_arxiv_id(value: str) -> tuple[str, int | None]:
    """'2101.00001v2' -> ('2101.00001', 2); 'cs/0503050' -> ('cs/0503050', None).

    Accepts a bare id, an abs/pdf URL or an 'arXiv:' prefix. Raises ValueError
    for anything that is not an arXiv id.
    """
    raw = (value or "").strip()
    raw = re.sub(r"^(https?://[^/]+/(abs|pdf)/|arxiv:)", "", raw, flags=re.IGNORECASE)
    raw = raw.removesuffix(".pdf")
    match = ARXIV_ID.match(raw)
    if not match:
        raise ValueError(f"not an arXiv id: {value!r}")
    version = match.group("version")
    return match.group("id"), int(version) if version else None
