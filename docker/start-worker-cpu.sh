#!/bin/sh
# CPU worker: the "default" queue (compatibility estimates, the beat's fan-out). Its tasks never import torch.
# CELERY_CPU_CONCURRENCY sets the prefork pool size (default 2).
set -eu
exec celery -A marketplace worker \
    -Q default \
    -c "${CELERY_CPU_CONCURRENCY:-2}" \
    -n "cpu@%h" \
    -l "${CELERY_LOG_LEVEL:-info}"
