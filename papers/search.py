"""Full-text search over the catalogue.

On PostgreSQL: a stored, weighted tsvector (title A, authors and abstract B;
migration 0001_initial keeps it with a trigger and indexes it
with GIN) matched against `websearch_to_tsquery` ("exact phrase", -word, or),
ranked by ts_rank and highlighted with ts_headline. On SQLite: the same query,
rewritten for an FTS5 index kept by triggers (papers/websearch.py,
papers/fts.py), ranked by bm25 and highlighted by FTS5. Any input is accepted: the query is cleaned and cut to
MAX_QUERY_CHARS, and a query with no words finds nothing instead of failing.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank, SearchVectorField
from django.db import connection
from django.db.models import F, FloatField, IntegerField, Q, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from . import fts, websearch
from .models import Paper, PaperQuerySet, Tag
from .text import split_arxiv_id

MAX_QUERY_CHARS = 500
# A long query costs per term; past this many words the rest adds little but cost (docs/ranking-and-search.md).
# The same bound as the query parser's (papers/websearch.py), so what is searched is what is highlighted.
MAX_QUERY_TERMS = websearch.MAX_TERMS
# At most this many matches are ranked (ts_rank reads each one's document): the best of them are shown.
RANKED_MATCHES = 500
_WORD = re.compile(r"\w+")
CONFIG = "english"
# Highlight marks: private-use characters, removed from queries. A stray one in a
# stored text can at worst add a <mark>: `render_marked` escapes everything else.
MARK_START = "\ue000"
MARK_STOP = "\ue001"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ue000\ue001]")
_MARKED = re.compile(f"{MARK_START}([^{MARK_START}{MARK_STOP}]*){MARK_STOP}")


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
    0001_initial); it is not a model field, so it is named here.
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
        papers = _sqlite(papers, query)
    return papers.for_cards()


def _matching(query: str, filters: SearchFilters, papers: PaperQuerySet | None = None) -> PaperQuerySet:
    """Every published paper (of `papers`) `query` finds, unranked and unbounded (the search page ranks only
    RANKED_MATCHES of them; a followed search must see every recent match, however common its words)."""
    papers = _filter(papers if papers is not None else Paper.objects.published(), filters)
    if not query:
        return papers.none()
    if is_postgresql():
        tsquery = SearchQuery(query, search_type="websearch", config=CONFIG)
        return papers.annotate(document=search_document()).filter(document=tsquery)
    return _sqlite(papers, query)


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


def _sqlite(papers: PaperQuerySet, query: str) -> PaperQuerySet:
    """The same query against SQLite's FTS5 index of stems (papers/fts.py), ranked by bm25, title weighted."""
    parsed = websearch.parse(query)
    wanted = websearch.fts5_query(parsed, fts.stem)
    matches = Q(pk__in=_fts_matches(wanted)) if wanted else Q(pk__in=[])
    for excluded in websearch.exclusion_only(parsed, fts.stem):  # "-llm": like PostgreSQL, papers without it
        matches |= ~Q(pk__in=_fts_matches(excluded))
    if not parsed:
        return papers.none()
    if not wanted:
        return papers.filter(matches).order_by("-upvote_count", "-published_at", "-id")
    paper = Paper._meta.db_table
    # bm25 is lower for better matches. It saturates, so the title must weigh far more than ts_rank's
    # A:B = 1.0:0.4 for a paper with every word in its title to rank first as it does on PostgreSQL.
    rank = RawSQL(
        f"SELECT -bm25({fts.TABLE}, {TITLE_WEIGHT}, 1.0, 1.0) FROM {fts.TABLE} "
        f'WHERE {fts.TABLE} MATCH %s AND {fts.TABLE}.rowid = "{paper}"."id"',
        [wanted],
        output_field=FloatField(),
    )
    return (
        papers.filter(matches)
        .annotate(rank=Coalesce(rank, 0.0))
        .order_by("-rank", "-upvote_count", "-published_at", "-id")
    )


TITLE_WEIGHT = 10.0
SNIPPET_WORDS = 40


def _fts_matches(expression: str) -> RawSQL:
    return RawSQL(f"SELECT rowid FROM {fts.TABLE} WHERE {fts.TABLE} MATCH %s", [expression])


