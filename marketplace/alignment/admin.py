"""Admin of the alignment app: matrices (with revalidate / recompute / certify actions), certificates (with a link
to their HTML page), measured retention, estimates, drift checks, alignment jobs, task runs, and the
support-matrix heatmap page (``admin/support-matrix/``)."""

from __future__ import annotations

import math
from collections.abc import Callable

from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from marketplace import events
from marketplace.alignment import overview
from marketplace.alignment.certificates import issue_certificate, verify_certificate
from marketplace.alignment.models import (
    AlignmentJob,
    CompatibilityEstimate,
    DriftCheck,
    MeasuredRetention,
    QualityCertificate,
    TaskRun,
    WMatrix,
)
from marketplace.alignment.support import support_matrix
from marketplace.catalog.models import Architecture
from marketplace.errors import ServiceError

TIER_COLORS = {1: "#1b7f3b", 2: "#7cb342", 3: "#f9a825", 4: "#e53935"}


def _tier_badge(tier: int | None) -> str:
    """A coloured "tier N" badge (tier 1 best .. 4)."""
    if tier is None:
        return "—"
    return format_html('<span class="tier-badge" style="background:{};color:#fff;padding:1px 6px;border-radius:3px;'
                       'font-weight:bold;white-space:nowrap">tier {}</span>', TIER_COLORS.get(tier, "#757575"), tier)


def _retention_text(retention: dict) -> str:
    """"0.62 [0.50, 0.70] · 2026-02-03" for a measured median retention, "not measured" otherwise."""
    value = retention.get("retention")
    if value is None:
        return format_html('<span style="color:#888">{}</span>', "not measured")
    low, high, when = retention.get("ci_low"), retention.get("ci_high"), retention.get("measured_at")
    interval = f" [{low:.2f}, {high:.2f}]" if low is not None and high is not None else ""
    return format_html('<span title="median steering-effect retention over capabilities, 95% interval">{}{}</span>'
                       '{}', f"{value:.2f}", interval, f" · {when:%Y-%m-%d}" if when else "")


def _drift_text(drift: dict) -> str:
    """"ok · −0.004 · 2026-02-03 10:00" (status, drop in semantic preservation, when), coloured by status."""
    status = drift.get("status")
    if status is None:
        return format_html('<span style="color:#888">{}</span>', "never checked")
    color = {"ok": "#1b7f3b", "drifted": "#c62828", "failed": "#8d6e00"}.get(status, "#333")
    value, when = drift.get("drift"), drift.get("checked_at")
    return format_html('<span style="color:{};font-weight:bold">{}</span>{}{}', color, status,
                       "" if value is None else f" · Δ {value:+.3f}", f" · {when:%Y-%m-%d %H:%M}" if when else "")


def _change_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def _link(obj, label: str | None = None) -> str:
    if obj is None:
        return "—"
    return format_html('<a href="{}">{}</a>', _change_url(obj), label or str(obj))


def _certificate_page_link(cert: QualityCertificate | None, label: str = "View certificate") -> str:
    """A link to the certificate's HTML page (``/api/v1/certificates/<id>/html/``), opened in a new tab."""
    if cert is None:
        return "—"
    url = reverse("api:certificate-html", kwargs={"public_id": cert.public_id})
    return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, label)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by tasks and services: viewable, not added or edited by hand."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class CertificateInline(admin.TabularInline):
    model = QualityCertificate
    fields = ("public_id", "tier", "key_id", "issued_at", "page")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="page")
    def page(self, obj: QualityCertificate) -> str:
        return _certificate_page_link(obj if obj.pk else None)


