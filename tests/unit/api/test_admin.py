"""Admin: every model's changelist loads, ledger rows are read-only, matrix actions enqueue the right tasks,
the support-matrix page renders for staff only, API keys created in the admin are shown once and stored hashed."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.contrib import admin
from django.urls import reverse

from marketplace.alignment.models import QualityCertificate, WMatrix
from marketplace.catalog.models import ApiKey, LedgerEntry

pytestmark = pytest.mark.django_db

APP_LABELS = ("catalog", "alignment")


def _registered():
    return [m for m in admin.site._registry if m._meta.app_label in APP_LABELS]


def test_every_model_is_registered():
    from django.apps import apps

    for label in APP_LABELS:
        for model in apps.get_app_config(label).get_models():
            assert model in admin.site._registry, model


def test_every_changelist_loads(admin_client_su, listing, wmatrix, user):
    from marketplace.catalog.ledger import deposit

    deposit(user, Decimal("5"))
    for model in _registered():
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        response = admin_client_su.get(url)
        assert response.status_code == 200, (model, response.status_code)
        response = admin_client_su.get(url, {"q": "x"})
        assert response.status_code == 200, (model, "search")


def test_change_pages_load(admin_client_su, listing, wmatrix):
    for obj in (listing, wmatrix, listing.source_model):
        url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
        assert admin_client_su.get(url).status_code == 200


def test_ledger_entries_are_read_only(admin_client_su, superuser, user, rf):
    from marketplace.catalog.ledger import deposit

    deposit(user, Decimal("5"))
    entry = LedgerEntry.objects.filter(account__user=user).first()
    model_admin = admin.site._registry[LedgerEntry]
    request = rf.get("/")
    request.user = superuser
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, entry)
    assert not model_admin.has_delete_permission(request, entry)

    url = reverse("admin:catalog_ledgerentry_change", args=[entry.pk])
    assert admin_client_su.get(url).status_code == 200  # viewable
    admin_client_su.post(url, {"amount": "999", "memo": "edited"})
    entry.refresh_from_db()
    assert entry.amount == Decimal("5") and entry.memo != "edited"
    assert admin_client_su.get(reverse("admin:catalog_ledgerentry_delete", args=[entry.pk])).status_code == 403


@pytest.mark.parametrize(
    ("action", "task", "queue"),
    [("revalidate_now", "alignment.revalidate_drift", "gpu"),
     ("recompute_estimates", "alignment.recompute_estimates", "default")],
)
def test_matrix_actions_enqueue_by_name_on_commit(admin_client_su, wmatrix, action, task, queue, sent_tasks,
                                                  django_capture_on_commit_callbacks):
    url = reverse("admin:alignment_wmatrix_changelist")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client_su.post(url, {"action": action, "_selected_action": [wmatrix.pk]})
    assert response.status_code == 302
    assert sent_tasks == []  # only after commit
    for callback in callbacks:
        callback()
    assert sent_tasks == [(task, [wmatrix.pk], queue)]


def test_recompute_action_routes_to_gpu_when_the_matrix_file_is_not_local(admin_client_su, wmatrix, sent_tasks,
                                                                          django_capture_on_commit_callbacks):
    """The admin goes through the same router as the services: estimate work needing a remote file goes to gpu."""
    wmatrix.file.storage.delete(wmatrix.file.name)  # e.g. only the GPU node's volume has it
    with django_capture_on_commit_callbacks(execute=True):
        admin_client_su.post(reverse("admin:alignment_wmatrix_changelist"),
                             {"action": "recompute_estimates", "_selected_action": [wmatrix.pk]})
    assert sent_tasks == [("alignment.recompute_estimates", [wmatrix.pk], "gpu")]


def test_issue_certificate_action(admin_client_su, wmatrix):
    url = reverse("admin:alignment_wmatrix_changelist")
    response = admin_client_su.post(url, {"action": "issue_certificates", "_selected_action": [wmatrix.pk]},
                                    follow=True)
    assert response.status_code == 200
    cert = QualityCertificate.objects.get(matrix=wmatrix)
    text = response.content.decode()
    assert f"tier {cert.tier}" in text and cert.public_id in text

    # the matrix links to its latest certificate
    page = admin_client_su.get(reverse("admin:alignment_wmatrix_change", args=[wmatrix.pk])).content.decode()
    assert reverse("admin:alignment_qualitycertificate_change", args=[cert.pk]) in page


def test_support_matrix_page(admin_client_su, wmatrix, client):
    url = reverse("admin-support-matrix")
    assert url == "/admin/support-matrix/"
    response = admin_client_su.get(url)
    assert response.status_code == 200
    text = response.content.decode()
    assert "src-model" in text and "tgt-model" in text and "hsl(" in text
    assert "lonely-model" in text  # a runnable model without matrices shows as a gap
    assert "admin/support_matrix.html" in [t.name for t in response.templates]
    # the W-Matrix changelist links to it
    assert url in admin_client_su.get(reverse("admin:alignment_wmatrix_changelist")).content.decode()
    # not for anonymous users
    assert client.get(url).status_code == 302


def test_support_matrix_page_empty(admin_client_su, archs):
    assert WMatrix.objects.count() == 0
    response = admin_client_su.get("/admin/support-matrix/")
    assert response.status_code == 200 and "No active W-Matrix yet" in response.content.decode()


def test_api_key_created_in_admin_is_shown_once_and_hashed(admin_client_su, user):
    response = admin_client_su.post(reverse("admin:catalog_apikey_add"), {"user": user.pk, "name": "ci"},
                                    follow=True)
    assert response.status_code == 200
    text = response.content.decode()
    raw = re.search(r"<code>(amk_[^<]+)</code>", text).group(1)
    row = ApiKey.objects.get(user=user, name="ci")
    assert row.key_hash == ApiKey.hash_key(raw) and raw.startswith(row.prefix)
    assert not ApiKey.objects.filter(key_hash=raw).exists()
