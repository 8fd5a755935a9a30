"""Golden paths from Python: render, errors with lines, upgrade, conform, outdated."""

from __future__ import annotations

from typing import Any, Dict

import pytest

import paved

INPUTS: Dict[str, Any] = {"name": "checkout", "team": "payments", "costCenter": "cc-3120", "image": "registry.acme.dev/payments/checkout:4.2.1"}


def test_render_makes_the_manifests() -> None:
    manifests = paved.render("web-service@^1", INPUTS)
    kinds = [m["kind"] for m in manifests]
    assert "Deployment" in kinds and "Service" in kinds
    deployment = next(m for m in manifests if m["kind"] == "Deployment")
    assert deployment["metadata"]["name"] == "checkout"
    assert deployment["metadata"]["annotations"]["paved.dev/golden-path"].startswith("web-service@1.")


def test_inputs_the_golden_path_does_not_accept_say_where() -> None:
    with pytest.raises(paved.InputError) as bad:
        paved.render("web-service@^1", dict(INPUTS, costCenter=3120))
    assert any("costCenter" in (d.pointer or "") + d.message for d in bad.value.diagnostics), bad.value.diagnostics
    with pytest.raises(paved.GoldenPathError, match="web-servce"):
        paved.render("web-servce", INPUTS)


def test_upgrade_conform_and_outdated() -> None:
    upgraded = paved.upgrade("web-service@1.0.0", INPUTS, "^1")
    assert upgraded["to"].startswith("web-service@1.")
    manifests = paved.render("web-service@1.0.0", INPUTS)
    conformance = paved.conform(manifests)
    assert conformance["services"][0]["deviations"] == []
    fleet = paved.outdated(manifests)
    assert fleet["services"][0]["goldenPath"] == "web-service@1.0.0"
