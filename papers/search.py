"""Full-text search over the catalogue.

On PostgreSQL: a stored, weighted tsvector (title A, authors and abstract B;
migration 0001_initial keeps it with a trigger and indexes it
with GIN) matched against `websearch_to_tsquery` ("exact phrase", -word, or),
ranked by ts_rank and highlighted with ts_headline. On SQLite: the same query,
rewritten for an FTS5 index kept by triggers (papers/websearch.py,
papers/fts.py), ranked by bm25 and highlighted by FTS5. Any input is accepted: the query is cleaned and cut to
MAX_QUERY_CHARS, and a query with no words finds nothing instead of failing.

The search page relaxes a query of plain words (`find`): when the papers with
every word are fewer than a page, it adds the papers with most of the words,
then papers whose stored vector is closest to the query's, each in its own
section, ranked by one score computed the same way on both databases
(docs/ranking-and-search.md, "Relaxed search"), and suggests a spelling from the
text model's vocabulary. Explicit syntax, the API and followed searches stay exact.
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank, SearchVectorField
from django.db import connection, transaction
from django.db.models import F, FloatField, IntegerField, Q, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from . import fts, vectors, websearch
from .models import Paper, PaperQuerySet, PaperVector, Tag, TextModel
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
    output with highlight marks, computed only for the rows read: a page); `add_highlights`
    turns those, or the fallback's own highlights on SQLite, into safe HTML for one page of results.
    """
    return _exact(query, filters or SearchFilters())[0]


def _exact(query: str, filters: SearchFilters) -> tuple[PaperQuerySet, int | None]:
    """`search_papers`' results and, on PostgreSQL, how many matches it ranks (at most RANKED_MATCHES + 1,
    known without counting); None on SQLite."""
    papers = _filter(Paper.objects.published(), filters)
    if not query:
        return papers.none(), 0
    if is_postgresql():
        papers, found = _postgresql(papers, query)
        return papers.for_cards(), found
    return _sqlite(papers, query).for_cards(), None


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


