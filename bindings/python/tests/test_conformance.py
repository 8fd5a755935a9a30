"""The same verdicts as the ``paved`` CLI on every Pod Security Admission fixture of
``../shared/conformance/`` (at its level and Kubernetes version)."""

from __future__ import annotations

import pathlib
from typing import List

import pytest

import paved
from conftest import CONFORMANCE, NOW, cli_report, denials

PSA = CONFORMANCE / "pod-security-admission"


def _versions(level: str) -> List[pathlib.Path]:
    return sorted((p for p in (PSA / level).iterdir() if p.is_dir()), key=lambda p: int(p.name.split(".")[1]))


@pytest.mark.parametrize("level", ["baseline", "restricted"])
def test_every_pod_security_admission_fixture_gets_the_clis_verdict(level: str) -> None:
    pack = f"pod-security-{level}"
    total = 0
    for version in _versions(level):
        files = [f for expect in ("pass", "fail") for f in sorted((version / expect).iterdir())]
        setting = {f"{pack}.kubernetesVersion": version.name}
        engine = paved.Engine(packs=[pack], set=setting)
        text = "\n---\n".join(f.read_text() for f in files)
        mine = denials(engine.check(text, now=NOW).to_dict())
        cli = denials(cli_report(["--pack", pack, "--set", f"{pack}.kubernetesVersion={version.name}", "--now", NOW, *map(str, files)]))
        assert len(mine) == len(files)
        assert mine == cli, version.name
        total += len(files)
    assert total > 1000
