"""Atom feeds: the trending list and each tag's trending list (django.contrib.syndication)."""

from django.contrib.syndication.views import Feed
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape

from .models import Paper, Tag
from .trending import trending_papers

FEED_SIZE = 30
FEED_PERIOD = "week"


class TrendingFeed(Feed):
    """The 30 papers trending this week."""

    feed_type = Atom1Feed
    title = "paperhub: trending papers"
    subtitle = "Research papers trending this week on paperhub, ranked by readers' upvotes."

    def link(self) -> str:
        return reverse("papers:home")

    def items(self):
        return trending_papers(period=FEED_PERIOD)[:FEED_SIZE]

    def item_title(self, item: Paper) -> str:
        return item.title

    def item_description(self, item: Paper) -> str:
        # Atom's <summary type="html"> is HTML to feed readers: the abstract is text, so escape it
        # (an abstract holding "<script>" or a javascript: link must reach them as those characters).
        return escape(item.abstract)

    # Atom wants an author per entry: the paper's byline, else the feed's own author (paperhub).
    author_name = "paperhub"

    def item_author_name(self, item: Paper) -> str | None:
        return item.authors_text or None

    def item_pubdate(self, item: Paper):
        return item.published_at or item.created_at

    def item_updateddate(self, item: Paper):
        return item.updated_at_source or item.published_at or item.created_at

    def item_categories(self, item: Paper) -> list[str]:
        return [tag.name for tag in item.tags.all()]


class TagFeed(TrendingFeed):
    """The 30 papers of one tag trending this week."""

    def get_object(self, request: HttpRequest, slug: str) -> Tag:
        return get_object_or_404(Tag, slug=slug, active=True)

    def title(self, tag: Tag) -> str:
        return f"paperhub: trending in #{tag.slug}"

    def subtitle(self, tag: Tag) -> str:
        return tag.description or f"Research papers tagged {tag.name}, trending this week on paperhub."

    def link(self, tag: Tag) -> str:
        return tag.get_absolute_url()

    def items(self, tag: Tag):
        return trending_papers(period=FEED_PERIOD, tag=tag)[:FEED_SIZE]
