"""Who may start GPU alignment jobs: staff freely, other users up to ``ALIGNMENT_JOB_DAILY_QUOTA`` per rolling 24 h.

Every job a user requested in the last 24 hours counts, whatever became of it (a failed job used the GPU too).
``0`` makes alignment jobs staff-only. Jobs queued by the system (drift retraining of a matrix) are not counted.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from marketplace.alignment.models import AlignmentJob
from marketplace.errors import QuotaExceeded

WINDOW = timedelta(hours=24)


def check_alignment_quota(user: Any, *, lock: bool = False) -> None:
    """QuotaExceeded (403) when `user` (not staff) has requested the daily quota of jobs in the last 24 h.

    `lock`: inside a transaction, lock the user's row first, so two concurrent requests cannot both pass.
    """
    if user is None or getattr(user, "is_staff", False):
        return
    quota = int(getattr(settings, "ALIGNMENT_JOB_DAILY_QUOTA", 0))
    if lock:
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    if quota <= 0:
        raise QuotaExceeded("alignment jobs (GPU training) are reserved for staff on this marketplace",
                            quota=0)
    since = timezone.now() - WINDOW
    recent = list(AlignmentJob.objects.filter(requested_by=user, created_at__gte=since)
                  .order_by("created_at").values_list("created_at", flat=True)[:quota])
    if len(recent) >= quota:
        retry_after = math.ceil((recent[0] + WINDOW - timezone.now()).total_seconds())
        raise QuotaExceeded(f"you have requested {quota} alignment job(s) in the last 24 hours, your daily quota",
                            quota=quota, retry_after=max(retry_after, 1))