def _postgresql(papers: PaperQuerySet, query: str) -> tuple[PaperQuerySet, int]:
    tsquery = SearchQuery(query, search_type="websearch", config=CONFIG)
    headline = {"config": CONFIG, "start_sel": MARK_START, "stop_sel": MARK_STOP}
    # The first RANKED_MATCHES matches the GIN index yields are ranked, not every match of a common word
    # (ranking 60,000 matches took 0.6-1 s at 100,000 papers); one more, so the paginator can say "more
    # than RANKED_MATCHES results". Read as a list first: as a subquery, PostgreSQL's planner may rank
    # inside a nested loop.
    ids = _first_matches(papers, query, RANKED_MATCHES + 1)
    ranked = (
        _with_ids(Paper.objects.all(), f'"{Paper._meta.db_table}"."id"', ids)
        .annotate(document=search_document())
        .annotate(
            rank=SearchRank(F("document"), tsquery),
            # Computed by PostgreSQL after the sort and the page's LIMIT: for the papers shown only.
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
    return ranked, len(ids)


# A phrase ("negative impact") is checked in each candidate's stored document. PostgreSQL estimates a
# phrase as often as its words together, so with a LIMIT it chose to read documents in table order and
# for a phrase of two common words read all 100,000 (1-1.5 s) to find 209. A query with a phrase is
# answered from at most PHRASE_CANDIDATES papers that have all of its words (the GIN index answers
# that without reading a document): the phrase is checked in those only (~30 ms at 100,000 papers).
PHRASE_CANDIDATES = 2000
_PHRASE_OPERATOR = re.compile(r"<(?:-|[0-9]+)>")
_MAY_HAVE_PHRASE = re.compile(r'"|\w[^\w\s]+\w')


def _first_matches(papers: PaperQuerySet, query: str, limit: int) -> list[int]:
    """Ids of up to `limit` papers of `papers` that `query` finds (PostgreSQL), bounded for phrases."""
    tsquery = SearchQuery(query, search_type="websearch", config=CONFIG)
    text = ""
    if _MAY_HAVE_PHRASE.search(query):  # quotes, or words joined by punctuation ("gpt-4", "don't")
        with connection.cursor() as cursor:
            cursor.execute("SELECT websearch_to_tsquery(%s::regconfig, %s)::text", [CONFIG, query])
            text = cursor.fetchone()[0]
    # A phrase under a negation (-"a b") is not loosened: "neither word" would exclude too much.
    if _PHRASE_OPERATOR.search(text) and "!" not in text:
        loose = _PHRASE_OPERATOR.sub("&", text)
        candidates = list(
            papers.extra(where=[f'"{Paper._meta.db_table}"."search_document" @@ %s::tsquery'], params=[loose])  # noqa: S610
            .order_by()
            .values_list("pk", flat=True)[:PHRASE_CANDIDATES]
        )
        papers = _with_ids(Paper.objects.all(), f'"{Paper._meta.db_table}"."id"', candidates)
    matches = papers.annotate(document=search_document()).filter(document=tsquery).order_by()
    return list(matches.values_list("pk", flat=True)[:limit])


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
    related = [paper for paper in papers if getattr(paper, "search_section", None) == RELATED]
    sentences = _best_sentences(related, query) if related else {}
    for paper in papers:
        title = getattr(paper, "title_marked", None) or fts.highlight(_CONTROL.sub(" ", paper.title), terms, **marks)
        if paper.pk in sentences:
            # The sentence closest to the query; only words of the query that are in it are marked.
            snippet = fts.highlight(sentences[paper.pk], terms, window=SENTENCE_WORDS, **marks)
        else:
            snippet = getattr(paper, "snippet_marked", None) or fts.highlight(
                _CONTROL.sub(" ", paper.abstract), terms, window=SNIPPET_WORDS, **marks
            )
        paper.title_html = render_marked(title)
        paper.snippet_html = render_marked(snippet)
    return papers


def _best_sentences(papers: list[Paper], query: str) -> dict[int, str]:
    """For each related paper, the sentence of its abstract closest to the query by the text model
    ("…" marks text left out before it); none without a model."""
    model = vectors.query_model()
    if model is None:
        return {}
    own = model.transform([query])[0]
    best = {}
    for paper in papers:
        abstract = _CONTROL.sub(" ", paper.abstract or "").strip()
        sentences = [sentence for sentence in SENTENCE.split(abstract) if sentence.strip()]
        if not sentences:
            continue
        scores = model.transform(sentences) @ own
        index = int(scores.argmax()) if own.any() else 0
        best[paper.pk] = ("… " if index else "") + sentences[index]
    return best


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


# From this many queries on, PostgreSQL matches them against an index of `papers` of their own (_matching_in).
OWN_INDEX_QUERIES = 20
_OWN_INDEX_TABLE = "paperhub_matching_papers"


def matching_ids(queries: list[tuple[str, int | None]], papers: PaperQuerySet) -> list[set[int]]:
    """For each (query, tag id or None), the ids of `papers` it finds, exactly as the search page would.

    One statement per MATCH_BATCH queries (a UNION ALL of the search's own filter,
    which uses the GIN index on PostgreSQL), however many readers share them: a
    digest chunk matches every followed search of its readers at once. Many queries
    on PostgreSQL: `_matching_in`.
    """
    if is_postgresql() and len(queries) >= OWN_INDEX_QUERIES:
        return _matching_in(queries, papers)
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


def _matching_in(queries: list[tuple[str, int | None]], papers: PaperQuerySet) -> list[set[int]]:
    """matching_ids for many queries on PostgreSQL: `papers`' stored documents copied into a temporary
    table with a GIN index of its own, and every query tested against that in one statement.

    The same match (the stored document, websearch_to_tsquery, the tag): only the index differs. The
    catalogue's GIN index holds every paper, so a common word's posting list runs to thousands of papers
    for the few hundred recent ones a digest dispatch asks about: 20 s for the 525 followed searches of
    2,000 readers at 100,000 papers, against 2.5 s (the copy and its index included) for the week's 5,500.
    """
    found: list[set[int]] = [set() for _ in queries]
    wanted = [(index, query, tag_id) for index, (query, tag_id) in enumerate(queries) if query]
    if not wanted:
        return found
    ids_sql, params = papers.published().order_by().values("pk").query.sql_with_params()
    quote = connection.ops.quote_name
    paper_table, tags_table = quote(Paper._meta.db_table), quote(Paper.tags.through._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {_OWN_INDEX_TABLE}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {_OWN_INDEX_TABLE} AS SELECT id, search_document FROM {paper_table}"
            f" WHERE id IN ({ids_sql})",
            params,
        )
        cursor.execute(f"CREATE INDEX ON {_OWN_INDEX_TABLE} USING gin (search_document)")
        cursor.execute(f"ANALYZE {_OWN_INDEX_TABLE}")
        cursor.execute(
            "SELECT q.i, m.id FROM unnest(%s::int[], %s::text[], %s::bigint[]) AS q(i, query, tag_id)"
            f" CROSS JOIN LATERAL (SELECT id FROM {_OWN_INDEX_TABLE}"
            "  WHERE search_document @@ websearch_to_tsquery(%s::regconfig, q.query)) AS m"
            f" WHERE q.tag_id IS NULL OR EXISTS (SELECT 1 FROM {tags_table} t"
            "  WHERE t.paper_id = m.id AND t.tag_id = q.tag_id)",
            [[i for i, _, _ in wanted], [q for _, q, _ in wanted], [t for _, _, t in wanted], CONFIG],
        )
        for index, paper_id in cursor.fetchall():
            found[index].add(paper_id)
        cursor.execute(f"DROP TABLE {_OWN_INDEX_TABLE}")
    return found


# --- relaxed search: the search page's plain-word queries (docs/ranking-and-search.md) -----------------

ALL_WORDS, MOST_WORDS, RELATED = "all", "most", "related"
SECTION_LABELS = {
    ALL_WORDS: "Papers with all your words",
    MOST_WORDS: "Papers with most of your words",
    RELATED: "Related papers",
}
# A paper is in "most of your words" when its words carry more than this share of the query's weight (idf).
MOST_SHARE = 0.5
# score = coverage + VECTOR_WEIGHT · cosine(query vector, paper vector)
VECTOR_WEIGHT = 0.5
# Below this cosine a paper with few or none of the words is not shown as related.
MIN_RELATED = 0.03
# Bounds on what one query reads: papers with a word (from the full-text index), papers with the words
# the query's topic is written with, and the stored neighbours of the best matches.
WORD_CANDIDATES = 1000
TOPIC_TERMS = 8
TOPIC_CANDIDATES = 500
NEIGHBOUR_SOURCES = 20
FEEDBACK = 5
FEEDBACK_WEIGHT = 1.0
RELAXED_RESULTS = 40
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])")
SENTENCE_WORDS = 60


