"""The built-in anchor corpus and the anchor loader API (no services, no torch, fast)."""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from alignment_plugins.anchors import (
    CAPABILITY_DOMAINS,
    CORPUS_VERSION,
    DOMAINS,
    PRODUCT_DOMAINS,
    UNSPECIFIED_DOMAIN,
    Anchor,
    AnchorSet,
    available_versions,
    load_anchors,
    load_builtin,
    load_jsonl,
)

DATA_FILE = (Path(__file__).resolve().parents[2] / "alignment_plugins" / "anchors" / "data"
             / f"anchors-{CORPUS_VERSION}.jsonl")


@pytest.fixture(scope="module")
def builtin() -> AnchorSet:
    return load_builtin()


@pytest.fixture(scope="module")
def raw_lines() -> list[dict]:
    return [json.loads(line) for line in DATA_FILE.read_text(encoding="utf-8").splitlines()]


def _small_set() -> AnchorSet:
    anchors = [Anchor(f"general fact number {i} about the world", "general_knowledge") for i in range(50)]
    anchors += [Anchor(f"def function_{i}(x):\n    return x + {i}", "code") for i in range(30)]
    anchors += [Anchor(f"solve {i}x + 1 = {i + 1} for x", "mathematics") for i in range(20)]
    return AnchorSet(anchors, name="small")


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------------------------------
# The built-in corpus
# --------------------------------------------------------------------------------------------------------------------


def test_builtin_corpus_size_and_domains(builtin: AnchorSet) -> None:
    assert CORPUS_VERSION == "v2" and CORPUS_VERSION in available_versions()
    assert builtin.name == f"builtin:{CORPUS_VERSION}"
    assert len(builtin) >= 14_000
    counts = builtin.counts()
    assert list(counts) == list(DOMAINS)
    for domain in PRODUCT_DOMAINS:
        assert counts[domain] >= 1_500, (domain, counts[domain])
    for domain in CAPABILITY_DOMAINS:
        assert 500 <= counts[domain] <= 700, (domain, counts[domain])


def test_builtin_lines_are_well_formed(raw_lines: list[dict]) -> None:
    for i, row in enumerate(raw_lines, start=1):
        assert set(row) == {"text", "domain", "source"}, i
        assert row["domain"] in DOMAINS, i
        assert isinstance(row["source"], str) and row["source"].strip(), i
        assert 30 <= len(row["text"]) <= 400, (i, len(row["text"]))
        if row["domain"] != "code":
            assert "\n" not in row["text"], i


def test_builtin_file_is_canonical(raw_lines: list[dict]) -> None:
    data = DATA_FILE.read_bytes()
    assert data.endswith(b"\n") and not data.endswith(b"\n\n")
    expected = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in raw_lines)
    assert data.decode("utf-8") == expected


def test_builtin_has_no_duplicates(builtin: AnchorSet) -> None:
    keys = [" ".join(t.casefold().split()) for t in builtin.texts]
    assert len(set(builtin.texts)) == len(builtin)
    assert len(set(keys)) == len(keys)


def test_builtin_has_no_urls_emails_or_license_text(builtin: AnchorSet) -> None:
    from alignment_plugins.anchors.sourcing import forbidden

    offenders = [a.text for a in builtin if forbidden(a.text)]
    assert offenders == []


def test_builtin_hash_is_stable_and_recomputable(builtin: AnchorSet, raw_lines: list[dict]) -> None:
    h = hashlib.sha256()
    for row in raw_lines:
        h.update(json.dumps([row["domain"], row["text"]], ensure_ascii=False).encode("utf-8") + b"\n")
    assert builtin.content_hash == f"sha256:{h.hexdigest()}"
    rebuilt = AnchorSet([Anchor(r["text"], r["domain"], r["source"]) for r in raw_lines], name="other-name")
    assert rebuilt.content_hash == builtin.content_hash  # the name is not part of the identity
    assert load_builtin(CORPUS_VERSION) is load_builtin(CORPUS_VERSION)
    hashes = {load_anchors(spec).content_hash for spec in (None, "builtin", f"builtin:{CORPUS_VERSION}")}
    assert hashes == {builtin.content_hash}


