"""Engine certificates: canonical JSON, HMAC signing and verification, tampering, intervals, support-matrix
validation, the HTML page, and the certify / verify-certificate CLI. No Django, no model is run."""

from __future__ import annotations

import base64
import copy
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alignment_plugins import certificate as c
from alignment_plugins.__main__ import main

ROOT = Path(__file__).resolve().parents[2]
KEY = "engine-test-key"
HOSTILE = '<script>alert("x")</script>&'


def _payload(**overrides: Any) -> dict[str, Any]:
    metrics = {"accuracy": 0.9, "csls_accuracy": 0.95, "semantic_preservation": 0.84,
               "semantic_preservation_ci_low": 0.8, "semantic_preservation_ci_high": 0.88,
               "reconstruction_error": 0.1, "r2": 0.7, "cka": 0.97, "n": 200}
    kwargs: dict[str, Any] = {
        "source": {"name": "src", "fingerprint": "sha256:aa"}, "target": {"name": "tgt", "fingerprint": "sha256:bb"},
        "metrics": metrics, "anchor_set_hash": "sha256:cc", "certificate_id": "cert_test",
        "issued_at": "2026-01-01T00:00:00+00:00", "matrix": {"id": "wm_x", "version": 1, "method": "ridge"},
        "best_pair": [1, 1], "library_version": "0.1.0",
    }
    kwargs.update(overrides)
    return c.build_payload(**kwargs)


def _support_matrix(source: str = "src", target: str = "tgt", **pair_overrides: Any) -> dict[str, Any]:
    pair = {
        "source": source, "target": target, "source_layer": 1, "target_layer": 1, "method": "ridge",
        "median_retention": 0.62, "median_retention_ci": [0.5, 0.7], "random_control": 0.02,
        "shuffled_control": 0.05, "cosine_native_transferred": 0.4,
        "capabilities": {
            "code": {"retention": 0.7, "ci": [0.6, 0.8], "retention_matched_norm": 0.75, "ci_matched_norm": [0.6, 0.9],
                     "random_control": 0.01, "shuffled_control": 0.03, "anti_steerable_fraction": 0.1,
                     "cosine": 0.45, "best_coefficient": 4.0, "n_prompts": 40},
            "formality": {"retention": None, "ci": None, "retention_matched_norm": None, "ci_matched_norm": None,
                          "random_control": None, "shuffled_control": None, "anti_steerable_fraction": None,
                          "cosine": None, "best_coefficient": None, "n_prompts": 0},
        },
    }
    pair.update(pair_overrides)
    return {
        "format": "support-matrix", "version": 1, "generated_at": "2026-02-03T04:05:06+00:00",
        "library_version": "0.1.0", "command": "python bench/retention_bench.py",
        "anchors": {"hash": "sha256:anchors", "count": 100},
        "models": {source: {"fingerprint": "sha256:aa", "layer": 1, "hidden_size": 8},
                   target: {"fingerprint": "sha256:bb", "layer": 1, "hidden_size": 6}},
        "pairs": [pair],
    }


def _wmatrix_file(tmp_path: Path, *, source: str = "src", target: str = "tgt") -> Path:
    from alignment_plugins.solvers import RidgeSolver
    from alignment_plugins.wmatrix import WMatrix

    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 8))
    maps = {(i, j): RidgeSolver(regularization=1e-3).fit_arrays(x, x @ rng.normal(size=(8, 6)))
            for i, j in [(0, 0), (1, 1)]}
    wm = WMatrix(
        source={"name": source, "fingerprint": "sha256:aa", "hidden_size": 8, "num_layers": 2},
        target={"name": target, "fingerprint": "sha256:bb", "hidden_size": 6, "num_layers": 2},
        maps=maps, layer_map=[(0, 0), (1, 1)], best_pair=(1, 1), method="ridge",
        anchors={"hash": "sha256:cc", "seed": 0, "counts": {"train": 80, "validation": 10, "test": 10}},
        pair_metrics={"0->0": {"semantic_preservation": 0.5, "reconstruction_error": 0.4},
                      "1->1": {"accuracy": 0.9, "semantic_preservation": 0.84, "semantic_preservation_ci_low": 0.8,
                               "semantic_preservation_ci_high": 0.88, "reconstruction_error": 0.1, "n": 10}},
        cka=rng.uniform(size=(3, 3)), cka_layers={"source": [0, 1, 2], "target": [0, 1, 2]},
    )
    return wm.save(tmp_path / "m.wmatrix")


