from django.urls import path

from . import views

app_name = "subscriptions"

urlpatterns = [
    path("for-you/", views.for_you, name="for_you"),
    path("tags/<slug:slug>/follow/", views.toggle_follow, name="follow"),
    path("settings/digest/", views.digest_settings, name="digest_settings"),
    path("settings/digest/preview/", views.digest_preview, name="digest_preview"),
    path("settings/digest/send/", views.digest_send_now, name="digest_send_now"),
    path("unsubscribe/<str:token>/", views.unsubscribe_view, name="unsubscribe"),
]
