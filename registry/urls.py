from django.urls import path

from registry import views

urlpatterns = [
    path("", views.region_root, name="region_root"),
    path("<str:code>/", views.region_detail, name="region_detail"),
]
