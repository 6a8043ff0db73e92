"""Learned estimates: measured retention records the configuration it was measured in (rows imported before are the
default configuration, config_key ""); estimates carry a detail record, may lack dimensional loss or structural
mismatch, and are keyed by the three-key configuration (quantization, context_length, custom_fine_tune)."""

import hashlib
import json

from django.db import migrations, models


def rekey_estimates(apps, schema_editor):
    """Re-key stored estimates by the normalized three-key configuration (their values are recomputed on read)."""
    Estimate = apps.get_model("alignment", "CompatibilityEstimate")
    for row in Estimate.objects.all():
        old = row.target_config or {}
        fine_tune = old.get("custom_fine_tune")
        config = {"quantization": old.get("quantization") or None, "context_length": old.get("context_length"),
                  "custom_fine_tune": True if fine_tune is True else fine_tune or None}
        row.target_config = config
        row.config_key = hashlib.sha256(json.dumps(config, sort_keys=True, separators=(",", ":"),
                                                   ensure_ascii=True).encode()).hexdigest()
        row.save(update_fields=["target_config", "config_key"])


class Migration(migrations.Migration):

    dependencies = [
        ('alignment', '0004_recommended_pair'),
        ('catalog', '0003_vector_packages'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='measuredretention',
            name='measured_retention_unique_per_run',
        ),
        migrations.AddField(
            model_name='compatibilityestimate',
            name='detail',
            field=models.JSONField(blank=True, default=dict, help_text='interval level and kind, why it is wide, fine-tune check, features, the estimator used'),
        ),
        migrations.AddField(
            model_name='measuredretention',
            name='config_key',
            field=models.CharField(blank=True, db_index=True, default='', help_text='hash of the measured configuration (see estimates.measurement_config)', max_length=64),
        ),
        migrations.AddField(
            model_name='measuredretention',
            name='target_config',
            field=models.JSONField(blank=True, default=dict, help_text='the target configuration measured (quantization, context_length); {} = the default'),
        ),
        migrations.AlterField(
            model_name='compatibilityestimate',
            name='basis',
            field=models.CharField(default='learned_estimate', help_text='measured_retention, learned_estimate or identity', max_length=40),
        ),
        migrations.AlterField(
            model_name='compatibilityestimate',
            name='dimensional_loss',
            field=models.FloatField(blank=True, help_text="share of the vector's standardized energy outside the subspace the map carries well (0..1)", null=True),
        ),
        migrations.AlterField(
            model_name='compatibilityestimate',
            name='structural_mismatch',
            field=models.FloatField(blank=True, help_text='0 (same architecture family) .. 1', null=True),
        ),
        migrations.AlterField(
            model_name='compatibilityestimate',
            name='target_config',
            field=models.JSONField(blank=True, default=dict, help_text='quantization, context_length, custom_fine_tune'),
        ),
        migrations.AddConstraint(
            model_name='measuredretention',
            constraint=models.UniqueConstraint(fields=('source', 'target', 'capability', 'measured_at', 'config_key'), name='measured_retention_unique_per_run_config'),
        ),
        migrations.RunPython(rekey_estimates, migrations.RunPython.noop),
    ]
