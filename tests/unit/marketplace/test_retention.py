"""Measured retention: import_retention (rows, idempotence, atomic refusal), estimates on measured retention,
the support matrix, and certificates that carry retention/stitching and still verify (old and new)."""

from __future__ import annotations

import hashlib
import hmac
import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from alignment_plugins import certificate as engine
from alignment_plugins.__main__ import main as cli
from marketplace.alignment import architectures, retention
from marketplace.alignment.certificates import (
    certificate_document,
    certificate_html,
    issue_certificate,
    latest_certificate,
    record_extra_metrics,
    verify_certificate,
)
from marketplace.alignment.estimates import estimate_for
from marketplace.alignment.matrices import store_matrix
from marketplace.alignment.matrix_files import matrix_cka
from marketplace.alignment.models import CompatibilityEstimate, MeasuredRetention, QualityCertificate, WMatrix
from marketplace.alignment.support import support_matrix
from marketplace.errors import NotFound, ValidationFailed

pytestmark = pytest.mark.django_db

HOSTILE = "<img src=x onerror=alert(1)>"


def support_doc(pairs: list[dict[str, Any]] | None = None, generated_at: str = "2026-02-03T04:05:06+00:00",
                **models: Any) -> dict[str, Any]:
    pair = {
        "source": "toy-src", "target": "toy-tgt", "source_layer": 1, "target_layer": 1, "method": "ridge",
        "median_retention": 0.62, "median_retention_ci": [0.5, 0.7], "random_control": 0.02,
        "shuffled_control": 0.05, "cosine_native_transferred": 0.4,
        "capabilities": {
            "code": {"retention": 0.71, "ci": [0.66, 0.77], "retention_matched_norm": 0.8,
                     "ci_matched_norm": [0.7, 0.9], "random_control": 0.01, "shuffled_control": 0.03,
                     "anti_steerable_fraction": 0.1, "cosine": 0.45, "best_coefficient": 4.0, "n_prompts": 40},
            "Formal Tone": {"retention": 0.3, "ci": [0.2, 0.4], "retention_matched_norm": None,
                            "ci_matched_norm": None, "random_control": 0.0, "shuffled_control": 0.02,
                            "anti_steerable_fraction": 0.3, "cosine": 0.2, "best_coefficient": 2.0, "n_prompts": 40},
            "empty": {"retention": None, "ci": None, "retention_matched_norm": None, "ci_matched_norm": None,
                      "random_control": None, "shuffled_control": None, "anti_steerable_fraction": None,
                      "cosine": None, "best_coefficient": None, "n_prompts": 0},
        },
    }
    return {
        "format": "support-matrix", "version": 1, "generated_at": generated_at, "library_version": "0.1.0",
        "command": "python bench/retention_bench.py", "anchors": {"hash": "sha256:anchors", "count": 500},
        "models": {"toy-src": {"fingerprint": "sha256:aa", "layer": 1, "hidden_size": 8},
                   "toy-tgt": {"fingerprint": "sha256:bb", "layer": 1, "hidden_size": 6}, **models},
        "pairs": [pair] if pairs is None else pairs,
    }


@pytest.fixture
def write(tmp_path: Path):
    def _write(data: Any, name: str = "support-matrix.json") -> Path:
        path = tmp_path / name
        path.write_text(data if isinstance(data, str) else json.dumps(data))
        return path

    return _write


def run(path: Path, *args: str) -> str:
    out = StringIO()
    call_command("import_retention", str(path), *args, stdout=out)
    return out.getvalue()


