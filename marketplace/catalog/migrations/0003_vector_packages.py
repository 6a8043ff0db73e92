"""Stored vector files become vector packages (.vpkg): every listing file and every delivered file written in the
former marketplace-only format (float32 safetensors, tensor "vector", header {"format": "capability-vector",
"metadata": JSON}) is rewritten as the package the services now store (``catalog.vector_files``), its old file
deleted. Files already in the package format are left alone (rerunnable); a file missing from storage is reported
and left as it is. Not reversible: the former format is gone from the code.
"""

import json
import logging
import struct
from pathlib import PurePosixPath

import numpy as np
from django.core.files.base import ContentFile
from django.db import migrations
from safetensors.numpy import load

from marketplace.catalog.vector_files import delivered_package, listing_package

log = logging.getLogger(__name__)

LEGACY_FORMAT = "capability-vector"


def _legacy(field_file):
    """(vector, metadata) of a file in the former format, or None for a package (or any other file)."""
    with field_file.open("rb") as handle:
        data = handle.read()
    if len(data) < 8:
        return None
    (length,) = struct.unpack("<Q", data[:8])
    try:
        header = json.loads(data[8 : 8 + length]).get("__metadata__") or {}
    except (ValueError, AttributeError):  # not JSON, or not a JSON object: not a former vector file
        return None
    if header.get("format") != LEGACY_FORMAT:
        return None
    return load(data)["vector"].astype(np.float32), json.loads(header.get("metadata", "{}"))


def _rewrite(row, field: str, package) -> None:
    """Store `package` as the row's `field` (``<old stem>.vpkg`` in the same folder) and delete the old file."""
    old = getattr(row, field)
    name, storage = old.name, old.storage
    getattr(row, field).save(PurePosixPath(name).with_suffix(".vpkg").name, ContentFile(package.to_bytes()),
                             save=False)
    row.save(update_fields=[field])
    storage.delete(name)


def _convert(rows, field: str, build) -> None:
    for row in rows:
        stored = getattr(row, field)
        if not stored:
            continue
        try:
            legacy = _legacy(stored)
        except (FileNotFoundError, OSError) as exc:
            log.warning("%s %s: %s not converted (%s)", type(row).__name__, row.public_id, stored.name, exc)
            continue
        if legacy is not None:
            _rewrite(row, field, build(row, *legacy))


def to_packages(apps, schema_editor) -> None:
    VectorListing = apps.get_model("catalog", "VectorListing")
    Purchase = apps.get_model("catalog", "Purchase")
    _convert(VectorListing.objects.select_related("source_model"), "vector_file",
             lambda listing, vector, meta: listing_package(listing, vector, listing.package or None))
    _convert(Purchase.objects.select_related("listing__source_model", "target_model", "matrix"),
             "translated_vector", delivered_package)


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0002_listing_package"),
    ]

    operations = [
        migrations.RunPython(to_packages),
    ]
