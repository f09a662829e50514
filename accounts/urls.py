from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views, views_activation

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password/done/",
        auth_views.PasswordChangeDoneView.as_view(template_name="accounts/password_change_done.html"),
        name="password_change_done",
    ),
    path("otp/", views.otp_settings, name="otp_settings"),
    path("otp/verify/", views.otp_verify, name="otp_verify"),
    path("otp/enrol/", views.otp_enrol, name="otp_enrol"),
    path("otp/remove/", views.otp_remove, name="otp_remove"),
    path("activate/", views_activation.activate, name="activate"),
    path("activations/", views_activation.activation_list, name="activation_list"),
    path("activations/<int:pk>/", views_activation.activation_detail, name="activation_detail"),
    path("activations/<int:pk>/confirm/", views_activation.activation_confirm, name="activation_confirm"),
    path("activations/<int:pk>/cancel/", views_activation.activation_cancel, name="activation_cancel"),
    path("accounts/<int:pk>/reset/", views_activation.activation_request, name="activation_request"),
]
