"""Stored paper pages: the part of a paper's page that is the same for every visitor, rendered once.

A published paper's page is mostly the paper: its title, byline with author
links, dates, links, abstract, tags and meta tags. That part is rendered once
into a `PaperPage` row (`render`), with the paper's card as other papers list
it among their similar papers and a copy of its own similar papers' ids and
first cards (`Copied`), and read back with the paper in one query (`find`).
Each request fills its placeholders (papers/pagecache.py's private-use
characters) in one pass (`assemble`):

- the counts (upvotes, bookmarks, comments) and, for a reader, their own state;
  the similar papers' status, counts and `updated_at` come in the same query,
  from an index, so a neighbour hidden since is skipped and a retitled one
  (whose copied card's stamp is not its `updated_at` any more) shows the card
  its own stored page holds;
- dates ("3 days ago", in the request's time zone), the site's origin (the
  canonical URL), the CSRF field (readers only);
- the tags' counts (followers) and the buttons other apps add (papers/slots.py);
- the upvote chart (one query on the upvotes index, none for a paper without upvotes).

Inside a reader's frame (papers/pagecache.py `shared_for_readers`) the reader's
state, token and slots stay placeholders of the frame, filled per reader there.

Rows are written after each fit (`render_missing`, papers/tasks.py), for the
papers an import creates or changes (a task queued by the import), and by a
view that finds none or a stale one. A row is stale, so never shown, when:

- its `version` is not the current one (`version()`: a deploy changed the
  templates or the tags that render them);
- the paper was saved since it was rendered (its `updated_at` is not the one
  the row was rendered from: an admin edit, an import's update);
- it was deleted by `forget` (the papers found by `tagged` or `by_authors`) for
  a change that does not save the paper: its tags or authors, a tag's name,
  slug or activity, an author's name or a merge. Once the change commits,
  `forget` also moves those papers' `updated_at` on, so a page that a view
  rendered from the state before the change and stored after it is stale too.

Staff (who may see unpublished papers) always get the page rendered live.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F, Prefetch, Q
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template.defaultfilters import truncatechars
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from . import pagecache
from .charts import paper_upvote_chart
from .dates import column_datetime
from .models import CommentCount, Paper, PaperAuthor, PaperPage, PaperVector, Tag, TextModel
from .slots import annotate_tag_counts, render_slot, tag_counts
from .templatetags.paper_tags import EPOCH, relative_label

logger = logging.getLogger(__name__)

SIMILAR = 5
# The stored neighbours `find` reads with the paper: one to spare for a neighbour hidden since the fit
# (each is three index lookups of a cold page's one statement). A page with more hidden reads the rest.
FIRST_NEIGHBOURS = SIMILAR + 1
RENDER_BATCH = 500
DESCRIPTION_CHARS = 200

# What a stored page is made of: a change to any of these (the templates, the template tags they use,
# this module, the models' URL and link methods, the URLconf) makes every stored page stale.
TEMPLATES = (
    "papers/detail.html",
    "papers/buttons.html",
    "papers/discussion_slot.html",
    "includes/paper_card.html",
    "includes/bar_chart.html",
)
CODE = tuple(
    Path(__file__).parent / name for name in ("templatetags/paper_tags.py", "paper_pages.py", "models.py", "urls.py")
)

# The state kinds a reader's frame fills (papers/pagecache.py `fill`).
READER_KINDS = frozenset({"up", "bm", "upc", "ups", "bmc", "bms"})


@functools.cache
def version() -> str:
    """A digest of the templates and code that render stored pages."""
    digest = hashlib.sha1()
    for name in TEMPLATES:
        digest.update(get_template(name).template.source.encode())
    for path in CODE:
        digest.update(path.read_bytes())
    return digest.hexdigest()


# --- writing ----------------------------------------------------------------------------------


def _for_rendering(ids: Iterable[int]):
    return (
        Paper.objects.published()
        .filter(pk__in=list(ids))
        .prefetch_related(
            Prefetch("tags", queryset=Tag.objects.filter(active=True).order_by("name")),
            Prefetch("authorships", queryset=PaperAuthor.objects.select_related("author").order_by("position")),
        )
    )


def render(paper_ids: Iterable[int]) -> dict[int, PaperPage]:
    """Render and store the pages of these papers (the published ones); returns them by paper id."""
    head, body = get_template("papers/detail.html#head"), get_template("papers/detail.html#body")
    card = get_template("includes/paper_card.html")
    current = version()
    ids = list(dict.fromkeys(paper_ids))
    done: dict[int, PaperPage] = {}
    for start in range(0, len(ids), RENDER_BATCH):
        rendered_at = timezone.now()
        rows = []
        batch = ids[start : start + RENDER_BATCH]
        copied = _copies(batch)
        for paper in _for_rendering(batch):
            tags = list(paper.tags.all())
            chart, chart_key = _chart(paper, now=rendered_at)
            context = {"paper": paper, "tags": tags, "stored": True, "deferred": True, "request": _visitor(paper)}
            rows.append(
                PaperPage(
                    paper_id=paper.pk,
                    version=current,
                    description=truncatechars(paper.abstract, DESCRIPTION_CHARS),
                    head=head.render(context),
                    body=body.render(context),
                    # a curator's title may hold the two marks side by side: never in a stored card
                    card=card.render(context).replace(CARD_SEPARATOR, ""),
                    tags=[[tag.pk, tag.slug, tag.name] for tag in tags],
                    paper_updated_at=paper.updated_at,
                    chart=chart,
                    chart_key=chart_key,
                    rendered_at=rendered_at,
                    **copied[paper.pk]._asdict(),
                )
            )
        PaperPage.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["paper"],
            update_fields=[
                *("version", "description", "head", "body", "card", "tags"),
                *("paper_updated_at", "chart", "chart_key", "rendered_at"),
                *Copied._fields,
            ],
        )
        done.update((row.paper_id, row) for row in rows)
    return done


def chart_key(paper: Paper, *, now: datetime) -> str:
    """What the paper's upvote chart depends on: the day it ends (in the site's time zone), the paper's
    upvote count and its month score. Any upvote added or taken back moves the count or the score
    (papers/trending.py recomputes it in the same transaction), so a chart drawn for another key is stale."""
    day = timezone.localdate(now)
    return f"{timezone.get_current_timezone_name()}:{day}:{paper.upvote_count}:{paper.trending_month!r}"


def _chart(paper: Paper, *, now: datetime) -> tuple[str, str]:
    """The chart's section (one query on the upvotes index, none for a paper without upvotes) and its key."""
    context = {"upvote_chart": paper_upvote_chart(paper, now=now)}
    return get_template("papers/detail.html#chart").render(context), chart_key(paper, now=now)


