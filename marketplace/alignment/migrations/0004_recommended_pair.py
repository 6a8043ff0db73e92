"""W-Matrix versions record the recommended layer pair (the pair for vectors, which tiers and certificates describe);
existing rows read it from their .wmatrix header, and keep null (= the best pair) when the file has none."""

from django.db import migrations, models


def fill_from_headers(apps, schema_editor):
    """Copy ``recommended_pair`` from each stored file's JSON header (files that cannot be read are left null)."""
    import json

    from safetensors import safe_open

    WMatrix = apps.get_model("alignment", "WMatrix")
    for matrix in WMatrix.objects.exclude(file=""):
        try:
            with safe_open(matrix.file.path, framework="numpy") as handle:
                meta = json.loads((handle.metadata() or {}).get("metadata", "{}"))
        except Exception:  # a missing or unreadable file: the best pair stands in, as before
            continue
        pair = meta.get("recommended_pair")
        if isinstance(pair, list) and len(pair) == 2 and f"{pair[0]}->{pair[1]}" in (matrix.metrics or {}):
            matrix.recommended_source_layer, matrix.recommended_target_layer = int(pair[0]), int(pair[1])
            matrix.save(update_fields=["recommended_source_layer", "recommended_target_layer"])


class Migration(migrations.Migration):

    dependencies = [
        ("alignment", "0003_measured_retention"),
    ]

    operations = [
        migrations.AddField(
            model_name="wmatrix",
            name="recommended_source_layer",
            field=models.PositiveIntegerField(
                blank=True, help_text="the pair for vectors (chosen on concept transfer); null: the best pair",
                null=True),
        ),
        migrations.AddField(
            model_name="wmatrix",
            name="recommended_target_layer",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.RunPython(fill_from_headers, migrations.RunPython.noop),
    ]
