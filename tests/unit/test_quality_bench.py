"""bench/quality_bench.py's resume: rows kept only under equal settings, and marked as kept in the table."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

SETTINGS = {"anchors_hash": "sha256:abc", "pairing": "tokens", "optimization": "ridge", "regularization": None,
            "stitching_texts": 16}


def _row(source: str, target: str, **extra: Any) -> dict[str, Any]:
    metrics = {"accuracy": 0.9, "csls_accuracy": 0.91, "semantic_preservation": 0.8, "reconstruction_error": 0.2,
               "r2": 0.6}
    return {"source": source, "target": target, "recommended_pair": [5, 4], **metrics, "best_pair": [1, 1],
            "best_pair_metrics": metrics, "embedding_pair": None, "embedding_pair_metrics": None,
            "counts": {"train": 8, "validation": 1, "test": 1}, **extra}


def test_rows_are_kept_only_when_every_setting_matches(tmp_path: Path, quality_bench: Any) -> None:
    path = tmp_path / "results.json"
    assert quality_bench.kept_rows(path, SETTINGS) == []  # no earlier run
    path.write_text(json.dumps({"rows": [_row("a", "b")], "settings": SETTINGS, "generated_on": "2026-12-01"}))
    kept = quality_bench.kept_rows(path, SETTINGS)
    assert [(r["source"], r["target"], r["kept"], r["measured_on"]) for r in kept] == [("a", "b", True, "2026-12-01")]
    for key, other in (("anchors_hash", "sha256:def"), ("pairing", "mean"), ("stitching_texts", 0)):
        assert quality_bench.kept_rows(path, {**SETTINGS, key: other}) == []
    path.write_text(json.dumps({"rows": [_row("a", "b")]}))  # a file from before settings were stored
    assert quality_bench.kept_rows(path, SETTINGS) == []


def test_settings_follow_the_arguments(quality_bench: Any) -> None:
    args = argparse.Namespace(pairing="both", optimization="ridge", regularization="auto", stitching_texts=0)
    assert quality_bench.run_settings(args, "sha256:x") == {
        "anchors_hash": "sha256:x", "pairing": "both", "optimization": "ridge", "regularization": "auto",
        "stitching_texts": 0}


def test_table_marks_kept_rows_and_stores_settings(tmp_path: Path, quality_bench: Any) -> None:
    class Anchors:
        content_hash = "sha256:abc"

        def __len__(self) -> int:
            return 10

    args = argparse.Namespace(num_anchors=10, optimization="ridge", regularization=None, pairing="tokens",
                              anchors=None)
    rows = [_row("a", "b", kept=True, measured_on="2026-12-01"), _row("b", "a", measured_on="2026-12-04")]
    out = tmp_path / "results.md"
    quality_bench.write_markdown(out, rows, Anchors(), args, {}, 60.0, total_pairs=2, settings=SETTINGS)
    text = out.read_text()
    assert "| a → b † |" in text and "| b → a |" in text
    assert "1 pair (marked †) was kept" in text and "† measured on 2026-12-01" in text
    assert "Partial" not in text
    doc = json.loads(out.with_suffix(".json").read_text())
    assert doc["settings"] == SETTINGS and [r.get("kept") for r in doc["rows"]] == [True, None]


def test_targets_section_lists_each_miss_with_its_shortfall(quality_bench: Any) -> None:
    decoders = sorted(quality_bench.DECODERS)
    met = _row(decoders[0], decoders[1], accuracy=0.99, semantic_preservation=0.93,
               stitching={"stitched_loss": {"stitched": 3.0, "native": 2.9}})
    missed = _row(decoders[1], decoders[0], accuracy=0.95, semantic_preservation=0.8,
                  stitching={"stitched_loss": {"stitched": 4.0, "native": 2.5}})
    encoder = _row(decoders[0], "all-minilm-l6-v2")  # not a decoder pair: not counted
    text = "\n".join(quality_bench.targets_section([met, missed, encoder]))
    assert "| semantic preservation ≥ 0.9 | 1/2 |" in text and "0.800 (short by 0.100)" in text
    assert "| top-1 accuracy ≥ 0.97 | 1/2 |" in text and "0.950 (short by 0.020)" in text
    assert "1.600 (over by 0.350)" in text and "stretch ≤ 1.1 × native: met by 1" in text
    assert quality_bench.targets_section([encoder]) == []
