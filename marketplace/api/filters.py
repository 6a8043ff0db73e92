"""Query-parameter filters of the API's list endpoints, as django-filter FilterSets.

``ListFilterBackend`` is the API's default filter backend (``settings/rest.py``): it filters list requests only,
so a detail URL and its actions find their object whatever the query string says. A malformed value (an unknown
or empty choice, a price that is not a number) is a 400 ``validation_error`` whose details name the parameter.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django_filters import rest_framework as filters
from django_filters.fields import ChoiceField

from marketplace.alignment.models import QualityCertificate, WMatrix
from marketplace.catalog.models import Architecture, VectorListing

ALL_STATUSES = "all"
NOT_A_NUMBER = {"invalid": "must be a number"}


def _one_of(values: Iterable[str]) -> dict[str, str]:
    """A ChoiceField error message that lists the accepted values."""
    return {"invalid_choice": f"must be one of {list(values)}"}


class NonBlankChoiceField(ChoiceField):
    """django-filter's ChoiceField, except that a parameter given empty (``?status=``) is an invalid choice, as the
    schema's enum says, instead of no filter."""

    def clean(self, value: Any) -> Any:
        """The cleaned choice; ValidationError for an empty string (an absent parameter stays None)."""
        if isinstance(value, str) and not value.strip():
            raise ValidationError(self.error_messages["invalid_choice"], params={"value": value})
        return super().clean(value)


class ChoiceFilter(filters.ChoiceFilter):
    """A choice filter whose empty value is refused (400) rather than ignored."""

    field_class = NonBlankChoiceField


class ListFilterBackend(filters.DjangoFilterBackend):
    """django-filter's backend, applied to the ``list`` action only."""

    def filter_queryset(self, request: Any, queryset: QuerySet, view: Any) -> QuerySet:
        """The view's FilterSet applied to `queryset` for list requests; other actions get it unchanged."""
        if getattr(view, "action", None) != "list":
            return queryset
        return super().filter_queryset(request, queryset, view)


class ArchitectureFilter(filters.FilterSet):
    family = filters.CharFilter(help_text="model family, e.g. llama")
    kind = filters.CharFilter(help_text="causal, encoder or proprietary")
    support_level = ChoiceFilter(choices=Architecture.Support.choices,
                                         error_messages=_one_of(Architecture.Support.values))

    class Meta:
        model = Architecture
        fields: list[str] = []


class VectorListingFilter(filters.FilterSet):
    """Listings: active ones unless `status` says otherwise (`all` for every status); `grade` in any case."""

    source_model = filters.CharFilter(field_name="source_model__name", help_text="source model name")
    capability_domain = filters.CharFilter()
    grade = ChoiceFilter(choices=VectorListing.Grade.choices, help_text="A (best) to F, any case",
                                 error_messages=_one_of(VectorListing.Grade.values))
    min_price = filters.NumberFilter(field_name="price", lookup_expr="gte", error_messages=NOT_A_NUMBER)
    max_price = filters.NumberFilter(field_name="price", lookup_expr="lte", error_messages=NOT_A_NUMBER)
    status = ChoiceFilter(
        choices=[*VectorListing.Status.choices, (ALL_STATUSES, ALL_STATUSES)], method="filter_status",
        help_text="listing status (default active; `all` for every status)",
        error_messages=_one_of([*VectorListing.Status.values, ALL_STATUSES]),
    )
    search = filters.CharFilter(method="filter_search", help_text="text searched in name and description")

    class Meta:
        model = VectorListing
        fields: list[str] = []

    def __init__(self, data: Any = None, *args: Any, **kwargs: Any) -> None:
        data = data.copy() if data is not None else {}
        if "status" not in data:
            data["status"] = VectorListing.Status.ACTIVE
        if data.get("grade"):
            data["grade"] = str(data["grade"]).strip().upper()
        super().__init__(data, *args, **kwargs)

    def filter_status(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """Listings of status `value`; every listing for ``all``."""
        return queryset if value == ALL_STATUSES else queryset.filter(status=value)

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """Listings whose name or description contains `value` (case-insensitive)."""
        term = value.strip()
        return queryset.filter(Q(name__icontains=term) | Q(description__icontains=term)) if term else queryset


class WMatrixFilter(filters.FilterSet):
    source = filters.CharFilter(field_name="source__name", help_text="source model name")
    target = filters.CharFilter(field_name="target__name", help_text="target model name")
    status = ChoiceFilter(choices=WMatrix.Status.choices, error_messages=_one_of(WMatrix.Status.values))

    class Meta:
        model = WMatrix
        fields: list[str] = []


class CertificateFilter(filters.FilterSet):
    matrix = filters.CharFilter(field_name="matrix__public_id", help_text="matrix public id")
    source = filters.CharFilter(field_name="matrix__source__name", help_text="source model name")
    target = filters.CharFilter(field_name="matrix__target__name", help_text="target model name")

    class Meta:
        model = QualityCertificate
        fields: list[str] = []
