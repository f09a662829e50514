"""URLs of the care loop, mounted at care/ (config/urls.py)."""

from django.urls import path

from care import views

app_name = "care"

urlpatterns = [
    path("children/<int:pk>/", views.child_care, name="child"),
    path("children/<int:pk>/visits/new/", views.visit_new, name="visit_new"),
    path("children/<int:pk>/level/", views.level_override, name="level_override"),
    path("visits/<int:pk>/correct/", views.visit_correct, name="visit_correct"),
    path("regions/<str:code>/", views.board, name="board"),
    path("regions/<str:code>/children/", views.child_list, name="child_list"),
]
