"""REST API settings (DRF, drf-spectacular); imported by ``base``. Rates come from the environment."""

from __future__ import annotations

from marketplace.settings.environment import env

API_VERSION = "v1"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # first: its `authenticate_header` makes unauthenticated requests 401 (not 403)
        "marketplace.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_THROTTLE_CLASSES": [
        "marketplace.api.throttling.ApiKeyRateThrottle",
        "marketplace.api.throttling.AnonymousRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "api_key": env.str("API_THROTTLE_RATE_KEY", default="600/min"),
        "anon": env.str("API_THROTTLE_RATE_ANON", default="60/min"),
        # failed authentication per client IP: invalid API keys (then every key attempt is 429 until the window
        # ends) and failed admin logins (per IP and per username; marketplace/admin_login.py)
        "auth_failure": env.str("API_THROTTLE_RATE_AUTH_FAILURE", default="20/min"),
        "admin_login_ip": env.str("ADMIN_LOGIN_FAILURE_RATE_IP", default="10/hour"),
        "admin_login_user": env.str("ADMIN_LOGIN_FAILURE_RATE_USER", default="30/hour"),
    },
    # django-filter FilterSets (a view's filterset_class) applied to list requests only
    "DEFAULT_FILTER_BACKENDS": ["marketplace.api.filters.ListFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "marketplace.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "marketplace.api.parsers.StrictJSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "EXCEPTION_HANDLER": "marketplace.api.exceptions.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "COERCE_DECIMAL_TO_STRING": True,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "W-Matrix Marketplace API",
    "DESCRIPTION": (
        "Capability-vector marketplace: browse listings, get free compatibility estimates, buy a vector "
        "translated to your model through a certified W-Matrix, request alignment for missing pairs.\n\n"
        "Authenticate with `Authorization: Api-Key <key>` (or `X-API-Key: <key>`). Every error is "
        '`{"error": {"code", "message", "details"}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # Swagger UI from drf-spectacular-sidecar's static files, not from a CDN
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # the default enum hook, then the error answers every operation can give (marketplace/api/schema.py)
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "marketplace.api.schema.document_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ListingStatusEnum": "marketplace.catalog.models.VectorListing.Status",
        "PurchaseStatusEnum": "marketplace.catalog.models.Purchase.Status",
        "MatrixStatusEnum": "marketplace.alignment.models.WMatrix.Status",
        "AlignmentJobStatusEnum": "marketplace.alignment.models.AlignmentJob.Status",
    },
}