@admin.register(WMatrix)
class WMatrixAdmin(admin.ModelAdmin):
    # what an operator decides on: tier, the pair buyers use, measured retention, the last drift check
    list_display = ("public_id", "source", "target", "version", "status", "tier", "recommended_pair",
                    "measured_retention", "last_drift_check", "semantic_preservation", "validated_at")
    list_filter = ("status", "method", "source", "target")
    search_fields = ("public_id", "source__name", "target__name", "file_sha256", "anchor_set_hash")
    readonly_fields = ("public_id", "source", "target", "version", "method", "file", "file_sha256", "layer_map",
                       "best_source_layer", "best_target_layer", "recommended_source_layer",
                       "recommended_target_layer", "metrics", "anchor_set_hash", "source_fingerprint",
                       "target_fingerprint", "extra_metrics", "validated_at", "created_at", "latest_certificate")
    list_select_related = ("source", "target")
    inlines = [CertificateInline]
    actions = ["revalidate_now", "recompute_estimates", "issue_certificates"]

    def has_add_permission(self, request) -> bool:
        return False  # matrices come from training jobs or `store_matrix`

    def get_queryset(self, request):
        return overview.with_decision_columns(super().get_queryset(request).prefetch_related("certificates"))

    @staticmethod
    def _latest(obj: WMatrix) -> QualityCertificate | None:
        certs = sorted(obj.certificates.all(), key=lambda c: (c.issued_at, c.pk), reverse=True)
        return certs[0] if certs else None

    @admin.display(description="semantic preservation")
    def semantic_preservation(self, obj: WMatrix) -> str:
        value = obj.best_metrics.get("semantic_preservation")
        return "—" if value is None else f"{value:.3f}"

    @admin.display(description="tier")
    def tier(self, obj: WMatrix) -> str:
        cert = self._latest(obj)
        if cert is None:
            return "—"
        return format_html("{} {}", _tier_badge(cert.tier), _certificate_page_link(cert, "certificate"))

    @admin.display(description="recommended pair")
    def recommended_pair(self, obj: WMatrix) -> str:
        pair = overview.recommended_pair(obj)
        best = f"{obj.best_source_layer} → {obj.best_target_layer}"
        if obj.recommended_source_layer is None:
            return format_html('<span title="stored before the recommendation: the best retrieval pair stands in">'
                               '{}</span>', best)
        return format_html('<span title="layers source → target; best retrieval pair {}">{} → {}</span>', best,
                           pair[0], pair[1])

    @admin.display(description="measured retention", ordering="measured_retention")
    def measured_retention(self, obj: WMatrix) -> str:
        return _retention_text(overview.measured_retention(obj))

    @admin.display(description="last drift check", ordering="last_drift_checked_at")
    def last_drift_check(self, obj: WMatrix) -> str:
        return _drift_text(overview.last_drift_check(obj))

    @admin.display(description="latest certificate")
    def latest_certificate(self, obj: WMatrix) -> str:
        cert = self._latest(obj)
        if cert is None:
            return "—"
        return format_html("{} · {}", _link(cert, f"{cert.public_id} (tier {cert.tier})"),
                           _certificate_page_link(cert))

    def _enqueue_each(self, request, queryset, event: Callable[[int], None], what: str) -> None:
        """Fire `event` (a ``marketplace.events`` function: sent on commit, routed) per selected matrix; say so."""
        ids = list(queryset.values_list("pk", flat=True))
        for pk in ids:
            event(pk)
        self.message_user(request, f"{what} queued for {len(ids)} matrix(es).", messages.SUCCESS)

    @admin.action(description="Revalidate now (drift check on fresh anchors)")
    def revalidate_now(self, request, queryset):
        self._enqueue_each(request, queryset, events.drift_check_due, "Drift revalidation")

    @admin.action(description="Recompute compatibility estimates")
    def recompute_estimates(self, request, queryset):
        self._enqueue_each(request, queryset, events.estimates_outdated, "Estimate recomputation")

    @admin.action(description="Issue a quality certificate")
    def issue_certificates(self, request, queryset):
        for matrix in queryset.select_related("source", "target"):
            try:
                cert = issue_certificate(matrix)
            except ServiceError as exc:
                self.message_user(request, f"{matrix}: {exc}", messages.ERROR)
                continue
            self.message_user(
                request,
                format_html("{}: certificate {} issued, tier {}.", str(matrix), _link(cert, cert.public_id),
                            cert.tier),
                messages.SUCCESS,
            )

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "support_matrix_url": reverse("admin-support-matrix"),
                         "multihop_graph_url": reverse("admin-multihop-graph")}
        return super().changelist_view(request, extra_context)


