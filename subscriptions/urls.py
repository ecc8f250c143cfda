from django.urls import path  # noqa: F401  (views arrive with follows and digests)

app_name = "subscriptions"

urlpatterns: list = []