# ------------------------------------------------------------------------------------------------- import
def test_import_stores_rows_and_is_idempotent(toy: dict, write: Any) -> None:
    path = write(support_doc())
    output = run(path)
    assert "imported 4 measured-retention row(s) (4 new, 0 updated) for 1 pair(s)" in output
    assert "no active matrix" in output
    rows = {r.capability: r for r in MeasuredRetention.objects.all()}
    assert set(rows) == {"*", "code", "Formal Tone", "empty"}
    median, code = rows["*"], rows["code"]
    assert (median.retention, median.ci_low, median.ci_high, median.cosine) == (0.62, 0.5, 0.7, 0.4)
    assert (code.retention, code.ci_low, code.ci_high, code.anti_steerable_fraction, code.n_prompts) == (
        0.71, 0.66, 0.77, 0.1, 40)
    assert code.source == toy["source"] and code.target == toy["target"]
    assert (code.source_layer, code.target_layer, code.method) == (1, 1, "ridge")
    assert (code.source_fingerprint, code.target_fingerprint, code.anchor_set_hash) == (
        "sha256:aa", "sha256:bb", "sha256:anchors")
    assert code.measured_at.isoformat() == "2026-02-03T04:05:06+00:00"
    assert code.raw["best_coefficient"] == 4.0 and "capabilities" not in median.raw
    assert rows["empty"].retention is None
    assert "(0 new, 4 updated)" in run(path)  # same run again: the same rows
    assert MeasuredRetention.objects.count() == 4
    run(write(support_doc(generated_at="2026-03-01T00:00:00Z"), "later.json"))
    assert MeasuredRetention.objects.count() == 8  # a later run adds rows; look-ups use the latest
    assert {r.measured_at.month for r in retention.latest_run(toy["source"], toy["target"])} == {3}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"format": "support-matrix", ', "is not valid JSON"),
        ('{"format": "support-matrix", "x": NaN}', "NaN is not valid JSON"),
        ({"format": "something-else", "version": 1}, "not a support-matrix file"),
        ("[1, 2]", "expected a JSON object"),
    ],
)
def test_import_rejects_malformed_files(toy: dict, write: Any, content: Any, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        run(write(content))
    assert not MeasuredRetention.objects.exists()


def test_import_rejects_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="cannot read"):
        run(tmp_path / "nope.json")


def test_unknown_model_rejects_the_whole_file(toy: dict, write: Any) -> None:
    good = support_doc()["pairs"][0]
    stranger = {**good, "source": "toy-src", "target": "no-such-model"}
    doc = support_doc([good, stranger], **{"no-such-model": {"fingerprint": "x", "layer": 1, "hidden_size": 4}})
    with pytest.raises(CommandError, match=r"unknown model\(s\) \['no-such-model'\].*nothing was imported"):
        run(write(doc))
    assert not MeasuredRetention.objects.exists()


def test_hidden_size_mismatch_is_refused(toy: dict, write: Any) -> None:
    doc = support_doc()
    doc["models"]["toy-tgt"]["hidden_size"] = 7
    with pytest.raises(CommandError, match="hidden size 7"):
        run(write(doc))
    assert not MeasuredRetention.objects.exists()


def test_a_failure_midway_stores_nothing(toy: dict, write: Any, monkeypatch: Any) -> None:
    original = MeasuredRetention.objects.update_or_create
    calls = []

    def flaky(**kwargs: Any) -> Any:
        calls.append(kwargs["capability"])
        if len(calls) == 3:
            raise ValidationFailed("disk on fire")
        return original(**kwargs)

    monkeypatch.setattr(MeasuredRetention.objects, "update_or_create", flaky)
    with pytest.raises(CommandError, match="disk on fire"):
        run(write(support_doc()))
    assert len(calls) == 3 and not MeasuredRetention.objects.exists()


def test_missing_known_models_are_registered(toy: dict, write: Any, monkeypatch: Any) -> None:
    from marketplace.catalog.models import Architecture

    registered: list[list[str]] = []

    def fake_register(names: list[str]) -> list[Architecture]:
        registered.append(list(names))
        return [Architecture.objects.create(name=n, hidden_size=4, num_layers=2) for n in names]

    monkeypatch.setattr(architectures, "register_architectures", fake_register)
    pair = {**support_doc()["pairs"][0], "target": "gemma3-270m"}
    doc = support_doc([pair], **{"gemma3-270m": {"fingerprint": "sha256:gg", "layer": 3, "hidden_size": 4}})
    assert "registered gemma3-270m" in run(write(doc))
    assert registered == [["gemma3-270m"]]
    assert MeasuredRetention.objects.filter(target__name="gemma3-270m").count() == 4
    MeasuredRetention.objects.all().delete()
    Architecture.objects.filter(name="gemma3-270m").delete()
    with pytest.raises(CommandError, match="registration disabled"):
        run(write(doc), "--no-register")