# ------------------------------------------------------------------------------------------ canonical JSON
def test_canonical_json_is_stable_and_matches_the_golden_signature() -> None:
    payload = {"b": [1, 2.5, None], "a": {"z": "é<>", "y": True}, "tier": 2}
    text = c.canonical_json(payload)
    assert text == '{"a":{"y":true,"z":"\\u00e9<>"},"b":[1,2.5,null],"tier":2}'
    assert c.canonical_json(json.loads(json.dumps(payload))) == text  # survives a JSON round trip
    assert c.canonical_json(dict(reversed(list(payload.items())))) == text
    # computed once with the marketplace's original canonical_json + hmac (certificates issued before the move)
    assert c.signature_hex(payload, "golden-key") == "ad68f127982f7b9138bb87638649446f452d41689d277cd539df89d32f208a28"
    with pytest.raises(ValueError):
        c.canonical_json({"x": math.nan})


def test_marketplace_canonical_json_is_the_engines() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketplace.settings.test")
    import django

    django.setup()
    from marketplace.alignment import estimates

    assert estimates.canonical_json is c.canonical_json


# --------------------------------------------------------------------------------------------- signatures
def test_sign_and_verify_round_trip() -> None:
    doc = c.document(_payload(), KEY)
    assert doc["algorithm"] == "hmac-sha256" and re.fullmatch(r"[0-9a-f]{64}", doc["signature"])
    assert doc["key_id"] == c.key_id(KEY) and doc["key_id"].startswith("hmac-sha256:") and KEY not in doc["key_id"]
    assert c.verify(doc, KEY) and c.verify(doc, KEY.encode())
    assert c.verify(json.loads(json.dumps(doc)), KEY)  # survives serialization
    assert c.verify_detail(doc, KEY) == (True, "valid")


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _paths(v, (*prefix, k))] or [prefix]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _paths(v, (*prefix, i))] or [prefix]
    return [prefix]


