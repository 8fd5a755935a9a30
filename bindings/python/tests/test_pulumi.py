"""The Pulumi CrossGuard example (``examples/pulumi/python``), with the real ``pulumi_policy``
types: its validate functions report paved's findings as violations."""

from __future__ import annotations

import sys
from typing import Any, Dict, List, Optional, Tuple

from pulumi_policy import PolicyCustomTimeouts, PolicyResourceOptions, ResourceValidationArgs, ResourceValidationPolicy

import paved
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


UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
POLICY = '{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}]}'
CLOUD_BUNDLE = """
apiVersion: paved.dev/v1
kind: Policy
metadata: {name: buckets, version: 1.0.0}
spec:
  action: Deny
  match: {kinds: ["pulumi/*/aws:s3/bucketPolicy:BucketPolicy"]}
  rules:
    - id: not-public
      message: the bucket policy allows everyone
      cel: "!json.unmarshal(object.values.policy).Statement.exists(s, s.Principal == '*')"
    - id: bucket-named
      message: the policy names its bucket
      cel: "object.values.bucket.startsWith('acme-')"
"""


def test_cloud_resources_are_checked_as_a_preview_step_and_unknowns_are_not_violations(monkeypatch: Any) -> None:
    monkeypatch.setattr(paved_policies, "_ENGINE", paved.Engine.from_yaml(CLOUD_BUNDLE))
    a = args("aws:s3/bucketPolicy:BucketPolicy", {"bucket": UNKNOWN, "policy": POLICY}, name="exports")
    found = violations("paved-deny", a)
    assert found == [("buckets/not-public: the bucket policy allows everyone", a.urn)], found
    # The bucket is known only after the update: unknown, reported only when asked.
    monkeypatch.setenv("PAVED_FAIL_ON_UNKNOWN", "1")
    messages = [m for m, _ in violations("paved-deny", a)]
    assert any(m.startswith("buckets/bucket-named:") and "not known until apply" in m for m in messages), messages
    # The same document `paved check` reads from `pulumi preview --json`.
    doc = paved_policies.cloud_document(a)
    assert doc is not None
    report = paved_policies.engine().check(doc)
    assert [f.unknown for f in report.findings] == [True, False]
    assert report.summary.unknown == 1


def test_crossguards_proxies_are_read_through_not_raised() -> None:
    from pulumi_policy.proxy import unknown_checking_proxy

    props = unknown_checking_proxy({"bucket": UNKNOWN, "tags": {"owner": "data"}, "grants": [{"uri": UNKNOWN}]})
    assert paved_policies.plain(props) == {"bucket": UNKNOWN, "tags": {"owner": "data"}, "grants": [{"uri": UNKNOWN}]}
