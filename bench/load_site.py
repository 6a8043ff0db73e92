"""Settings of the load bench's server (bench/load_bench.py): production settings with one extra URL, a plain DRF
view beside the API (bench/load_urls.py). Every variable production requires comes from the bench's environment."""

from marketplace.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.load_urls"
# collectstatic is not run for the bench: no manifest storage (nothing static is requested)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
