"""URLs of the care loop, mounted at care/ (config/urls.py)."""

from django.urls import path

from care import views, views_cases, views_people

app_name = "care"

urlpatterns = [
    path("children/<int:pk>/", views.child_care, name="child"),
    path("children/<int:pk>/visits/new/", views.visit_new, name="visit_new"),
    path("children/<int:pk>/level/", views.level_override, name="level_override"),
    path("children/<int:pk>/refer/", views_cases.referral_new, name="referral_new"),
    path("visits/<int:pk>/correct/", views.visit_correct, name="visit_correct"),
    path("regions/<str:code>/", views.board, name="board"),
    path("regions/<str:code>/children/", views.child_list, name="child_list"),
    path("regions/<str:code>/cases/", views_cases.case_list, name="case_list"),
    path("regions/<str:code>/referrals/", views_cases.referral_list, name="referral_list"),
    path("regions/<str:code>/units/", views_cases.unit_board, name="unit_board"),
    path("reports/new/", views_cases.report_new, name="report_new"),
    path("cases/<int:pk>/", views_cases.case_detail, name="case"),
    path("cases/<int:pk>/dispose/", views_cases.case_dispose, name="case_dispose"),
    path("cases/<int:pk>/assess/", views_cases.case_assess, name="case_assess"),
    path("cases/<int:pk>/plan/", views_cases.case_plan, name="case_plan"),
    path("cases/<int:pk>/refer/", views_cases.case_refer, name="case_refer"),
    path("cases/<int:pk>/<str:action>/", views_cases.case_action, name="case_action"),
    path("referrals/", views_cases.unit_referrals, name="unit_referrals"),
    path("referrals/<int:pk>/", views_cases.referral_detail, name="referral"),
    path("referrals/<int:pk>/<str:action>/", views_cases.referral_action, name="referral_action"),
    path("regions/<str:code>/workers/", views_people.care_workers, name="workers"),
    path("regions/<str:code>/workers/appoint/", views_people.care_worker_appoint, name="worker_appoint"),
    path("regions/<str:code>/diary/", views_people.diary, name="diary"),
    path("hotline/", views_people.hotline_calls, name="hotline"),
    path("hotline/new/", views_people.hotline_new, name="hotline_new"),
]
