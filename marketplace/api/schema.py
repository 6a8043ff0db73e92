"""OpenAPI schema adjustments (drf-spectacular) so the document says what the API answers.

* :class:`ObjectListSchema` — for a ViewSet whose ``list`` returns one object (the support matrix, a multi-hop
  path): drf-spectacular would document an array.
* :func:`document_error_responses` — a postprocessing hook adding the error answers every operation can give: 400
  (a NUL character in the URL, a malformed JSON body), 429 (rate limits), 503 (the database went away mid-request;
  nothing was applied) and, on paginated lists, 404 for a page past the end; all with the ``Error`` body.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema

ERROR_REF = {"$ref": "#/components/schemas/Error"}
ERROR_DESCRIPTIONS = {
    "400": "invalid input (e.g. a NUL character in a parameter, malformed JSON)",
    "404": "not found (for a list: a page past the last one)",
    "429": "rate limit exceeded (Retry-After says when to retry)",
    "503": "the database is unavailable; nothing was applied, retry the same request (Retry-After)",
}
HTTP_METHODS = ("get", "post", "put", "patch", "delete")


class ObjectListSchema(AutoSchema):
    """AutoSchema of a ViewSet whose ``list`` action returns a single JSON object, not an array."""

    def _is_list_view(self, serializer: Any = None) -> bool:
        return False


def _error_codes(operation: dict[str, Any]) -> list[str]:
    codes = ["400", "429", "503"]
    if any(p.get("in") == "query" and p.get("name") == "page" for p in operation.get("parameters", [])):
        codes.append("404")
    return codes


def document_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular POSTPROCESSING_HOOKS entry: add the 400/429/503 (and paginated 404) error answers to each
    operation that does not document them yet; returns the schema."""
    if "Error" not in result.get("components", {}).get("schemas", {}):
        return result
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for code in _error_codes(operation):
                responses.setdefault(code, {"content": {"application/json": {"schema": ERROR_REF}},
                                            "description": ERROR_DESCRIPTIONS[code]})
    return result
