from django.urls import path, re_path

from . import feeds, views

app_name = "papers"

urlpatterns = [
    path("", views.home, name="home"),
    path("about/", views.about, name="about"),
    # Reactions before the paper page: its <path:key> would match them too.
    path("papers/<int:pk>/upvote/", views.upvote, name="upvote"),
    path("papers/<int:pk>/bookmark/", views.bookmark, name="bookmark"),
    path("papers/<path:key>/", views.paper_detail, name="detail"),
    re_path(r"^authors/(?P<pk>[0-9]{1,12})(?:-(?P<slug>[-a-z0-9_]*))?/$", views.author_detail, name="author"),
    path("submit/", views.submit_paper, name="submit"),
    path("submit/<int:pk>/", views.submission_status, name="submission"),
    path("tags/", views.tag_list, name="tags"),
    path("tags/<slug:slug>/", views.tag_detail, name="tag"),
    path("tags/<slug:slug>/feed/", feeds.TagFeed(), name="tag_feed"),
    path("feeds/trending/", feeds.TrendingFeed(), name="trending_feed"),
    path("search/", views.search, name="search"),
    path("me/bookmarks/", views.bookmarks, name="bookmarks"),
]
