"""Functional quality metrics of a W-Matrix: task transfer, model stitching, attention fidelity and head mapping.

*Stitching* feeds the source model's layer-i token states, mapped by the W-Matrix, into the target from layer j on
(``splice``); ``metrics`` and ``gradients`` measure what that does to the target's attention, next-token loss and
loss gradient; ``task_transfer`` scores a source-space probe on target states mapped back; ``head_mapping``
matches attention heads one-to-one; ``report`` gathers all of them for a certificate. Every model access goes
through the plugin host (``alignment_forward``, ``alignment_edit_residual``, ``alignment_downstream_parameters``),
so any architecture adapter that implements those hooks can be stitched.

Every interval is a 95% percentile bootstrap (paired where two runs are compared) over texts, or over test rows for
the task probe.
"""

from alignment_plugins.stitching.gradients import gradient_stability
from alignment_plugins.stitching.head_mapping import head_mapping, match_heads
from alignment_plugins.stitching.metrics import attention_fidelity, jensen_shannon, stitched_loss
from alignment_plugins.stitching.report import certificate_metrics
from alignment_plugins.stitching.splice import StitchedOutput, stitched_forward
from alignment_plugins.stitching.task_transfer import task_transfer_accuracy

__all__ = [
    "StitchedOutput",
    "attention_fidelity",
    "certificate_metrics",
    "gradient_stability",
    "head_mapping",
    "jensen_shannon",
    "match_heads",
    "stitched_forward",
    "stitched_loss",
    "task_transfer_accuracy",
]
