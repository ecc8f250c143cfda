from django.urls import path

from . import views

app_name = "subscriptions"

urlpatterns = [
    path("for-you/", views.for_you, name="for_you"),
    path("tags/<slug:slug>/follow/", views.toggle_follow, name="follow"),
]
