"""The outbox row: one task to send (stable name, id arguments), written in the transaction of its business rows."""

from __future__ import annotations

from django.db import models


class OutboxEvent(models.Model):
    """A task to publish; ``sent_at`` is set once the broker took it (or, eager, once it ran)."""

    task_name = models.CharField(max_length=120, db_index=True)
    args = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0, help_text="publish attempts (fast path and relay)")
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["id"], condition=models.Q(sent_at__isnull=True), name="outbox_unsent_idx"),
        ]

    def __str__(self) -> str:
        state = "sent" if self.sent_at else ("failed" if self.last_error else "pending")
        return f"{self.task_name}{tuple(self.args)} ({state})"
