"""Full-text search over the catalogue.

On PostgreSQL: a stored, weighted tsvector (title A, authors and abstract B;
migration 0003_browsing_search_document keeps it with a trigger and indexes it
with GIN) matched against `websearch_to_tsquery` ("exact phrase", -word, or),
ranked by ts_rank and highlighted with ts_headline. On SQLite (development):
every word must appear in the title, authors or abstract, ranked by where the
words appear. Any input is accepted: the query is cleaned and cut to
MAX_QUERY_CHARS, and a query with no words finds nothing instead of failing.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank, SearchVectorField
from django.db import connection
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.db.models.expressions import RawSQL
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .models import Paper, PaperQuerySet, Tag

MAX_QUERY_CHARS = 500
MAX_WORDS = 12
# A long query costs per term; past this many words the rest adds little but cost (docs/ranking-and-search.md).
MAX_QUERY_TERMS = 8
# At most this many matches are ranked (ts_rank reads each one's document): the best of them are shown.
RANKED_MATCHES = 500
CONFIG = "english"
# Highlight marks: private-use characters, removed from queries. A stray one in a
# stored text can at worst add a <mark>: `render_marked` escapes everything else.
MARK_START = "\ue000"
MARK_STOP = "\ue001"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ue000\ue001]")
_MARKED = re.compile(f"{MARK_START}([^{MARK_START}{MARK_STOP}]*){MARK_STOP}")
_WORD = re.compile(r"\w+")
_FALLBACK_IGNORED = {"or", "and"}


@dataclass(frozen=True)
class SearchFilters:
    tag: Tag | None = None
    date_from: date | None = None
    date_to: date | None = None


def clean_query(raw: str | None) -> str:
    """The query as searched: control characters (NUL included) removed, spaces collapsed, at most 500
    characters and MAX_QUERY_TERMS words (`or` and `-` excluded words count as words)."""
    text = _CONTROL.sub(" ", raw or "")
    text = " ".join(text.split())[:MAX_QUERY_CHARS].strip()
    kept, words = [], 0
    for token in text.split():
        words += len(_WORD.findall(token)) if token.lower() != "or" else 0
        if words > MAX_QUERY_TERMS:
            break
        kept.append(token)
    return " ".join(kept)


def search_document() -> RawSQL:
    """The stored document on PostgreSQL: title (A), authors and abstract (B), english.

    `papers_paper.search_document` is kept by a trigger and GIN-indexed (migration
    0003_browsing_search_document); it is not a model field, so it is named here.
    """
    return RawSQL(f'"{Paper._meta.db_table}"."search_document"', [], output_field=SearchVectorField())


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def search_papers(query: str, filters: SearchFilters | None = None) -> PaperQuerySet:
    """Published papers matching `query` (already cleaned), best first, ready for paper cards.

    On PostgreSQL each result carries `title_marked` and `snippet_marked` (ts_headline
    output with highlight marks); `add_highlights` turns those, or the fallback's own
    highlights on SQLite, into safe HTML for one page of results.
    """
    papers = _filter(Paper.objects.published(), filters or SearchFilters())
    if not query:
        return papers.none()
    if is_postgresql():
        papers = _postgresql(papers, query)
    else:
        papers = _fallback(papers, query)
    return papers.for_cards()


def _filter(papers: PaperQuerySet, filters: SearchFilters) -> PaperQuerySet:
    if filters.tag is not None:
        papers = papers.tagged(filters.tag)
    if filters.date_from:
        papers = papers.filter(published_at__gte=datetime.combine(filters.date_from, time.min, tzinfo=UTC))
    if filters.date_to:
        papers = papers.filter(
            published_at__lt=datetime.combine(filters.date_to + timedelta(days=1), time.min, tzinfo=UTC)
        )
    return papers


def _postgresql(papers: PaperQuerySet, query: str) -> PaperQuerySet:
    tsquery = SearchQuery(query, search_type="websearch", config=CONFIG)
    headline = {"config": CONFIG, "start_sel": MARK_START, "stop_sel": MARK_STOP}
    # The first RANKED_MATCHES matches the GIN index yields are ranked, not every match of a common word
    # (ranking 60,000 matches took 0.6-1 s at 100,000 papers).
    # Read as a list first: as a subquery, PostgreSQL's planner may rank inside a nested loop.
    matches = papers.annotate(document=search_document()).filter(document=tsquery).order_by()
    # One more than are ranked, so the paginator can say "more than RANKED_MATCHES results".
    ids = list(matches.values_list("pk", flat=True)[: RANKED_MATCHES + 1])
    return (
        Paper.objects.filter(pk__in=ids)
        .annotate(document=search_document())
        .annotate(
            rank=SearchRank(F("document"), tsquery),
            title_marked=SearchHeadline("title", tsquery, highlight_all=True, **headline),
            snippet_marked=SearchHeadline(
                "abstract",
                tsquery,
                max_words=40,
                min_words=20,
                max_fragments=2,
                fragment_delimiter=" … ",
                **headline,
            ),
        )
        .order_by("-rank", "-upvote_count", "-published_at", "-id")
    )


def stem(word: str) -> str:
    """A crude English stem for the fallback, so "samples" and "sampling" find each other."""
    for suffix in ("ing", "es", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def query_words(query: str) -> tuple[list[str], list[str]]:
    """The fallback's reading of websearch syntax: (stems to find, stems to exclude with a leading -)."""
    wanted: list[str] = []
    excluded: list[str] = []
    for token in query.split():
        target = excluded if token.startswith("-") and len(token) > 1 else wanted
        for word in _WORD.findall(token.lower()):
            word = stem(word)
            if word not in _FALLBACK_IGNORED and word not in wanted and word not in excluded:
                target.append(word)
    return wanted[:MAX_WORDS], excluded[:MAX_WORDS]


