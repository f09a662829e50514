from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "留守儿童关爱保护信息平台 · 系统管理"
admin.site.site_title = "留守儿童关爱保护信息平台"
admin.site.index_title = "系统管理"

urlpatterns = [
    path("", include("accounts.urls")),
    path("regions/", include("registry.urls")),
    path("admin/", admin.site.urls),
]
