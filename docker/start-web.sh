#!/bin/sh
# Web process: gunicorn, replacing this shell (signals reach it directly). Migrations are not applied here: the
# one-off `migrate` service of docker-compose.yml runs them once per deployment, before web and the workers start.
# Static files were collected into the image at build time and are served by WhiteNoise.
# WEB_CONCURRENCY (gunicorn's own variable) sets the number of workers; GUNICORN_TIMEOUT the request timeout.
set -eu
exec gunicorn marketplace.wsgi:application \
    --bind "0.0.0.0:${PORT:-8000}" \
    --workers "${WEB_CONCURRENCY:-2}" \
    --timeout "${GUNICORN_TIMEOUT:-60}" \
    --worker-tmp-dir /dev/shm \
    --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-127.0.0.1}" \
    --access-logfile - \
    --error-logfile -
