"""URLs of the load bench's server (ROOT_URLCONF of bench/load_site.py): the marketplace's URLs plus
``/bench/plain/``, a DRF view with the project's default authentication, throttles and renderers that reads
nothing — the baseline the bench divides by."""

from __future__ import annotations

from django.urls import include, path
from rest_framework.response import Response
from rest_framework.views import APIView

from marketplace.urls import handler400, handler404, handler500  # noqa: F401 - the API's JSON error pages


class PlainView(APIView):
    """The cheapest DRF view: the same middleware, authentication, throttling and JSON rendering, no query."""

    permission_classes: tuple = ()

    def get(self, request):
        return Response({"ok": True})


urlpatterns = [
    path("bench/plain/", PlainView.as_view()),
    path("", include("marketplace.urls")),
]

