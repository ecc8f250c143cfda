from django.urls import path, re_path

from . import comment_views, feeds, views

app_name = "papers"

urlpatterns = [
    path("", views.home, name="home"),
    path("about/", views.about, name="about"),
    # Reactions before the paper page: its <path:key> would match them too.
    path("papers/<int:pk>/upvote/", views.upvote, name="upvote"),
    path("papers/<int:pk>/bookmark/", views.bookmark, name="bookmark"),
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
    path("tags/<slug:slug>/feed/", feeds.TagFeed(), name="tag_feed"),
    path("feeds/trending/", feeds.TrendingFeed(), name="trending_feed"),
    path("search/", views.search, name="search"),
    path("me/bookmarks/", views.bookmarks, name="bookmarks"),
]
