"""URL configuration of the marketplace backend."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from marketplace import admin_login
from marketplace.alignment.admin import support_matrix_view
from marketplace.alignment.admin_multihop import multihop_graph_view

admin_login.install()  # failed admin logins are counted per IP and username; a spent budget is 429

urlpatterns = [
    path("admin/login/", admin_login.admin_login, name="admin-login"),
    # before admin/ so that the admin's catch-all does not shadow it; admin_view: staff only
    path("admin/support-matrix/", admin.site.admin_view(support_matrix_view), name="admin-support-matrix"),
    path("admin/multihop/", admin.site.admin_view(multihop_graph_view), name="admin-multihop-graph"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("marketplace.api.urls", namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

handler400 = "marketplace.api.exceptions.json_bad_request"
handler404 = "marketplace.api.exceptions.json_page_not_found"
handler500 = "marketplace.api.exceptions.json_server_error"
