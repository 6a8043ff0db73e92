"""The support matrix's "Against the targets" section: counts what is met and names every miss with its shortfall."""

from __future__ import annotations

from typing import Any


def _pair(source: str, target: str, median: float, cells: dict[str, float], random: float = 0.02) -> dict[str, Any]:
    caps = {name: {"retention": value, "random_control": random} for name, value in cells.items()}
    return {"source": source, "target": target, "median_retention": median, "median_retention_matched_norm": median,
            "random_control": random, "cosine_native_transferred": 0.7, "concept_cosine": 0.8, "capabilities": caps}


def test_misses_are_named_with_their_shortfall(bench: Any) -> None:
    doc = {"pairs": [
        _pair("smollm2-135m-instruct", "gemma3-270m", 0.90, {"sentiment": 0.95, "weddings": 0.85}),
        _pair("gemma3-270m", "qwen2.5-coder-0.5b-instruct", 0.60, {"sentiment": 0.50, "weddings": 0.70}, random=0.2),
    ]}
    text = "\n".join(bench._targets_section(doc))
    assert "| median retention ≥ 0.85 per directed pair | 1/2 | Gemma-3 → Qwen2.5 0.60 (short by 0.25) |" in text
    assert "| every capability ≥ 0.7 | 3/4 cells | Gemma-3 → Qwen2.5 sentiment 0.50 (short by 0.20) |" in text
    assert "| random control ≤ 0.10 (pair medians) | 1/2 | Gemma-3 → Qwen2.5 0.20 |" in text
    assert "| concept-transfer cosine ≥ 0.85 (held-out concepts, same maps) | 0/2 |" in text


def test_all_met_says_so(bench: Any) -> None:
    doc = {"pairs": [_pair("smollm2-135m-instruct", "gemma3-270m", 0.90, {"sentiment": 0.95})]}
    text = "\n".join(bench._targets_section(doc))
    assert "| median retention ≥ 0.85 per directed pair | 1/1 | – |" in text
    assert "| every capability ≥ 0.7 | 1/1 cells | – |" in text
