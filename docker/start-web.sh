#!/bin/sh
# Web process: apply migrations, then replace this shell with gunicorn (signals reach it directly).
# WEB_CONCURRENCY (gunicorn's own variable) sets the number of workers; GUNICORN_TIMEOUT the request timeout.
set -eu
python manage.py migrate --noinput
exec gunicorn marketplace.wsgi:application \
    --bind "0.0.0.0:${PORT:-8000}" \
    --workers "${WEB_CONCURRENCY:-2}" \
    --timeout "${GUNICORN_TIMEOUT:-60}" \
    --worker-tmp-dir /dev/shm \
    --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-127.0.0.1}" \
    --access-logfile - \
    --error-logfile -