@dataclass
class SearchResults:
    """What the search page shows: the exact results (a ranked QuerySet, paged as always), or, relaxed,
    a list of papers each with `search_section`; and a corrected query to suggest, if any."""

    papers: PaperQuerySet | list[Paper]
    relaxed: bool = False
    suggestion: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    # Exact results: how many are ranked (RANKED_MATCHES + 1 at most: "more than"), when known without a count.
    found: int | None = None


def is_plain(query: str) -> bool:
    """Whether a (cleaned) query is only words: no "phrase", -word or `or`, which are searched exactly."""
    if '"' in query:
        return False
    tokens = query.split()
    if any(token.lower() == "or" or (token.startswith("-") and len(token) > 1) for token in tokens):
        return False
    parsed = websearch.parse(query)
    return len(parsed.alternatives) == 1 and not parsed.alternatives[0].excluded


def find(query: str, filters: SearchFilters | None = None, *, relax_below: int) -> SearchResults:
    """The search page's results for a cleaned query.

    Papers with every word, ranked as `search_papers` ranks them; a query of plain
    words whose exact results are fewer than `relax_below` (a page) is relaxed:
    then come papers with most of its words and papers related by vector, at most
    RELAXED_RESULTS in all. With fewer than a page of exact results, a misspelled
    word gets a suggestion.
    """
    filters = filters or SearchFilters()
    exact, found = _exact(query, filters)
    if not query:
        return SearchResults(exact, found=found)
    enough = found if found is not None else exact.order_by().values("pk")[:relax_below].count()
    if enough >= relax_below:
        return SearchResults(exact, found=found)
    model = vectors.query_model()
    suggestion = suggest(query, model)
    if not is_plain(query):
        return SearchResults(exact, suggestion=suggestion, found=found)
    found = list(exact)
    for paper in found:
        paper.search_section = ALL_WORDS
    papers = found + _relaxed(query, filters, found, model)
    counts = {section: sum(p.search_section == section for p in papers) for section in SECTION_LABELS}
    return SearchResults(papers, relaxed=True, suggestion=suggestion, counts=counts)


