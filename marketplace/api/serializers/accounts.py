"""Serializers of the caller's AMEM account and its ledger entries."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from marketplace.api.serializers.common import AMEM_FIELD
from marketplace.catalog.models import Account, LedgerEntry


class LedgerEntrySerializer(serializers.ModelSerializer):
    """One ledger row of the caller's account."""

    amount = serializers.DecimalField(**AMEM_FIELD, read_only=True)
    purchase = serializers.SlugRelatedField(slug_field="public_id", read_only=True, allow_null=True)

    class Meta:
        model = LedgerEntry
        fields = ["transaction_id", "kind", "amount", "memo", "purchase", "created_at"]
        read_only_fields = fields


class AccountSerializer(serializers.ModelSerializer):
    """The caller's AMEM balance and recent ledger entries."""

    username = serializers.CharField(source="user.get_username", read_only=True)
    balance = serializers.DecimalField(**AMEM_FIELD, read_only=True)
    currency = serializers.SerializerMethodField()
    recent_entries = serializers.SerializerMethodField()

    RECENT = 20

    class Meta:
        model = Account
        fields = ["username", "balance", "currency", "updated_at", "recent_entries"]
        read_only_fields = fields

    def get_currency(self, obj: Account) -> str:
        return "AMEM"

    @extend_schema_field(LedgerEntrySerializer(many=True))
    def get_recent_entries(self, obj: Account) -> list[dict]:
        entries = obj.entries.select_related("purchase").order_by("-created_at", "-id")[: self.RECENT]
        return LedgerEntrySerializer(entries, many=True, context=self.context).data