# ---------------------------------------------------------------------------------------------- estimates
def test_estimate_switches_to_measured_retention(
    stored_matrix: WMatrix, make_listing: Any, toy: dict, write: Any
) -> None:
    code = make_listing(layer=1)  # capability_domain "code"
    formal = make_listing(layer=1, name="Formal tone", capability_domain="style")  # matched by name
    other = make_listing(layer=1, name="x", capability_domain="empty")  # measured without a value: learned
    before = estimate_for(code, toy["target"])
    assert before.basis == "learned_estimate" and before.measurement is None

    output = run(write(support_doc()))
    assert "toy-src -> toy-tgt: " in output and "estimate(s) recomputed" in output
    assert "re-issued with the measured retention" in output
    cert = latest_certificate(stored_matrix)
    assert cert.payload["retention"]["median"]["retention"] is not None and verify_certificate(cert)

    est = estimate_for(code, toy["target"])
    assert est.pk == before.pk and est.basis == "measured_retention"
    assert (est.retention, est.ci_low, est.ci_high) == pytest.approx((0.71, 0.66, 0.77))
    assert est.measurement.capability == "code" and est.alignment_quality == pytest.approx(0.84)
    assert est.risk_level == "medium" and est.detail["level"] == 0.95 and est.detail["interval"] == "measured"
    assert est.recommendation.startswith("Measured: keeps about 71% (95% CI 66–77%) of the 'code' steering effect")
    stored = CompatibilityEstimate.objects.get(pk=est.pk)  # recomputed by the command, not only on read
    assert stored.basis == "measured_retention"

    f = estimate_for(formal, toy["target"])
    assert (f.retention, f.ci_low, f.ci_high) == pytest.approx((0.3, 0.2, 0.4)) and f.risk_level == "high"
    assert f.measurement.capability == "Formal Tone"
    # a capability never measured: the learned estimate, not the pair's median (whose interval says nothing about
    # the spread over capabilities)
    m = estimate_for(other, toy["target"])
    assert m.basis == "learned_estimate" and m.measurement is None
    assert m.retention == pytest.approx(before.retention)

    quant = estimate_for(code, toy["target"], quantization="int4")  # measured unquantized only
    assert quant.basis == "learned_estimate" and quant.detail["interval"] == "conformal_wide"
    assert quant.risk_level == "high" and quant.measurement is None


def test_measured_value_without_interval_uses_the_proxy_width(
    stored_matrix: WMatrix, make_listing: Any, toy: dict, write: Any
) -> None:
    pair = support_doc()["pairs"][0]
    pair["capabilities"] = {"code": {**pair["capabilities"]["code"], "ci": None}}
    run(write(support_doc([pair])))
    est = estimate_for(make_listing(layer=1), toy["target"])
    assert est.basis == "measured_retention" and est.retention == pytest.approx(0.71)
    assert (est.ci_low, est.ci_high) == pytest.approx((0.61, 0.81))  # the estimator's case interval (± 0.1)
    assert est.detail["interval"] == "measured_with_estimator_width"


def test_stale_estimate_is_recomputed_when_a_new_run_arrives(
    stored_matrix: WMatrix, make_listing: Any, toy: dict, write: Any
) -> None:
    listing = make_listing(layer=1)
    run(write(support_doc()), "--no-recompute")
    first = estimate_for(listing, toy["target"])
    assert first.retention == pytest.approx(0.71)
    pair = support_doc()["pairs"][0]
    pair["capabilities"]["code"]["retention"] = 0.75
    run(write(support_doc([pair], generated_at="2026-04-01T00:00:00+00:00"), "new.json"), "--no-recompute")
    with pytest.raises(NotFound):
        estimate_for(listing, toy["target"], compute=False)  # the stored one is from the older run
    assert estimate_for(listing, toy["target"]).retention == pytest.approx(0.75)


def test_support_matrix_reports_measured_retention(stored_matrix: WMatrix, toy: dict, write: Any) -> None:
    (row,) = support_matrix()
    assert row["basis"] == "alignment_quality (recommended pair)" and row["measured_retention"] is None
    assert row["typical_retention_ci_low"] is None
    run(write(support_doc()))
    (row,) = support_matrix()
    assert row["basis"] == "measured_retention" and row["typical_retention"] == pytest.approx(0.62)
    assert (row["typical_retention_ci_low"], row["typical_retention_ci_high"]) == (0.5, 0.7)
    measured = row["measured_retention"]
    assert measured["median"]["retention"] == 0.62 and measured["source_layer"] == 1
    caps = {c["capability"]: c for c in measured["capabilities"]}
    assert set(caps) == {"code", "Formal Tone", "empty"}
    assert (caps["code"]["ci_low"], caps["code"]["ci_high"]) == (0.66, 0.77)