def redraw_charts(*, now: datetime) -> int:
    """Redraw the stored charts that are stale at `now` (`chart_key`), a batch at a time; returns how many.

    Run just after midnight in the site's time zone (papers/tasks.py, beat), when the day every chart
    ends on moves and so every chart is stale: without it, each paper's first view of the day drew its
    chart and wrote it (a query on the upvotes index and an UPDATE, in a visitor's request).
    """
    redrawn = 0
    last = 0
    while True:
        batch = list(
            Paper.objects.filter(stored_page__isnull=False, pk__gt=last)
            .order_by("pk")
            .only("pk", "upvote_count", "trending_month", "stored_page__chart_key")
            .select_related("stored_page")[:RENDER_BATCH]
        )
        if not batch:
            return redrawn
        last = batch[-1].pk
        stale = [paper for paper in batch if paper.stored_page.chart_key != chart_key(paper, now=now)]
        for paper in stale:
            paper.stored_page.chart, paper.stored_page.chart_key = _chart(paper, now=now)
        PaperPage.objects.bulk_update([paper.stored_page for paper in stale], ["chart", "chart_key"])
        redrawn += len(stale)


def _visitor(paper: Paper) -> HttpRequest:
    """A visitor's GET of the paper's page, which is what the stored parts are rendered for."""
    return pagecache.visitor_request(paper.get_absolute_url())


def render_later(paper_ids: list[int]) -> None:
    """Render these papers' pages in a task once the current transaction commits (an import's papers)."""
    from .tasks import render_paper_pages

    ids = list(dict.fromkeys(paper_ids))
    for start in range(0, len(ids), RENDER_BATCH):
        chunk = ids[start : start + RENDER_BATCH]
        # robust: a broker that is down loses these renders (the hourly task makes them), never the import
        transaction.on_commit(lambda chunk=chunk: render_paper_pages.delay(chunk), robust=True)


