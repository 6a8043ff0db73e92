"""Routes of the REST API, mounted at ``/api/v1/`` under the "api" namespace."""

from rest_framework.routers import DefaultRouter

from marketplace.api import views

app_name = "api"

router = DefaultRouter()
router.register("models", views.ArchitectureViewSet, basename="model")
router.register("vectors", views.VectorListingViewSet, basename="vector")
router.register("wmatrices", views.WMatrixViewSet, basename="wmatrix")
router.register("certificates", views.CertificateViewSet, basename="certificate")
router.register("support-matrix", views.SupportMatrixViewSet, basename="support-matrix")
router.register("multihop", views.MultiHopViewSet, basename="multihop")
router.register("purchases", views.PurchaseViewSet, basename="purchase")
router.register("alignment-jobs", views.AlignmentJobViewSet, basename="alignment-job")
router.register("drift-checks", views.DriftCheckViewSet, basename="drift-check")
router.register("plugins", views.PluginViewSet, basename="plugin")
router.register("accounts", views.AccountViewSet, basename="account")

urlpatterns = router.urls
