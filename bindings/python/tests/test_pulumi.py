"""The Pulumi CrossGuard example (``examples/pulumi/python``), with the real ``pulumi_policy``
types: its validate functions report paved's findings as violations."""

from __future__ import annotations

import sys
from typing import Any, Dict, List, Optional, Tuple

from pulumi_policy import PolicyCustomTimeouts, PolicyResourceOptions, ResourceValidationArgs, ResourceValidationPolicy

from conftest import ROOT

sys.path.insert(0, str(ROOT / "examples" / "pulumi" / "python"))
import paved_policies  # noqa: E402


def args(resource_type: str, props: Dict[str, Any], name: str = "web") -> ResourceValidationArgs:
    opts = PolicyResourceOptions(
        protect=False,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
    )
    urn = f"urn:pulumi:dev::shop::{resource_type}::{name}"
    return ResourceValidationArgs(resource_type, props, urn, name, opts, None)


def violations(policy: str, a: ResourceValidationArgs) -> List[Tuple[str, Optional[str]]]:
    found: List[Tuple[str, Optional[str]]] = []
    p = next(p for p in paved_policies.policies() if p.name == policy)
    assert isinstance(p, ResourceValidationPolicy)
    validate = p.validate
    assert callable(validate)

    def report(message: str, urn: Optional[str] = None) -> None:
        found.append((message, urn))

    validate(a, report)
    return found


DEPLOYMENT: Dict[str, Any] = {
    "metadata": {"namespace": "shop", "labels": {"team": "shop", "cost-center": "cc-1"}},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"hostNetwork": True, "containers": [{"name": "web", "image": "nginx:latest"}]},
        },
    },
}


def test_deny_findings_are_mandatory_violations_on_the_resource() -> None:
    a = args("kubernetes:apps/v1:Deployment", DEPLOYMENT)
    found = violations("paved-deny", a)
    messages = [m for m, _ in found]
    assert any(m.startswith("pod-security-baseline/hostNamespaces:") for m in messages), messages
    assert any(m.startswith("images/image-pinned:") for m in messages), messages
    assert all(urn == a.urn for _, urn in found)


def test_a_compliant_object_has_no_violation_and_core_kinds_map_to_v1() -> None:
    ok = {"metadata": {"namespace": "shop", "labels": {"team": "shop", "cost-center": "cc-1"}}, "data": {"k": "v"}}
    assert violations("paved-deny", args("kubernetes:core/v1:ConfigMap", ok)) == []
    obj = paved_policies.kubernetes_object(args("kubernetes:core/v1:ConfigMap", ok, name="settings"))
    assert obj is not None and obj["apiVersion"] == "v1" and obj["metadata"]["name"] == "settings"


def test_other_resources_are_left_alone() -> None:
    assert violations("paved-deny", args("aws:s3/bucket:Bucket", {"acl": "public-read"})) == []
    assert violations("paved-deny", args("pulumi:providers:kubernetes", {})) == []
    assert violations("paved-deny", args("kubernetes:helm.sh/v3:Release", {"chart": "x"})) == []
