"""NUL characters in the URL are a 400 for every view: no filter, lookup or query parameter ever reaches a query
with one (PostgreSQL refuses NUL in text, which would otherwise be a 500 per parameter and per view)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

from marketplace.api.exceptions import API_PREFIX, error_body

NUL = "\x00"


def nul_parameters(request: HttpRequest) -> list[str]:
    """Where the request's URL holds a NUL character: "path" and/or the names of the query parameters."""
    found = ["path"] if NUL in request.path_info else []
    for name, values in request.GET.lists():
        if NUL in name or any(NUL in value for value in values):
            found.append(name.replace(NUL, "\\u0000"))
    return found


class NullCharacterMiddleware:
    """Answer 400 (the API's JSON error shape under /api/) to a request whose path or query string holds NUL."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """The view's response, or 400 naming the parameters that hold a NUL character."""
        where = nul_parameters(request)
        if not where:
            return self.get_response(request)
        message = "NUL characters (\\u0000) are not allowed in " + ", ".join(where) + "."
        if request.path_info.startswith(API_PREFIX):
            return JsonResponse(error_body("validation_error", message, {name: [message] for name in where}),
                                status=400)
        return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
