"""Catalog models: architectures, vector listings, purchases, AMEM accounts with a double-entry ledger, API keys."""

from __future__ import annotations

import hashlib
import secrets
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from marketplace.ids import factory

AMEM = {"max_digits": 18, "decimal_places": 4}
#: A model name: letters, digits, '.', '_' and '-', starting with a letter or digit (smollm2-135m-instruct,
#: qwen2.5-coder-0.5b-instruct); the API documents this pattern and the detail URL takes exactly these names.
MODEL_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
MODEL_NAME_VALIDATOR = RegexValidator(MODEL_NAME_PATTERN, "a model name is letters, digits, '.', '_' and '-', "
                                                          "starting with a letter or digit")


class Architecture(models.Model):
    """A model architecture known to the marketplace (registered from the alignment plugins' metadata)."""

    class Support(models.TextChoices):
        FULL = "full", "full (runnable, packaged weights)"
        PARTIAL = "partial", "partial (runnable where the weights are available)"
        METADATA = "metadata", "metadata only (not runnable)"

    name = models.CharField(max_length=120, unique=True, validators=[MODEL_NAME_VALIDATOR],
                            help_text="canonical model name, e.g. gemma3-270m or qwen2.5-coder-0.5b-instruct")
    family = models.CharField(max_length=40)
    kind = models.CharField(max_length=20, default="causal")
    hidden_size = models.PositiveIntegerField(default=0)
    num_heads = models.PositiveIntegerField(null=True, blank=True)
    num_kv_heads = models.PositiveIntegerField(null=True, blank=True)
    num_layers = models.PositiveIntegerField(default=0)
    activation = models.CharField(max_length=40, blank=True)
    positional_encoding = models.CharField(max_length=60, blank=True)
    vocab_size = models.PositiveIntegerField(null=True, blank=True)
    normalization = models.CharField(max_length=40, blank=True)
    support_level = models.CharField(max_length=10, choices=Support.choices, default=Support.PARTIAL)
    weight_fingerprint = models.CharField(max_length=80, blank=True)
    adapter = models.CharField(max_length=60, blank=True)
    description = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    registered_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def runnable(self) -> bool:
        """Whether hidden states can be computed for this architecture."""
        return self.support_level != self.Support.METADATA


class Account(models.Model):
    """A user's AMEM balance; changed only through LedgerEntry rows written by the ledger service."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="account")
    balance = models.DecimalField(**AMEM, default=Decimal("0"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(balance__gte=0), name="account_balance_non_negative")]

    def __str__(self) -> str:
        return f"{self.user} ({self.balance} AMEM)"


class LedgerEntry(models.Model):
    """One side of a double-entry AMEM transaction; the entries of a transaction sum to zero."""

    class Kind(models.TextChoices):
        DEPOSIT = "deposit"
        PURCHASE = "purchase"
        SALE = "sale"
        REFUND = "refund"
        MINT = "mint"

    transaction_id = models.UUIDField(db_index=True)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries", null=True, blank=True,
                                help_text="empty for the platform's issuance account")
    amount = models.DecimalField(**AMEM, help_text="signed: negative debits the account")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    purchase = models.ForeignKey("catalog.Purchase", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="ledger_entries")
    memo = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "id"]
        verbose_name_plural = "ledger entries"
        constraints = [
            # a purchase is refunded at most once: one refund entry per account (the platform's side is NULL)
            models.UniqueConstraint(fields=["purchase", "account"], condition=Q(kind="refund"),
                                    name="ledger_one_refund_per_purchase_account"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} ({self.transaction_id})"


class ApiKey(models.Model):
    """An API key: only its sha256 is stored; the clear key is shown once at creation."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=80, default="default")
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @staticmethod
    def hash_key(raw: str) -> str:
        """Return the sha256 hex digest stored for a clear key."""
        return hashlib.sha256(raw.encode()).hexdigest()

    @classmethod
    def issue(cls, user: object, name: str = "default") -> tuple[ApiKey, str]:
        """Create a key for `user`; return (row, clear key) — the clear key is not stored."""
        raw = "amk_" + secrets.token_urlsafe(32)
        return cls.objects.create(user=user, name=name, prefix=raw[:12], key_hash=cls.hash_key(raw)), raw


class VectorListing(models.Model):
    """A capability vector for sale: extracted from `source_model` at `layer` (uploaded plain or as a package)."""

    class Grade(models.TextChoices):
        A = "A"
        B = "B"
        C = "C"
        D = "D"
        E = "E"
        F = "F"

    class Status(models.TextChoices):
        DRAFT = "draft"
        ACTIVE = "active"
        SUSPENDED = "suspended"
        REMOVED = "removed"

    public_id = models.CharField(max_length=24, unique=True, default=factory("vec"), editable=False)
    seller = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="listings")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    source_model = models.ForeignKey(Architecture, on_delete=models.PROTECT, related_name="listings")
    layer = models.PositiveIntegerField()
    capability_domain = models.CharField(max_length=60, db_index=True)
    grade = models.CharField(max_length=1, choices=Grade.choices, default=Grade.C)
    price = models.DecimalField(**AMEM, validators=[MinValueValidator(Decimal("0"))], help_text="AMEM")
    vector_file = models.FileField(upload_to="vectors/%Y/%m/")
    vector_dim = models.PositiveIntegerField()
    vector_norm = models.FloatField()
    vector_sha256 = models.CharField(max_length=64)
    package = models.JSONField(
        default=dict, blank=True,
        help_text="metadata of the uploaded vector package (method, capability, domain, contrastive data hash, "
                  "recommended coefficient, ...); empty for a plain safetensors upload",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(price__gte=0), name="listing_price_non_negative")]

    def __str__(self) -> str:
        return f"{self.public_id} {self.name}"


class Purchase(models.Model):
    """A buyer's purchase of a listing for a target model; the translated vector is stored for download."""

    class Status(models.TextChoices):
        PENDING = "pending"
        PROCESSING = "processing"
        DELIVERED = "delivered"
        FAILED = "failed"
        REFUNDED = "refunded"

    public_id = models.CharField(max_length=24, unique=True, default=factory("pur"), editable=False)
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="purchases")
    listing = models.ForeignKey(VectorListing, on_delete=models.PROTECT, related_name="purchases")
    target_model = models.ForeignKey(Architecture, on_delete=models.PROTECT, related_name="purchases")
    price = models.DecimalField(**AMEM)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True)
    idempotency_key = models.CharField(max_length=80)
    matrix = models.ForeignKey("alignment.WMatrix", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="purchases")
    target_layer = models.PositiveIntegerField(null=True, blank=True)
    translated_vector = models.FileField(upload_to="purchases/%Y/%m/", blank=True)
    error = models.TextField(blank=True, help_text="a short message for the buyer; details are in the logs")
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    refund_reason = models.CharField(max_length=200, blank=True)
    refund_transaction_id = models.UUIDField(null=True, blank=True, editable=False,
                                             help_text="the ledger transaction of the refund")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["buyer", "idempotency_key"], name="purchase_idempotency_per_buyer"),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.listing_id}→{self.target_model_id} ({self.status})"
