"""URLs of the roster upload page and the officer's import jobs; config/urls.py mounts them at import/."""

from django.urls import path

from registry.roster import views

urlpatterns = [
    path("", views.import_upload, name="import_upload"),
    path("jobs/", views.import_job_list, name="import_job_list"),
    path("jobs/<int:pk>/", views.import_job, name="import_job"),
    path("jobs/<int:pk>/progress/", views.import_job_progress, name="import_job_progress"),
    path("jobs/<int:pk>/confirm/", views.import_job_confirm, name="import_job_confirm"),
    path("jobs/<int:pk>/rerun/", views.import_job_rerun, name="import_job_rerun"),
    path("jobs/<int:pk>/discard/", views.import_job_discard, name="import_job_discard"),
    path("jobs/<int:pk>/invalid-rows.xlsx", views.import_job_invalid_rows, name="import_job_invalid_rows"),
]
