"""Check a W-Matrix for alignment drift (the product's "Monitoring Alignment Drift" example).

    python examples/check_drift.py out/smollm2-135m-instruct-to-gemma3-270m.wmatrix

``WMatrixMonitor`` re-measures the matrix on fresh anchors against the models as they are now (weight fingerprints
compared, held-out metrics with intervals) and says whether to keep, recalibrate or retrain it.
"""

from __future__ import annotations

import argparse

from awareness_sdk import WMatrixMonitor


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("matrix", help="a .wmatrix file")
    args = parser.parse_args(argv)

    monitor = WMatrixMonitor()
    status = monitor.check(args.matrix)

    print(f"Matrix version: {status.version}")
    print(f"Last validated: {status.last_validated}")
    print(f"Current accuracy: {status.accuracy:.3f}")
    print(f"Drift detected: {status.drift_detected}")
    print(f"Recommended action: {status.recommendation}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