# ------------------------------------------------------------------------------------------- certificates
def test_certificate_carries_retention_and_stitching(stored_matrix: WMatrix, write: Any, tmp_path: Path,
                                                     settings: Any, capsys: Any) -> None:
    run(write(support_doc()))
    cert = record_extra_metrics(stored_matrix, "stitching", {"stitched_loss_ratio": 1.2, "nan": float("nan")})
    payload = cert.payload
    assert stored_matrix.extra_metrics["stitching"] == {"stitched_loss_ratio": 1.2, "nan": None}
    assert payload["stitching"] == {"stitched_loss_ratio": 1.2, "nan": None}
    assert payload["retention"]["median"] == {"retention": 0.62, "ci": [0.5, 0.7], "random_control": 0.02,
                                              "shuffled_control": 0.05, "cosine": 0.4}
    assert payload["retention"]["capabilities"]["code"]["ci"] == [0.66, 0.77]
    assert payload["retention"]["measured_at"] == "2026-02-03T04:05:06+00:00"
    assert payload["intervals"]["accuracy"]["method"] == "wilson score (n=100)"  # n = the file's test split
    assert payload["intervals"]["semantic_preservation"]["method"] == "not recorded"
    assert payload["tier"] == cert.tier == 2 and verify_certificate(cert)
    assert verify_certificate(QualityCertificate.objects.get(pk=cert.pk))

    # the marketplace's document verifies with the engine CLI under the same key
    doc_path, key_path = tmp_path / "cert.json", tmp_path / "key"
    doc_path.write_text(json.dumps(certificate_document(cert)))
    key_path.write_text(settings.CERTIFICATE_SIGNING_KEY)
    assert cli(["verify-certificate", str(doc_path), "--key-file", str(key_path)]) == 0
    assert capsys.readouterr().out.strip() == "valid"

    for tamper in ("retention", "stitching"):
        forged = QualityCertificate.objects.get(pk=cert.pk)
        if tamper == "retention":
            forged.payload["retention"]["capabilities"]["code"]["retention"] = 0.99
        else:
            forged.payload["stitching"]["stitched_loss_ratio"] = 1.0
        assert not verify_certificate(forged)