def stale_ids():
    """Published papers whose stored page is missing or stale (a queryset of ids)."""
    fresh = Q(stored_page__version=version(), stored_page__paper_updated_at=F("updated_at"))
    return Paper.objects.published().exclude(fresh).order_by("pk").values_list("pk", flat=True)


def render_missing() -> int:
    """Render every published paper's page that is missing or stale, then copy into every page the
    neighbours' cards it lacks (`copy_similar`); returns how many pages were rendered."""
    ids = list(stale_ids())
    render(ids)
    copy_similar()
    return len(ids)


# --- the similar papers' cards, copied into each page ------------------------------------------


class Copied(NamedTuple):
    """What a stored page holds of its similar papers, so that a cold page reads none of their rows
    but for their counts (`find`): the current fit's list of its neighbours, and the first
    FIRST_NEIGHBOURS's stored cards with the `updated_at` each was rendered from (its stamp, as
    `find` reads it; None where the neighbour had no current card to copy)."""

    similar_version: int | None
    similar: list[int]
    similar_stamps: list[str | None]
    similar_cards: str


def _copies(paper_ids: list[int], *, cards: bool = True) -> dict[int, Copied]:
    """What these pages should hold (`Copied`), from the current fit's lists and the neighbours'
    current stored cards (three queries; without `cards`, the cards are left out)."""
    lists = {
        pk: (version_id, list(_json(similar) or []))
        for pk, version_id, similar in PaperVector.objects.filter(
            paper_id__in=paper_ids, version__status=TextModel.Status.CURRENT
        ).values_list("paper_id", "version_id", "similar")
    }
    firsts = {pk for _, similar in lists.values() for pk in similar[:FIRST_NEIGHBOURS]}
    current = _current_cards(firsts, cards=cards)
    copies = {}
    for pk in paper_ids:
        version_id, similar = lists.get(pk, (None, []))
        first = similar[:FIRST_NEIGHBOURS]
        stamps = [current[n][0] if n in current else None for n in first]
        joined = CARD_SEPARATOR.join(current[n][1] if n in current else "" for n in first) if cards else ""
        copies[pk] = Copied(version_id, similar, stamps, joined)
    return copies


def _current_cards(paper_ids: Iterable[int], *, cards: bool = True) -> dict[int, tuple[str, str]]:
    """Of these papers, those whose stored card is current: their stamp (as `find` reads it) and card."""
    ids = list(paper_ids)
    if not ids:
        return {}
    paper, page = Paper._meta.db_table, PaperPage._meta.db_table
    stamp = _stamp_sql(connection.vendor)
    card = 'ns."card"' if cards else "''"
    sql = (
        f'SELECT n."id", {stamp}, {card} FROM "{paper}" n '  # noqa: S608 (names from our models)
        f'JOIN "{page}" ns ON ns."paper_id" = n."id" AND ns."version" = %s AND ns."paper_updated_at" = n."updated_at" '
        f'WHERE n."id" IN ({", ".join(["%s"] * len(ids))})'
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [version(), *ids])
        return {pk: (json.loads(stamped)[0], text) for pk, stamped, text in cursor.fetchall()}


def _stamp_sql(vendor: str) -> str:
    """A paper `n`'s `updated_at` in a JSON array, as `find` reads it with the neighbours' counts."""
    return 'json_build_array(n."updated_at")::text' if vendor == "postgresql" else 'json_array(n."updated_at")'


