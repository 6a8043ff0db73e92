"""Admin of the catalog: architectures, listings, purchases, accounts, the read-only ledger, API keys."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.urls import reverse
from django.utils.html import format_html

from marketplace.catalog.models import Account, ApiKey, Architecture, LedgerEntry, Purchase, VectorListing
from marketplace.catalog.refunds import refund_purchase


def _admin_link(obj, label: str | None = None) -> str:
    if obj is None:
        return "—"
    url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, label or str(obj))


@admin.register(Architecture)
class ArchitectureAdmin(admin.ModelAdmin):
    list_display = ("name", "family", "kind", "support_level", "hidden_size", "num_layers", "adapter", "updated_at")
    list_filter = ("support_level", "family", "kind")
    search_fields = ("name", "family", "adapter", "description")
    readonly_fields = ("weight_fingerprint", "registered_at", "updated_at")
    ordering = ("name",)


class LedgerEntryInline(admin.TabularInline):
    model = LedgerEntry
    fields = ("created_at", "transaction_id", "kind", "amount", "purchase", "memo")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ("-created_at",)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    """Balances change only through the ledger service: the balance is read-only here."""

    list_display = ("user", "balance", "updated_at")
    search_fields = ("user__username", "user__email")
    readonly_fields = ("user", "balance", "updated_at")
    inlines = [LedgerEntryInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    """The double-entry ledger: append-only, never edited or deleted from the admin."""

    list_display = ("created_at", "transaction_id", "kind", "account", "amount", "purchase", "memo")
    list_filter = ("kind",)
    search_fields = ("transaction_id", "memo", "account__user__username", "purchase__public_id")
    readonly_fields = ("transaction_id", "account", "amount", "kind", "purchase", "memo", "created_at")
    list_select_related = ("account__user", "purchase")
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # view permission still shows every row, read-only

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ApiKeyAddForm(forms.ModelForm):
    """Create a key for a user: the clear key is generated and shown once, only its hash is stored."""

    class Meta:
        model = ApiKey
        fields = ("user", "name")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("prefix", "name", "user", "created_at", "last_used_at", "revoked")
    list_filter = ("revoked",)
    search_fields = ("prefix", "name", "user__username")
    readonly_fields = ("prefix", "key_hash", "created_at", "last_used_at")
    actions = ["revoke"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("user", "name")
        return ("user", "name", "prefix", "key_hash", "created_at", "last_used_at", "revoked")

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else (*self.readonly_fields, "user")

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        row, raw = ApiKey.issue(form.cleaned_data["user"], name=form.cleaned_data["name"])
        obj.pk = row.pk
        obj.refresh_from_db()
        self.message_user(
            request,
            format_html("API key created. Copy it now, it is not stored and will not be shown again: <code>{}</code>",
                        raw),
            messages.WARNING,
        )
        return None

    @admin.action(description="Revoke selected API keys")
    def revoke(self, request, queryset):
        count = queryset.filter(revoked=False).update(revoked=True)
        self.message_user(request, f"{count} key(s) revoked.", messages.SUCCESS)


@admin.register(VectorListing)
class VectorListingAdmin(admin.ModelAdmin):
    list_display = ("public_id", "name", "seller", "source_model", "layer", "capability_domain", "grade", "price",
                    "status", "created_at")
    list_filter = ("status", "grade", "capability_domain", "source_model")
    search_fields = ("public_id", "name", "description", "seller__username", "vector_sha256")
    readonly_fields = ("public_id", "vector_file", "vector_dim", "vector_norm", "vector_sha256", "package",
                       "created_at", "updated_at")
    list_select_related = ("seller", "source_model")
    raw_id_fields = ("seller",)
    actions = ["suspend", "activate"]

    def has_add_permission(self, request) -> bool:
        return False  # listings are created through the API, which validates the vector file

    @admin.action(description="Suspend selected listings")
    def suspend(self, request, queryset):
        count = queryset.update(status=VectorListing.Status.SUSPENDED)
        self.message_user(request, f"{count} listing(s) suspended.", messages.SUCCESS)

    @admin.action(description="Activate selected listings")
    def activate(self, request, queryset):
        count = queryset.update(status=VectorListing.Status.ACTIVE)
        self.message_user(request, f"{count} listing(s) activated.", messages.SUCCESS)


class PurchaseActionForm(ActionForm):
    """The action bar of the purchase list: the refund action takes the reason the buyer will read."""

    reason = forms.CharField(required=False, max_length=200, label="Refund reason",
                             widget=forms.TextInput(attrs={"placeholder": "refund reason (shown to the buyer)"}))


@admin.register(Purchase)
class PurchaseAdmin(admin.ModelAdmin):
    list_display = ("public_id", "buyer", "listing", "target_model", "price", "status", "refund", "matrix_link",
                    "created_at", "delivered_at")
    list_filter = ("status", "target_model")
    search_fields = ("public_id", "buyer__username", "listing__public_id", "listing__name", "idempotency_key")
    # status changes go through the services (a refund writes ledger rows), so everything is read-only here
    readonly_fields = ("public_id", "buyer", "listing", "target_model", "price", "status", "idempotency_key",
                       "matrix", "target_layer", "translated_vector", "error", "created_at", "delivered_at",
                       "refunded_at", "refund_reason", "refund_transaction_id")
    list_select_related = ("buyer", "listing", "target_model", "matrix")
    date_hierarchy = "created_at"
    action_form = PurchaseActionForm
    actions = ["refund_selected"]

    def has_add_permission(self, request) -> bool:
        return False  # purchases are made through the API (ledger + delivery)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # ledger rows reference purchases

    @admin.display(description="matrix")
    def matrix_link(self, obj: Purchase) -> str:
        return _admin_link(obj.matrix)

    @admin.display(description="refund", ordering="refunded_at")
    def refund(self, obj: Purchase) -> str:
        if obj.refunded_at is None:
            return "—"
        return format_html("{} AMEM on {}: {}", obj.price, f"{obj.refunded_at:%Y-%m-%d %H:%M}", obj.refund_reason)

    @admin.action(description="Refund selected purchases", permissions=["change"])
    def refund_selected(self, request, queryset):
        """Refund each selected purchase through the ledger (reversing entries) with the reason typed beside the
        action; purchases already refunded are left as they are. Each refund is recorded in the admin's log."""
        reason = (request.POST.get("reason") or "").strip()
        if not reason:
            self.message_user(request, "Type a refund reason (the buyer reads it) beside the action.",
                              messages.ERROR)
            return
        done = skipped = 0
        for purchase in queryset.order_by("pk"):
            purchase, refunded = refund_purchase(purchase, reason)
            if refunded:
                done += 1
                self.log_change(request, purchase, f"Refunded {purchase.price} AMEM: {reason} "
                                                   f"(ledger transaction {purchase.refund_transaction_id})")
            else:
                skipped += 1
        self.message_user(request, f"{done} purchase(s) refunded; {skipped} already refunded.", messages.SUCCESS)