@admin.register(QualityCertificate)
class QualityCertificateAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "matrix", "tier", "key_id", "signature_valid", "issued_at", "view_certificate")
    list_filter = ("tier", "key_id")
    search_fields = ("public_id", "matrix__public_id", "matrix__source__name", "matrix__target__name",
                     "anchor_set_hash")
    readonly_fields = ("public_id", "view_certificate", "matrix", "tier", "metrics", "anchor_set_hash", "payload",
                       "signature", "key_id", "issued_at", "signature_valid")
    list_select_related = ("matrix__source", "matrix__target")

    @admin.display(description="certificate page")
    def view_certificate(self, obj: QualityCertificate) -> str:
        return _certificate_page_link(obj)

    @admin.display(description="signature valid", boolean=True)
    def signature_valid(self, obj: QualityCertificate) -> bool:
        return bool(verify_certificate(obj))


@admin.register(MeasuredRetention)
class MeasuredRetentionAdmin(ReadOnlyAdmin):
    """Measured steering-effect retention imported with ``manage.py import_retention`` (one row per capability
    per bench run; capability "*" is the pair's median)."""

    list_display = ("source", "target", "capability", "retention_value", "interval", "random_control",
                    "shuffled_control", "anti_steerable_fraction", "layers", "target_config", "measured_at")
    list_filter = ("source", "target", "capability", "method")
    search_fields = ("source__name", "target__name", "capability", "anchor_set_hash")
    readonly_fields = ("source", "target", "capability", "retention", "ci_low", "ci_high", "retention_matched_norm",
                       "random_control", "shuffled_control", "cosine", "anti_steerable_fraction", "best_coefficient",
                       "n_prompts", "source_layer", "target_layer", "method", "source_fingerprint",
                       "target_fingerprint", "anchor_set_hash", "library_version", "measured_at", "target_config",
                       "config_key", "raw", "imported_at")
    list_select_related = ("source", "target")
    date_hierarchy = "measured_at"

    @admin.display(description="retention", ordering="retention")
    def retention_value(self, obj: MeasuredRetention) -> str:
        return "—" if obj.retention is None else f"{obj.retention:.3f}"

    @admin.display(description="95% interval")
    def interval(self, obj: MeasuredRetention) -> str:
        if obj.ci_low is None or obj.ci_high is None:
            return "—"
        return f"[{obj.ci_low:.3f}, {obj.ci_high:.3f}]"

    @admin.display(description="layers")
    def layers(self, obj: MeasuredRetention) -> str:
        return f"{obj.source_layer} → {obj.target_layer}"


@admin.register(CompatibilityEstimate)
class CompatibilityEstimateAdmin(ReadOnlyAdmin):
    list_display = ("listing", "target", "retention", "ci_low", "ci_high", "risk_level", "basis", "matrix",
                    "computed_at")
    list_filter = ("risk_level", "basis", "target")
    search_fields = ("listing__public_id", "listing__name", "target__name", "config_key")
    readonly_fields = ("listing", "target", "config_key", "target_config", "retention", "ci_low", "ci_high",
                       "alignment_quality", "risk_level", "dimensional_loss", "structural_mismatch",
                       "recommendation", "basis", "detail", "matrix", "measurement", "computed_at")
    list_select_related = ("listing", "target", "matrix__source", "matrix__target")


@admin.register(DriftCheck)
class DriftCheckAdmin(ReadOnlyAdmin):
    list_display = ("checked_at", "matrix", "status", "recommendation", "drift", "drift_detected",
                    "fingerprint_changed", "action")
    list_filter = ("status", "recommendation", "drift_detected", "fingerprint_changed")
    search_fields = ("matrix__public_id", "matrix__source__name", "matrix__target__name", "detail")
    readonly_fields = ("matrix", "checked_at", "status", "recommendation", "drift_detected", "baseline", "observed",
                       "drift", "fingerprint_changed", "detail", "action", "result")
    list_select_related = ("matrix__source", "matrix__target")
    date_hierarchy = "checked_at"


