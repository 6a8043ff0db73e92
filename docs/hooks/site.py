"""MkDocs hooks of the docs site: the REST reference rendered from the OpenAPI schema the server generates, and
every results page in ``docs/`` added to the navigation even when mkdocs.yml does not list it yet.

Not part of the site itself (``exclude_docs``). The schema is generated in-process by drf-spectacular with the test
settings (nothing is served or fetched) and also published as ``openapi.json`` beside the pages.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
REST_PAGE = "reference/rest.md"
MARKER = "<!-- rest-reference -->"
RESULTS_SECTION = "Results"
METHODS = ("get", "post", "put", "patch", "delete")
_schema: dict[str, Any] | None = None


def openapi_schema() -> dict[str, Any]:
    """The API's OpenAPI document, as ``/api/schema/`` serves it (generated once per build)."""
    global _schema
    if _schema is None:
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings.test")
        import django

        django.setup()
        from drf_spectacular.generators import SchemaGenerator

        _schema = json.loads(json.dumps(SchemaGenerator().get_schema(request=None, public=True), default=str))
    return _schema


def _ref_name(node: dict[str, Any]) -> str:
    return node["$ref"].rsplit("/", 1)[-1] if "$ref" in node else ""


def _type(node: dict[str, Any]) -> str:
    """A short type label: a component link, ``array of X``, or the JSON type with its format/enum."""
    if not node:
        return "any"
    if "$ref" in node:
        name = _ref_name(node)
        return f"[{name}](#{name.lower()})"
    if "allOf" in node:
        return " & ".join(_type(n) for n in node["allOf"])
    if "oneOf" in node or "anyOf" in node:
        return " or ".join(_type(n) for n in node.get("oneOf") or node["anyOf"])
    if node.get("type") == "array":
        return f"array of {_type(node.get('items', {}))}"
    label = str(node.get("type", "object"))
    if "format" in node:
        label += f" ({node['format']})"
    if "enum" in node:
        label += ": " + ", ".join(f"`{v}`" for v in node["enum"] if v not in ("", None))
    if node.get("nullable"):
        label += ", nullable"
    return label


def _cell(text: Any) -> str:
    return " ".join(str(text or "").split()).replace("|", "\\|")


def _operation(path: str, method: str, op: dict[str, Any]) -> list[str]:
    lines = [f"### `{method.upper()} {path}`", "", op.get("summary", ""), ""]
    if op.get("description"):
        lines += [op["description"], ""]
    params = op.get("parameters", [])
    if params:
        lines += ["| parameter | in | type | required | description |", "|---|---|---|---|---|"]
        lines += [f"| `{p['name']}` | {p['in']} | {_cell(_type(p.get('schema', {})))} | "
                  f"{'yes' if p.get('required') else 'no'} | {_cell(p.get('description'))} |" for p in params]
        lines.append("")
    body = op.get("requestBody", {}).get("content", {})
    if body:
        media, content = next(iter(body.items()))
        lines += [f"Request body ({media}): {_type(content.get('schema', {}))}", ""]
    responses = []
    for status, response in op.get("responses", {}).items():
        content = response.get("content", {})
        media = next(iter(content), "")
        what = _type(content[media].get("schema", {})) if media else response.get("description", "")
        responses.append(f"`{status}` {what}" + (f" ({media})" if media and media != "application/json" else ""))
    if responses:
        lines += ["Responses: " + "; ".join(responses), ""]
    return lines


def _component(name: str, node: dict[str, Any]) -> list[str]:
    lines = [f"### {name}", ""]
    if node.get("description"):
        lines += [_cell(node["description"]), ""]
    properties = node.get("properties")
    if properties:
        required = set(node.get("required", ()))
        lines += ["| field | type | description |", "|---|---|---|"]
        lines += [f"| `{field}`{' (required)' if field in required else ''} | {_cell(_type(prop))} | "
                  f"{_cell(prop.get('description'))} |" for field, prop in properties.items()]
    else:
        lines.append(f"Type: {_type(node)}")
    return [*lines, ""]


def rest_reference(schema: dict[str, Any]) -> str:
    """Markdown of every operation (grouped by tag) and every schema component of `schema`."""
    info = schema.get("info", {})
    lines = [f"Generated from the OpenAPI {schema.get('openapi', '')} document of {info.get('title', 'the API')} "
             f"{info.get('version', '')} ([openapi.json](../openapi.json)).", ""]
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, operations in schema["paths"].items():
        for method in METHODS:
            if method in operations:
                tag = (operations[method].get("tags") or ["other"])[0]
                by_tag.setdefault(tag, []).append((path, method, operations[method]))
    for tag in sorted(by_tag):
        lines += [f"## {tag}", ""]
        for path, method, op in by_tag[tag]:
            lines += _operation(path, method, op)
    lines += ["## Schemas", ""]
    for name, node in sorted(schema.get("components", {}).get("schemas", {}).items()):
        lines += _component(name, node)
    return "\n".join(lines)


def _listed(nav: Any) -> set[str]:
    found: set[str] = set()
    for item in nav or []:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        if isinstance(value, list):
            found |= _listed(value)
        elif isinstance(value, str):
            found.add(value)
    return found


def on_config(config: Any, **kwargs: Any) -> Any:
    """Append every top-level docs/*.md page that the nav does not list to its Results section."""
    docs = Path(config["docs_dir"])
    listed = _listed(config["nav"])
    extra = sorted(p.name for p in docs.glob("*.md") if p.name not in listed)
    if extra:
        section = next((item for item in config["nav"] if isinstance(item, dict) and RESULTS_SECTION in item), None)
        if section is None:
            section = {RESULTS_SECTION: []}
            config["nav"].append(section)
        section[RESULTS_SECTION].extend(extra)
    return config


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    """Fill the REST reference page from the OpenAPI schema."""
    if page.file.src_uri == REST_PAGE:
        if MARKER not in markdown:
            raise ValueError(f"{REST_PAGE} lost its {MARKER} marker")
        return markdown.replace(MARKER, rest_reference(openapi_schema()))
    return markdown


def on_files(files: Any, config: Any, **kwargs: Any) -> Any:
    """Publish the schema as openapi.json at the site's root (a generated file the REST page links to)."""
    from mkdocs.structure.files import File

    files.append(File.generated(config, "openapi.json", content=json.dumps(openapi_schema(), indent=1,
                                                                           sort_keys=True)))
    return files
