from django.urls import path

from survey import views, views_review, views_supervision

urlpatterns = [
    path("", views.campaign_list, name="campaign_list"),
    path("<int:pk>/start/", views.campaign_change, {"action": "start"}, name="campaign_start"),
    path("<int:pk>/close/", views.campaign_change, {"action": "close"}, name="campaign_close"),
    path("progress/<str:code>/", views.progress_current, name="survey_progress_current"),
    path("<int:pk>/progress/", views.progress, name="survey_progress"),
    path("<int:pk>/progress/<str:code>/", views.progress, name="survey_progress_region"),
    path("<int:pk>/progress/<str:code>/sign-off/", views.township_sign_off, name="survey_sign_off"),
    path("<int:pk>/progress/<str:code>/duplicates/", views.progress_duplicates, name="survey_duplicates"),
    path(
        "<int:pk>/progress/<str:code>/duplicates/list/",
        views_review.duplicate_pairs,
        name="survey_duplicate_pairs",
    ),
    path("<int:pk>/statistics/<str:code>/", views.statistics_export, name="survey_statistics"),
    path("returns/<int:pk>/", views.return_detail, name="survey_return"),
    path("returns/<int:pk>/<str:action>/", views.return_action, name="survey_return_action"),
    path("inspections/", views_supervision.inspection_list, name="inspection_list"),
    path("inspections/<int:pk>/", views_supervision.inspection_detail, name="inspection_detail"),
    path("inspections/<int:pk>/sample/", views_supervision.inspection_sample, name="inspection_sample"),
    path("inspections/<int:pk>/checks/", views_supervision.spot_checks_record, name="spot_checks_record"),
    path("inspections/<int:pk>/items/", views_supervision.rectification_add, name="rectification_add"),
    path("items/<int:pk>/<str:action>/", views_supervision.rectification_action, name="rectification_action"),
]
