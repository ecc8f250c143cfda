from django.urls import path

from . import feeds, views
from .pagecache import shared_for_visitors

app_name = "papers"

urlpatterns = [
    path("", views.home, name="home"),
    path("about/", views.about, name="about"),
    # Reactions before the paper page: its <path:key> would match them too.
    path("papers/<int:pk>/upvote/", views.upvote, name="upvote"),
    path("papers/<int:pk>/bookmark/", views.bookmark, name="bookmark"),
    path("papers/<path:key>/", views.paper_detail, name="detail"),
    path("tags/", views.tag_list, name="tags"),
    path("tags/<slug:slug>/", views.tag_detail, name="tag"),
    path("tags/<slug:slug>/feed/", shared_for_visitors(feeds.TagFeed()), name="tag_feed"),
    path("feeds/trending/", shared_for_visitors(feeds.TrendingFeed()), name="trending_feed"),
    path("search/", views.search, name="search"),
    path("me/bookmarks/", views.bookmarks, name="bookmarks"),
]
