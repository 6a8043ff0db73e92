"""What an operator decides on, in the admin: the W-Matrix list's tier, recommended pair, measured retention and
last drift check columns, and the support-matrix page (its title said once, the same facts per cell)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def decided(archs, tmp_path):
    """A certified matrix with a measured median retention of its pair and a drifted last check."""
    from operator_data import decided_matrix

    return decided_matrix(archs["src"], archs["tgt"], tmp_path)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_wmatrix_list_shows_tier_pair_retention_and_drift(admin_client_su, decided, archs, tmp_path):
    from operator_data import decided_matrix

    decided_matrix(archs["tgt"], archs["lonely"], tmp_path, measured=False)  # no retention, never checked
    page = admin_client_su.get(reverse("admin:alignment_wmatrix_changelist")).content.decode()
    for column in ("tier", "recommended pair", "measured retention", "last drift check"):
        assert f">{column.capitalize()}<" in page or f">{column}<" in page.lower(), column
    text = _text(page)
    assert f"tier {decided.certificates.get().tier}" in text and 'class="tier-badge"' in page
    assert "3 → 2" in text  # the recommended pair stored with the version, not the best retrieval pair 2 → 1
    assert "0.62 [0.50, 0.70] · 2026-02-03" in text
    assert "drifted · Δ +0.080" in text
    assert "not measured" in text and "never checked" in text  # the bare matrix


def test_columns_sort_by_retention_and_last_check(admin_client_su, decided):
    url = reverse("admin:alignment_wmatrix_changelist")
    headers = admin_client_su.get(url).content.decode()
    for field in ("measured_retention", "last_drift_check"):
        assert re.search(rf'class="sortable column-{field}', headers), field
    from django.contrib import admin

    from marketplace.alignment.models import WMatrix

    columns = admin.site._registry[WMatrix].list_display
    for field in ("measured_retention", "last_drift_check"):
        response = admin_client_su.get(url, {"o": str(columns.index(field) + 1)})
        assert response.status_code == 200 and decided.public_id in response.content.decode()


def test_support_matrix_page_says_its_title_once_and_shows_decisions(admin_client_su, decided):
    page = admin_client_su.get(reverse("admin-support-matrix")).content.decode()
    description = "Each cell is the active W-Matrix of a (source, target) pair"
    assert page.count(description) == 1 and page.count("Support matrix</h1>") == 1
    assert "<h2>" not in page.split('id="content"', 1)[1].split("</table>", 1)[0]  # no subtitle echo
    title = re.search(r"<title>(.*?)</title>", page, re.S).group(1)
    assert title.count("Support matrix") == 1 and "retention" not in title
    text = _text(page)
    assert "62%" in text and "measured, 95% CI 50–70%" in text
    assert "pair 3 → 2" in text and "drift drifted" in text
    assert "ul.legend li { list-style: none" in page  # admin CSS gives every li a bullet otherwise
    assert reverse("admin:alignment_wmatrix_change", args=[decided.pk]) in page