def _fallback(papers: PaperQuerySet, query: str) -> PaperQuerySet:
    wanted, excluded = query_words(query)
    if not wanted:
        return papers.none()
    for word in wanted:
        papers = papers.filter(Q(title__icontains=word) | Q(authors_text__icontains=word) | Q(abstract__icontains=word))
    for word in excluded:
        papers = papers.exclude(Q(title__icontains=word) | Q(abstract__icontains=word))
    phrase = " ".join(_WORD.findall(query.lower()))
    # Where the words are says how relevant a paper is: like weights A and B on PostgreSQL,
    # a word in the title counts three times a word in the abstract; the whole phrase adds more.
    weights = [(Q(title__icontains=phrase), 10), (Q(abstract__icontains=phrase), 4)]
    weights += [(Q(title__icontains=word), 3) for word in wanted]
    weights.append((Q(*[Q(title__icontains=word) for word in wanted]), 6))  # every word in the title
    weights += [(Q(abstract__icontains=word) | Q(authors_text__icontains=word), 1) for word in wanted]
    rank = sum((Case(When(cond, then=Value(w)), default=Value(0), output_field=IntegerField()) for cond, w in weights))
    return papers.annotate(rank=rank).order_by("-rank", "-upvote_count", "-published_at", "-id")


def highlight(text: str, words: list[str], *, around: int | None = None) -> str:
    """`text` with each word starting with one of `words` (case-insensitive) wrapped in marks.

    With `around`, only a window of about that many characters around the first match is kept.
    """
    text = _CONTROL.sub(" ", text or "")
    if not words:
        return text[:around] if around else text
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    pattern = re.compile(r"\b(?:" + alternatives + r")\w*", re.I)
    if around:
        match = pattern.search(text)
        start = max((match.start() if match else 0) - around // 3, 0)
        window = text[start : start + around]
        text = ("…" if start else "") + window + ("…" if start + around < len(text) else "")
    return pattern.sub(lambda m: f"{MARK_START}{m.group(0)}{MARK_STOP}", text)


def render_marked(value: str) -> SafeString:
    """HTML for a marked text: everything escaped, only well-formed marks become <mark>."""
    escaped = escape(value or "")
    html = _MARKED.sub(r"<mark>\1</mark>", escaped)
    return mark_safe(html.replace(MARK_START, "").replace(MARK_STOP, ""))  # noqa: S308 (escaped above)


def add_highlights(papers: list[Paper], query: str) -> list[Paper]:
    """Give each paper of a results page `title_html` and `snippet_html`, escaped, with <mark>s."""
    wanted, _ = query_words(query)
    for paper in papers:
        title = getattr(paper, "title_marked", None) or highlight(paper.title, wanted)
        snippet = getattr(paper, "snippet_marked", None) or highlight(paper.abstract, wanted, around=300)
        paper.title_html = render_marked(title)
        paper.snippet_html = render_marked(snippet)
    return papers