def copy_similar() -> int:
    """Copy into every current stored page what it lacks of its similar papers (`Copied`): after a fit
    (new lists), after pages were rendered (their neighbours' cards were stale, so not copied, when they
    were) and after a neighbour changed (its card has a new stamp). A batch at a time; only the pages
    whose copy differs from what the lists and the cards now give are written. Returns how many.

    A page whose copy is out of date is still shown right (`assemble`): a list of another fit is not
    used, and a card whose stamp is not its paper's is read from that paper's stored page.
    """
    written, last = 0, 0
    pages = PaperPage.objects.filter(version=version()).order_by("pk")
    while True:
        rows = list(pages.filter(pk__gt=last).values_list("pk", *Copied._fields[:3])[:RENDER_BATCH])
        if not rows:
            return written
        last = rows[-1][0]
        wanted = _copies([pk for pk, *_ in rows], cards=False)
        changed, refitted = [], defaultdict(list)
        for pk, *held in rows:
            if tuple(held) == wanted[pk][:3]:
                continue
            if held[1:] == list(wanted[pk][1:3]):  # a new fit, the same list: only the version moves
                refitted[wanted[pk].similar_version].append(pk)
            else:
                changed.append(pk)
        for version_id, ids in refitted.items():
            written += PaperPage.objects.filter(pk__in=ids, version=version()).update(similar_version=version_id)
        if changed:  # writing the cards is most of the cost (~0.7 ms a page at 100,000 papers)
            fresh = _copies(changed)
            with transaction.atomic():
                # Only the pages still of this code's version, held until written: one that a deploy's
                # new code rendered since keeps the copy it made with its own cards.
                still = PaperPage.objects.select_for_update().filter(pk__in=changed, version=version())
                pks = list(still.order_by("pk").values_list("pk", flat=True))
                PaperPage.objects.bulk_update(
                    [PaperPage(pk=pk, **fresh[pk]._asdict()) for pk in pks], list(Copied._fields)
                )
            written += len(pks)


def forget(paper_ids: Iterable[int], *, touch: bool = True) -> None:
    """These papers' stored pages are stale (their tags or byline changed without a save): the next
    view (or render) writes them again.

    Deleted now, and again once the change commits, when the papers are also touched (their
    `updated_at` moved on): a view that read the state before the commit may store a page
    rendered from it after the delete, and that page then names an `updated_at` that is no
    longer the paper's, so it is never shown. Touched after the commit, a batch at a time, so
    that a curator's long change never holds the papers' rows (an upvote updates them).
    `touch=False` for an import: its papers are new (no view sees them before the commit) or
    saved in the same transaction.
    """
    ids = sorted(set(paper_ids))
    if not ids:
        return

    def delete() -> None:
        for start in range(0, len(ids), RENDER_BATCH):
            PaperPage.objects.filter(paper_id__in=ids[start : start + RENDER_BATCH]).delete()

    def delete_and_touch() -> None:
        delete()
        now = timezone.now()
        for start in range(0, len(ids), RENDER_BATCH):
            Paper.objects.filter(pk__in=ids[start : start + RENDER_BATCH]).update(updated_at=now)

    delete()
    transaction.on_commit(delete_and_touch if touch else delete)


def tagged(tag_ids: Iterable[int]) -> list[int]:
    """Ids of the papers with one of these tags (collect them before a tag is deleted)."""
    return list(Paper.tags.through.objects.filter(tag_id__in=list(tag_ids)).values_list("paper_id", flat=True))


def by_authors(author_ids: Iterable[int]) -> list[int]:
    """Ids of the papers whose byline names one of these authors."""
    return list(PaperAuthor.objects.filter(author_id__in=list(author_ids)).values_list("paper_id", flat=True))


# --- reading ----------------------------------------------------------------------------------

# What the view reads of the paper and its stored page (the rest of the paper is in the page).
PAPER_COLUMNS = (
    *("id", "arxiv_id", "slug", "title", "status", "upvote_count", "bookmark_count", "updated_at", "trending_month"),
)
PAGE_COLUMNS = (
    *("version", "description", "head", "body", "tags", "paper_updated_at", "chart", "chart_key"),
    *("similar_version", "similar", "similar_stamps", "similar_cards"),
)


@dataclass
class StoredPage:
    """A `PaperPage` as `find` reads it (the columns `assemble` uses), without a model instance's cost."""

    version: str
    description: str
    head: str
    body: str
    tags: list
    paper_updated_at: datetime
    chart: str
    chart_key: str
    similar_version: int | None
    similar: list
    similar_stamps: list
    similar_cards: str


