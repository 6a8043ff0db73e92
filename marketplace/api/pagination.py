"""Page-number pagination: ``?page=N&page_size=M`` (M at most 200)."""

from __future__ import annotations

import re

from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError

POSITIVE_INTEGER = re.compile(r"0*[1-9][0-9]{0,8}")


class PageNumberPagination(pagination.PageNumberPagination):
    """`{"count", "next", "previous", "results"}`; `page_size` query parameter, capped at 200.

    A `page_size` that is not a positive integer is a 400 (DRF would silently use the default); a `page` past the
    last one, or not a number, is a 404 (documented on every paginated list)."""

    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request) -> int | None:
        """The requested page size (capped at `max_page_size`), the default when absent; 400 when malformed."""
        values = request.query_params.getlist(self.page_size_query_param)
        if values and not (len(values) == 1 and POSITIVE_INTEGER.fullmatch(values[0].strip())):
            raise ValidationError({self.page_size_query_param: ["must be one positive integer"]})
        return super().get_page_size(request)

    def get_page_number(self, request, paginator) -> str | int:
        """The requested page; an empty ``page`` is an invalid page (404) like any other non-number."""
        value = request.query_params.get(self.page_query_param)
        if value is not None and not value.strip():
            raise NotFound(self.invalid_page_message.format(page_number=value, message="no page number"))
        return super().get_page_number(request, paginator)