def test_builtin_sources_are_never_the_standard_library(builtin: AnchorSet) -> None:
    from alignment_plugins.anchors import build, v2

    stdlib = set(sys.stdlib_module_names)
    pins = build.PINNED + v2.PINNED_V2
    for pin in pins:
        assert pin.name.lower() not in stdlib, pin.name
        assert pin.name.lower().replace("-", "_") not in stdlib, pin.name
        names = (pin.name, pin.name.lower(), pin.name.replace("-", "_"))
        assert len(pin.sha256) == 64 and pin.filename.startswith(names)
    pinned = {f"{p.name}=={p.version}" for p in pins}
    for anchor in builtin:
        source = anchor.source
        assert not source.lower().startswith(("stdlib", "python:", "cpython")), source
        assert source.startswith(("pypi:", "template:", "generated:")), source
        if source.startswith("pypi:"):
            package = source.split(":")[1]
            assert package in pinned, source
            member_top = source.split(":")[2].split("/")[0] if len(source.split(":")) > 2 else ""
            assert member_top.split(".")[0] not in stdlib, source
        if source.startswith("template:"):
            assert source.split(" over ")[1] in {f"pypi:{p}" for p in pinned}, source


def test_builtin_domains_have_varied_sources(builtin: AnchorSet) -> None:
    from alignment_plugins.anchors.build import source_family

    for domain in DOMAINS:
        families = Counter(source_family(a.source) for a in builtin.filter([domain]))
        assert len(families) >= 3, (domain, families)
        assert families.most_common(1)[0][1] / sum(families.values()) < 0.6, (domain, families.most_common(3))


def test_unknown_builtin_version() -> None:
    with pytest.raises(ValueError, match=r"v999.*available"):
        load_builtin("v999")


