"""Page-number pagination: ``?page=N&page_size=M`` (M at most 200)."""

from __future__ import annotations

from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """`{"count", "next", "previous", "results"}`; `page_size` query parameter, capped at 200."""

    page_size_query_param = "page_size"
    max_page_size = 200
