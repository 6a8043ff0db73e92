"""The marketplace's module-level import graph: no import circle, and events.py stays a leaf dispatcher.

Every ``import`` statement counts, function-local ones included (as ``shared/tools/import_circles.py`` counts them):
a local import that only dodges a circle is still a circle. Reads the source with ``ast``; imports nothing.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[3] / "marketplace"


def module_graph(root: Path) -> dict[str, set[str]]:
    """Module name -> the package's modules it imports (migrations excluded; a name resolves to its module)."""
    files = {}
    for path in root.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        name = ".".join(path.relative_to(root.parent).with_suffix("").parts)
        files[name.removesuffix(".__init__")] = path
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            for target in targets:
                while target and target not in files:
                    target = target.rsplit(".", 1)[0] if "." in target else ""
                if target and target != name:
                    graph[name].add(target)
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_marketplace_has_no_import_circle() -> None:
    graph = module_graph(PACKAGE)
    assert "marketplace.alignment.tasks" in graph and "marketplace.catalog.delivery" in graph  # the walk sees them
    assert circles(graph) == []


def test_the_circle_finder_finds_a_circle() -> None:
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_events_is_a_leaf_dispatcher() -> None:
    """events.py imports no task, service or model module of the apps: only the Celery app (stable task names) and
    the outbox's dispatcher, which itself reaches nothing but its own model and the Celery app."""
    graph = module_graph(PACKAGE)
    assert graph["marketplace.events"] == {"marketplace.celery", "marketplace.outbox", "marketplace.outbox.dispatch"}
    assert graph["marketplace.outbox.dispatch"] == {"marketplace.celery", "marketplace.outbox.models"}
    outbox = {name for name in graph if name.startswith("marketplace.outbox")}
    reached = set().union(*(graph[name] for name in outbox)) - outbox
    assert reached == {"marketplace.celery"}  # the outbox knows no other app
