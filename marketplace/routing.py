"""The Celery router: which queue a task lands on, decided in the sending process for every sender alike.

Named in ``task_routes`` by its dotted path (``marketplace.celery``), so Celery imports it on the first send, after
Django is set up. Estimate work (precompute / recompute) reads the matrices' files: it stays on the default (CPU)
queue when every active matrix file of the source model can be opened from this machine's filesystem, and goes to
the gpu queue otherwise (e.g. only the GPU node's volume holds it). Every other task keeps its static route
(``marketplace.celery.TASK_ROUTES``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from marketplace.alignment.models import WMatrix
from marketplace.catalog.models import VectorListing
from marketplace.celery import Queue, TaskName


def file_is_local(field_file: Any) -> bool:
    """Whether a stored file can be opened from this machine's filesystem (FileSystemStorage on a shared volume)."""
    if not field_file:
        return False
    try:
        return Path(field_file.path).is_file()
    except (NotImplementedError, ValueError):
        return False


def estimates_queue(source_model_id: int) -> Queue:
    """The queue for estimate work of a source model: default when every active matrix file from it is local."""
    matrices = WMatrix.objects.filter(source_id=source_model_id, status=WMatrix.Status.ACTIVE)
    return Queue.DEFAULT if all(file_is_local(m.file) for m in matrices) else Queue.GPU


def _source_model_id(name: str, object_id: int) -> int | None:
    """The source model of an estimate task's listing or matrix; None when the row is gone."""
    if name == TaskName.PRECOMPUTE_ESTIMATES:
        rows = VectorListing.objects.filter(pk=object_id).values_list("source_model_id", flat=True)
    else:
        rows = WMatrix.objects.filter(pk=object_id).values_list("source_id", flat=True)
    return rows.first()


def route_task(name: str, args: Any, kwargs: Any, options: Any, task: Any = None, **kw: Any) -> dict[str, str] | None:
    """Celery router: {"queue": ...} for estimate tasks sent with an id, None (the static route) for the rest."""
    if name not in (TaskName.PRECOMPUTE_ESTIMATES, TaskName.RECOMPUTE_ESTIMATES) or not args:
        return None
    source_id = _source_model_id(name, args[0])
    queue = estimates_queue(source_id) if source_id is not None else Queue.DEFAULT
    return {"queue": queue.value}