def _terms(query: str) -> list[websearch.Term]:
    """The query's words, each once (by stem)."""
    seen, terms = set(), []
    for term in websearch.parse(query).wanted:
        key = tuple(fts.stem(word) for word in term.words)
        if key not in seen:
            seen.add(key)
            terms.append(term)
    return terms


def term_weight(term: websearch.Term, model: vectors.QueryModel | None) -> float:
    """How much a word says: its idf in the text model (a word the model does not know is rare; one of its
    stop words is as common as its commonest word); 1 for every word before the first fit."""
    if model is None or not len(model.idf):
        return 1.0
    joined = model.idf_of(" ".join(term.words)) if len(term.words) == 2 else None
    if joined is not None:
        return joined
    weights = []
    for word in term.words:
        if word in model.stop_words:
            weights.append(float(model.idf.min()))
        else:
            known = model.idf_of(word)
            weights.append(float(model.idf.max()) if known is None else known)
    return max(weights)


def _or_query(terms: list[tuple[str, ...]]) -> str:
    """The site's syntax for "any of these words or phrases"."""
    return " or ".join(words[0] if len(words) == 1 else '"' + " ".join(words) + '"' for words in terms)


def _ids(query: str, filters: SearchFilters, limit: int, exclude: set[int]) -> list[int]:
    """Up to `limit` published papers `query` finds (the first the full-text index yields), minus `exclude`."""
    if not query:
        return []
    if is_postgresql():
        return _first_matches(_filter(Paper.objects.published(), filters).exclude(pk__in=exclude), query, limit)
    matches = _matching(query, filters).exclude(pk__in=exclude).order_by()
    return list(matches.values_list("pk", flat=True)[:limit])


def term_hits(paper_ids: list[int], terms: list[websearch.Term]) -> dict[int, set[int]]:
    """For each paper, the indexes of the terms it has (as the full-text search matches them): one query."""
    hits: dict[int, set[int]] = {pk: set() for pk in paper_ids}
    if not paper_ids or not terms:
        return hits
    if is_postgresql():
        checks = ", ".join(["document @@ websearch_to_tsquery(%s::regconfig, %s)"] * len(terms))
        params: list = []
        for term in terms:
            params += [CONFIG, _or_query([term.words])]
        # Each `@@` on the stored column decompresses the document again (14 words: 14 times, ~100 ms for
        # 1,500 papers); `ts_filter` with every weight copies it out once, and the CTE keeps that copy.
        with connection.cursor() as cursor:
            cursor.execute(
                "WITH documents AS MATERIALIZED ("
                f"SELECT id, ts_filter(search_document, '{{a,b,c,d}}') AS document FROM {Paper._meta.db_table} "
                f"WHERE id = ANY(%s)) SELECT id, ARRAY[{checks}] FROM documents",
                [paper_ids, *params],
            )
            for pk, flags in cursor.fetchall():
                hits[pk] = {i for i, flag in enumerate(flags) if flag}
        return hits
    wanted = [[fts.stem(word) for word in term.words] for term in terms]
    for start in range(0, len(paper_ids), MATCH_BATCH):
        batch = paper_ids[start : start + MATCH_BATCH]
        with connection.cursor() as cursor:
            placeholders = ", ".join(["%s"] * len(batch))
            columns = ", ".join(fts.COLUMNS)
            cursor.execute(f"SELECT rowid, {columns} FROM {fts.TABLE} WHERE rowid IN ({placeholders})", batch)
            for pk, *columns in cursor.fetchall():
                column_stems = [(column or "").split() for column in columns]
                hits[pk] = {i for i, stems in enumerate(wanted) if any(_has_run(c, stems) for c in column_stems)}
    return hits