def find(*, arxiv_id: str, slug: str) -> tuple[Paper, StoredPage | None] | None:
    """The published paper with this arXiv id (or, without one, this slug), with its stored page (if any), its
    stored neighbours' ids (`stored_similar_ids`: the ones copied into its page if they are the current
    fit's, else the vectors') and the first FIRST_NEIGHBOURS of them as `Neighbour`s (`stored_neighbours`:
    status, counts and stamp, from an index: none of their rows is read): one query, or None.

    Written in SQL like pagecache.reader_state: the ORM took longer to build this statement
    than the database took to answer it, on every cold paper page.
    """
    current = [TextModel.Status.CURRENT] * 2
    with connection.cursor() as cursor:
        cursor.execute(
            _find_sql(connection.vendor, by_arxiv_id=bool(arxiv_id)),
            [*current, *current, FIRST_NEIGHBOURS, Paper.Status.PUBLISHED, arxiv_id or slug],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    n = len(PAPER_COLUMNS)
    paper_values = dict(zip(PAPER_COLUMNS, row[:n], strict=True))
    page_values = dict(zip(PAGE_COLUMNS, row[n : n + len(PAGE_COLUMNS)], strict=True))
    paper_values["updated_at"] = column_datetime(paper_values["updated_at"])
    paper = _from_db(Paper, paper_values)
    paper.stored_similar_ids = _json(row[-2]) or []
    paper.stored_neighbours = _neighbour_rows(row[-1])
    if page_values["version"] is None:  # no stored page
        return paper, None
    page_values.update(
        tags=_json(page_values["tags"]),
        paper_updated_at=column_datetime(page_values["paper_updated_at"]),
        similar=_json(page_values["similar"]),
        similar_stamps=_json(page_values["similar_stamps"]),
    )
    return paper, StoredPage(**page_values)


@functools.cache
def _find_sql(vendor: str, *, by_arxiv_id: bool) -> str:
    """`find`'s statement (parameters: the current status four times, how many neighbours, the published
    status, the arXiv id or slug)."""
    paper_table, page_table = Paper._meta.db_table, PaperPage._meta.db_table
    columns = ", ".join([*(f'p."{c}"' for c in PAPER_COLUMNS), *(f's."{c}"' for c in PAGE_COLUMNS)])
    if by_arxiv_id:
        # A key that is an arXiv id holds a dot or a slash, which no slug does (Django's slug validator,
        # slugify), so only the arXiv id index is read. `NOT arxiv_id = ''` is that index's condition (it
        # is partial): with it in the statement, PostgreSQL's plan for any id uses the index, so a prepared
        # statement is planned once per connection instead of on every run (without it the generic plan
        # is a sequential scan).
        where = 'p."arxiv_id" = %s AND NOT p."arxiv_id" = \'\''
    else:
        where = 'p."slug" = %s'
    ids = _similar_ids_sql(copied=True)
    return (
        f"SELECT {columns}, {ids}, {_neighbours_sql(vendor, ids)} "  # noqa: S608 (names from our models)
        f'FROM "{paper_table}" p LEFT JOIN "{page_table}" s ON s."paper_id" = p."id" '
        f'WHERE p."status" = %s AND {where}'
    )


# Between two cards in `similar_cards`: the two placeholder marks side by side. No placeholder holds
# them so, imports drop the marks (papers/text.py), and `render` drops the pair from a card whose
# title a curator typed it into.
CARD_SEPARATOR = pagecache.OPEN + pagecache.CLOSE


def _neighbour_rows(value: str | None) -> dict[int, Neighbour]:
    rows = _json(value) or []
    return {pk: Neighbour(status, upvotes, comments or 0, stamp) for pk, status, upvotes, comments, stamp in rows}


def _neighbours(paper_id: int, count: int) -> dict[int, Neighbour]:
    """The paper's first `count` stored neighbours in the current fit, as `find` reads the first FIRST_NEIGHBOURS."""
    ids = _similar_ids_sql(copied=False)
    sql = f'SELECT {_neighbours_sql(connection.vendor, ids)} FROM "{Paper._meta.db_table}" p WHERE p."id" = %s'  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [TextModel.Status.CURRENT, count, paper_id])
        row = cursor.fetchone()
    return _neighbour_rows(row[0] if row else None)


def _similar_ids_sql(*, copied: bool) -> str:
    """The stored neighbours' ids (a JSON array) of the paper `p`: those copied into its page `s` if they
    are the current fit's (`copied`), else its vector's in the current fit, read only then. Parameters:
    the current status, twice with `copied`."""
    vector, model = PaperVector._meta.db_table, TextModel._meta.db_table
    vectors = (
        f'(SELECT v."similar" FROM "{vector}" v JOIN "{model}" m ON m."id" = v."version_id" '
        f'WHERE v."paper_id" = p."id" AND m."status" = %s LIMIT 1)'
    )
    if not copied:
        return vectors
    return (
        f'CASE WHEN s."similar_version" = (SELECT cm."id" FROM "{model}" cm WHERE cm."status" = %s) '
        f'THEN s."similar" ELSE {vectors} END'
    )


