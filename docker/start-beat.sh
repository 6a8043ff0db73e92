#!/bin/sh
# Beat: the periodic schedule of marketplace/celery.py (hourly drift fan-out). Run exactly one beat per deployment.
# The schedule file keeps the last run times across restarts (/data/beat is a volume in docker-compose.yml).
set -eu
exec celery -A marketplace beat \
    -s "${CELERY_BEAT_SCHEDULE_FILE:-/data/beat/celerybeat-schedule}" \
    -l "${CELERY_LOG_LEVEL:-info}"