def _has_run(tokens: list[str], run: list[str]) -> bool:
    if len(run) == 1:
        return run[0] in tokens
    return any(tokens[i : i + len(run)] == run for i in range(len(tokens) - len(run) + 1))


def _relaxed(query: str, filters: SearchFilters, found: list[Paper], model: vectors.QueryModel | None) -> list[Paper]:
    """Papers with most of the words, then related by vector, ranked by relaxed_score; bounded reads."""
    terms = _terms(query)
    if not terms:
        return []
    weights = [term_weight(term, model) for term in terms]
    total = sum(weights)
    exact_ids = {paper.pk for paper in found}
    # A paper with none of the heaviest words that together weigh half the query cannot have most of it:
    # those words alone find every candidate for "most of your words".
    heaviest, weight = [], 0.0
    for i in sorted(range(len(terms)), key=lambda i: -weights[i]):
        heaviest.append(terms[i].words)
        weight += weights[i]
        if weight >= MOST_SHARE * total:
            break
    candidates = _ids(_or_query(heaviest), filters, WORD_CANDIDATES, exact_ids)
    hits = term_hits(candidates, terms)
    coverage = {pk: sum(weights[i] for i in matched) / total for pk, matched in hits.items()}

    cosine = _cosines(query, model, terms, filters, found, coverage) if model is not None else {}
    # Papers found by topic or as neighbours may have some of the words too: their share counts in the score.
    extra = term_hits(sorted(cosine.keys() - coverage.keys()), terms)
    coverage.update({pk: sum(weights[i] for i in matched) / total for pk, matched in extra.items()})
    keep = {
        pk: (MOST_WORDS if share > MOST_SHARE else RELATED, relaxed_score(share, cosine.get(pk, 0.0)))
        for pk, share in coverage.items()
        if share > MOST_SHARE or cosine.get(pk, 0.0) >= MIN_RELATED
    }
    # Ranked on a light read of every kept paper; only the papers shown are loaded for cards.
    light = _with_ids(_filter(Paper.objects.published(), filters), f'"{Paper._meta.db_table}"."id"', keep)
    ranked = sorted(
        light.values_list("pk", "upvote_count", "published_at"),
        key=lambda row: (
            keep[row[0]][0] != MOST_WORDS,
            -keep[row[0]][1],
            -row[1],
            -(row[2].timestamp() if row[2] else 0),
            -row[0],
        ),
    )
    shown = [pk for pk, _, _ in ranked[: max(RELAXED_RESULTS - len(found), 0)]]
    papers = Paper.objects.filter(pk__in=shown).for_cards().in_bulk(shown)
    for paper in papers.values():
        paper.search_section, paper.search_score = keep[paper.pk]
    return [papers[pk] for pk in shown if pk in papers]


def _with_ids(queryset, column: str, ids) -> PaperQuerySet:
    """`queryset` narrowed to rows whose `column` is in `ids`: one array parameter on PostgreSQL (a
    thousand placeholders cost more to send than the query takes), `IN` elsewhere."""
    ids = list(ids)
    if is_postgresql():
        return queryset.extra(where=[f"{column} = ANY(%s)"], params=[ids])  # noqa: S610 (no user input)
    return queryset.filter(pk__in=ids) if column.endswith('"id"') else queryset.filter(paper_id__in=ids)


def _stored(version_id: int | None):
    """Stored vectors of the query model's version (the current one). By its id, not by a join on its
    status: with `version_id = n AND paper_id = ANY(...)` the (version, paper) index finds the rows even
    when the table's statistics are stale; a join let PostgreSQL read all 100,000 (0.6 s)."""
    if version_id is None:
        return PaperVector.objects.filter(version__status=TextModel.Status.CURRENT)
    return PaperVector.objects.filter(version_id=version_id)


