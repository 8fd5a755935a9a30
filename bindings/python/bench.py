"""Times ``engine.check`` from Python on the evaluate bench's 3 KB Deployment and 23-rule
bundle (``benches/data/``), and 10,000 objects in one call. ``bash benches/python.sh`` runs it
beside the Rust evaluate bench, in the same run."""

from __future__ import annotations

import pathlib
import statistics
import time
from typing import Any, Callable, Dict, List

import yaml

import paved

DATA = pathlib.Path(__file__).resolve().parents[2] / "benches" / "data"
NOW = "2026-06-01T00:00:00Z"


def median_seconds(f: Callable[[], Any], runs: int, inner: int) -> float:
    times: List[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(inner):
            f()
        times.append((time.perf_counter() - start) / inner)
    return statistics.median(times)


def main() -> None:
    engine = paved.Engine.from_yaml((DATA / "bundle.yaml").read_text())
    text = (DATA / "deployment.yaml").read_text()
    deployment: Dict[str, Any] = yaml.safe_load(text)
    assert engine.check(deployment, now=NOW).summary.findings > 0
    for _ in range(2000):
        engine.check(deployment, now=NOW)
    one = median_seconds(lambda: engine.check(deployment, now=NOW), runs=30, inner=1000)
    print(f"python engine.check(dict), 3 KB Deployment, 23 rules: {one * 1e6:.1f} µs (median of 30 × 1,000)")
    from_text = median_seconds(lambda: engine.check(text, now=NOW), runs=30, inner=1000)
    print(f"python engine.check(YAML text), same:                {from_text * 1e6:.1f} µs")
    many = [dict(deployment, metadata=dict(deployment["metadata"], name=f"web-{i}")) for i in range(10_000)]
    batch = median_seconds(lambda: engine.check(many, now=NOW), runs=5, inner=1)
    print(f"python engine.check(10,000 dicts), one call:         {batch * 1e3:.1f} ms ({batch / 10_000 * 1e6:.1f} µs each, all cores)")


if __name__ == "__main__":
    main()