def test_loader_does_not_import_torch() -> None:
    code = ("import sys, alignment_plugins.anchors as a; a.load_builtin(); "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# --------------------------------------------------------------------------------------------------------------------
# AnchorSet
# --------------------------------------------------------------------------------------------------------------------


def test_anchorset_sequence_behaviour() -> None:
    s = _small_set()
    assert len(s) == 100 and isinstance(s[0], Anchor) and s[-1].domain == "mathematics"
    head = s[:10]
    assert isinstance(head, AnchorSet) and len(head) == 10 and head.anchors == s.anchors[:10]
    assert s.texts[0] == s[0].text and s.domains.count("code") == 30
    assert s.counts() == {"general_knowledge": 50, "code": 30, "mathematics": 20}
    assert list(iter(s)) == list(s.anchors)
    with pytest.raises(AttributeError):
        s.name = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        AnchorSet(["not an anchor"])  # type: ignore[list-item]
    with pytest.raises(ValueError):
        Anchor("", "code")


def test_filter() -> None:
    s = _small_set()
    code = s.filter(["code"])
    assert len(code) == 30 and set(code.domains) == {"code"}
    assert s.filter(None) is s
    assert len(s.filter("mathematics")) == 20
    with pytest.raises(ValueError, match="valid domains: general_knowledge, code, mathematics"):
        s.filter(["code", "poetry"])


def test_filter_builtin_validates_domains(builtin: AnchorSet) -> None:
    assert set(builtin.filter(["code", "reasoning"]).domains) == {"code", "reasoning"}
    with pytest.raises(ValueError, match="unknown domain"):
        builtin.filter(["cooking"])


def test_sample_is_deterministic_and_stratified() -> None:
    s = _small_set()
    a, b = s.sample(10, seed=3), s.sample(10, seed=3)
    assert a == b and a.content_hash == b.content_hash
    assert a.counts() == {"general_knowledge": 5, "code": 3, "mathematics": 2}
    assert s.sample(10, seed=4) != a
    assert set(a.anchors) <= set(s.anchors)
    # order is preserved from the parent set
    positions = [s.anchors.index(x) for x in a]
    assert positions == sorted(positions)
    # round-robin remainder: 7 = floor(3.5)+floor(2.1)+floor(1.4) = 3+2+1, remainder 1 -> first domain
    assert s.sample(7).counts() == {"general_knowledge": 4, "code": 2, "mathematics": 1}
    assert s.sample(None) is s
    assert s.sample(len(s)) == s


def test_sample_builtin_is_proportional(builtin: AnchorSet) -> None:
    sub = builtin.sample(2_000, seed=0)
    assert len(sub) == 2_000
    for domain, n in builtin.counts().items():
        assert abs(sub.counts()[domain] - 2_000 * n / len(builtin)) <= 1
    assert builtin.sample(2_000, seed=0).content_hash == sub.content_hash


def test_sample_errors() -> None:
    s = _small_set()
    with pytest.raises(ValueError, match=r"cannot sample 101 anchors.*only 100"):
        s.sample(101)
    with pytest.raises(ValueError, match="positive"):
        s.sample(0)


def test_split_is_deterministic_stratified_and_disjoint() -> None:
    s = _small_set()
    train, val = s.split(0.2, seed=7)
    assert (train, val) == s.split(0.2, seed=7)
    assert len(train) + len(val) == len(s)
    assert not set(train.anchors) & set(val.anchors)
    assert set(train.anchors) | set(val.anchors) == set(s.anchors)
    assert val.counts() == {"general_knowledge": 10, "code": 6, "mathematics": 4}
    assert s.split(0.2, seed=8)[1] != val
    for bad in (0, 1, 1.5, -0.1):
        with pytest.raises(ValueError, match="strictly between 0 and 1"):
            s.split(bad)


def test_split_builtin(builtin: AnchorSet) -> None:
    train, val = builtin.split(0.1, seed=0)
    assert abs(len(val) - len(builtin) // 10) <= len(DOMAINS)
    assert set(val.domains) == set(DOMAINS)
    assert not set(train.texts) & set(val.texts)


# --------------------------------------------------------------------------------------------------------------------
# JSONL loading
# --------------------------------------------------------------------------------------------------------------------


def test_jsonl_round_trip(tmp_path: Path) -> None:
    s = _small_set()
    path = _write(tmp_path / "a.jsonl", [json.dumps({"text": a.text, "domain": a.domain, "source": a.source})
                                         for a in s])
    loaded = load_jsonl(path)
    assert loaded == s and loaded.content_hash == s.content_hash
    assert load_anchors(path) == s and load_anchors(str(path)) == s
    assert load_anchors(loaded) is loaded


def test_jsonl_defaults_extra_keys_and_blank_lines(tmp_path: Path) -> None:
    path = _write(tmp_path / "b.jsonl", [
        json.dumps({"text": "The quick brown fox jumps over the lazy dog."}),
        "",
        "   ",
        json.dumps({"text": "Ein Satz auf Deutsch.", "domain": "german", "lang": "de", "id": 7}),
    ])
    s = load_jsonl(path)
    assert [a.domain for a in s] == [UNSPECIFIED_DOMAIN, "german"]
    assert [a.source for a in s] == ["user", "user"]
    assert s.filter(["german"]).texts == ["Ein Satz auf Deutsch."]


def test_jsonl_duplicates_are_kept_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    line = json.dumps({"text": "same text", "domain": "code"})
    path = _write(tmp_path / "dup.jsonl", [line, line])
    with caplog.at_level(logging.WARNING, logger="alignment_plugins.anchors"):
        s = load_jsonl(path)
    assert len(s) == 2
    assert "duplicate" in caplog.text and "line 2 repeats line 1" in caplog.text


@pytest.mark.parametrize(
    ("lines", "line_no", "message"),
    [
        (['{"text": "ok text"}', '{"text": "broken'], 2, "malformed JSON"),
        (['{"domain": "code"}'], 1, 'missing "text"'),
        (['{"text": "   "}'], 1, '"text" is empty'),
        (['{"text": ""}'], 1, '"text" is empty'),
        (['{"text": 42}'], 1, '"text" must be a string'),
        (['{"text": ["a", "b"]}'], 1, '"text" must be a string'),
        (['', '{"text": "fine", "domain": 3}'], 2, '"domain" must be a string'),
        (['{"text": "fine", "domain": null}'], 1, '"domain" must be a string'),
        (['{"text": "fine", "domain": ""}'], 1, '"domain" is empty'),
        (['["text", "domain"]'], 1, "expected a JSON object"),
    ],
)
def test_jsonl_errors_name_file_and_line(tmp_path: Path, lines: list[str], line_no: int, message: str) -> None:
    path = _write(tmp_path / "bad.jsonl", lines)
    with pytest.raises(ValueError, match=message) as info:
        load_jsonl(path)
    assert f"{path}:{line_no}:" in str(info.value)


def test_jsonl_empty_and_missing_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(ValueError, match="no anchors") as info:
        load_jsonl(empty)
    assert str(empty) in str(info.value)
    blank = _write(tmp_path / "blank.jsonl", ["", "  "])
    with pytest.raises(ValueError, match="no anchors"):
        load_jsonl(blank)
    missing = tmp_path / "missing.jsonl"
    with pytest.raises(FileNotFoundError, match=r"missing\.jsonl"):
        load_jsonl(missing)
    with pytest.raises(FileNotFoundError):
        load_anchors(missing)
    with pytest.raises(TypeError):
        load_anchors(42)  # type: ignore[arg-type]
