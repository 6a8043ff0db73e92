"""The SDK and the API cannot drift apart: every operation, parameter, body field, result field, status and error
code the SDK uses is checked against the OpenAPI schema the server generates (and the API's error codes)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from awareness_sdk import errors
from awareness_sdk.endpoints import ENDPOINTS, Endpoint
from awareness_sdk.types import RESULT_TYPES, AlignmentJob, Purchase, response_fields

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema(django_db_blocker: Any) -> dict[str, Any]:
    """The OpenAPI document as ``/api/schema/`` serves it (drf-spectacular, generated in-process)."""
    from drf_spectacular.generators import SchemaGenerator

    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def _operation(schema: dict[str, Any], endpoint: Endpoint) -> dict[str, Any] | None:
    return schema["paths"].get(endpoint.path, {}).get(endpoint.method.lower())


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _request_properties(schema: dict[str, Any], operation: dict[str, Any], multipart: bool) -> set[str]:
    content = operation.get("requestBody", {}).get("content", {})
    media = "multipart/form-data" if multipart else "application/json"
    assert media in content, f"the API does not take {media} here (it takes {sorted(content)})"
    return set(_resolve(schema, content[media]["schema"]).get("properties", {}))


def _success_schema(schema: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any]:
    for status in ("200", "201", "202"):
        content = operation.get("responses", {}).get(status, {}).get("content", {})
        if "application/json" in content:
            return _resolve(schema, content["application/json"]["schema"])
    raise AssertionError("no JSON success response documented")


def _live(schema: dict[str, Any]) -> list[tuple[str, Endpoint]]:
    """Endpoints the API has: all but pending ones the schema does not have yet."""
    return [(n, e) for n, e in ENDPOINTS.items() if not (e.pending and _operation(schema, e) is None)]


def test_every_operation_the_sdk_calls_exists(schema):
    missing = [f"{name}: {e.method} {e.path}" for name, e in ENDPOINTS.items()
               if not e.pending and _operation(schema, e) is None]
    assert not missing, f"the SDK calls operations the API does not document: {missing}"


def test_parameters_and_body_fields_have_the_api_names(schema):
    problems: list[str] = []
    for name, endpoint in _live(schema):
        operation = _operation(schema, endpoint)
        params = {(p["in"], p["name"]) for p in operation.get("parameters", [])}
        declared = ({("path", p) for p in endpoint.path_params} | {("query", q) for q in endpoint.query}
                    | {("header", h) for h in endpoint.headers})
        problems += [f"{name}: {kind} parameter {p!r} not in the schema" for kind, p in sorted(declared - params)]
        path_params = {p for kind, p in params if kind == "path"}
        if path_params != set(endpoint.path_params):
            problems.append(f"{name}: path parameters {sorted(path_params)} != {sorted(endpoint.path_params)}")
        if endpoint.body:
            extra = set(endpoint.body) - _request_properties(schema, operation, endpoint.multipart)
            problems += [f"{name}: body field {field!r} not in the schema" for field in sorted(extra)]
    assert not problems, problems


def test_list_filters_the_api_offers_are_all_in_the_sdk(schema):
    """The other direction for query parameters: a filter the API adds must reach the SDK's list methods."""
    unused = []
    for name, endpoint in _live(schema):
        operation = _operation(schema, endpoint)
        query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        unused += [f"{name}: {q}" for q in sorted(query - set(endpoint.query))]
    assert not unused, f"query parameters the SDK cannot send: {unused}"


def test_every_api_operation_has_an_sdk_method(schema):
    covered = {(e.method.lower(), e.path) for e in ENDPOINTS.values()}
    offered = {(m, p) for p, ops in schema["paths"].items() for m in ops if m in ("get", "post", "put", "patch",
                                                                                    "delete")}
    missing = sorted(offered - covered)
    assert not missing, (f"API operations without an SDK method: {missing}; add them to "
                         "awareness_sdk/endpoints.py and a method to the Marketplace")


def test_result_types_match_their_schema_components(schema):
    components = schema["components"]["schemas"]
    problems = []
    for cls in RESULT_TYPES:
        properties = set(components[cls.SCHEMA]["properties"])
        problems += [f"{cls.__name__}.{f} is not a property of {cls.SCHEMA}"
                     for f in response_fields(cls) if f not in properties]
        required = set(components[cls.SCHEMA].get("required", ()))
        first = dataclasses.fields(cls)[0].name  # the one field every result has (no default)
        if first not in required and first not in properties:
            problems.append(f"{cls.__name__}.{first} is missing from {cls.SCHEMA}")
    assert not problems, problems


def test_each_endpoint_returns_the_component_its_result_type_reads(schema):
    by_schema = {cls.SCHEMA for cls in RESULT_TYPES} | {"SupportMatrix"}
    for name, endpoint in _live(schema):
        if not endpoint.result:
            continue
        assert endpoint.result in schema["components"]["schemas"], f"{name}: no component {endpoint.result}"
        body = _success_schema(schema, _operation(schema, endpoint))
        if endpoint.paginated:
            assert {"count", "next", "previous", "results"} <= set(body["properties"]), name
            body = _resolve(schema, body["properties"]["results"]["items"])
        elif body.get("type") == "array":
            body = _resolve(schema, body["items"])
        properties = set(body.get("properties", {}))
        component = set(schema["components"]["schemas"][endpoint.result]["properties"])
        assert properties == component, f"{name}: the response is not a {endpoint.result}"
        assert endpoint.result in by_schema or endpoint.result == "Architecture", name


@pytest.mark.parametrize(("cls", "enum"), [(Purchase, "PurchaseStatusEnum"), (AlignmentJob, "AlignmentJobStatusEnum")])
def test_final_statuses_are_statuses_of_the_api(schema, cls, enum):
    assert set(cls.FINAL) <= set(schema["components"]["schemas"][enum]["enum"])


def test_every_service_error_code_has_an_sdk_exception():
    """The codes of marketplace.errors (what services raise) and of the API's own errors map to a subclass."""
    import re
    from pathlib import Path

    import marketplace.errors as service_errors

    codes = {cls.code for cls in vars(service_errors).values()
             if isinstance(cls, type) and issubclass(cls, service_errors.ServiceError) and cls.code != "error"}
    api_dir = Path(service_errors.__file__).parent / "api"
    for path in api_dir.glob("*.py"):
        codes |= set(re.findall(r'code="([a-z_]+)"', path.read_text()))
    unmapped = sorted(c for c in codes if c not in errors.CODE_ERRORS)
    assert not unmapped, f"API error codes without an SDK exception: {unmapped}"
    for code in codes:
        cls = errors.CODE_ERRORS[code]
        assert issubclass(cls, errors.ApiError) and cls is not errors.ApiError
