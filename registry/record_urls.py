"""URLs of one register; config/urls.py mounts it for children, women and elders with ``kind``."""

from django.urls import path

from registry import views_records as views

urlpatterns = [
    path("", views.record_list, name="record_list"),
    path("template.xlsx", views.record_template, name="record_template"),
    path("export.xlsx", views.record_export, name="record_export"),
    path("new/", views.record_create, name="record_create"),
    path("<int:pk>/", views.record_detail, name="record_detail"),
    path("<int:pk>/edit/", views.record_edit, name="record_edit"),
    path("<int:pk>/status/", views.record_status, name="record_status"),
    path("<int:pk>/history/", views.record_history, name="record_history"),
]
