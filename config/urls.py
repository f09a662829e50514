from django.contrib import admin
from django.urls import include, path

from accounts import views as accounts_views

admin.site.site_header = "留守儿童关爱保护信息平台 · 系统管理"
admin.site.site_title = "留守儿童关爱保护信息平台"
admin.site.index_title = "系统管理"

urlpatterns = [
    path("", include("accounts.urls")),
    path("regions/", include("registry.urls")),
    path("children/", include("registry.record_urls"), {"kind": "children"}),
    path("women/", include("registry.record_urls"), {"kind": "women"}),
    path("elders/", include("registry.record_urls"), {"kind": "elders"}),
    path("survey/", include("survey.urls")),
    path("care/", include("care.urls")),
    path("import/", include("registry.roster.urls")),
    path("audit/", include("audit.urls")),
    # The admin's logout is ours too: logging out ends every session of the user (accounts.auth).
    path("admin/logout/", accounts_views.LogoutView.as_view(), name="admin_logout"),
    path("admin/", admin.site.urls),
]
