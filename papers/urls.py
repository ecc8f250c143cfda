from django.urls import path

from . import views

app_name = "papers"

urlpatterns = [
    path("", views.home, name="home"),
    path("papers/<path:key>/", views.paper_detail, name="detail"),
    path("tags/", views.tag_list, name="tags"),
    path("tags/<slug:slug>/", views.tag_detail, name="tag"),
    path("search/", views.search, name="search"),
]