def test_old_style_certificates_still_verify(stored_matrix: WMatrix, settings: Any) -> None:
    """A certificate issued before the engine module existed: its payload had no intervals and was signed by the
    marketplace's own canonical JSON + HMAC (reproduced here independently)."""
    payload = {
        "format": "wmatrix-certificate/1", "certificate_id": "cert_OldStyle00000001",
        "matrix": {"id": stored_matrix.public_id, "version": 1, "method": "ridge", "file_sha256": "ab" * 32},
        "source": {"name": "toy-src", "fingerprint": "sha256:aa"},
        "target": {"name": "toy-tgt", "fingerprint": "sha256:bb"}, "best_pair": [1, 1], "tier": 2,
        "tier_bands": {"reconstruction_error_upper_bounds": [0.05, 0.15, 0.3]},
        "metrics": {"accuracy": 0.9, "semantic_preservation": 0.84, "reconstruction_error": 0.1},
        "anchor_set_hash": "sha256:cc", "library_version": "0.1.0", "issued_at": "2026-01-01T00:00:00+00:00",
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    key = settings.CERTIFICATE_SIGNING_KEY.encode()
    signature = hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
    cert = QualityCertificate.objects.create(
        public_id="cert_OldStyle00000001", matrix=stored_matrix, tier=2, metrics=payload["metrics"],
        anchor_set_hash="sha256:cc", payload=payload, signature=signature,
        key_id="hmac-sha256:" + hashlib.sha256(key).hexdigest()[:12],
    )
    assert verify_certificate(QualityCertificate.objects.get(pk=cert.pk))
    assert engine.verify(certificate_document(cert), key)
    legacy = QualityCertificate.objects.create(  # the model's default key_id names no key
        public_id="cert_OldStyle00000002", matrix=stored_matrix, tier=2, payload={**payload,
        "certificate_id": "cert_OldStyle00000002"}, signature=engine.signature_hex(
            {**payload, "certificate_id": "cert_OldStyle00000002"}, key))
    assert legacy.key_id == "hmac-sha256" and verify_certificate(legacy)
    page = certificate_html(cert)
    assert "signature verified" in page and "Tier 2" in page and "not recorded" in page


def test_certificate_html_from_the_stored_matrix(toy: dict, tmp_path: Path, write: Any,
                                                 django_capture_on_commit_callbacks: Any) -> None:
    import numpy as np

    from alignment_plugins.solvers import RidgeSolver
    from alignment_plugins.wmatrix import WMatrix as EngineWMatrix

    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 8))
    maps = {(1, 1): RidgeSolver(regularization=1e-3).fit_arrays(x, x @ rng.normal(size=(8, 6)))}
    engine_matrix = EngineWMatrix(
        source={"name": "toy-src", "fingerprint": "sha256:aa", "hidden_size": 8},
        target={"name": "toy-tgt", "fingerprint": HOSTILE, "hidden_size": 6}, maps=maps, layer_map=[(1, 1)],
        best_pair=(1, 1), method="ridge", anchors={"hash": "sha256:cc"},
        pair_metrics={"1->1": {"accuracy": 0.99, "semantic_preservation": 0.9, "reconstruction_error": 0.03}},
        cka=rng.uniform(size=(3, 2)), cka_layers={"source": [0, 1, 2], "target": [0, 1]},
    )
    pair = support_doc()["pairs"][0]
    pair["capabilities"]["code"]["dose_response"] = {
        "native": {"coefficients": [0, 2, 4], "effect": [0, 0.4, 0.9], "ci_low": [0, 0.3, 0.7],
                   "ci_high": [0, 0.5, 1.1]},
        "transferred": {"coefficients": [0, 2, 4], "effect": [0, 0.3, 0.6], "ci_low": [0, 0.2, 0.5],
                        "ci_high": [0, 0.4, 0.7]},
    }
    run(write(support_doc([pair])))
    with django_capture_on_commit_callbacks(execute=True):
        matrix = store_matrix(engine_matrix.save(tmp_path / "with-cka.wmatrix"))
    cka, layers = matrix_cka(matrix)
    assert cka.shape == (3, 2) and layers == {"source": [0, 1, 2], "target": [0, 1]}
    cert = latest_certificate(matrix)
    page = certificate_html(cert)
    assert "Tier 1" in page and "signature verified" in page and page.count("data:image/svg+xml;base64,") == 2
    assert HOSTILE not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "Measured steering-effect retention" in page
    QualityCertificate.objects.filter(pk=cert.pk).update(signature="0" * 64)
    assert "signature INVALID" in certificate_html(QualityCertificate.objects.get(pk=cert.pk))


def test_issue_certificate_without_measurement_has_no_retention(stored_matrix: WMatrix) -> None:
    cert = issue_certificate(stored_matrix)
    assert "retention" not in cert.payload and "stitching" not in cert.payload
    assert set(cert.payload["intervals"]) >= {"accuracy", "semantic_preservation", "reconstruction_error"}


def test_runs_of_other_configurations_are_kept_apart(stored_matrix: WMatrix, make_listing: Any, toy: dict,
                                                     write: Any) -> None:
    run(write(support_doc()))
    quantized = support_doc(generated_at="2026-05-01T00:00:00+00:00")
    quantized["target_config"] = {"quantization": "int8"}
    quantized["pairs"][0]["capabilities"]["code"]["retention"] = 0.5
    run(write(quantized, "int8.json"))
    assert MeasuredRetention.objects.filter(config_key="").count() == 4
    int8_rows = MeasuredRetention.objects.exclude(config_key="")
    assert int8_rows.count() == 4 and {r.target_config["quantization"] for r in int8_rows} == {"int8"}
    assert {r.measured_at.month for r in retention.latest_run(toy["source"], toy["target"])} == {2}  # default run
    listing = make_listing(layer=1)
    assert estimate_for(listing, toy["target"]).retention == pytest.approx(0.71)
    on_int8 = estimate_for(listing, toy["target"], quantization="q8_0")  # 8 bits: the int8 run
    assert on_int8.basis == "measured_retention" and on_int8.retention == pytest.approx(0.5)
    bad = support_doc(generated_at="2026-06-01T00:00:00+00:00")
    bad["target_config"] = {"quantization": "int8", "batch_size": 2}
    with pytest.raises(CommandError, match="unknown target_config key"):
        run(write(bad, "bad.json"))
    assert MeasuredRetention.objects.count() == 8  # nothing of the refused file was stored
