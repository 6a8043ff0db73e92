"""Every documented use runs as its example script against a live marketplace, on tiny models.

The quickstart's path end to end: a trained matrix (train_matrix) stored by the operator, a listing (sell_vector),
a free estimate (estimate_before_buying), a purchase, its delivery and a steered generation (buy_and_steer), the
certificate verified offline (verify_certificate); then the compatibility check, drift check, multi-hop path and
matrix registration examples.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from sdk_helpers import BUYER_FUNDS, EXAMPLES, SOURCE, TARGET, LiveMarket, run_example

from awareness_sdk.errors import Conflict

pytestmark = pytest.mark.usefixtures("one_torch_thread")
MODEL_NAMES = ("smollm2-135m-instruct", "gemma3-270m", "qwen2.5-coder-0.5b-instruct", "all-minilm-l6-v2")


def _sell(market: LiveMarket, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AWARENESS_API_KEY", market.seller_key)
    printed = run_example("sell_vector", "--model", str(market.models_root / SOURCE), "--listed-as", SOURCE,
                          "--layer", "2", "--capability", "sentiment", "--price", "12.5", "--base-url", market.url)
    match = re.search(r"Listed: (vec_\w+) at 12\.5", printed)
    assert match, printed
    return match.group(1)


def test_quickstart_trained_matrix_listing_estimate_purchase_steered_generation(
    live_market: LiveMarket, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    listing_id = _sell(live_market, monkeypatch)

    monkeypatch.setenv("AWARENESS_API_KEY", live_market.buyer_key)
    report = run_example("estimate_before_buying", listing_id, "--target", TARGET, "--base-url", live_market.url)
    assert f"Source model:         {SOURCE}" in report and f"Target model:         {TARGET}" in report
    retention = float(re.search(r"Estimated retention:\s+([\d.]+)%", report).group(1))
    low, high = map(float, re.search(r"Confidence interval:\s+([\d.]+)% - ([\d.]+)%", report).groups())
    assert 0 <= low <= retention <= high <= 100

    out = tmp_path / "delivered"
    bought = run_example("buy_and_steer", listing_id, "--target", TARGET, "--target-path",
                         str(live_market.models_root / TARGET), "--coefficient", "8", "--max-new-tokens", "8",
                         "--out", str(out), "--base-url", live_market.url)
    purchase_id = re.search(r"Purchase (pur_\w+): ", bought).group(1)
    assert "Delivered at layer" in bought
    baseline = re.search(r"Baseline: (.*)", bought).group(1)
    steered = re.search(r"Steered:  (.*)", bought).group(1)
    assert steered != baseline, bought  # the delivered vector changes what the target model generates

    from alignment_plugins.vector_package import VectorPackage

    package = VectorPackage.load(out / f"{purchase_id}.vpkg")
    assert package.metadata["source_model"] == TARGET and package.metadata["method"] == "transferred"
    assert package.hidden_size == 32

    market = live_market.client(live_market.buyer_key)
    assert market.account().balance == BUYER_FUNDS - Decimal("12.5")
    again = run_example("buy_and_steer", listing_id, "--target", TARGET, "--target-path",
                        str(live_market.models_root / TARGET), "--max-new-tokens", "2", "--out", str(out),
                        "--base-url", live_market.url)
    assert f"Purchase {purchase_id}: delivered (replayed, not charged again)" in again
    assert market.account().balance == BUYER_FUNDS - Decimal("12.5")


def test_verify_certificate_example(live_market: LiveMarket, tmp_path: Path, settings) -> None:
    key_file = tmp_path / "signing.key"
    key_file.write_text(settings.CERTIFICATE_SIGNING_KEY + "\n")
    printed = run_example("verify_certificate", live_market.matrix_id, "--key-file", str(key_file), "--out",
                          str(tmp_path / "cert.json"), "--base-url", live_market.url)
    assert "Signature: valid" in printed and f"{SOURCE} -> {TARGET} v1" in printed

    from alignment_plugins.__main__ import main as cli

    assert cli(["verify-certificate", str(tmp_path / "cert.json"), "--key-file", str(key_file)]) == 0
    key_file.write_text("another key")
    with pytest.raises(AssertionError, match="exited 1"):
        run_example("verify_certificate", live_market.matrix_id, "--key-file", str(key_file), "--out",
                    str(tmp_path / "cert2.json"), "--base-url", live_market.url)


def test_estimate_example_without_a_listing_picks_one_with_a_matrix(
    live_market: LiveMarket, monkeypatch: pytest.MonkeyPatch
) -> None:
    listing_id = _sell(live_market, monkeypatch)
    report = run_example("estimate_before_buying", "--target", TARGET, "--base-url", live_market.url)
    assert "Compatibility Report for: Sentiment" in report
    assert listing_id  # the only listing: the one estimated


def test_compatibility_check_example(live_market: LiveMarket, monkeypatch: pytest.MonkeyPatch) -> None:
    listing_id = _sell(live_market, monkeypatch)
    report = run_example("compatibility_check", listing_id, "--target", TARGET, "--quantization", "int8",
                         "--base-url", live_market.url)
    low, high = map(float, re.search(r"Confidence interval:\s+([\d.]+)% - ([\d.]+)%", report).groups())
    assert low <= high and "Risk level:" in report


def test_check_drift_example(trained_matrix: Path, tiny_models_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tiny_models_root)  # the matrix names its models tiny-llama / tiny-gemma3
    printed = run_example("check_drift", str(trained_matrix))
    assert "Drift detected: False" in printed  # the same models the matrix was fit on: no alarm


def test_multihop_example(live_market: LiveMarket) -> None:
    printed = run_example("multihop_path", "--source", SOURCE, "--target", TARGET, "--base-url", live_market.url)
    assert f"Optimal path: {SOURCE} -> {TARGET}" in printed  # one stored matrix: the direct path


def test_register_matrix_example(live_market: LiveMarket, trained_matrix: Path, monkeypatch: pytest.MonkeyPatch,
                                 tmp_path: Path) -> None:
    from alignment_plugins.wmatrix import WMatrix

    custom = WMatrix.load(trained_matrix)
    custom.training = {**custom.training, "note": "another fit"}  # a new file of the same pair
    path = custom.save(tmp_path / "custom.wmatrix")
    monkeypatch.setenv("AWARENESS_API_KEY", live_market.seller_key)
    # The operator's active matrix of the pair is not the seller's: a user cannot supersede it (409) ...
    with pytest.raises(Conflict, match="not yours"):
        run_example("register_matrix", str(path), "--name", "custom-tiny", "--base-url", live_market.url)
    # ... but once the seller owns the pair's active version, their new fit becomes v2.
    from django.contrib.auth import get_user_model

    from marketplace.alignment.models import WMatrix as StoredMatrix

    StoredMatrix.objects.filter(public_id=live_market.matrix_id).update(
        owner=get_user_model().objects.get(username="seller"))
    printed = run_example("register_matrix", str(path), "--name", "custom-tiny", "--base-url", live_market.url)
    assert re.search(rf"Registered wm_\w+: {SOURCE} -> {TARGET} v2", printed), printed


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.py")), ids=lambda p: p.stem)
def test_every_example_has_help_and_defaults_to_our_models(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = path.read_text()
    assert '__name__ == "__main__"' in source and "def main(argv" in source
    with pytest.raises(SystemExit) as info:
        run_example(path.stem, "--help")
    assert info.value.code == 0
    models = [m for m in MODEL_NAMES if m in source]
    if "--source" in source or "--target" in source or "--model" in source:
        assert models, f"{path.name} does not default to one of our models"
