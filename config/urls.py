from django.contrib import admin
from django.urls import include, path

from registry import views_records

admin.site.site_header = "留守儿童关爱保护信息平台 · 系统管理"
admin.site.site_title = "留守儿童关爱保护信息平台"
admin.site.index_title = "系统管理"

urlpatterns = [
    path("", include("accounts.urls")),
    path("regions/", include("registry.urls")),
    path("children/template.xlsx", views_records.children_template, name="children_template"),
    path("children/", include("registry.record_urls"), {"kind": "children"}),
    path("women/", include("registry.record_urls"), {"kind": "women"}),
    path("elders/", include("registry.record_urls"), {"kind": "elders"}),
    path("survey/", include("survey.urls")),
    path("admin/", admin.site.urls),
]
