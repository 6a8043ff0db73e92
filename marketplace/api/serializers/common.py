"""Shared pieces of the serializers: AMEM decimal fields, absolute URLs, model-name fields, strict queries."""

from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers

from marketplace.catalog.models import Architecture

AMEM_FIELD = {"max_digits": 18, "decimal_places": 4}



def _absolute(serializer: serializers.Serializer, url_name: str, /, **kwargs) -> str:
    url = reverse(f"api:{url_name}", kwargs=kwargs)
    request = serializer.context.get("request")
    return request.build_absolute_uri(url) if request is not None else url


class ArchitectureNameField(serializers.SlugRelatedField):
    """An architecture referenced by its canonical name."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("slug_field", "name")
        if not kwargs.get("read_only"):
            kwargs.setdefault("queryset", Architecture.objects.all())
        super().__init__(**kwargs)

    default_error_messages = {
        "does_not_exist": "Unknown model {value}; see /api/v1/models/.",
        "invalid": "Invalid model name.",
    }



class StrictQuerySerializer(serializers.Serializer):
    """Query parameters where one the endpoint does not know is a 400 (never silently ignored)."""

    FIELDS: tuple[str, ...] = ()

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - {*self.FIELDS, "format"})
        if unknown:
            raise serializers.ValidationError({name: ["unknown parameter; accepted: " + ", ".join(self.FIELDS)]
                                               for name in unknown})
        return attrs

