"""Shared fixtures: the repository, the conformance data, and the ``paved`` CLI binary the
Python package must agree with."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
from typing import Any, Dict, List, Sequence

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
CONFORMANCE = ROOT.parent / "shared" / "conformance"
NOW = "2026-06-01T00:00:00Z"


def cli_path() -> str:
    """The ``paved`` binary: ``$PAVED_CLI``, or the workspace's debug or release build."""
    explicit = os.environ.get("PAVED_CLI")
    if explicit:
        return explicit
    for profile in ("debug", "release"):
        candidate = ROOT / "target" / profile / "paved"
        if candidate.exists():
            return str(candidate)
    found = shutil.which("paved")
    if found is None:
        pytest.skip("no paved CLI to compare with (build it with cargo build -p paved-cli)")
    return found


def cli_report(args: Sequence[str]) -> Dict[str, Any]:
    """``paved check --format json ARGS``."""
    done = subprocess.run(
        [cli_path(), "check", "--format", "json", "--fail-on", "never", *args],
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    report: Dict[str, Any] = json.loads(done.stdout)
    return report


def denials(report: Dict[str, Any]) -> List[List[str]]:
    """For each resource in order, the sorted ``policy/rule`` of its unwaived Deny findings."""
    findings = iter(report["findings"])
    out: List[List[str]] = []
    for r in report["resources"]:
        mine = [next(findings) for _ in range(r["findings"])]
        out.append(sorted(f"{f['policy']}/{f['rule']}" for f in mine if f["action"] == "Deny" and f["waivedBy"] is None))
    return out