def _tamper(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if value is None:
        return 0
    if isinstance(value, str):
        return value + "x"
    return "tampered"


def test_tampering_with_any_payload_field_fails() -> None:
    doc = c.document(_payload(retention=c.retention_section(_support_matrix()["pairs"][0]),
                              stitching={"loss": 0.1}), KEY)
    paths = _paths(doc["payload"])
    assert len(paths) > 40
    for path in paths:
        forged = copy.deepcopy(doc)
        node = forged["payload"]
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = _tamper(node[path[-1]])
        assert not c.verify(forged, KEY), path
    extra = copy.deepcopy(doc)
    extra["payload"]["tier"] = 1 if doc["payload"]["tier"] != 1 else 2
    assert not c.verify(extra, KEY)
    added = copy.deepcopy(doc)
    added["payload"]["note"] = "added"
    assert not c.verify(added, KEY)


@pytest.mark.parametrize("field", ["signature", "key_id", "algorithm", "key"])
def test_tampering_with_the_signature_block_or_key_fails(field: str) -> None:
    doc = c.document(_payload(), KEY)
    key = KEY
    if field == "signature":
        doc["signature"] = ("0" if doc["signature"][0] != "0" else "1") + doc["signature"][1:]
    elif field == "key_id":
        doc["key_id"] = c.key_id("someone-else")
    elif field == "algorithm":
        doc["algorithm"] = "none"
    else:
        key = "another-key"
    ok, reason = c.verify_detail(doc, key)
    assert not ok and reason
    assert not c.verify(doc, key)


def test_malformed_documents() -> None:
    for bad in (None, [], "x", {"signature": "00"}, {"payload": {}}, {"payload": [], "signature": "a"}):
        assert not c.verify(bad, KEY)
        with pytest.raises(c.CertificateError):
            c.verify_detail(bad, KEY)
    assert not c.verify({"payload": {}, "signature": "zz"}, KEY)
    with pytest.raises(ValueError):
        c.key_id("")


def test_load_key(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_bytes(b"secret\n")
    assert c.load_key(path) == b"secret"
    assert c.load_key(env={c.KEY_ENV: "from-env"}) == b"from-env"
    with pytest.raises(ValueError, match="--key-file"):
        c.load_key(env={})


# ------------------------------------------------------------------------------------------------ payload
@pytest.mark.parametrize(("error", "tier"), [(0.0, 1), (0.05, 1), (0.1, 2), (0.3, 3), (0.31, 4), (None, 4),
                                             (math.nan, 4), ("x", 4)])
def test_tier_for(error: Any, tier: int) -> None:
    assert c.tier_for(error) == tier
    assert c.tier_for(0.02, [0.01, 0.03, 0.05]) == 2


def test_payload_sections_and_intervals() -> None:
    payload = _payload(metrics={"accuracy": 0.9, "reconstruction_error": math.nan, "r2": 0.5, "n": 100,
                                "semantic_preservation": 0.8, "semantic_preservation_ci": [0.75, 0.85]})
    assert payload["tier"] == 4 and payload["metrics"]["reconstruction_error"] is None
    assert payload["tier_bands"] == {"reconstruction_error_upper_bounds": [0.05, 0.15, 0.3]}
    iv = payload["intervals"]
    assert set(iv) == {"accuracy", "reconstruction_error", "r2", "semantic_preservation"}
    assert iv["semantic_preservation"] == {"ci_low": 0.75, "ci_high": 0.85,
                                           "method": "recorded (bootstrap over test anchors)"}
    assert iv["accuracy"]["method"] == "wilson score (n=100)"
    assert iv["accuracy"]["ci_low"] == pytest.approx(0.8256, abs=1e-4) and iv["accuracy"]["ci_high"] < 0.95
    assert iv["r2"] == {"ci_low": None, "ci_high": None, "method": "not recorded"}
    assert "retention" not in payload and "stitching" not in payload
    c.canonical_json(payload)  # JSON-safe

    full = _payload(retention=c.retention_section(_support_matrix()["pairs"][0], measured_at="t"),
                    stitching={"stitched_loss_ratio": np.float32(1.25), "nested": {"x": np.int64(3)}})
    assert full["retention"]["median"] == {"retention": 0.62, "ci": [0.5, 0.7], "random_control": 0.02,
                                           "shuffled_control": 0.05, "cosine": 0.4}
    assert set(full["retention"]["capabilities"]) == {"code", "formality"}
    assert full["stitching"] == {"stitched_loss_ratio": 1.25, "nested": {"x": 3}}
    assert full["certificate_id"] == "cert_test" and c.build_payload(
        source={"name": "a"}, target={"name": "b"}, metrics={}, anchor_set_hash="")["certificate_id"].startswith(
        "cert_")


# ------------------------------------------------------------------------------------------ support matrix
def test_support_matrix_validation(tmp_path: Path) -> None:
    good = _support_matrix()
    assert c.validate_support_matrix(good) == []
    bad = _support_matrix(target="nobody")
    bad["models"].pop("nobody")
    bad["format"], bad["pairs"][0]["median_retention_ci"] = "other", [0.9, 0.1]
    bad["pairs"][0]["capabilities"]["code"]["retention"] = "high"
    bad["pairs"][0]["source_layer"] = 1.5
    errors = "\n".join(c.validate_support_matrix(bad))
    for fragment in ("format", "'nobody' is not listed", "low 0.9 > high 0.1", "code.retention", "source_layer"):
        assert fragment in errors
    assert c.validate_support_matrix([]) == ["top level: expected a JSON object, got list"]
    path = tmp_path / "sm.json"
    path.write_text(json.dumps(good).replace("0.62", "NaN"))
    with pytest.raises(c.CertificateError, match="not valid JSON"):
        c.load_support_matrix(path)
    path.write_text(json.dumps(good))
    assert c.load_support_matrix(path) == good
    assert c.support_matrix_pair(good, "src", "tgt")["median_retention"] == 0.62
    assert c.support_matrix_pair(good, "tgt", "src") is None


# --------------------------------------------------------------------------------------------------- HTML
def _svgs(page: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', page)]


def test_html_page_shows_everything_and_escapes_hostile_strings() -> None:
    sm = _support_matrix()
    sm["pairs"][0]["capabilities"][HOSTILE] = sm["pairs"][0]["capabilities"]["code"]
    payload = _payload(source={"name": HOSTILE, "fingerprint": HOSTILE}, anchor_set_hash=HOSTILE,
                       retention=c.retention_section(sm["pairs"][0], measured_at=HOSTILE),
                       stitching={HOSTILE: 0.5})
    doc = c.document(payload, KEY)
    dose = {"code": {"native": {"coefficients": [0, 2, 4], "effect": [0.0, 0.5, 1.0], "ci_low": [0, 0.3, 0.8],
                                "ci_high": [0, 0.7, 1.2]},
                     "transferred": {"coefficients": [0, 2, 4], "effect": [0.0, 0.3, 0.6]}},
            HOSTILE: {"bad": {"coefficients": [1], "effect": [1, 2]}}}
    page = c.render_html(doc, cka=np.random.default_rng(0).uniform(size=(4, 5)),
                         cka_layers={"source": [0, 1, 2, 3], "target": [0, 1, 2, 3, 4]}, dose_response=dose, key=KEY)
    assert page.startswith("<!DOCTYPE html>") and "Tier 2" in page and "signature verified" in page
    for name in ("accuracy", "semantic_preservation", "reconstruction_error", "r2", "cka"):
        assert f"<td>{name}</td>" in page
    assert "[0.8000, 0.8800]" in page and "wilson score (n=200)" in page and "not recorded" in page
    assert "0.8400" in page and "sha256:bb" in page and doc["signature"] in page and doc["key_id"] in page
    assert "Measured steering-effect retention" in page and "0.620" in page and "[0.5000, 0.7000]" in page
    assert "Stitching metrics" in page
    svgs = _svgs(page)
    assert len(svgs) == 2 and all(p.startswith(b"<svg ") and p.endswith(b"</svg>") for p in svgs)  # CKA + dose
    assert svgs[0].count(b"</title></rect>") == 4 * 5 and b"<circle" in svgs[0]  # a cell per CKA entry, best pair
    assert b"<polygon" in svgs[1] and svgs[1].count(b"<polyline") == 2  # the native band; two arms
    assert b"<script" not in b"".join(svgs)
    assert "unavailable" in page  # the malformed dose curve is reported, not fatal
    assert "<script" not in page and HOSTILE not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;" in page
    assert 'src="http' not in page and "<link" not in page  # self-contained


def test_html_verification_states() -> None:
    doc = c.document(_payload(), KEY)
    assert "signature not checked" in c.render_html(doc)
    assert "signature INVALID" in c.render_html(doc, key="wrong")
    assert "signature INVALID" in c.render_html(doc, verified=False)
    assert "CKA heatmap unavailable" in c.render_html(doc, cka=np.zeros(3))


def test_rendering_imports_no_torch_nor_matplotlib() -> None:
    code = (
        "import sys, numpy as np\n"
        "from alignment_plugins import certificate as c\n"
        "doc = c.document(c.build_payload(source={'name': 'a'}, target={'name': 'b'}, metrics={'accuracy': 0.5},"
        " anchor_set_hash='h'), 'k')\n"
        "page = c.render_html(doc, cka=np.eye(3), dose_response={'x': {'a': {'coefficients': [0, 1],"
        " 'effect': [0, 1]}}}, key='k')\n"
        "assert page.count('data:image/svg+xml') == 2\n"
        "heavy = sorted(m for m in ('torch', 'transformers', 'matplotlib') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


# ---------------------------------------------------------------------------------------------------- CLI
@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "key.txt"
    path.write_text(KEY + "\n")
    return path


def test_cli_certify_and_verify(tmp_path: Path, key_file: Path, capsys: Any) -> None:
    matrix = _wmatrix_file(tmp_path)
    out, page = tmp_path / "cert.json", tmp_path / "cert.html"
    assert main(["certify", str(matrix), "--out", str(out), "--html", str(page), "--key-file", str(key_file)]) == 0
    assert "tier 2" in capsys.readouterr().out
    doc = json.loads(out.read_text())
    assert c.verify(doc, KEY) and doc["payload"]["best_pair"] == [1, 1]
    assert doc["payload"]["source"] == {"name": "src", "fingerprint": "sha256:aa"}
    assert doc["payload"]["anchor_set_hash"] == "sha256:cc" and len(doc["payload"]["matrix"]["file_sha256"]) == 64
    html_text = page.read_text()
    assert "signature verified" in html_text and len(_svgs(html_text)) == 1  # the CKA heatmap from the file

    assert main(["verify-certificate", str(out), "--key-file", str(key_file)]) == 0
    assert capsys.readouterr().out.strip() == "valid"

    doc["payload"]["metrics"]["accuracy"] = 1.0
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(doc))
    assert main(["verify-certificate", str(forged), "--key-file", str(key_file)]) == 1
    assert capsys.readouterr().out.startswith("INVALID: the signature does not match")

    other = tmp_path / "other.key"
    other.write_text("other")
    assert main(["verify-certificate", str(out), "--key-file", str(other)]) == 1
    assert capsys.readouterr().out.startswith("INVALID: signed with key")

    broken = tmp_path / "broken.json"
    broken.write_text('{"payload": {')
    assert main(["verify-certificate", str(broken), "--key-file", str(key_file)]) == 2
    assert "is not valid JSON" in capsys.readouterr().err
    broken.write_text('["not", "a", "document"]')
    assert main(["verify-certificate", str(broken), "--key-file", str(key_file)]) == 2
    assert "JSON object" in capsys.readouterr().err


def test_certificate_describes_the_recommended_pair_and_an_encoders_embedding_pair(tmp_path: Path) -> None:
    from alignment_plugins.wmatrix import WMatrix

    wm = WMatrix.load(_wmatrix_file(tmp_path))
    wm.recommended_pair, wm.embedding_pair = (0, 0), (1, 1)
    doc = c.certify_wmatrix(wm, KEY)
    payload = doc["payload"]
    assert payload["best_pair"] == [1, 1] and payload["recommended_pair"] == [0, 0]
    assert payload["metrics"]["reconstruction_error"] == 0.4 and payload["tier"] == 4  # the recommended pair's
    assert payload["embedding"]["pair"] == [1, 1] and payload["embedding"]["metrics"]["accuracy"] == 0.9
    assert payload["embedding"]["intervals"]["accuracy"]["method"].startswith("wilson")
    page = c.render_html(doc, key=KEY)
    assert "Embedding migration (last layers 1 → 0" not in page and "Embedding migration (last layers 1 → 1" in page
    assert "recommended layer pair for vectors" in page


def test_cli_key_from_environment_and_missing_key(tmp_path: Path, monkeypatch: Any, capsys: Any) -> None:
    matrix = _wmatrix_file(tmp_path)
    monkeypatch.delenv(c.KEY_ENV, raising=False)
    assert main(["certify", str(matrix), "--out", str(tmp_path / "c.json")]) == 2
    assert c.KEY_ENV in capsys.readouterr().err
    monkeypatch.setenv(c.KEY_ENV, KEY)
    assert main(["certify", str(matrix), "--out", str(tmp_path / "c.json")]) == 0
    assert main(["verify-certificate", str(tmp_path / "c.json")]) == 0


def test_cli_certify_with_retention_and_stitching(tmp_path: Path, key_file: Path, capsys: Any) -> None:
    matrix = _wmatrix_file(tmp_path)
    sm, stitching = tmp_path / "support-matrix.json", tmp_path / "stitching.json"
    sm.write_text(json.dumps(_support_matrix()))
    stitching.write_text(json.dumps({"stitched_loss_ratio": 1.1, "top1_agreement": 0.8}))
    out = tmp_path / "cert.json"
    assert main(["certify", str(matrix), "--out", str(out), "--key-file", str(key_file), "--retention", str(sm),
                 "--stitching", str(stitching)]) == 0
    payload = json.loads(out.read_text())["payload"]
    assert payload["retention"]["median"]["retention"] == 0.62
    assert payload["retention"]["capabilities"]["code"]["ci"] == [0.6, 0.8]
    assert payload["retention"]["measured_at"] == "2026-02-03T04:05:06+00:00"
    assert payload["retention"]["fingerprints"] == {"source": "sha256:aa", "target": "sha256:bb"}
    assert payload["stitching"] == {"stitched_loss_ratio": 1.1, "top1_agreement": 0.8}
    capsys.readouterr()

    sm.write_text(json.dumps(_support_matrix(source="tgt", target="src")))
    assert main(["certify", str(matrix), "--out", str(out), "--key-file", str(key_file), "--retention",
                 str(sm)]) == 2
    assert "no measured pair src -> tgt" in capsys.readouterr().err
    sm.write_text('{"format": "support-matrix"}')
    assert main(["certify", str(matrix), "--out", str(out), "--key-file", str(key_file), "--retention",
                 str(sm)]) == 2
    assert "not a support-matrix file" in capsys.readouterr().err


def test_cli_exit_codes_in_a_real_process(tmp_path: Path, key_file: Path) -> None:
    doc = c.document(_payload(), KEY)
    good, bad, broken = tmp_path / "good.json", tmp_path / "bad.json", tmp_path / "broken.json"
    good.write_text(json.dumps(doc))
    doc["signature"] = "f" * 64
    bad.write_text(json.dumps(doc))
    broken.write_text("not json")
    codes = {}
    for path in (good, bad, broken):
        result = subprocess.run([sys.executable, "-m", "alignment_plugins", "verify-certificate", str(path),
                                 "--key-file", str(key_file)], cwd=ROOT, capture_output=True, text=True,
                                timeout=120)
        codes[path.stem] = (result.returncode, result.stdout.strip() or result.stderr.strip())
    assert codes["good"] == (0, "valid")
    assert codes["bad"][0] == 1 and codes["bad"][1].startswith("INVALID:")
    assert codes["broken"][0] == 2 and "not valid JSON" in codes["broken"][1]
