from django.urls import path

from . import views
from .feeds import SearchFeed

app_name = "subscriptions"

urlpatterns = [
    path("for-you/", views.for_you, name="for_you"),
    path("tags/<slug:slug>/follow/", views.toggle_follow, name="follow"),
    path("papers/<int:pk>/comments/follow/", views.toggle_discussion_follow, name="follow_discussion"),
    path("searches/follow/", views.follow_search, name="follow_search"),
    path("searches/<int:pk>/", views.edit_search, name="edit_search"),
    path("searches/feed/<str:token>/", SearchFeed(), name="search_feed"),
    path("settings/digest/", views.digest_settings, name="digest_settings"),
    path("settings/digest/preview/", views.digest_preview, name="digest_preview"),
    path("settings/digest/send/", views.digest_send_now, name="digest_send_now"),
    path("unsubscribe/<str:token>/", views.unsubscribe_view, name="unsubscribe"),
]
