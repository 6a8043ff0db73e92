"""Admin of the outbox: operators see unsent and failed events and can send them again."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet

from marketplace.outbox.dispatch import Outcome, send
from marketplace.outbox.models import OutboxEvent


class StateFilter(admin.SimpleListFilter):
    """Pending (never failed), failed (the last publish failed), sent."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin) -> list[tuple[str, str]]:
        return [("unsent", "unsent"), ("failed", "failed (last publish failed)"), ("sent", "sent")]

    def queryset(self, request, queryset: QuerySet[OutboxEvent]) -> QuerySet[OutboxEvent]:
        if self.value() == "unsent":
            return queryset.filter(sent_at__isnull=True)
        if self.value() == "failed":
            return queryset.filter(sent_at__isnull=True).exclude(last_error="")
        if self.value() == "sent":
            return queryset.filter(sent_at__isnull=False)
        return queryset


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    """Read-only: rows are written by services and sent by the relay; "send now" publishes selected unsent rows."""

    list_display = ("id", "task_name", "args", "state", "attempts", "created_at", "last_attempt_at", "sent_at",
                    "short_error")
    list_filter = (StateFilter, "task_name")
    search_fields = ("task_name", "last_error")
    date_hierarchy = "created_at"
    actions = ["send_now"]

    @admin.display(description="state")
    def state(self, obj: OutboxEvent) -> str:
        if obj.sent_at:
            return "sent"
        return "failed" if obj.last_error else "pending"

    @admin.display(description="last error")
    def short_error(self, obj: OutboxEvent) -> str:
        return obj.last_error[:120]

    @admin.action(description="Send now (unsent rows)")
    def send_now(self, request, queryset: QuerySet[OutboxEvent]) -> None:
        outcomes = [send(e.pk, e.task_name, e.args, retry_after=0)
                    for e in queryset.filter(sent_at__isnull=True).order_by("id")]
        sent, failed = outcomes.count(Outcome.SENT), outcomes.count(Outcome.FAILED)
        level = messages.WARNING if failed else messages.SUCCESS
        self.message_user(request, f"{sent} sent, {failed} failed (the broker may be down)", level)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
