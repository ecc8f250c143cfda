"""Live fetching from the arXiv API with the `arxiv` client (its paging and rate limit).

The client parses responses itself and silently drops the Atom "Error" entry
arXiv sends for a bad id or query, and it sets no timeout on its requests. So
the client's session gets a default timeout and a response hook that raises
ArxivAPIError when a page is that Error entry (read with our feedparser-based
parser). Results become PaperRecords like every other source.
"""

from collections.abc import Iterator

import arxiv
import requests
from django.conf import settings

from ..models import Paper
from ..text import split_arxiv_id
from .arxiv_atom import ArxivAPIError, is_error_entry, parse_feed
from .records import PaperRecord, RecordError
from .service import ImportReport, import_records

# arXiv's terms of use: no more than one request every three seconds.
DEFAULT_DELAY_SECONDS = 3.0
DEFAULT_TIMEOUT_SECONDS = 30.0

# Errors worth trying again later (the periodic task retries them with backoff).
TRANSIENT_ERRORS = (
    requests.Timeout,
    requests.ConnectionError,
    arxiv.HTTPError,
    arxiv.UnexpectedEmptyPageError,
    ArxivAPIError,
)


class _TimeoutSession(requests.Session):
    def __init__(self, timeout: float):
        super().__init__()
        self.timeout = timeout
        self.hooks["response"].append(_raise_on_error_entry)

    def request(self, *args, **kwargs):
        kwargs.setdefault("timeout", self.timeout)
        return super().request(*args, **kwargs)


def _raise_on_error_entry(response, *args, **kwargs):
    if response.status_code != 200 or b"/api/errors" not in response.content:
        return response
    feed = parse_feed(response.content)
    for entry in feed.entries:
        if is_error_entry(entry):
            raise ArxivAPIError(f"arXiv API error: {entry.get('summary') or entry.get('id')}")
    return response


def make_client(*, num_retries: int = 3) -> arxiv.Client:
    """An arxiv.Client on settings.ARXIV_API_URL that respects settings.ARXIV_API_DELAY_SECONDS."""
    client = arxiv.Client(
        page_size=100,
        delay_seconds=getattr(settings, "ARXIV_API_DELAY_SECONDS", DEFAULT_DELAY_SECONDS),
        num_retries=num_retries,
    )
    client.query_url_format = getattr(settings, "ARXIV_API_URL", "https://export.arxiv.org/api/query") + "?{}"
    # The client offers no timeout option; a stalled connection must not hang a worker.
    client._session = _TimeoutSession(getattr(settings, "ARXIV_API_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS))
    return client


def record_from_result(result: arxiv.Result, *, position: str) -> PaperRecord:
    """An arxiv.Result as a PaperRecord."""
    try:
        arxiv_id, version = split_arxiv_id(result.entry_id)
    except ValueError as exc:
        raise RecordError(f"not an arXiv id: {result.entry_id!r}", position=position) from exc
    categories = list(dict.fromkeys([result.primary_category, *result.categories]))
    alternate = next((link.href for link in result.links if link.rel == "alternate"), "")
    return PaperRecord(
        title=result.title,
        abstract=result.summary,
        authors=[author.name for author in result.authors],
        arxiv_id=arxiv_id,
        arxiv_version=version,
        doi=result.doi or "",
        published_at=result.published,
        updated_at=result.updated,
        primary_category=result.primary_category,
        categories=[c for c in categories if c],
        journal_ref=result.journal_ref or "",
        comment=result.comment or "",
        abs_url=alternate or f"https://arxiv.org/abs/{arxiv_id}",
        pdf_url=result.pdf_url or "",
        source=Paper.Source.ARXIV,
        position=f"{position} ({arxiv_id}{f'v{version}' if version else ''})",
    )


def fetch(
    *,
    ids: list[str] | None = None,
    query: str = "",
    max_results: int | None = 100,
    newest_first: bool = False,
    client: arxiv.Client | None = None,
) -> Iterator[PaperRecord | RecordError]:
    """Records for arXiv ids and/or a search query, page by page.

    Raises ArxivAPIError, arxiv.HTTPError or requests errors when arXiv fails.
    """
    id_list = []
    for raw in ids or []:
        try:
            arxiv_id, version = split_arxiv_id(raw)
        except ValueError:
            yield RecordError("not an arXiv id", position=repr(raw))
            continue
        id_list.append(f"{arxiv_id}v{version}" if version else arxiv_id)
    if ids and not id_list:
        return
    search = arxiv.Search(
        query=query,
        id_list=id_list,
        max_results=max_results if not id_list else max(len(id_list), max_results or 0),
        sort_by=arxiv.SortCriterion.SubmittedDate if newest_first else arxiv.SortCriterion.Relevance,
        sort_order=arxiv.SortOrder.Descending,
    )
    client = client or make_client()
    for index, result in enumerate(client.results(search), start=1):
        try:
            yield record_from_result(result, position=f"result {index}")
        except RecordError as exc:
            yield exc


def newest_query(categories: list[str]) -> str:
    """The arXiv search for papers in any of these categories: 'cat:cs.CL OR cat:cs.IR'."""
    return " OR ".join(f"cat:{category}" for category in categories)


def import_newest(
    *, categories: list[str], max_results: int, client: arxiv.Client | None = None, **options
) -> ImportReport:
    """Import the newest `max_results` papers of the categories (newest submissions first).

    Raises one of TRANSIENT_ERRORS when arXiv fails; nothing is written then.
    """
    records = fetch(query=newest_query(categories), max_results=max_results, newest_first=True, client=client)
    return import_records(records, source=f"arXiv {newest_query(categories)}", format="arxiv", **options)
