"""Files written for a row that is not saved yet: removed again when anything fails before the row is committed,
so a refused or failed upload leaves nothing behind in media storage.

A leaf module (Django only).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

log = logging.getLogger(__name__)


@contextlib.contextmanager
def removed_on_failure(field_file: Any) -> Iterator[None]:
    """Run the block; if it raises, delete the file `field_file` (a FieldFile) names, if any, and re-raise."""
    try:
        yield
    except BaseException:
        name = getattr(field_file, "name", None)
        if name:
            try:
                field_file.storage.delete(name)
            except OSError:
                log.exception("could not remove %s after a failed upload", name)
        raise
