from django.urls import path, re_path, register_converter

from . import comment_views, feeds, views
from .api import views as api_views
from .dates import Span
from .pagecache import shared_for_visitors


class _SpanConverter:
    """A dated page's URL part as a `Span`; an impossible date (2026-02-30, week 54) matches nothing (404)."""

    kind = ""
    regex = ""

    def to_python(self, value: str) -> Span:
        return Span.parse(self.kind, value)

    def to_url(self, value: Span | str) -> str:
        return value.slug if isinstance(value, Span) else str(value)


class DayConverter(_SpanConverter):
    kind, regex = "date", r"\d{4}-\d{2}-\d{2}"


class WeekConverter(_SpanConverter):
    kind, regex = "week", r"\d{4}-W\d{2}"


class MonthConverter(_SpanConverter):
    kind, regex = "month", r"\d{4}-\d{2}"


register_converter(DayConverter, "day")
register_converter(WeekConverter, "isoweek")
register_converter(MonthConverter, "month")


app_name = "papers"

urlpatterns = [
    path("", views.home, name="home"),
    path("about/", views.about, name="about"),
    # Reactions and dated pages before the paper page: its <path:key> would match them too.
    path("papers/<int:pk>/upvote/", views.upvote, name="upvote"),
    path("papers/<int:pk>/bookmark/", views.bookmark, name="bookmark"),
    path("papers/date/", views.date_jump, name="date_jump"),
    path("papers/date/<day:span>/", views.dated, name="date"),
    path("papers/week/<isoweek:span>/", views.dated, name="week"),
    path("papers/month/<month:span>/", views.dated, name="month"),
    path("papers/<int:pk>/comments/", comment_views.discussion, name="comments"),
    path("papers/<int:pk>/comments/new/", comment_views.post, name="comment_post"),
    path("comments/<int:comment_pk>/edit/", comment_views.edit, name="comment_edit"),
    path("comments/<int:comment_pk>/delete/", comment_views.delete, name="comment_delete"),
    path("comments/<int:comment_pk>/report/", comment_views.report, name="comment_report"),
    path("papers/<path:key>/", views.paper_detail, name="detail"),
    re_path(r"^authors/(?P<pk>[0-9]{1,12})(?:-(?P<slug>[-a-z0-9_]*))?/$", views.author_detail, name="author"),
    path("submit/", views.submit_paper, name="submit"),
    path("submit/<int:pk>/", views.submission_status, name="submission"),
    path("tags/", views.tag_list, name="tags"),
    path("tags/<slug:slug>/", views.tag_detail, name="tag"),
    path("tags/<slug:slug>/feed/", shared_for_visitors(feeds.TagFeed()), name="tag_feed"),
    path("feeds/trending/", shared_for_visitors(feeds.TrendingFeed()), name="trending_feed"),
    path("search/", views.search, name="search"),
    path("me/bookmarks/", views.bookmarks, name="bookmarks"),
    path("me/api-tokens/", api_views.tokens_page, name="api_tokens"),
    path("me/api-tokens/<int:pk>/revoke/", api_views.token_revoke, name="api_token_revoke"),
]