def render_marked(value: str) -> SafeString:
    """HTML for a marked text: everything escaped, only well-formed marks become <mark>."""
    escaped = escape(value or "")
    html = _MARKED.sub(r"<mark>\1</mark>", escaped)
    return mark_safe(html.replace(MARK_START, "").replace(MARK_STOP, ""))  # noqa: S308 (escaped above)


def add_highlights(papers: list[Paper], query: str) -> list[Paper]:
    """Give each paper of a results page `title_html` and `snippet_html`, escaped, with <mark>s.

    PostgreSQL's ts_headline marks what matched; on SQLite papers/fts.py marks the same words by their stems.
    """
    terms = websearch.parse(query).wanted
    marks = {"start_mark": MARK_START, "stop_mark": MARK_STOP}
    for paper in papers:
        title = getattr(paper, "title_marked", None) or fts.highlight(_CONTROL.sub(" ", paper.title), terms, **marks)
        snippet = getattr(paper, "snippet_marked", None) or fts.highlight(
            _CONTROL.sub(" ", paper.abstract), terms, window=SNIPPET_WORDS, **marks
        )
        paper.title_html = render_marked(title)
        paper.snippet_html = render_marked(snippet)
    return papers


def filter_matching(papers: PaperQuerySet, raw_query: str) -> PaperQuerySet:
    """The papers of `papers` (whatever their status) that a curator's search names: by the same
    full-text document as the site's search (title, authors, abstract; the GIN index on PostgreSQL),
    at most websearch.MAX_TERMS words, or by arXiv id. No ranking: the admin keeps its own ordering.
    """
    words = clean_query(raw_query).split()[: websearch.MAX_TERMS]
    if not words:
        return papers
    query = " ".join(words)
    by_id = Q(pk__in=[])
    if len(words) == 1:
        try:
            arxiv_id, _ = split_arxiv_id(words[0])
        except ValueError:
            pass
        else:
            by_id = Q(arxiv_id=arxiv_id)
    if is_postgresql():
        tsquery = SearchQuery(query, search_type="websearch", config=CONFIG)
        return papers.annotate(document=search_document()).filter(Q(document=tsquery) | by_id)
    wanted = websearch.fts5_query(websearch.parse(query), fts.stem)  # SQLite: the same FTS5 index as the site
    if not wanted:
        return papers.filter(by_id)
    return papers.filter(Q(pk__in=_fts_matches(wanted)) | by_id)


def has_terms(query: str) -> bool:
    """Whether a (cleaned) query has anything to search for: words, not only stop words or punctuation."""
    if not websearch.parse(query).wanted:
        return False
    if is_postgresql():
        with connection.cursor() as cursor:
            cursor.execute("SELECT numnode(websearch_to_tsquery(%s::regconfig, %s))", [CONFIG, query])
            return cursor.fetchone()[0] > 0
    return True


# SQLite allows 500 terms in a compound SELECT; a batch stays well below.
MATCH_BATCH = 200


def matching_ids(queries: list[tuple[str, int | None]], papers: PaperQuerySet) -> list[set[int]]:
    """For each (query, tag id or None), the ids of `papers` it finds, exactly as the search page would.

    One statement per MATCH_BATCH queries (a UNION ALL of the search's own filter,
    which uses the GIN index on PostgreSQL), however many readers share them: a
    digest chunk matches every followed search of its readers at once.
    """
    found: list[set[int]] = [set() for _ in queries]
    for start in range(0, len(queries), MATCH_BATCH):
        parts = []
        for index, (query, tag_id) in enumerate(queries[start : start + MATCH_BATCH], start=start):
            filters = SearchFilters(tag=Tag(pk=tag_id) if tag_id else None)
            # `papers`' own conditions, not `pk IN (…)`: PostgreSQL then reads the few recent papers by their
            # date indexes and tests the query on those, where a phrase query used to test every paper.
            matched = _matching(query, filters, papers.published()).order_by()
            parts.append(
                matched.annotate(query_index=Value(index, output_field=IntegerField())).values_list("query_index", "pk")
            )
        if not parts:
            continue
        for index, paper_id in parts[0].union(*parts[1:], all=True):
            found[index].add(paper_id)
    return found