def _neighbours_sql(vendor: str, ids: str) -> str:
    """A subquery of the first of these neighbours (`ids`, a JSON array; its parameters, then how many):
    a JSON array of [id, status, upvotes, visible comments, `updated_at`] of each. Its columns are all
    in one index (paper_card_state_idx), so PostgreSQL reads none of the neighbours' rows, only the
    index (and the comment counts, a small table)."""
    paper, comments = Paper._meta.db_table, CommentCount._meta.db_table
    row = 'n."id", n."status", n."upvote_count", c."visible", n."updated_at"'
    if vendor == "postgresql":
        # `= ANY(ARRAY(...))` rather than `IN (...)`: no semi-join to plan (planning took longer than running).
        rows, among, close = f"json_agg(json_build_array({row}))::text", "= ANY(ARRAY(", "))"
        each = f"jsonb_array_elements({ids}) WITH ORDINALITY e(value, i)"
        element, first = "(e.value #>> '{}')::bigint", "e.i <= %s"
    else:  # SQLite's JSON1
        rows, among, close = f"json_group_array(json_array({row}))", "IN (", ")"
        each, element, first = f"json_each({ids}) e", "e.value", "e.key < %s"
    return (
        f'(SELECT {rows} FROM "{paper}" n LEFT JOIN "{comments}" c ON c."paper_id" = n."id" '
        f'WHERE n."id" {among}SELECT {element} FROM {each} WHERE {first}{close})'
    )


def _from_db(model, values: dict):
    """An instance as the ORM makes it from these columns (the others deferred)."""
    names = [field.attname for field in model._meta.concrete_fields if field.attname in values]
    return model.from_db(connection.alias, names, [values[name] for name in names])


def _json(value):
    """A JSON column as the ORM would read it (Django reads jsonb as text on PostgreSQL too)."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def current_page(paper: Paper, page: StoredPage | None) -> StoredPage | PaperPage:
    """The paper's stored page if it is current, else rendered now."""
    if page is None or page.version != version() or page.paper_updated_at != paper.updated_at:
        page = render([paper.pk])[paper.pk]
    return page


@dataclass
class Neighbour:
    status: str
    upvotes: int
    comments: int
    stamp: str  # its `updated_at`, as a copy of its card names the one it was rendered from


def _copied_cards(page: StoredPage | PaperPage, stamps: dict[int, str]) -> dict[int, str]:
    """The cards copied into the page (`Copied`) of these neighbours, where the copy is of the paper as it
    is now (the stamps `find` read), whichever fit's list the page shows."""
    copied = zip(page.similar, page.similar_stamps, page.similar_cards.split(CARD_SEPARATOR), strict=False)
    return {pk: card for pk, stamp, card in copied if stamp is not None and stamps.get(pk) == stamp}


@dataclass
class Assembled:
    """What papers/detail.html shows in place of its `head` and `body` partials."""

    description: str
    head: SafeString
    body: SafeString
    paper_ids: list[int]  # the paper and the similar papers shown


