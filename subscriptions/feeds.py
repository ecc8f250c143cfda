"""The private Atom feed of a followed search: its newest matches, at a URL with a signed token (no login)."""

from django.http import Http404, HttpRequest

from papers.feeds import FEED_SIZE, TrendingFeed
from papers.search import SearchFilters, search_papers

from . import searches
from .models import SavedSearch


class SearchFeed(TrendingFeed):
    """The 30 newest papers a followed search finds."""

    def get_object(self, request: HttpRequest, token: str) -> SavedSearch:
        search = searches.search_from_feed_token(token)
        if search is None:
            raise Http404("No such feed.")
        return search

    def title(self, search: SavedSearch) -> str:
        return f"paperhub: {search.label}"

    def subtitle(self, search: SavedSearch) -> str:
        return f"The newest papers on paperhub matching the search {search.label}."

    def link(self, search: SavedSearch) -> str:
        return searches.search_url(search)

    def items(self, search: SavedSearch):
        found = search_papers(search.query, SearchFilters(tag=search.tag))
        return found.order_by("-published_at", "-id")[:FEED_SIZE]