def _load_vectors(paper_ids, version_id: int | None) -> dict:
    """Stored vectors of these papers in the version `version_id` (one query; see `_with_ids`)."""
    if not paper_ids:
        return {}
    rows = _stored(version_id)
    rows = _with_ids(rows, f'"{PaperVector._meta.db_table}"."paper_id"', paper_ids)
    return {pk: vectors.from_bytes(data) for pk, data in rows.values_list("paper_id", "vector")}


def _cosines(
    query: str,
    model: vectors.QueryModel,
    terms: list[websearch.Term],
    filters: SearchFilters,
    found: list[Paper],
    coverage: dict[int, float],
) -> dict[int, float]:
    """Cosines between the query's vector and a bounded set of papers' stored vectors.

    The query's vector is its own (the words through the text model) plus, with
    equal weight, the centroid of the best FEEDBACK keyword matches' stored
    vectors (pseudo-relevance feedback: a few words say little, the papers they
    find best say what they are about). Scored: the keyword candidates, the
    papers with the TOPIC_TERMS terms closest to that vector, and the stored
    neighbours of the best NEIGHBOUR_SOURCES matches.
    """
    import numpy as np

    own = model.transform([query])[0]
    if not own.any():
        return {}
    exact_ids = {paper.pk for paper in found}
    stored = _load_vectors([*exact_ids, *coverage], model.version_id)
    by_words = sorted(coverage, key=lambda pk: (-relaxed_score(coverage[pk], _dot(stored.get(pk), own)), pk))
    best = [paper.pk for paper in found] + by_words
    feedback = [stored[pk] for pk in best if pk in stored][:FEEDBACK]
    query_vector = own
    if feedback:
        centroid = vectors.normalize_rows(np.vstack(feedback).sum(axis=0, keepdims=True))[0]
        query_vector = vectors.normalize_rows((own + FEEDBACK_WEIGHT * centroid)[None, :])[0]
    words = {word for term in terms for word in term.words}
    topic = [
        tuple(term.split())
        for term in model.nearest_terms(query_vector, TOPIC_TERMS + len(words))
        if not set(term.split()) <= words
    ][:TOPIC_TERMS]
    more = set(_ids(_or_query(topic), filters, TOPIC_CANDIDATES, exact_ids))
    for similar in (
        _stored(model.version_id).filter(paper_id__in=best[:NEIGHBOUR_SOURCES]).values_list("similar", flat=True)
    ):
        more.update(pk for pk in similar or () if pk not in exact_ids)
    stored.update(_load_vectors(more - stored.keys(), model.version_id))
    return {pk: float(vector @ query_vector) for pk, vector in stored.items() if pk not in exact_ids}


def _dot(vector, other) -> float:
    return 0.0 if vector is None else float(vector @ other)


def page_sections(papers: list[Paper]) -> list[dict]:
    """One page of relaxed results grouped by section, in order: [{"key", "label", "papers"}]."""
    sections: list[dict] = []
    for paper in papers:
        key = getattr(paper, "search_section", ALL_WORDS)
        if not sections or sections[-1]["key"] != key:
            sections.append({"key": key, "label": SECTION_LABELS[key], "papers": []})
        sections[-1]["papers"].append(paper)
    return sections


def relaxed_score(coverage: float, cosine: float) -> float:
    """coverage (the share of the query's idf weight in the paper's words) + VECTOR_WEIGHT · cosine."""
    return coverage + VECTOR_WEIGHT * cosine


def suggest(query: str, model: vectors.QueryModel | None) -> str:
    """The query with each word the catalogue does not have replaced by the closest word its text model
    knows (see QueryModel.spelling), or "" when nothing needs correcting."""
    if model is None:
        return ""
    changed = False

    def correct(match: re.Match) -> str:
        nonlocal changed
        word = match.group()
        lower = word.lower()
        if lower == "or" or lower in websearch.STOP_WORDS or model.idf_of(lower) is not None:
            return word
        replacement = model.spelling(lower)
        if replacement is None or replacement == lower or _matching(lower, SearchFilters()).exists():
            return word
        changed = True
        return replacement

    corrected = websearch._WORD.sub(correct, query)
    return corrected if changed else ""