def assemble(request: HttpRequest, paper: Paper, page: StoredPage | None, *, now: datetime) -> Assembled:
    """The paper's stored page (`find`) with every placeholder filled for this request (see the module docstring)."""
    page = current_page(paper, page)
    everyone = getattr(paper, "stored_similar_ids", None) or []
    stored_ids = [pk for pk in everyone if pk != paper.pk]
    neighbours = paper.stored_neighbours  # the first FIRST_NEIGHBOURS: room for one no longer published

    def published() -> list[int]:
        return [pk for pk in stored_ids if pk in neighbours and neighbours[pk].status == Paper.Status.PUBLISHED]

    shown = published()
    if len(shown) < SIMILAR and len(everyone) > FIRST_NEIGHBOURS:  # more hidden since the fit: read the rest
        neighbours = paper.stored_neighbours = _neighbours(paper.pk, len(everyone))
        shown = published()
    shown = shown[:SIMILAR]
    cards = _copied_cards(page, {pk: neighbours[pk].stamp for pk in shown})
    missing = [pk for pk in shown if pk not in cards]
    if missing:  # a neighbour changed, or a new fit's, since the page's copy: their own stored cards
        cards.update((pk, card) for pk, (_, card) in _current_cards(missing).items())
        if missing := [pk for pk in missing if pk not in cards]:
            cards.update((pk, row.card) for pk, row in render(missing).items())
    similar = _similar_section("".join(cards.get(pk, "") for pk in shown)) if shown else ""
    chart = page.chart
    if page.chart_key != chart_key(paper, now=now):  # a new day, or upvotes since it was drawn
        chart, key = _chart(paper, now=now)
        PaperPage.objects.filter(pk=paper.pk).update(chart=chart, chart_key=key)
    tags = {pk: TagRef(pk, slug, name) for pk, slug, name in page.tags}

    deferring = pagecache.deferring(request)
    ids = [paper.pk, *shown]
    if deferring:
        pagecache.defer_state(request, ids)
        state = {}
    elif request.user.is_authenticated:
        state = pagecache.reader_state(request.user, ids)
    else:
        state = {pk: (row.upvotes, 0, False, False) for pk, row in neighbours.items()}
        state[paper.pk] = (paper.upvote_count, paper.bookmark_count, False, False)
    counted = _tag_counts(request, tags.keys()) if tags else {}
    slot_context = {"request": request, "user": request.user}
    texts: dict[str, dict[str, str]] = {}  # each paper's state in words, as pagecache.fill says it
    origin = None

    def value(match) -> str:
        nonlocal origin
        kind, arg = match.group(1), match.group(2)
        if kind in READER_KINDS:
            if deferring:
                return match.group(0)  # the frame fills it for each reader
            said = texts.get(arg)
            if said is None:
                said = texts[arg] = pagecache.state_texts(state.get(int(arg or 0), pagecache.NO_STATE))
            return said[kind]
        if kind == "ago":
            try:
                return escape(relative_label(EPOCH + timedelta(microseconds=int(arg or 0)), now))
            except OverflowError:  # not one of ours
                return ""
        if kind == "comments":
            n = neighbours[int(arg)].comments if arg and int(arg) in neighbours else 0
            if not n:
                return ""
            url = reverse("papers:comments", args=[int(arg)])
            return format_html(' · <a href="{}">{} comment{}</a>', url, n, "" if n == 1 else "s")
        if kind == "csrfinput":
            if deferring:
                return f'<input type="hidden" name="csrfmiddlewaretoken" value="{pagecache.placeholder("csrf")}">'
            if request.user.is_authenticated:
                return format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', get_token(request))
            return ""
        if kind == "origin":
            if origin is None:
                origin = escape(request.build_absolute_uri("/")[:-1])
            return origin
        tag = tags.get(int(arg)) if arg else None
        if kind == "tagcounts" and tag is not None:
            return counted.get(tag.pk, "")
        if kind == "tagslot" and tag is not None:
            if deferring:
                return pagecache.defer_slot(request, "tag_actions", (tag.instance(),))
            if not request.user.is_authenticated:
                return _visitor_tag_slot(request, tag)
            return render_slot("tag_actions", slot_context, tag.instance())
        return ""  # nothing of ours: a stray private-use character in a title never breaks the page

    body = page.body.replace(pagecache.placeholder("similar"), similar).replace(pagecache.placeholder("chart"), chart)
    return Assembled(
        description=page.description,
        head=mark_safe(pagecache.PLACEHOLDER.sub(value, page.head)),  # noqa: S308 (ours, filled with escaped parts)
        body=mark_safe(pagecache.PLACEHOLDER.sub(value, body)),  # noqa: S308 (ours, filled with escaped parts)
        paper_ids=ids,
    )


# The "Similar papers" section around its cards, split where they go: rendered once per process.
_similar_shell: list[str] = []


def _similar_section(cards: str) -> str:
    """papers/detail.html's `similar` partial with these stored cards, without rendering it."""
    shell = _similar_shell
    if not shell:
        mark = pagecache.placeholder("cards")
        context = {"similar": [0], "stored": True, "cards": mark_safe(mark)}  # noqa: S308 (our mark)
        shell = get_template("papers/detail.html#similar").render(context).split(mark)
        if not settings.DEBUG:  # templates reload in DEBUG
            _similar_shell[:] = shell
    return shell[0] + cards + shell[1]


