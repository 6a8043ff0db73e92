#!/bin/sh
# GPU worker: the "gpu" queue (purchase translation, drift revalidation, alignment training), one task at a time in
# the worker process itself (solo pool: the model stays loaded and owns the GPU; no forked CUDA context).
# Messages are acknowledged late with a prefetch of one (marketplace/celery.py), so a crash redelivers the task.
set -eu
exec celery -A marketplace worker \
    -Q gpu \
    -c 1 \
    --pool solo \
    -n "gpu@%h" \
    -l "${CELERY_LOG_LEVEL:-info}"
