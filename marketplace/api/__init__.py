"""REST API of the marketplace (DRF): API-key auth, throttles, JSON errors, viewsets under ``/api/v1/``."""