# A visitor's slots beside a tag (the Follow button, which leads to log-in) differ between two
# visitors only by the path the form comes back to: rendered once per process and tag.
_visitor_slots: dict[tuple[int, str, str], str] = {}


class TagRef(NamedTuple):
    """A tag as a stored page names it ([id, slug, name]): its slots render the `Tag`, made only then."""

    pk: int
    slug: str
    name: str

    def instance(self) -> Tag:
        return Tag(pk=self.pk, slug=self.slug, name=self.name, active=True)


def _visitor_tag_slot(request: HttpRequest, tag: Tag | TagRef) -> str:
    """What `render_slot("tag_actions", ...)` gives this anonymous visitor for `tag`, without rendering it."""
    key = (tag.pk, tag.slug, tag.name)
    html = _visitor_slots.get(key)
    if html is None:
        visitor = pagecache.visitor_request(pagecache.SHELL_PATH)
        tag = tag if isinstance(tag, Tag) else tag.instance()
        html = render_slot("tag_actions", {"request": visitor, "user": visitor.user}, tag)
        if not settings.DEBUG:  # templates reload in DEBUG
            _visitor_slots[key] = html
    # The path is in the form's `next` field, escaped as the template escapes it.
    return html.replace(pagecache.SHELL_PATH, escape(request.get_full_path()))


# The shared entry is (when it expires, the counts). Each process keeps the counts it read until then:
# no older than the shared entry lets them be, without a cache read per page; and each tag's counts in
# HTML as it first shows them (`shown`).
TAG_COUNTS_KEY = "paper-pages:tag-counts:2"
_counts_memo: dict = {"value": None, "until": 0.0, "shown": {}}


def tag_counts_to_read() -> tuple[str, ...]:
    """What a visitor's paper page reads with the page (papers/views.py): the tags' counts, unless this
    process holds them."""
    return () if time.time() < _counts_memo["until"] else (TAG_COUNTS_KEY,)


def _all_tag_counts() -> dict[int, dict[str, int]]:
    keys = [count.key for count in tag_counts()]
    rows = annotate_tag_counts(Tag.objects.order_by()).values_list("pk", *keys)
    return {pk: dict(zip(keys, values, strict=True)) for pk, *values in rows}


def _tag_counts(request: HttpRequest, tag_ids: Iterable[int]) -> dict[int, str]:
    """Each tag's registered counts (followers) in HTML, as `extra_tag_counts` words them.

    Counted for every tag at once and kept in the shared cache for PAGE_SECONDS, as long as a
    visitor's cached page keeps them (the Follow button's answer updates the count in place).
    Counting a popular tag's followers per view took longer than the rest of the page. A
    visitor's view reads them with its page (papers/views.py: `prefetch`), and the process keeps
    them until the shared entry expires.
    """
    from .templatetags.slots import extra_tag_counts

    if not tag_counts():
        return {}
    tag_ids = set(tag_ids)
    counts = None
    if time.time() < _counts_memo["until"]:
        counts = _counts_memo["value"]
    else:
        read, entry = pagecache.prefetched(request, TAG_COUNTS_KEY)
        if not read:
            try:
                entry = cache.get(TAG_COUNTS_KEY)
            except Exception:
                entry = None
        if entry is not None:
            until, counts = entry
            _counts_memo.update(value=counts, until=until, shown={})
    if counts is None or not tag_ids <= set(counts):  # none yet, or a tag newer than the counts
        counts, until = _all_tag_counts(), time.time() + pagecache.PAGE_SECONDS
        try:
            cache.set(TAG_COUNTS_KEY, (until, counts), pagecache.PAGE_SECONDS)
        except Exception:
            logger.warning("tag counts not cached: the cache is unreachable")
        _counts_memo.update(value=counts, until=until, shown={})
    shown = _counts_memo["shown"]
    for pk in tag_ids - shown.keys():
        words = extra_tag_counts(SimpleNamespace(pk=pk, **counts.get(pk, {})))
        shown[pk] = "".join(format_html(' <span class="muted small">{}</span>', word) for word in words)
    return {pk: shown[pk] for pk in tag_ids}