@admin.register(AlignmentJob)
class AlignmentJobAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "source", "target", "status", "progress_percent", "eta_seconds", "requested_by",
                    "matrix_link", "created_at", "finished_at")
    list_filter = ("status", "source", "target")
    search_fields = ("public_id", "source__name", "target__name", "requested_by__username", "message", "error")
    readonly_fields = ("public_id", "requested_by", "source", "target", "num_anchors", "status", "progress",
                       "eta_seconds", "message", "matrix", "error", "created_at", "started_at", "finished_at")
    list_select_related = ("source", "target", "requested_by", "matrix")
    date_hierarchy = "created_at"

    @admin.display(description="progress")
    def progress_percent(self, obj: AlignmentJob) -> str:
        return f"{100 * obj.progress:.0f}%"

    @admin.display(description="matrix")
    def matrix_link(self, obj: AlignmentJob) -> str:
        return _link(obj.matrix, obj.matrix.public_id) if obj.matrix else "—"


@admin.register(TaskRun)
class TaskRunAdmin(ReadOnlyAdmin):
    list_display = ("task_name", "idempotency_key", "status", "attempts", "created_at", "finished_at",
                    "lease_owner", "lease_expires_at")
    list_filter = ("status", "task_name")
    search_fields = ("task_name", "idempotency_key", "error", "lease_owner")
    readonly_fields = ("idempotency_key", "task_name", "status", "attempts", "result", "error", "created_at",
                       "finished_at", "lease_owner", "lease_expires_at")
    date_hierarchy = "created_at"


# ------------------------------------------------------------------------------------ support-matrix page
def _cell_style(row: dict) -> str:
    """Background from typical retention (red 0 → green 1); tier colours the border."""
    retention = row.get("typical_retention")
    border = TIER_COLORS.get(row.get("tier"), "#9e9e9e")
    if retention is None or not math.isfinite(retention):
        return f"background:#eeeeee;border:3px solid {border}"
    hue = round(120 * min(max(retention, 0.0), 1.0))
    return f"background:hsl({hue},65%,78%);border:3px solid {border}"


def support_matrix_context() -> dict:
    """Sources × targets grid of the support matrix: each cell is None or the row plus its style and what an
    operator decides on (tier, retention and its basis, recommended pair, last drift check)."""
    rows = support_matrix()
    # every runnable model on both axes, so that missing pairs show as gaps (candidates for an alignment job)
    runnable = set(Architecture.objects.exclude(support_level=Architecture.Support.METADATA)
                   .values_list("name", flat=True))
    sources = sorted(runnable | {r["source"] for r in rows})
    targets = sorted(runnable | {r["target"] for r in rows})
    by_pair = {(r["source"], r["target"]): r for r in rows}
    matrices = {m.public_id: m for m in overview.with_decision_columns(
        WMatrix.objects.filter(public_id__in=[r["matrix_id"] for r in rows]))}
    grid = []
    for source in sources:
        cells = []
        for target in targets:
            row = by_pair.get((source, target))
            if row is None:
                cells.append({"target": target, "row": None, "self": source == target})
                continue
            retention = row.get("typical_retention")
            low, high = row.get("typical_retention_ci_low"), row.get("typical_retention_ci_high")
            matrix = matrices.get(row["matrix_id"])
            decision = overview.decision_summary(matrix) if matrix is not None else {}
            pair = decision.get("recommended_pair") or row.get("best_pair")
            cells.append({
                "target": target,
                "row": row,
                "style": _cell_style(row),
                "retention_pct": None if retention is None else f"{100 * retention:.0f}%",
                "ci_pct": None if low is None or high is None else f"{100 * low:.0f}–{100 * high:.0f}%",
                "measured": row.get("basis") == "measured_retention",
                "pair": f"{pair[0]} → {pair[1]}" if pair else "—",
                "drift": decision.get("drift") or {},
                "change_url": _change_url(matrix) if matrix is not None else "",
            })
        grid.append({"source": source, "cells": cells})
    return {"rows": rows, "sources": sources, "targets": targets, "grid": grid, "tier_colors": TIER_COLORS}


def support_matrix_view(request):
    """Admin page (staff only, wrapped by ``admin.site.admin_view`` in urls.py): the support-matrix heatmap."""
    context = {
        **admin.site.each_context(request),
        "title": "Support matrix",
        "wmatrix_changelist": reverse("admin:alignment_wmatrix_changelist"),
        **support_matrix_context(),
    }
    return TemplateResponse(request, "admin/support_matrix.html", context)
